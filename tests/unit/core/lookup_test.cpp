// Lookup state machine: driven over a synthetic 500-node network whose nodes
// answer from real routing tables, plus small hand-built cases for the window,
// alpha, failures, late replies and hop counting.
#include "core/lookup.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/random.hpp"
#include "core/routing_table.hpp"

namespace yz {
namespace {

NodeId random_id(Random& rng) {
  NodeId id;
  rng.fill(id.bytes.data(), id.bytes.size());
  return id;
}

Contact contact(const NodeId& id) { return Contact{id, Role::dht, {"ws://" + id.short_hex() + ".test:1"}}; }

std::vector<Contact> contacts(const std::vector<NodeId>& ids) {
  std::vector<Contact> out;
  for (const auto& id : ids) out.push_back(contact(id));
  return out;
}

std::vector<NodeId> ids_of(const std::vector<Contact>& list) {
  std::vector<NodeId> out;
  for (const auto& c : list) out.push_back(c.id);
  return out;
}

std::vector<NodeId> sorted_by_distance(std::vector<NodeId> ids, const NodeId& target) {
  std::sort(ids.begin(), ids.end(), [&](const NodeId& a, const NodeId& b) { return closer(target, a, b); });
  return ids;
}

// Contacts at XOR distance 1..n from the all-zero id.
std::vector<Contact> at_distances(std::uint8_t n) {
  std::vector<Contact> out;
  for (std::uint8_t i = 1; i <= n; ++i) {
    Contact c;
    c.id.bytes[31] = i;
    out.push_back(c);
  }
  return out;
}
NodeId all_ones() {
  NodeId id;
  id.bytes.fill(0xff);
  return id;
}

// Ids at increasing distance from target: ladder[i] differs from target first at bit 200 - i.
std::vector<NodeId> ladder(const NodeId& target, int n) {
  std::vector<NodeId> out;
  for (int i = 0; i < n; ++i) {
    NodeId id = target;
    const int bit = 200 - i;
    id.bytes[static_cast<std::size_t>(bit / 8)] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    out.push_back(id);
  }
  return out;
}

// 500 nodes, each with a routing table (bucket size 20) that has observed every
// other node in a random order; a node answers find_node from its table.
class Network {
 public:
  static constexpr std::size_t kNodes = 500;

  explicit Network(std::uint64_t seed) : rng_(seed) {
    std::vector<Contact> all;
    for (std::size_t i = 0; i < kNodes; ++i) {
      ids_.push_back(random_id(rng_));
      index_[ids_.back()] = i;
      all.push_back(contact(ids_.back()));
    }
    std::vector<std::size_t> order(kNodes);
    for (std::size_t j = 0; j < kNodes; ++j) order[j] = j;
    for (std::size_t i = 0; i < kNodes; ++i) {
      tables_.emplace_back(ids_[i], 20, 0);
      for (std::size_t j = kNodes - 1; j > 0; --j) std::swap(order[j], order[rng_.uniform(j + 1)]);
      for (std::size_t j : order) tables_[i].observe(all[j], 0);
    }
  }

  const std::vector<NodeId>& ids() const { return ids_; }
  Random& rng() { return rng_; }
  // A node answers find_node with the closest entries of its table at time `now`.
  std::vector<Contact> answer(const NodeId& node, const NodeId& target, std::size_t n, Millis now = 0) const {
    return tables_[index_.at(node)].closest(target, n, now);
  }
  // Nodes that went down stay in every table; each node has noticed a given
  // dead node (recorded a failure, so it is backed off at `now`) with
  // probability 1/2. Tables hold no replacements, so nothing is evicted.
  void notice_some_failures(const std::set<NodeId>& dead, Millis now) {
    for (auto& table : tables_) {
      for (const auto& id : dead) {
        if (rng_.uniform(2) == 0) table.record_failure(id, now);
      }
    }
  }

