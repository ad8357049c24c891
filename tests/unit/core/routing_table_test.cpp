// RoutingTable: bucket splits, replacement caches, ping-before-evict, failure
// backoff, and closest() checked against a brute-force sort.
#include "core/routing_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/random.hpp"

namespace yz {
namespace {

void set_bit(NodeId& id, int i, bool value) {
  const auto mask = static_cast<std::uint8_t>(0x80u >> (i % 8));
  auto& byte = id.bytes[static_cast<std::size_t>(i / 8)];
  byte = static_cast<std::uint8_t>(value ? (byte | mask) : (byte & ~mask));
}

NodeId random_id(Random& rng) {
  NodeId id;
  rng.fill(id.bytes.data(), id.bytes.size());
  return id;
}

// A random id sharing exactly `prefix` leading bits with `self`.
NodeId id_with_prefix(const NodeId& self, int prefix, Random& rng) {
  NodeId id = random_id(rng);
  for (int i = 0; i < prefix; ++i) set_bit(id, i, self.bit(i));
  set_bit(id, prefix, !self.bit(prefix));
  return id;
}

Contact contact(const NodeId& id, std::string address = "") {
  if (address.empty()) address = "ws://" + id.short_hex() + ".test:1";
  return Contact{id, Role::dht, {address}};
}

std::vector<NodeId> ids_of(const std::vector<Contact>& contacts) {
  std::vector<NodeId> out;
  for (const auto& c : contacts) out.push_back(c.id);
  return out;
}

std::vector<NodeId> entry_ids(const RoutingTable& table) {
  std::vector<NodeId> out;
  for (const auto& e : table.entries()) out.push_back(e.contact.id);
  return out;
}

using Outcome = RoutingTable::Outcome;

// A table (k = 2) whose bucket 0 is full and no longer the self bucket:
// a1 and a2 inserted long enough ago not to be presumed alive, a3 cached with
// a ping asked for a1.
constexpr Millis kAged = RoutingTable::kPresumedAliveFor;
struct FullBucket {
  SeededRandom rng{11};
  NodeId self = random_id(rng);
  RoutingTable table;
  NodeId a1 = id_with_prefix(self, 0, rng);
  NodeId a2 = id_with_prefix(self, 0, rng);
  NodeId a3 = id_with_prefix(self, 0, rng);

  explicit FullBucket(std::size_t cache = 8) : table(self, 2, cache) {
    EXPECT_EQ(table.observe(contact(a1), 10 - kAged).outcome, Outcome::inserted);
    EXPECT_EQ(table.observe(contact(a2), 20 - kAged).outcome, Outcome::inserted);
    auto r = table.observe(contact(a3), 30);
    EXPECT_EQ(r.outcome, Outcome::replacement_cached);
    EXPECT_TRUE(r.ping_candidate.has_value());
    if (r.ping_candidate) {
      EXPECT_EQ(r.ping_candidate->id, a1);
    }
  }
};

TEST(RoutingTable, InsertsUpToKThenCachesInAFullBucket) {
  SeededRandom rng(1);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 4, 8);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(table.observe(contact(id_with_prefix(self, 0, rng)), i).outcome, Outcome::inserted);
  }
  EXPECT_EQ(table.size(), 4u);
  // The fifth id of the same half cannot fit: the self bucket splits, but every
  // entry shares 0 bits with self, so bucket 0 stays full and the id is cached.
  auto r = table.observe(contact(id_with_prefix(self, 0, rng)), 10);
  EXPECT_EQ(r.outcome, Outcome::replacement_cached);
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.replacement_count(), 1u);
  EXPECT_EQ(table.bucket_count(), 2u);
}

