// Injected randomness. The core never seeds itself: native shells seed from the
// OS, the simulator from the scenario seed, so runs replay exactly.
#pragma once
#include <cstdint>

#include "core/bytes.hpp"

namespace yz {

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next_u64() = 0;

  // Uniform in [0, bound) for bound > 0.
  std::uint64_t uniform(std::uint64_t bound) { return bound == 0 ? 0 : next_u64() % bound; }
  void fill(std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; i += 8) {
      std::uint64_t v = next_u64();
      for (std::size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  }
};

// Deterministic generator (SplitMix64): small, fast, good enough for protocol
// choices (nonces are not secrets; keys come from the Signer).
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next_u64() override {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace yz