 private:
  SeededRandom rng_;
  std::vector<NodeId> ids_;
  std::unordered_map<NodeId, std::size_t, NodeIdHash> index_;
  std::vector<RoutingTable> tables_;
};

struct DriveStats {
  std::size_t max_in_flight = 0;
  std::set<NodeId> queried;
  bool queried_twice = false;
  bool finished = false;
  std::set<NodeId> heard;  // every id given to the lookup (seeds and replies)
};

// Seeds a lookup from self's table and drives it to completion: outstanding
// queries are answered in a random order; nodes in `dead` fail instead.
DriveStats drive(Lookup& lookup, const Network& net, const NodeId& self, std::size_t k,
                 const std::set<NodeId>& dead, Random& rng, Millis now = 0) {
  DriveStats run;
  const auto seeds = net.answer(self, lookup.target(), k, now);
  for (const auto& c : seeds) run.heard.insert(c.id);
  lookup.seed(seeds);
  std::vector<Contact> outstanding;
  for (int step = 0; step < 10'000; ++step) {
    for (const auto& c : lookup.next_queries()) {
      if (!run.queried.insert(c.id).second) run.queried_twice = true;
      outstanding.push_back(c);
    }
    run.max_in_flight = std::max(run.max_in_flight, outstanding.size());
    EXPECT_EQ(lookup.in_flight(), outstanding.size());
    // Done may come with far queries still outstanding; their replies are moot.
    if (outstanding.empty() || lookup.done()) break;
    const auto i = static_cast<std::size_t>(rng.uniform(outstanding.size()));
    const Contact c = outstanding[i];
    outstanding.erase(outstanding.begin() + static_cast<std::ptrdiff_t>(i));
    if (dead.count(c.id) != 0) {
      lookup.on_failure(c.id);
    } else {
      const auto reply = net.answer(c.id, lookup.target(), k, now);
      for (const auto& r : reply) run.heard.insert(r.id);
      lookup.on_reply(c.id, reply);
    }
  }
  run.finished = lookup.done();
  return run;
}

TEST(Lookup, FindsTheTrueKClosestInA500NodeNetwork) {
  Network net(42);
  const std::size_t alpha = 3;
  SeededRandom rng(7);
  for (std::size_t k : {std::size_t{8}, std::size_t{20}}) {
    int max_requests = 0;
    for (int round = 0; round < 16; ++round) {
      const NodeId self = net.ids()[rng.uniform(Network::kNodes)];
      // Half the targets are random ids, half are existing nodes.
      const NodeId target = round % 2 == 0 ? random_id(rng) : net.ids()[rng.uniform(Network::kNodes)];
      std::vector<NodeId> others;
      for (const auto& id : net.ids()) {
        if (id != self) others.push_back(id);
      }
      auto expected = sorted_by_distance(others, target);
      expected.resize(k);

      Lookup lookup(target, self, k, alpha);
      const DriveStats run = drive(lookup, net, self, k, {}, rng);
      ASSERT_TRUE(run.finished);
      EXPECT_EQ(ids_of(lookup.result()), expected) << "k " << k << " round " << round;
      // alpha in flight until the lookup converges, then the rest of the k nearest at once.
      EXPECT_LE(run.max_in_flight, k);
      EXPECT_FALSE(run.queried_twice);
      EXPECT_EQ(run.queried.count(self), 0u);
      EXPECT_EQ(static_cast<std::size_t>(lookup.requests()), run.queried.size());
      EXPECT_EQ(lookup.failures(), 0);
      EXPECT_GE(lookup.hops(), 1);
      EXPECT_LE(lookup.hops(), 5);
      EXPECT_LE(lookup.in_flight(), k);
      max_requests = std::max(max_requests, lookup.requests());
    }
    // A lookup asks a few nodes beyond the k it returns, not the network.
    EXPECT_LE(static_cast<std::size_t>(max_requests), 3 * k) << "k " << k;
  }
}

TEST(Lookup, SkipsDeadNodesAndStillFindsTheClosestLiveOnes) {
  Network net(43);
  const std::size_t k = 8;
  SeededRandom rng(8);
  int total_failures = 0;
  std::size_t found = 0;
  std::size_t wanted = 0;
  for (int round = 0; round < 12; ++round) {
    const NodeId self = net.ids()[rng.uniform(Network::kNodes)];
    const NodeId target = random_id(rng);
    auto ranked = sorted_by_distance(net.ids(), target);
    // The three nodes nearest the target and a random fifth of the rest are down.
    std::set<NodeId> dead;
    for (std::size_t i = 0; i < ranked.size(); ++i) {
      if (ranked[i] != self && (i < 3 || rng.uniform(5) == 0)) dead.insert(ranked[i]);
    }
    // Each round is far enough from the last that earlier backoffs are over.
    const Millis now = (round + 1) * 1'000'000;
    net.notice_some_failures(dead, now);

    Lookup lookup(target, self, k, 3);
    const DriveStats run = drive(lookup, net, self, k, dead, rng, now);
    ASSERT_TRUE(run.finished);
    // Every live node the lookup heard of that is nearer than its answer was
    // asked: the result is exactly the k nearest live nodes it heard of.
    std::vector<NodeId> best_heard;
    for (const auto& id : ranked) {
      if (run.heard.count(id) != 0 && dead.count(id) == 0 && best_heard.size() < k) best_heard.push_back(id);
    }
    EXPECT_EQ(ids_of(lookup.result()), best_heard) << "round " << round;
    // Stale tables (dead entries take reply slots) can hide a live node from
    // every reply; across rounds almost all of the true k nearest are found.
    std::set<NodeId> result_set;
    for (const auto& c : lookup.result()) result_set.insert(c.id);
    std::size_t live_rank = 0;
    for (const auto& id : ranked) {
      if (id == self || dead.count(id) != 0) continue;
      if (live_rank++ >= k) break;
      ++wanted;
      found += result_set.count(id);
    }
    EXPECT_LE(run.max_in_flight, k);
    EXPECT_FALSE(run.queried_twice);
    int dead_queried = 0;
    for (const auto& id : run.queried) dead_queried += dead.count(id) != 0 ? 1 : 0;
    EXPECT_EQ(lookup.failures(), dead_queried);
    EXPECT_GE(lookup.failures(), 3);  // the nearest three were asked and failed
    EXPECT_LE(lookup.requests(), 40);
    total_failures += lookup.failures();
  }
  EXPECT_GT(total_failures, 36);
  EXPECT_GE(found * 100, wanted * 95) << found << " of " << wanted;
}

TEST(Lookup, OnlyTheKNearestAreAskedAndNeverMoreThanAlphaAtOnce) {
  SeededRandom rng(1);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 20);
  Lookup lookup(target, self, 3, 2);
  auto shuffled = near;
  std::reverse(shuffled.begin(), shuffled.end());
  lookup.seed(contacts(shuffled));

