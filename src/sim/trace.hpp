// Trace hash of a simulation: FNV-1a (64-bit) over every event delivered to an
// engine (time, kind, nodes, frame bytes). Two runs with the same seed and
// inputs must end with the same value; tests compare it.
#pragma once
#include <cstdint>

#include "core/bytes.hpp"

namespace yz::sim {

class Trace {
 public:
  static constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;

  void add_byte(std::uint8_t byte) {
    hash_ ^= byte;
    hash_ *= kPrime;
  }
  void add_u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) add_byte(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  void add_bytes(BytesView bytes) {
    add_u64(bytes.size());
    for (std::uint8_t byte : bytes) add_byte(byte);
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = kOffset;
};

}  // namespace yz::sim
