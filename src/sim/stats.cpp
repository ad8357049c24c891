// Percentiles and number formatting for simulator reports.
#include "sim/stats.hpp"

#include <cmath>
#include <cstdio>
#include <numeric>

namespace yz::sim {

void Distribution::sort() const {
  if (sorted_) return;
  std::sort(samples_.begin(), samples_.end());
  sorted_ = true;
}

double Distribution::mean() const {
  if (samples_.empty()) return 0;
  return std::accumulate(samples_.begin(), samples_.end(), 0.0) / static_cast<double>(samples_.size());
}

double Distribution::max() const {
  if (samples_.empty()) return 0;
  sort();
  return samples_.back();
}

double Distribution::percentile(double p) const {
  if (samples_.empty()) return 0;
  sort();
  auto n = static_cast<double>(samples_.size());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * n));
  if (rank == 0) rank = 1;
  return samples_[std::min(rank, samples_.size()) - 1];
}

std::string Distribution::describe(const std::string& unit, int decimals) const {
  if (samples_.empty()) return "-";
  return format_fixed(percentile(50), decimals) + " / " + format_fixed(percentile(90), decimals) + " / " +
         format_fixed(percentile(99), decimals) + " / " + format_fixed(max(), decimals) + unit;
}

std::string format_fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string format_percent(double numerator, double denominator) {
  if (denominator <= 0) return "-";
  return format_fixed(100.0 * numerator / denominator, 2) + "%";
}

}  // namespace yz::sim
