// Time as the core sees it: milliseconds given by the shell with every input.
// Native shells pass Unix-epoch milliseconds from a monotonic base; the
// simulator passes simulated time. The core never reads a clock.
#pragma once
#include <cstdint>

namespace yz {
using Millis = std::int64_t;
inline constexpr Millis kNever = INT64_MAX;
}  // namespace yz
