// 256-bit node and key ids with the Kademlia XOR metric.
// A node id is SHA-256 of the node's Ed25519 public key; a user key is hashed
// to an id exactly once, at the API boundary (Engine::put/get).
#pragma once
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace yz {

struct NodeId {
  static constexpr std::size_t kSize = 32;
  static constexpr int kBits = 256;
  std::array<std::uint8_t, kSize> bytes{};

  static std::optional<NodeId> from_hex(std::string_view hex);
  static NodeId from_bytes(BytesView view);  // requires view.size() == kSize
  std::string hex() const;
  std::string short_hex() const;  // first 8 hex digits, for logs

  // Bit i counted from the most significant bit (bit 0 = MSB of bytes[0]).
  bool bit(int i) const { return (bytes[i / 8] >> (7 - i % 8)) & 1; }

  // Byte-wise order (written out: libc++ 13 in Emscripten 3.1.6 has no <=> for std::array).
  bool operator==(const NodeId& other) const { return std::memcmp(bytes.data(), other.bytes.data(), kSize) == 0; }
  std::strong_ordering operator<=>(const NodeId& other) const {
    int c = std::memcmp(bytes.data(), other.bytes.data(), kSize);
    return c < 0 ? std::strong_ordering::less : c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
  }
};

NodeId xor_distance(const NodeId& a, const NodeId& b);

// Length of the common prefix of a and b in bits (256 when equal).
int common_prefix_length(const NodeId& a, const NodeId& b);

// True when a is strictly closer to target than b under XOR.
bool closer(const NodeId& target, const NodeId& a, const NodeId& b);

struct NodeIdHash {
  std::size_t operator()(const NodeId& id) const noexcept {
    std::size_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | id.bytes[i];
    return h;
  }
};

}  // namespace yz