TEST(RoutingTable, SelfBucketSplitsAndIdsLandInTheirPrefixBucket) {
  SeededRandom rng(2);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 2, 8);
  const NodeId a = id_with_prefix(self, 0, rng);
  const NodeId b = id_with_prefix(self, 3, rng);
  const NodeId c = id_with_prefix(self, 5, rng);
  const NodeId d = id_with_prefix(self, 1, rng);
  EXPECT_EQ(table.observe(contact(a), 1).outcome, Outcome::inserted);
  EXPECT_EQ(table.observe(contact(b), 2).outcome, Outcome::inserted);
  EXPECT_EQ(table.bucket_count(), 1u);
  EXPECT_EQ(table.observe(contact(c), 3).outcome, Outcome::inserted);  // split: {a} | {b, c}
  EXPECT_EQ(table.bucket_count(), 2u);
  EXPECT_EQ(table.observe(contact(d), 4).outcome, Outcome::inserted);  // split: {a} | {d} | {b, c}
  ASSERT_EQ(table.bucket_count(), 3u);
  auto info = table.buckets();
  ASSERT_EQ(info.size(), 3u);
  EXPECT_EQ(info[0].prefix_length, 0);
  EXPECT_EQ(info[0].entries, 1u);
  EXPECT_EQ(info[0].last_changed, 2);  // halves keep the time of the last change before the split
  EXPECT_EQ(info[1].prefix_length, 1);
  EXPECT_EQ(info[1].entries, 1u);
  EXPECT_EQ(info[1].last_changed, 4);
  EXPECT_EQ(info[2].prefix_length, 2);
  EXPECT_EQ(info[2].entries, 2u);
  EXPECT_EQ(info[2].last_changed, 3);
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.replacement_count(), 0u);
}

TEST(RoutingTable, BucketCountsMatchPrefixLengthsAndSparsePrefixesAreNeverRefused) {
  SeededRandom rng(3);
  const NodeId self = random_id(rng);
  const std::size_t k = 4;
  RoutingTable table(self, k, 3);
  std::vector<NodeId> ids;
  for (int i = 0; i < 400; ++i) ids.push_back(random_id(rng));
  for (int prefix = 6; prefix < 40; prefix += 3) ids.push_back(id_with_prefix(self, prefix, rng));
  std::map<int, std::size_t> per_prefix;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    table.observe(contact(ids[i]), static_cast<Millis>(i));
    ++per_prefix[common_prefix_length(self, ids[i])];
  }
  auto info = table.buckets();
  ASSERT_EQ(info.size(), table.bucket_count());
  const int last = static_cast<int>(info.size()) - 1;
  std::vector<std::size_t> counted(info.size(), 0);
  for (const auto& e : table.entries()) {
    ++counted[static_cast<std::size_t>(std::min(common_prefix_length(self, e.contact.id), last))];
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < info.size(); ++i) {
    EXPECT_EQ(info[i].prefix_length, static_cast<int>(i));
    EXPECT_EQ(info[i].entries, counted[i]) << "bucket " << i;
    EXPECT_LE(info[i].entries, k);
    total += info[i].entries;
  }
  EXPECT_EQ(total, table.size());
  EXPECT_LE(table.replacement_count(), 3 * table.bucket_count());
  // An id is refused only when k others share exactly its prefix length.
  for (const auto& id : ids) {
    if (per_prefix[common_prefix_length(self, id)] <= k) {
      EXPECT_NE(table.find(id), nullptr);
    }
  }
  EXPECT_GT(table.bucket_count(), 6u);
}

TEST(RoutingTable, NeverMoreThan256Buckets) {
  SeededRandom rng(4);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 1, 2);
  for (int prefix = 0; prefix < NodeId::kBits; ++prefix) {
    EXPECT_EQ(table.observe(contact(id_with_prefix(self, prefix, rng)), prefix).outcome, Outcome::inserted);
  }
  EXPECT_EQ(table.bucket_count(), 256u);
  EXPECT_EQ(table.size(), 256u);
  auto r = table.observe(contact(id_with_prefix(self, 254, rng)), 1000);
  EXPECT_EQ(r.outcome, Outcome::replacement_cached);
  EXPECT_EQ(table.bucket_count(), 256u);
  NodeId neighbour = self;  // the only id sharing 255 bits
  set_bit(neighbour, 255, !self.bit(255));
  EXPECT_EQ(table.observe(contact(neighbour), 1001).outcome, Outcome::updated);
}

TEST(RoutingTable, ObserveSelfIsIgnored) {
  SeededRandom rng(5);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 4, 4);
  auto r = table.observe(contact(self), 1);
  EXPECT_EQ(r.outcome, Outcome::ignored_self);
  EXPECT_FALSE(r.ping_candidate.has_value());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.find(self), nullptr);
  EXPECT_TRUE(table.closest(self, 4, 1).empty());
}

