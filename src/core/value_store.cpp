// In-memory value store: versioned puts, expiry, quotas and republish
// scheduling (value_store.hpp). A value is live while now < expires_at.
// Two ordered (time, key) indexes mirror the map so that deadlines and due
// work cost O(log n) per change and next_deadline() is O(1). Expired values
// keep their quota until expire(); a put that would be refused for quota
// first reclaims them, so dead values never block live ones.
#include "core/value_store.hpp"

#include <algorithm>
#include <utility>

#include "core/protocol.hpp"

namespace yz {

bool store_accepted(StoreOutcome outcome) {
  return outcome == StoreOutcome::stored || outcome == StoreOutcome::replaced ||
         outcome == StoreOutcome::refreshed;
}

ValueStore::ValueStore(std::size_t max_bytes, std::size_t max_values, Millis republish_interval)
    : max_bytes_(max_bytes), max_values_(max_values), republish_interval_(std::max<Millis>(republish_interval, 1)) {}

void ValueStore::index(const StoredValue& value) {
  expiries_.emplace(value.expires_at, value.key);
  republishes_.emplace(value.republish_at, value.key);
}

void ValueStore::unindex(const StoredValue& value) {
  expiries_.erase({value.expires_at, value.key});
  republishes_.erase({value.republish_at, value.key});
}

ValueStore::Values::iterator ValueStore::erase(Values::iterator it) {
  unindex(it->second);
  bytes_ -= it->second.value.size();
  return values_.erase(it);
}

StoreOutcome ValueStore::put(const NodeId& key, std::uint64_t seq, BytesView value, Millis expires_at, Millis now) {
  if (value.size() > kMaxValueSize) return StoreOutcome::too_large;
  auto it = values_.find(key);
  if (it != values_.end() && it->second.expires_at <= now) {
    erase(it);  // an expired version no longer counts, even before expire()
    it = values_.end();
  }

  if (it != values_.end()) {
    StoredValue& held = it->second;
    const bool same_bytes = std::equal(held.value.begin(), held.value.end(), value.begin(), value.end());
    if (seq == held.seq && same_bytes) {
      // Someone else pushed the same version: it is already being replicated,
      // so our own republish can wait a full interval.
      unindex(held);
      held.expires_at = std::max(held.expires_at, expires_at);
      held.republish_at = now + republish_interval_;
      index(held);
      return StoreOutcome::refreshed;
    }
    if (seq <= held.seq) return StoreOutcome::stale;
    auto fits = [&] { return bytes_ - held.value.size() + value.size() <= max_bytes_; };
    // Expired values still hold quota until expire(); reclaim it before refusing.
    // (Erasing other keys leaves `it` and `held` valid.)
    if (!fits()) expire(now);
    if (!fits()) return StoreOutcome::full;
    unindex(held);
    bytes_ = bytes_ - held.value.size() + value.size();
    held.seq = seq;
    held.value.assign(value.begin(), value.end());
    held.expires_at = expires_at;
    held.stored_at = now;
    held.republish_at = now + republish_interval_;
    index(held);
    return StoreOutcome::replaced;
  }

  auto fits = [&] { return values_.size() < max_values_ && value.size() <= max_bytes_ - std::min(bytes_, max_bytes_); };
  if (!fits()) expire(now);
  if (!fits()) return StoreOutcome::full;
  StoredValue stored{key, seq, Bytes(value.begin(), value.end()), expires_at, now, now + republish_interval_};
  index(stored);
  bytes_ += stored.value.size();
  values_.emplace(key, std::move(stored));
  return StoreOutcome::stored;
}

const StoredValue* ValueStore::get(const NodeId& key, Millis now) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.expires_at <= now) return nullptr;
  return &it->second;
}

std::size_t ValueStore::expire(Millis now) {
  std::size_t removed = 0;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    auto it = values_.find(expiries_.begin()->second);
    erase(it);
    ++removed;
  }
  return removed;
}

std::vector<StoredValue> ValueStore::take_due_for_republish(Millis now) {
  std::vector<StoredValue> due;
  while (!republishes_.empty() && republishes_.begin()->first <= now) {
    StoredValue& value = values_.find(republishes_.begin()->second)->second;
    // Expired values are not pushed again; expire() removes them.
    if (value.expires_at > now) due.push_back(value);
    republishes_.erase(republishes_.begin());
    value.republish_at = now + republish_interval_;
    republishes_.emplace(value.republish_at, value.key);
  }
  return due;
}

Millis ValueStore::next_deadline() const {
  Millis next = kNever;
  if (!expiries_.empty()) next = std::min(next, expiries_.begin()->first);
  if (!republishes_.empty()) next = std::min(next, republishes_.begin()->first);
  return next;
}

}  // namespace yz
