// Latency histogram recording (metrics.hpp): a sample goes to the first bucket
// whose upper bound is >= it, or to the final +Inf bucket.
#include "core/metrics.hpp"

#include <algorithm>

namespace yz {

void LatencyHistogram::record(Millis ms) {
  const double value = static_cast<double>(std::max<Millis>(ms, 0));  // clocks never run backwards here
  const auto bound = std::lower_bound(kBoundsMs.begin(), kBoundsMs.end(), value);
  ++buckets[static_cast<std::size_t>(bound - kBoundsMs.begin())];
  ++count;
  sum_ms += value;
}

void RoutedCounters::record_hops(int h) {
  std::size_t slot = h <= 4 ? static_cast<std::size_t>(std::max(h, 1) - 1) : h <= 8 ? 4 : h <= 16 ? 5 : h <= 32 ? 6 : 7;
  ++hops[slot];
}

}  // namespace yz
