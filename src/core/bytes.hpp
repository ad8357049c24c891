// Byte buffers shared by every layer: owned Bytes and borrowed BytesView.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace yz {

using Bytes = std::vector<std::uint8_t>;
using BytesView = std::span<const std::uint8_t>;

inline BytesView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline Bytes to_bytes(std::string_view text) {
  auto view = as_bytes(text);
  return {view.begin(), view.end()};
}
inline std::string to_string(BytesView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string to_hex(BytesView bytes);

// At most max_bytes of text, cut at a UTF-8 character boundary (wire strings
// must stay valid UTF-8 after truncation).
std::string truncate_utf8(std::string text, std::size_t max_bytes);

}  // namespace yz
