// RFC 6455 framing for the native transport, as pure functions: frame
// headers (parse and build), masking, and the opening handshake's keys. The
// transport (net/transport.cpp) does the IO; everything a peer can get wrong
// in a frame header is found here and named in plain words.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace yz::net::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA
};

inline bool is_control(Opcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

using MaskKey = std::array<std::uint8_t, 4>;

struct FrameHeader {
  bool fin = true;
  Opcode opcode = Opcode::binary;
  bool masked = false;
  MaskKey mask{};
  std::uint64_t length = 0;     // payload bytes
  std::size_t header_size = 0;  // bytes before the payload
};

enum class ParseStatus { need_more, ok, bad };

struct ParsedHeader {
  ParseStatus status = ParseStatus::need_more;
  FrameHeader header;
  std::string error;  // status == bad: what is wrong, for the close reason
};

// Reads one frame header from the start of `data`. need_more: the header is
// not complete yet. bad: reserved bits set (no extension is negotiated), an
// unknown opcode, or a control frame that is fragmented or longer than 125 bytes.
ParsedHeader parse_header(const std::uint8_t* data, std::size_t size);

inline constexpr std::size_t kMaxHeaderSize = 14;

// Writes a frame header into `out` and returns its size. `mask` is null for
// unmasked frames (server to client), else the 4-byte key (client to server).
std::size_t encode_header(std::uint8_t* out, Opcode opcode, bool fin, std::uint64_t length,
                          const MaskKey* mask);

// XORs `data` with the key; `offset` is the position of data[0] in the payload.
void apply_mask(std::uint8_t* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
std::string accept_key(std::string_view client_key);
// True for a key a client may send: base64 of 16 bytes (24 characters).
bool valid_client_key(std::string_view key);
// A fresh Sec-WebSocket-Key and masking keys, from libsodium's random source
// (RFC 6455 asks for unpredictable masking keys).
std::string make_client_key();
MaskKey make_mask();

}  // namespace yz::net::ws
