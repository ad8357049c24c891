// Kademlia routing table: k-buckets over the XOR prefix tree, with replacement
// caches, ping-before-evict and exponential failure backoff (routing_table.hpp).
#include "core/routing_table.hpp"

#include <algorithm>
#include <iterator>
#include <limits>

namespace yz {

namespace {

// One bucket per possible common-prefix length: the last one (index 255) can
// then only hold the single id that differs from ours in the final bit.
constexpr std::size_t kMaxBuckets = static_cast<std::size_t>(NodeId::kBits);

// A ping handed out by observe() is normally reported within the engine's
// request timeout (seconds). If its result is never reported, the bucket asks
// for a new ping after this long instead of refusing newcomers forever.
constexpr Millis kPingPendingMax = 60'000;

Millis backoff_after(int failures) {
  // kBackoffBase * 2^(failures-1), capped; the shift is bounded first so the
  // product cannot overflow however many failures accumulate.
  const int shift = std::clamp(failures - 1, 0, 30);
  return std::min(RoutingTable::kBackoffBase << shift, RoutingTable::kBackoffMax);
}

template <typename Entries>
auto find_in(Entries& entries, const NodeId& id) {
  return std::find_if(entries.begin(), entries.end(),
                      [&](const RoutingEntry& e) { return e.contact.id == id; });
}

}  // namespace

RoutingTable::RoutingTable(const NodeId& self, std::size_t k, std::size_t replacement_cache_size)
    : self_(self), k_(std::max<std::size_t>(k, 1)), replacement_cache_size_(replacement_cache_size) {
  buckets_.emplace_back();
}

std::size_t RoutingTable::bucket_for(const NodeId& id) const {
  const auto prefix = static_cast<std::size_t>(common_prefix_length(self_, id));
  return std::min(prefix, buckets_.size() - 1);
}

void RoutingTable::split_last() {
  // The last bucket holds every id sharing >= last bits with us. The new bucket
  // takes those sharing more than `last` bits; those sharing exactly `last` stay.
  const auto last = buckets_.size() - 1;
  const int depth = static_cast<int>(last);
  Bucket next;
  Bucket& old = buckets_[last];
  auto split = [&](std::vector<RoutingEntry>& from, std::vector<RoutingEntry>& to) {
    std::vector<RoutingEntry> kept;
    for (auto& e : from) {
      (common_prefix_length(self_, e.contact.id) > depth ? to : kept).push_back(std::move(e));
    }
    from = std::move(kept);
  };
  split(old.entries, next.entries);
  split(old.replacements, next.replacements);
  next.last_changed = old.last_changed;
  if (old.pending_ping && common_prefix_length(self_, *old.pending_ping) > depth) {
    next.pending_ping = old.pending_ping;
    next.ping_asked_at = old.ping_asked_at;
    old.pending_ping.reset();
  }
  buckets_.push_back(std::move(next));
}

void RoutingTable::cache_replacement(Bucket& bucket, const Contact& contact, Millis now) {
  if (replacement_cache_size_ == 0) return;
  RoutingEntry entry{contact, now, now, 0, 0};
  auto known = find_in(bucket.replacements, contact.id);
  if (known != bucket.replacements.end()) {
    entry.added_at = known->added_at;
    bucket.replacements.erase(known);
  }
  bucket.replacements.push_back(std::move(entry));
  if (bucket.replacements.size() > replacement_cache_size_) {
    bucket.replacements.erase(bucket.replacements.begin(),
                              bucket.replacements.end() - static_cast<std::ptrdiff_t>(replacement_cache_size_));
  }
}

void RoutingTable::evict(Bucket& bucket, std::size_t index, Millis now) {
  if (bucket.pending_ping == bucket.entries[index].contact.id) bucket.pending_ping.reset();
  bucket.entries.erase(bucket.entries.begin() + static_cast<std::ptrdiff_t>(index));
  bucket.last_changed = now;
  if (bucket.replacements.empty()) return;
  RoutingEntry promoted = std::move(bucket.replacements.back());
  bucket.replacements.pop_back();
  promoted.added_at = now;
  // Keep the entries ordered by last_seen (front = least recently seen).
  auto pos = std::upper_bound(bucket.entries.begin(), bucket.entries.end(), promoted.last_seen,
                              [](Millis t, const RoutingEntry& e) { return t < e.last_seen; });
  bucket.entries.insert(pos, std::move(promoted));
}

RoutingTable::ObserveResult RoutingTable::observe(const Contact& contact, Millis now) {
  if (contact.id == self_) return {Outcome::ignored_self, std::nullopt};
  for (;;) {
    const auto index = bucket_for(contact.id);
    Bucket& bucket = buckets_[index];
    auto known = find_in(bucket.entries, contact.id);
    if (known != bucket.entries.end()) {
      RoutingEntry entry = std::move(*known);
      bucket.entries.erase(known);
      entry.contact = contact;
      entry.last_seen = now;
      entry.failures = 0;
      entry.retry_after = 0;
      bucket.entries.push_back(std::move(entry));
      bucket.last_changed = now;
      // Proof of life answers a pending ping to this entry just as well.
      if (bucket.pending_ping == contact.id) bucket.pending_ping.reset();
      return {Outcome::updated, std::nullopt};
    }
    if (bucket.entries.size() < k_) {
      auto cached = find_in(bucket.replacements, contact.id);
      if (cached != bucket.replacements.end()) bucket.replacements.erase(cached);
      bucket.entries.push_back(RoutingEntry{contact, now, now, 0, 0});
      bucket.last_changed = now;
      return {Outcome::inserted, std::nullopt};
    }
    if (index + 1 == buckets_.size() && buckets_.size() < kMaxBuckets) {
      split_last();
      continue;  // the id now maps to one of the two halves
    }
    cache_replacement(bucket, contact, now);
    ObserveResult result{Outcome::replacement_cached, std::nullopt};
    // Every entry heard from lately and not failing since: all presumed
    // alive, so no ping (and, without a link, no signed handshake to send it).
    const RoutingEntry& oldest = bucket.entries.front();
    if (oldest.failures == 0 && now - oldest.last_seen < kPresumedAliveFor) return result;
    if (!bucket.pending_ping || now - bucket.ping_asked_at >= kPingPendingMax) {
      bucket.pending_ping = oldest.contact.id;
      bucket.ping_asked_at = now;
      result.ping_candidate = oldest.contact;
    }
    return result;
  }
}

void RoutingTable::record_failure(const NodeId& id, Millis now) {
  Bucket& bucket = buckets_[bucket_for(id)];
  auto known = find_in(bucket.entries, id);
  if (known == bucket.entries.end()) {
    // An unverified replacement that fails is simply forgotten.
    auto cached = find_in(bucket.replacements, id);
    if (cached != bucket.replacements.end()) bucket.replacements.erase(cached);
    return;
  }
  if (known->failures < std::numeric_limits<int>::max()) ++known->failures;
  known->retry_after = now + backoff_after(known->failures);
  if (known->failures >= kMaxFailures && !bucket.replacements.empty()) {
    evict(bucket, static_cast<std::size_t>(known - bucket.entries.begin()), now);
  }
}

void RoutingTable::ping_result(const NodeId& id, bool alive, Millis now) {
  Bucket& bucket = buckets_[bucket_for(id)];
  const bool was_pending = bucket.pending_ping == id;
  if (was_pending) bucket.pending_ping.reset();
  auto known = find_in(bucket.entries, id);
  if (known == bucket.entries.end()) return;  // already removed or replaced
  if (alive) {
    RoutingEntry entry = std::move(*known);
    bucket.entries.erase(known);
    entry.last_seen = now;
    entry.failures = 0;
    entry.retry_after = 0;
    bucket.entries.push_back(std::move(entry));
    bucket.last_changed = now;
  } else if (was_pending) {
    evict(bucket, static_cast<std::size_t>(known - bucket.entries.begin()), now);
  } else {
    // A ping this table did not ask for (or one overtaken by proof of life)
    // counts as an ordinary failure.
    record_failure(id, now);
  }
}

bool RoutingTable::remove(const NodeId& id) {
  Bucket& bucket = buckets_[bucket_for(id)];
  auto known = find_in(bucket.entries, id);
  if (known != bucket.entries.end()) {
    // No clock here: date the change by the latest time this bucket has seen.
    Millis latest = bucket.last_changed;
    if (!bucket.replacements.empty()) latest = std::max(latest, bucket.replacements.back().last_seen);
    evict(bucket, static_cast<std::size_t>(known - bucket.entries.begin()), latest);
    return true;
  }
  auto cached = find_in(bucket.replacements, id);
  if (cached != bucket.replacements.end()) {
    bucket.replacements.erase(cached);
    return true;
  }
  return false;
}

std::vector<Contact> RoutingTable::closest(const NodeId& target, std::size_t n, Millis now) const {
  // Each entry is ranked by the first 8 bytes of its XOR distance, computed
  // once; only equal prefixes (ids sharing 64 bits) compare the whole distance.
  struct Ranked {
    std::uint64_t prefix;
    const RoutingEntry* entry;
  };
  auto prefix_of = [&target](const NodeId& id) {
    std::uint64_t p = 0;
    for (std::size_t i = 0; i < 8; ++i) p = (p << 8) | static_cast<std::uint8_t>(id.bytes[i] ^ target.bytes[i]);
    return p;
  };
  std::vector<Ranked> ready;
  std::vector<Ranked> waiting;
  for (const auto& bucket : buckets_) {
    for (const auto& e : bucket.entries) {
      (e.retry_after > now ? waiting : ready).push_back(Ranked{prefix_of(e.contact.id), &e});
    }
  }
  auto nearer = [&target](const Ranked& a, const Ranked& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return closer(target, a.entry->contact.id, b.entry->contact.id);
  };
  auto keep_nearest = [&](std::vector<Ranked>& list, std::size_t count) {
    count = std::min(count, list.size());
    std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(count), list.end(), nearer);
    list.resize(count);
  };
  keep_nearest(ready, n);
  if (ready.size() < n) {
    keep_nearest(waiting, n - ready.size());
    ready.insert(ready.end(), waiting.begin(), waiting.end());
    std::sort(ready.begin(), ready.end(), nearer);
  }
  std::vector<Contact> out;
  out.reserve(ready.size());
  for (const auto& r : ready) out.push_back(r.entry->contact);
  return out;
}

const RoutingEntry* RoutingTable::find(const NodeId& id) const {
  const Bucket& bucket = buckets_[bucket_for(id)];
  auto known = find_in(bucket.entries, id);
  return known == bucket.entries.end() ? nullptr : &*known;
}

std::vector<RoutingEntry> RoutingTable::entries() const {
  std::vector<RoutingEntry> out;
  out.reserve(size());
  for (const auto& bucket : buckets_) out.insert(out.end(), bucket.entries.begin(), bucket.entries.end());
  return out;
}

std::size_t RoutingTable::size() const {
  std::size_t n = 0;
  for (const auto& bucket : buckets_) n += bucket.entries.size();
  return n;
}

std::size_t RoutingTable::replacement_count() const {
  std::size_t n = 0;
  for (const auto& bucket : buckets_) n += bucket.replacements.size();
  return n;
}

std::vector<RoutingTable::BucketInfo> RoutingTable::buckets() const {
  std::vector<BucketInfo> out;
  out.reserve(buckets_.size());
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    out.push_back(BucketInfo{static_cast<int>(i), buckets_[i].entries.size(), buckets_[i].last_changed});
  }
  return out;
}

}  // namespace yz
