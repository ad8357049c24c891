// RFC 6455 frame headers, masking and handshake keys (see ws_frame.hpp).
#include "net/ws_frame.hpp"

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>

#include "crypto/sodium_crypto.hpp"

namespace yz::net::ws {

namespace {

bool known_opcode(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

}  // namespace

ParsedHeader parse_header(const std::uint8_t* data, std::size_t size) {
  ParsedHeader out;
  if (size < 2) return out;
  const std::uint8_t b0 = data[0];
  const std::uint8_t b1 = data[1];
  FrameHeader& h = out.header;
  h.fin = (b0 & 0x80) != 0;
  h.masked = (b1 & 0x80) != 0;
  const std::uint8_t op = b0 & 0x0F;
  std::uint64_t length = b1 & 0x7F;
  std::size_t need = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + (h.masked ? 4 : 0);
  if ((b0 & 0x70) != 0) {
    out.status = ParseStatus::bad;
    out.error = "a frame has reserved bits set, but no WebSocket extension was agreed";
    return out;
  }
  if (!known_opcode(op)) {
    out.status = ParseStatus::bad;
    out.error = "a frame has the unknown opcode " + std::to_string(op);
    return out;
  }
  h.opcode = static_cast<Opcode>(op);
  if (is_control(h.opcode) && (!h.fin || length > 125)) {
    out.status = ParseStatus::bad;
    out.error = "a control frame is fragmented or longer than 125 bytes";
    return out;
  }
  if (size < need) return out;
  std::size_t at = 2;
  if (length == 126) {
    length = (std::uint64_t{data[2]} << 8) | data[3];
    at = 4;
  } else if (length == 127) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | data[2 + i];
    at = 10;
    if (length >> 63) {
      out.status = ParseStatus::bad;
      out.error = "a frame announces a length with the top bit set";
      return out;
    }
  }
  if (h.masked) {
    for (std::size_t i = 0; i < 4; ++i) h.mask[i] = data[at + i];
    at += 4;
  }
  h.length = length;
  h.header_size = at;
  out.status = ParseStatus::ok;
  return out;
}

std::size_t encode_header(std::uint8_t* out, Opcode opcode, bool fin, std::uint64_t length,
                          const MaskKey* mask) {
  out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(opcode));
  const std::uint8_t mask_bit = mask ? 0x80 : 0x00;
  std::size_t at = 2;
  if (length < 126) {
    out[1] = static_cast<std::uint8_t>(mask_bit | length);
  } else if (length <= 0xFFFF) {
    out[1] = static_cast<std::uint8_t>(mask_bit | 126);
    out[2] = static_cast<std::uint8_t>(length >> 8);
    out[3] = static_cast<std::uint8_t>(length);
    at = 4;
  } else {
    out[1] = static_cast<std::uint8_t>(mask_bit | 127);
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
    at = 10;
  }
  if (mask) {
    for (std::size_t i = 0; i < 4; ++i) out[at + i] = (*mask)[i];
    at += 4;
  }
  return at;
}

void apply_mask(std::uint8_t* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) data[i] ^= key[(offset + i) & 3];
}

bool valid_client_key(std::string_view key) {
  // 16 bytes in base64: 22 characters of the alphabet, then "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  });
}

std::string accept_key(std::string_view client_key) {
  boost::beast::websocket::detail::sec_ws_accept_type accept;
  // Beast asserts on keys above 24 characters; callers check valid_client_key first.
  if (client_key.size() > boost::beast::websocket::detail::sec_ws_key_type::max_size_n) return {};
  boost::beast::websocket::detail::make_sec_ws_accept(accept, {client_key.data(), client_key.size()});
  return std::string(accept.data(), accept.size());
}

std::string make_client_key() {
  std::uint8_t raw[16];
  for (std::size_t i = 0; i < 16; i += 8) {
    std::uint64_t v = os_random_u64();
    for (std::size_t j = 0; j < 8; ++j) raw[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  std::string key(boost::beast::detail::base64::encoded_size(16), '\0');
  key.resize(boost::beast::detail::base64::encode(key.data(), raw, sizeof raw));
  return key;
}

MaskKey make_mask() {
  std::uint64_t v = os_random_u64();
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 24)};
}

}  // namespace yz::net::ws