  auto first = lookup.next_queries();
  EXPECT_EQ(ids_of(first), (std::vector<NodeId>{near[0], near[1]}));
  EXPECT_TRUE(lookup.next_queries().empty());  // alpha = 2 in flight
  EXPECT_EQ(lookup.in_flight(), 2u);
  EXPECT_FALSE(lookup.done());
  lookup.on_reply(near[0], {});
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[2]});
  EXPECT_TRUE(lookup.next_queries().empty());  // the rest is outside the 3-window
  lookup.on_reply(near[1], {});
  EXPECT_TRUE(lookup.next_queries().empty());
  EXPECT_FALSE(lookup.done());
  lookup.on_reply(near[2], {});
  EXPECT_TRUE(lookup.next_queries().empty());
  EXPECT_TRUE(lookup.done());
  EXPECT_EQ(lookup.requests(), 3);
  EXPECT_EQ(ids_of(lookup.result()), (std::vector<NodeId>{near[0], near[1], near[2]}));
}

// The first round asks preferred candidates (a get: peers with an open link)
// among the k nearest before nearer ones; farther than the window they are not
// preferred, and later rounds go nearest first again.
TEST(Lookup, FirstRoundPrefersCandidatesInsideTheWindow) {
  SeededRandom rng(3);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 6);
  Lookup lookup(target, self, 4, 2);  // k = 4: near[4] and near[5] are outside the window
  lookup.seed(contacts(near));
  std::set<NodeId> linked{near[2], near[3], near[5]};
  auto preferred = [&](const NodeId& id) { return linked.count(id) != 0; };
  EXPECT_EQ(ids_of(lookup.next_queries(preferred)), (std::vector<NodeId>{near[2], near[3]}));
  lookup.on_reply(near[2], {});
  EXPECT_EQ(ids_of(lookup.next_queries(preferred)), std::vector<NodeId>{near[0]});

  Lookup one_linked(target, self, 4, 2);
  one_linked.seed(contacts(near));
  linked = {near[1], near[5]};
  EXPECT_EQ(ids_of(one_linked.next_queries(preferred)), (std::vector<NodeId>{near[1], near[0]}));
}

