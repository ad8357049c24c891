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

}  // namespace yz
