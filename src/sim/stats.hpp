// Small statistics helpers for simulator reports: sample sets with
// percentiles, and number formatting.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace yz::sim {

class Distribution {
 public:
  void add(double value) {
    samples_.push_back(value);
    sorted_ = false;
  }
  std::size_t count() const { return samples_.size(); }
  bool empty() const { return samples_.empty(); }
  double mean() const;
  double max() const;
  // Nearest-rank percentile, p in [0, 100]; 0 when empty.
  double percentile(double p) const;
  // "p50 / p90 / p99 / max" with the given unit, or "-" when empty.
  std::string describe(const std::string& unit, int decimals = 0) const;

 private:
  void sort() const;
  mutable std::vector<double> samples_;
  mutable bool sorted_ = true;
};

std::string format_fixed(double value, int decimals);
std::string format_percent(double numerator, double denominator);

}  // namespace yz::sim
