// NodeId helpers: hex conversion and XOR metric.
#include "core/node_id.hpp"

#include <bit>

namespace yz {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<NodeId> NodeId::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2) return std::nullopt;
  NodeId id;
  for (std::size_t i = 0; i < kSize; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return id;
}

NodeId NodeId::from_bytes(BytesView view) {
  NodeId id;
  for (std::size_t i = 0; i < kSize && i < view.size(); ++i) id.bytes[i] = view[i];
  return id;
}

std::string NodeId::hex() const { return to_hex(bytes); }
std::string NodeId::short_hex() const { return hex().substr(0, 8); }

NodeId xor_distance(const NodeId& a, const NodeId& b) {
  NodeId d;
  for (std::size_t i = 0; i < NodeId::kSize; ++i) d.bytes[i] = a.bytes[i] ^ b.bytes[i];
  return d;
}

int common_prefix_length(const NodeId& a, const NodeId& b) {
  for (std::size_t i = 0; i < NodeId::kSize; ++i) {
    std::uint8_t x = a.bytes[i] ^ b.bytes[i];
    if (x != 0) return static_cast<int>(i * 8) + std::countl_zero(x);
  }
  return NodeId::kBits;
}

bool closer(const NodeId& target, const NodeId& a, const NodeId& b) {
  for (std::size_t i = 0; i < NodeId::kSize; ++i) {
    std::uint8_t da = a.bytes[i] ^ target.bytes[i];
    std::uint8_t db = b.bytes[i] ^ target.bytes[i];
    if (da != db) return da < db;
  }
  return false;
}

}  // namespace yz
