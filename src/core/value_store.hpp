// In-memory value store with versions (seq), TTL, expiry, quotas and
// republish bookkeeping. Bounded by bytes and count (DESIGN rule 8).
#pragma once
#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/messages.hpp"
#include "core/time.hpp"

namespace yz {

struct StoredValue {
  NodeId key;
  std::uint64_t seq = 0;
  Bytes value;
  Millis expires_at = 0;
  Millis stored_at = 0;
  Millis republish_at = 0;  // next time this node pushes it to the current k closest
};

enum class StoreOutcome {
  stored,      // new key
  replaced,    // higher seq replaced an older version
  refreshed,   // same seq and bytes: expiry extended
  stale,       // a newer (or conflicting same-seq) version is held; refused
  too_large,   // above kMaxValueSize; refused
  full,        // quota reached; refused
};
bool store_accepted(StoreOutcome outcome);

class ValueStore {
 public:
  ValueStore(std::size_t max_bytes, std::size_t max_values, Millis republish_interval);

  StoreOutcome put(const NodeId& key, std::uint64_t seq, BytesView value, Millis expires_at, Millis now);
  // Live value or nullptr (expired values are invisible even before expire()).
  const StoredValue* get(const NodeId& key, Millis now) const;
  // Drop expired values; returns how many.
  std::size_t expire(Millis now);
  // Values whose republish time has come; their next republish is rescheduled.
  std::vector<StoredValue> take_due_for_republish(Millis now);
  // Earliest expiry or republish time, kNever when empty.
  Millis next_deadline() const;

  std::size_t size() const { return values_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t max_bytes_;
  std::size_t max_values_;
  Millis republish_interval_;
  using Values = std::unordered_map<NodeId, StoredValue, NodeIdHash>;
  using Deadlines = std::set<std::pair<Millis, NodeId>>;
  void index(const StoredValue& value);
  void unindex(const StoredValue& value);
  Values::iterator erase(Values::iterator it);

  std::size_t bytes_ = 0;
  Values values_;
  // Ordered (time, key) indexes kept in sync with values_, so the earliest
  // deadline is read in O(1) and due values are found without a scan.
  Deadlines expiries_;
  Deadlines republishes_;
};

}  // namespace yz