TEST(Lookup, AFailureBringsTheNextCandidateIntoTheWindow) {
  SeededRandom rng(2);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 5);
  Lookup lookup(target, self, 3, 1);
  lookup.seed(contacts(near));
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[0]});
  lookup.on_failure(near[0]);
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[1]});
  lookup.on_reply(near[1], {});
  // Nothing closer came back (alpha = 1 reply): the rest of the k = 3 nearest at once.
  EXPECT_EQ(ids_of(lookup.next_queries()), (std::vector<NodeId>{near[2], near[3]}));
  lookup.on_reply(near[2], {});
  lookup.on_reply(near[3], {});
  EXPECT_TRUE(lookup.next_queries().empty());
  EXPECT_TRUE(lookup.done());
  EXPECT_EQ(ids_of(lookup.result()), (std::vector<NodeId>{near[1], near[2], near[3]}));
  EXPECT_EQ(lookup.requests(), 4);
  EXPECT_EQ(lookup.failures(), 1);
}

TEST(Lookup, TerminatesWhenEverythingFails) {
  SeededRandom rng(3);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 10);
  Lookup lookup(target, self, 8, 3);
  lookup.seed(contacts(near));
  int rounds = 0;
  while (!lookup.done() && rounds++ < 100) {
    auto queries = lookup.next_queries();
    ASSERT_FALSE(queries.empty());
    EXPECT_LE(queries.size(), 3u);
    for (const auto& q : queries) lookup.on_failure(q.id);
  }
  EXPECT_TRUE(lookup.done());
  EXPECT_TRUE(lookup.result().empty());
  EXPECT_EQ(lookup.requests(), 10);
  EXPECT_EQ(lookup.failures(), 10);
  EXPECT_EQ(lookup.hops(), 0);
  EXPECT_TRUE(lookup.next_queries().empty());
}

TEST(Lookup, WithoutSeedsItIsDoneAtOnce) {
  SeededRandom rng(4);
  const NodeId self = random_id(rng);
  Lookup lookup(random_id(rng), self, 8, 3);
  lookup.seed({contact(self)});  // self is never a candidate
  EXPECT_TRUE(lookup.next_queries().empty());
  EXPECT_TRUE(lookup.done());
  EXPECT_TRUE(lookup.result().empty());
  EXPECT_EQ(lookup.requests(), 0);
}

