// DeadlineIndex: lazy min-heap of keyed deadlines (see deadline_index.hpp).
#include "core/deadline_index.hpp"

#include <algorithm>

namespace yz {

namespace {
// Stale entries are dropped as they surface; should many pile up (deadlines
// that keep moving earlier), the heap is rebuilt from the live entries once it
// holds this many more than twice their number. Bounds memory (DESIGN rule 8).
constexpr std::size_t kCompactSlack = 64;
}  // namespace

void DeadlineIndex::schedule(const Key& key, Millis at) {
  if (at == kNever) return;
  auto [live, inserted] = live_.try_emplace(key, at);
  if (!inserted) {
    if (live->second <= at) return;  // a lower bound is already there
    live->second = at;               // the older entry becomes stale
  }
  push(at, key);
}

void DeadlineIndex::clear() {
  heap_.clear();
  live_.clear();
}

void DeadlineIndex::push(Millis time, const Key& key) {
  heap_.push_back(Entry{time, key});
  std::push_heap(heap_.begin(), heap_.end());
  if (heap_.size() > 2 * live_.size() + kCompactSlack) compact();
}

void DeadlineIndex::pop() {
  std::pop_heap(heap_.begin(), heap_.end());
  heap_.pop_back();
}

void DeadlineIndex::retime(LiveMap::iterator live, Millis truth) {
  if (truth == kNever) {
    live_.erase(live);
    return;
  }
  live->second = truth;
  push(truth, live->first);
}

void DeadlineIndex::compact() {
  heap_.clear();
  for (const auto& [key, time] : live_) heap_.push_back(Entry{time, key});
  std::make_heap(heap_.begin(), heap_.end());
}

}  // namespace yz
