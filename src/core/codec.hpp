// Binary wire codec: Message <-> frame bytes, with strict validation of every
// length, count and enum before allocation. Layouts: docs/protocol.md.
#pragma once
#include <cstdint>
#include <string>

#include "core/bytes.hpp"
#include "core/messages.hpp"
#include "core/result.hpp"

namespace yz {

enum class DecodeErrorKind {
  empty,          // zero-length frame
  too_large,      // frame above kMaxFrameSize
  unknown_type,   // type byte not in MessageType
  truncated,      // frame ended inside a field
  trailing_bytes, // bytes left after the last field
  bad_length,     // a length or count above its limit
  bad_enum,       // role, close code or error code out of range
  bad_text,       // a string field that is not valid UTF-8
  invalid_value,  // a field outside its allowed values (version range, ttl, max_peers,
                  // empty address, nonzero request id on Hello/Auth/Goodbye)
};
std::string_view decode_error_kind_name(DecodeErrorKind kind);

struct DecodeError {
  DecodeErrorKind kind;
  std::uint8_t raw_type = 0;        // the frame's type byte, when present
  std::uint32_t request_id = 0;     // the frame's request id, when present (for Error replies)
  std::string detail;               // plain words: which field and why
};

// Throws std::invalid_argument (naming the field) when the message breaks a
// limit decode() enforces, so every encoded frame decodes back to the same message.
Bytes encode(const Message& message);
Result<Message, DecodeError> decode(BytesView frame);
// Strict UTF-8 (RFC 3629), the rule for every text field of the protocol.
bool is_valid_utf8(BytesView text);

}  // namespace yz