TEST(Lookup, SelfAndDuplicatesAreNeverQueried) {
  SeededRandom rng(5);
  const NodeId target = random_id(rng);
  const auto near = ladder(target, 4);
  const NodeId self = near[0];  // we are the closest node to the target
  Lookup lookup(target, self, 8, 8);
  lookup.seed(contacts({near[0], near[1], near[1], near[2]}));
  auto queries = lookup.next_queries();
  EXPECT_EQ(ids_of(queries), (std::vector<NodeId>{near[1], near[2]}));
  lookup.on_reply(near[1], contacts({near[0], near[2], near[1], near[3]}));
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[3]});
  lookup.on_reply(near[2], contacts({near[0], near[3]}));
  lookup.on_reply(near[3], contacts({near[0], near[1]}));
  EXPECT_TRUE(lookup.done());
  EXPECT_EQ(lookup.requests(), 3);
  EXPECT_EQ(ids_of(lookup.result()), (std::vector<NodeId>{near[1], near[2], near[3]}));
}

TEST(Lookup, LateDuplicateAndUnsolicitedRepliesAreIgnored) {
  SeededRandom rng(6);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 8);
  Lookup lookup(target, self, 2, 3);
  lookup.seed(contacts({near[4], near[5], near[6]}));
  ASSERT_EQ(lookup.next_queries().size(), 2u);  // near[4], near[5]

  // A reply from a node never asked adds nothing.
  lookup.on_reply(near[7], contacts({near[0]}));
  lookup.on_failure(near[6]);  // known but not in flight
  EXPECT_EQ(lookup.in_flight(), 2u);
  EXPECT_EQ(lookup.failures(), 0);

  lookup.on_reply(near[4], {});
  // A second reply from the same node is a duplicate: its contacts are ignored.
  lookup.on_reply(near[4], contacts({near[0]}));
  lookup.on_failure(near[4]);
  EXPECT_EQ(lookup.failures(), 0);
  EXPECT_EQ(lookup.in_flight(), 1u);

  lookup.on_failure(near[5]);
  lookup.on_reply(near[5], contacts({near[1]}));  // too late: it already failed
  EXPECT_EQ(lookup.failures(), 1);
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[6]});
  lookup.on_reply(near[6], {});
  EXPECT_TRUE(lookup.done());
  EXPECT_EQ(ids_of(lookup.result()), (std::vector<NodeId>{near[4], near[6]}));
  EXPECT_EQ(lookup.requests(), 3);
}

TEST(Lookup, HopsCountTheChainToTheNearestAnsweredNode) {
  SeededRandom rng(7);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 4);  // near[0] is nearest
  Lookup lookup(target, self, 3, 3);
  lookup.seed({contact(near[3])});
  EXPECT_EQ(lookup.hops(), 0);
  ASSERT_EQ(lookup.next_queries().size(), 1u);
  lookup.on_reply(near[3], {contact(near[2])});
  EXPECT_EQ(lookup.hops(), 1);
  ASSERT_EQ(lookup.next_queries().size(), 1u);
  lookup.on_reply(near[2], {contact(near[1])});
  ASSERT_EQ(lookup.next_queries().size(), 1u);
  lookup.on_reply(near[1], {contact(near[3])});
  EXPECT_TRUE(lookup.done());
  EXPECT_EQ(lookup.hops(), 3);
  EXPECT_EQ(ids_of(lookup.result()), (std::vector<NodeId>{near[1], near[2], near[3]}));
}

TEST(Lookup, AHugeReplyOnlyLeadsToTheNearestCandidates) {
  SeededRandom rng(8);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  std::vector<NodeId> crowd;
  for (int i = 0; i < 300; ++i) crowd.push_back(random_id(rng));
  const NodeId seed = ladder(target, 1)[0];  // nearer than any random id
  Lookup lookup(target, self, 4, 3);
  lookup.seed({contact(seed)});
  ASSERT_EQ(lookup.next_queries().size(), 1u);
  lookup.on_reply(seed, contacts(crowd));
  std::set<NodeId> asked;
  while (!lookup.done()) {
    auto queries = lookup.next_queries();
    ASSERT_FALSE(queries.empty());
    for (const auto& q : queries) {
      asked.insert(q.id);
      lookup.on_reply(q.id, contacts(crowd));  // everyone knows everyone
    }
  }
  auto expected = sorted_by_distance(crowd, target);
  expected.resize(3);
  EXPECT_EQ(asked, std::set<NodeId>(expected.begin(), expected.end()));
  expected.insert(expected.begin(), seed);
  EXPECT_EQ(ids_of(lookup.result()), expected);
  EXPECT_EQ(lookup.requests(), 4);
}