TEST(RoutingTable, ObserveKnownEntryUpdatesContactAndRecency) {
  SeededRandom rng(6);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 4, 4);
  const NodeId a = id_with_prefix(self, 0, rng);
  const NodeId b = id_with_prefix(self, 0, rng);
  table.observe(contact(a, "ws://old:1"), 10);
  table.observe(contact(b), 20);
  table.record_failure(a, 25);
  ASSERT_EQ(table.find(a)->failures, 1);

  Contact moved{a, Role::bridge, {"ws://new:2", "wss://new:3"}};
  EXPECT_EQ(table.observe(moved, 30).outcome, Outcome::updated);
  const RoutingEntry* e = table.find(a);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->contact, moved);
  EXPECT_EQ(e->last_seen, 30);
  EXPECT_EQ(e->added_at, 10);
  EXPECT_EQ(e->failures, 0);
  EXPECT_EQ(e->retry_after, 0);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(entry_ids(table), (std::vector<NodeId>{b, a}));  // a is now most recently seen
}

TEST(RoutingTable, FullBucketCachesNewcomerAndAsksOncePerBucketForAPing) {
  FullBucket f;
  EXPECT_EQ(f.table.bucket_count(), 2u);
  EXPECT_EQ(f.table.size(), 2u);
  EXPECT_EQ(f.table.replacement_count(), 1u);
  EXPECT_EQ(f.table.find(f.a3), nullptr);  // cached, not an entry
  // While the ping is pending, more newcomers are cached without a new ping.
  auto r = f.table.observe(contact(id_with_prefix(f.self, 0, f.rng)), 40);
  EXPECT_EQ(r.outcome, Outcome::replacement_cached);
  EXPECT_FALSE(r.ping_candidate.has_value());
  EXPECT_EQ(f.table.replacement_count(), 2u);
  EXPECT_NE(f.table.find(f.a1), nullptr);
  EXPECT_NE(f.table.find(f.a2), nullptr);
}

// A full bucket (k = 2, no longer the self bucket) of entries seen at 1000 and 2000.
struct RecentBucket {
  SeededRandom rng{12};
  NodeId self = random_id(rng);
  RoutingTable table{self, 2, 8};
  NodeId a1 = id_with_prefix(self, 0, rng);
  NodeId a2 = id_with_prefix(self, 0, rng);
  RecentBucket() {
    table.observe(contact(a1), 1000);
    table.observe(contact(a2), 2000);
  }
};

TEST(RoutingTable, FullBucketOfRecentlySeenEntriesTakesNoPing) {
  RecentBucket f;
  auto& [rng, self, table, a1, a2] = f;
  const NodeId a3 = id_with_prefix(self, 0, rng);
  // Both entries heard from within kPresumedAliveFor: cached, nobody pinged.
  auto r = table.observe(contact(a3), 1000 + RoutingTable::kPresumedAliveFor - 1);
  EXPECT_EQ(r.outcome, Outcome::replacement_cached);
  EXPECT_FALSE(r.ping_candidate.has_value());
  EXPECT_EQ(table.replacement_count(), 1u);
  // Once the oldest entry is that old, the next newcomer asks for its ping.
  r = table.observe(contact(id_with_prefix(self, 0, rng)), 1000 + RoutingTable::kPresumedAliveFor);
  ASSERT_TRUE(r.ping_candidate.has_value());
  EXPECT_EQ(r.ping_candidate->id, a1);
}

TEST(RoutingTable, RecentlySeenButFailingEntryIsPingedForANewcomer) {
  RecentBucket f;
  auto& [rng, self, table, a1, a2] = f;
  table.record_failure(a1, 3000);
  auto r = table.observe(contact(id_with_prefix(self, 0, rng)), 4000);
  EXPECT_EQ(r.outcome, Outcome::replacement_cached);
  ASSERT_TRUE(r.ping_candidate.has_value());
  EXPECT_EQ(r.ping_candidate->id, a1);
}

