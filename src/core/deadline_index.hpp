// DeadlineIndex: the earliest deadline among many keyed timers in O(log n),
// without rescanning them after every input (docs/architecture.md, "Timers").
// The owner keeps the truth (each key's current deadline, kNever when none);
// the index holds a min-heap of (time, key) entries that are *lower bounds*:
// for every key with a deadline, some live entry is at or before it. Deadlines
// that move later need no call (the entry is revalidated when it surfaces);
// an owner whose key's deadline may have moved *earlier* calls schedule().
#pragma once
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/time.hpp"

namespace yz {

class DeadlineIndex {
 public:
  using Key = std::pair<std::uint64_t, std::uint32_t>;

  // The key is due no later than `at` (kNever: ignored). Cheap when an entry
  // at or before `at` is already live.
  void schedule(const Key& key, Millis at);

  // Earliest true deadline, kNever when none. `current(key)` must return the
  // key's true deadline now (kNever when it has none or is gone). Entries
  // found stale are dropped or moved to their true time on the way.
  template <class Current>
  Millis earliest(const Current& current) {
    while (!heap_.empty()) {
      const Entry top = heap_.front();
      auto live = live_.find(top.key);
      if (live == live_.end() || live->second != top.time) {  // superseded by an earlier schedule()
        pop();
        continue;
      }
      Millis truth = current(top.key);
      if (truth == top.time) return truth;
      pop();
      retime(live, truth);
    }
    return kNever;
  }

  // Removes and returns (in (time, key) order) every key whose true deadline is
  // <= now. The owner acts on them and schedule()s those that still have one.
  template <class Current>
  std::vector<Key> take_due(Millis now, const Current& current) {
    std::vector<Key> due;
    while (!heap_.empty() && heap_.front().time <= now) {
      const Entry top = heap_.front();
      pop();
      auto live = live_.find(top.key);
      if (live == live_.end() || live->second != top.time) continue;
      Millis truth = current(top.key);
      if (truth <= now) {
        live_.erase(live);
        due.push_back(top.key);
      } else {
        retime(live, truth);
      }
    }
    return due;
  }

  std::size_t keys() const { return live_.size(); }       // keys with a live entry
  std::size_t entries() const { return heap_.size(); }    // heap entries, stale ones included
  void clear();

 private:
  struct Entry {
    Millis time;
    Key key;
    // std heap algorithms build a max-heap: "greater" puts the earliest on top.
    bool operator<(const Entry& other) const {
      return time != other.time ? time > other.time : key > other.key;
    }
  };
  void push(Millis time, const Key& key);
  void pop();
  struct KeyHash {
    std::size_t operator()(const Key& key) const {
      return static_cast<std::size_t>((key.first * 0x9e3779b97f4a7c15ULL) ^ key.second);
    }
  };
  using LiveMap = std::unordered_map<Key, Millis, KeyHash>;
  void retime(LiveMap::iterator live, Millis truth);
  void compact();

  std::vector<Entry> heap_;
  // key -> time of its live entry, bounded by keys. Unordered is deterministic
  // enough: live keys are distinct, so the heap pops in strict (time, key)
  // order whatever order compact() pushed them in.
  LiveMap live_;
};

}  // namespace yz