TEST(Lookup, NearerCandidatesFoundLaterAreStillQueried) {
  SeededRandom rng(9);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 6);
  Lookup lookup(target, self, 2, 1);
  lookup.seed(contacts({near[4], near[5]}));
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[4]});
  lookup.on_reply(near[4], contacts({near[0], near[1]}));
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[0]});
  lookup.on_reply(near[0], {});
  EXPECT_EQ(ids_of(lookup.next_queries()), std::vector<NodeId>{near[1]});
  lookup.on_reply(near[1], {});
  EXPECT_TRUE(lookup.done());  // near[5] is outside the window and never asked
  EXPECT_EQ(lookup.requests(), 3);
  EXPECT_EQ(ids_of(lookup.result()), (std::vector<NodeId>{near[0], near[1]}));
  EXPECT_EQ(lookup.hops(), 2);
}

TEST(Lookup, StartsWithAlphaAndWidensOnceRepliesStopImproving) {
  const NodeId self = all_ones();
  const NodeId target;  // all zero
  const auto seeds = at_distances(10);
  Lookup lookup(target, self, 8, 3);
  lookup.seed(seeds);
  auto first = lookup.next_queries();
  ASSERT_EQ(first.size(), 3u);  // alpha while nothing is known about progress
  EXPECT_TRUE(lookup.next_queries().empty());
  for (const auto& c : first) lookup.on_reply(c.id, {});  // three replies, nothing closer
  auto rest = lookup.next_queries();
  EXPECT_EQ(rest.size(), 5u);  // the rest of the k = 8 nearest, all at once
  EXPECT_EQ(lookup.in_flight(), 5u);
}

// In a value lookup every round, not only the first, asks linked candidates
// inside the window before unlinked nearer ones: all of the k nearest hold
// the value, and a linked one answers without a handshake.
TEST(Lookup, ValueLookupPrefersLinkedCandidatesInEveryRound) {
  SeededRandom rng(4);
  const NodeId target = random_id(rng);
  const NodeId self = random_id(rng);
  const auto near = ladder(target, 8);
  std::set<NodeId> linked{near[3], near[4], near[6]};
  auto preferred = [&](const NodeId& id) { return linked.count(id) != 0; };

  Lookup get(target, self, 6, 2);
  get.prefer_in_every_round();
  get.seed(contacts(near));
  EXPECT_EQ(ids_of(get.next_queries(preferred)), (std::vector<NodeId>{near[3], near[4]}));
  get.on_reply(near[3], {});
  // near[6] is linked but outside the 6-window: the next one is the nearest.
  EXPECT_EQ(ids_of(get.next_queries(preferred)), std::vector<NodeId>{near[0]});

  Lookup find(target, self, 6, 2);  // a node lookup: later rounds nearest first
  find.seed(contacts(near));
  linked = {near[3], near[4], near[5]};
  EXPECT_EQ(ids_of(find.next_queries(preferred)), (std::vector<NodeId>{near[3], near[4]}));
  find.on_reply(near[3], {});
  EXPECT_EQ(ids_of(find.next_queries(preferred)), std::vector<NodeId>{near[0]});
  Lookup get2(target, self, 6, 2);
  get2.prefer_in_every_round();
  get2.seed(contacts(near));
  EXPECT_EQ(ids_of(get2.next_queries(preferred)), (std::vector<NodeId>{near[3], near[4]}));
  get2.on_reply(near[3], {});
  EXPECT_EQ(ids_of(get2.next_queries(preferred)), std::vector<NodeId>{near[5]});
}

}  // namespace
}  // namespace yz