TEST(RoutingTable, AlivePingKeepsEntryAndNewcomerStaysCached) {
  FullBucket f;
  f.table.ping_result(f.a1, true, 50);
  const RoutingEntry* e = f.table.find(f.a1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->last_seen, 50);
  EXPECT_EQ(f.table.find(f.a3), nullptr);
  EXPECT_EQ(f.table.replacement_count(), 1u);
  EXPECT_EQ(entry_ids(f.table), (std::vector<NodeId>{f.a2, f.a1}));
  // The pending ping is cleared: the next newcomer asks about the new LRS, a2.
  auto r = f.table.observe(contact(id_with_prefix(f.self, 0, f.rng)), 60);
  EXPECT_EQ(r.outcome, Outcome::replacement_cached);
  ASSERT_TRUE(r.ping_candidate.has_value());
  EXPECT_EQ(r.ping_candidate->id, f.a2);
}

TEST(RoutingTable, DeadPingEvictsAndPromotesNewestReplacement) {
  FullBucket f;
  const NodeId a4 = id_with_prefix(f.self, 0, f.rng);
  f.table.observe(contact(a4), 40);
  f.table.ping_result(f.a1, false, 50);
  EXPECT_EQ(f.table.find(f.a1), nullptr);
  const RoutingEntry* promoted = f.table.find(a4);
  ASSERT_NE(promoted, nullptr);
  EXPECT_EQ(promoted->added_at, 50);
  EXPECT_EQ(f.table.find(f.a3), nullptr);
  EXPECT_EQ(f.table.size(), 2u);
  EXPECT_EQ(f.table.replacement_count(), 1u);
  // Promoted a4 (seen at 40) is more recent than a2 (seen at 20).
  EXPECT_EQ(entry_ids(f.table), (std::vector<NodeId>{f.a2, a4}));
  // A repeated report about the evicted entry changes nothing.
  f.table.ping_result(f.a1, false, 55);
  EXPECT_EQ(f.table.size(), 2u);
  EXPECT_EQ(f.table.replacement_count(), 1u);
}

TEST(RoutingTable, NothingButAFailedPingOrRepeatedFailuresEvicts) {
  FullBucket f;
  for (int i = 0; i < 20; ++i) {
    f.table.observe(contact(id_with_prefix(f.self, 0, f.rng)), 100 + i);
  }
  f.table.record_failure(f.a2, 200);  // one failure is not enough
  EXPECT_NE(f.table.find(f.a1), nullptr);
  EXPECT_NE(f.table.find(f.a2), nullptr);
  EXPECT_EQ(f.table.size(), 2u);
  EXPECT_EQ(f.table.replacement_count(), 8u);  // bounded by the cache size
}

TEST(RoutingTable, DeadResultForAPingNotAskedForCountsAsOneFailure) {
  FullBucket f;  // ping pending on a1
  f.table.ping_result(f.a2, false, 40);
  const RoutingEntry* e = f.table.find(f.a2);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->failures, 1);
  EXPECT_EQ(e->retry_after, 40 + RoutingTable::kBackoffBase);
}

TEST(RoutingTable, ProofOfLifeAnswersThePendingPing) {
  FullBucket f;
  EXPECT_EQ(f.table.observe(contact(f.a1), 40).outcome, Outcome::updated);
  // The ping asked for a1 is no longer pending: a late failure is only a failure.
  f.table.ping_result(f.a1, false, 45);
  ASSERT_NE(f.table.find(f.a1), nullptr);
  EXPECT_EQ(f.table.find(f.a1)->failures, 1);
  // The next newcomer asks about the current least recently seen entry.
  auto r = f.table.observe(contact(id_with_prefix(f.self, 0, f.rng)), 50);
  ASSERT_TRUE(r.ping_candidate.has_value());
  EXPECT_EQ(r.ping_candidate->id, f.a2);
}

TEST(RoutingTable, ReplacementCacheIsBoundedKeepsNewestAndUpdatesDuplicates) {
  FullBucket f(3);  // a3 already cached
  std::vector<NodeId> r;
  for (int i = 0; i < 4; ++i) {
    r.push_back(id_with_prefix(f.self, 0, f.rng));
    f.table.observe(contact(r.back()), 40 + i);
  }
  EXPECT_EQ(f.table.replacement_count(), 3u);  // r1, r2, r3 kept; a3, r0 dropped
  EXPECT_FALSE(f.table.remove(f.a3));
  // Seeing r1 again makes it the newest, without duplicating it.
  f.table.observe(contact(r[1], "ws://moved:9"), 50);
  EXPECT_EQ(f.table.replacement_count(), 3u);
  f.table.ping_result(f.a1, false, 60);
  const RoutingEntry* promoted = f.table.find(r[1]);
  ASSERT_NE(promoted, nullptr);
  EXPECT_EQ(promoted->contact.addresses.list(), std::vector<std::string>{"ws://moved:9"});
  EXPECT_EQ(f.table.replacement_count(), 2u);
  // Next promotion takes the newest remaining one: r3.
  for (int i = 0; i < RoutingTable::kMaxFailures; ++i) f.table.record_failure(f.a2, 70 + i);
  EXPECT_EQ(f.table.find(f.a2), nullptr);
  EXPECT_NE(f.table.find(r[3]), nullptr);
  EXPECT_EQ(f.table.replacement_count(), 1u);
  EXPECT_TRUE(f.table.remove(r[2]));  // still cached
  EXPECT_FALSE(f.table.remove(r[0]));
  EXPECT_EQ(f.table.replacement_count(), 0u);
}

TEST(RoutingTable, ZeroSizeCacheStillAsksForPings) {
  FullBucket f(0);
  EXPECT_EQ(f.table.replacement_count(), 0u);
  f.table.ping_result(f.a1, false, 40);
  EXPECT_EQ(f.table.find(f.a1), nullptr);
  EXPECT_EQ(f.table.size(), 1u);
  EXPECT_EQ(f.table.observe(contact(f.a3), 50).outcome, Outcome::inserted);
}

TEST(RoutingTable, FailuresBackOffExponentiallyUpToTheCap) {
  SeededRandom rng(7);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 4, 4);
  const NodeId a = id_with_prefix(self, 0, rng);
  table.observe(contact(a), 0);
  const Millis expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000};
  Millis now = 1'000'000;
  int n = 0;
  for (Millis delay : expected) {
    table.record_failure(a, now);
    ++n;
    const RoutingEntry* e = table.find(a);
    ASSERT_NE(e, nullptr) << "evicted without a replacement after " << n << " failures";
    EXPECT_EQ(e->failures, n);
    EXPECT_EQ(e->retry_after, now + delay) << "after " << n << " failures";
    now += 7;
  }
  for (int i = 0; i < 100; ++i) table.record_failure(a, now);
  ASSERT_NE(table.find(a), nullptr);
  EXPECT_EQ(table.find(a)->retry_after, now + RoutingTable::kBackoffMax);
  // Proof of life clears the backoff.
  table.observe(contact(a), now + 1);
  EXPECT_EQ(table.find(a)->failures, 0);
  EXPECT_EQ(table.find(a)->retry_after, 0);
}

TEST(RoutingTable, RepeatedFailuresEvictOnlyWhenAReplacementWaits) {
  SeededRandom rng(8);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 2, 4);
  const NodeId a1 = id_with_prefix(self, 0, rng);
  const NodeId a2 = id_with_prefix(self, 0, rng);
  table.observe(contact(a1), 1);
  table.observe(contact(a2), 2);
  for (int i = 0; i < RoutingTable::kMaxFailures + 2; ++i) table.record_failure(a2, 10 + i);
  ASSERT_NE(table.find(a2), nullptr);  // no replacement: kept despite 7 failures
  EXPECT_EQ(table.find(a2)->failures, RoutingTable::kMaxFailures + 2);

  const NodeId a3 = id_with_prefix(self, 0, rng);
  auto r = table.observe(contact(a3), 20);
  ASSERT_EQ(r.outcome, Outcome::replacement_cached);
  EXPECT_NE(table.find(a2), nullptr);  // a replacement alone does not evict
  table.record_failure(a2, 30);        // the next failure does
  EXPECT_EQ(table.find(a2), nullptr);
  EXPECT_NE(table.find(a3), nullptr);
  EXPECT_EQ(table.replacement_count(), 0u);

  // a1: with a replacement waiting, eviction happens exactly at kMaxFailures.
  const NodeId a4 = id_with_prefix(self, 0, rng);
  table.observe(contact(a4), 40);
  ASSERT_EQ(table.replacement_count(), 1u);
  for (int i = 1; i < RoutingTable::kMaxFailures; ++i) table.record_failure(a1, 50 + i);
  ASSERT_NE(table.find(a1), nullptr);
  table.record_failure(a1, 60);
  EXPECT_EQ(table.find(a1), nullptr);
  EXPECT_NE(table.find(a4), nullptr);
}

TEST(RoutingTable, FailingReplacementIsForgottenAndUnknownIdsAreHarmless) {
  FullBucket f;
  f.table.record_failure(f.a3, 40);
  EXPECT_EQ(f.table.replacement_count(), 0u);
  SeededRandom other(99);
  const NodeId stranger = random_id(other);
  f.table.record_failure(stranger, 41);
  f.table.ping_result(stranger, false, 42);
  f.table.ping_result(stranger, true, 43);
  EXPECT_FALSE(f.table.remove(stranger));
  EXPECT_EQ(f.table.size(), 2u);
  // With no replacement left, the dead ping still evicts a1 and frees its slot.
  f.table.ping_result(f.a1, false, 44);
  EXPECT_EQ(f.table.size(), 1u);
}

TEST(RoutingTable, RemovePromotesAReplacement) {
  FullBucket f;
  EXPECT_TRUE(f.table.remove(f.a1));
  EXPECT_EQ(f.table.find(f.a1), nullptr);
  EXPECT_NE(f.table.find(f.a3), nullptr);
  EXPECT_EQ(f.table.size(), 2u);
  EXPECT_FALSE(f.table.remove(f.a1));
}

TEST(RoutingTable, ClosestMatchesBruteForce) {
  SeededRandom rng(9);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 20, 8);
  for (int i = 0; i < 300; ++i) table.observe(contact(random_id(rng)), i);
  // Dense ids around self, so deep buckets exist too.
  for (int prefix = 4; prefix < 16; ++prefix) table.observe(contact(id_with_prefix(self, prefix, rng)), 400);
  const auto all = entry_ids(table);
  ASSERT_GT(all.size(), 100u);

  std::vector<NodeId> targets{self};
  for (int i = 0; i < 10; ++i) targets.push_back(random_id(rng));
  targets.push_back(all[all.size() / 2]);  // a target in the table comes first
  for (const auto& target : targets) {
    auto expected = all;
    std::sort(expected.begin(), expected.end(),
              [&](const NodeId& a, const NodeId& b) { return closer(target, a, b); });
    for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{20}, all.size() + 10}) {
      auto want = std::vector<NodeId>(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(
                                                                            std::min(n, expected.size())));
      EXPECT_EQ(ids_of(table.closest(target, n, 1000)), want) << "n=" << n;
    }
  }
  EXPECT_EQ(table.closest(targets.back(), 1, 1000).front().id, targets.back());
  EXPECT_TRUE(table.closest(self, 0, 1000).empty());
}

TEST(RoutingTable, EntriesInBackoffOnlyFillUpTheList) {
  SeededRandom rng(10);
  const NodeId self = random_id(rng);
  RoutingTable table(self, 8, 4);
  const NodeId target = random_id(rng);
  // x nearest to the target, then y, z, w.
  NodeId x = target, y = target, z = target, w = target;
  set_bit(x, 250, !target.bit(250));
  set_bit(y, 200, !target.bit(200));
  set_bit(z, 100, !target.bit(100));
  set_bit(w, 50, !target.bit(50));
  for (const auto& id : {w, z, y, x}) table.observe(contact(id), 0);
  table.record_failure(x, 100);  // retry_after 1100
  table.record_failure(y, 100);  // retry_after 1100
  EXPECT_EQ(ids_of(table.closest(target, 2, 100)), (std::vector<NodeId>{z, w}));
  EXPECT_EQ(ids_of(table.closest(target, 3, 100)), (std::vector<NodeId>{x, z, w}));
  EXPECT_EQ(ids_of(table.closest(target, 4, 100)), (std::vector<NodeId>{x, y, z, w}));
  EXPECT_EQ(ids_of(table.closest(target, 2, 1099)), (std::vector<NodeId>{z, w}));
  EXPECT_EQ(ids_of(table.closest(target, 2, 1100)), (std::vector<NodeId>{x, y}));
}

}  // namespace
}  // namespace yz
