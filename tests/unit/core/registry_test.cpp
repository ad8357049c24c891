// Registry (the bootstrap server's): what a sample may and must contain, its
// spread over many samples, refreshes, expiry, capacity and a role change.
#include "core/registry.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

namespace yz {
namespace {

Contact node(std::uint16_t n, Role role = Role::dht) {
  Contact c;
  c.id.bytes[0] = static_cast<std::uint8_t>(n >> 8);
  c.id.bytes[1] = static_cast<std::uint8_t>(n);
  c.id.bytes[31] = 1;  // never the all-zero id the tests exclude
  c.role = role;
  c.addresses = {"ws://127.0.0.1:" + std::to_string(9000 + n)};
  return c;
}

constexpr Millis kTtl = 1000;

TEST(Registry, SampleIsDistinctExcludesTheAskerAndPutsBridgesFirst) {
  Registry reg(100);
  for (std::uint16_t n = 0; n < 30; ++n) reg.record(node(n), 0);
  reg.record(node(100, Role::bridge), 0);
  reg.record(node(101, Role::genesis), 0);
  SeededRandom random(1);
  for (int round = 0; round < 50; ++round) {
    auto picked = reg.sample(node(5).id, 20, 10, kTtl, random);
    ASSERT_EQ(picked.size(), 20u);
    std::set<NodeId> ids;
    for (const auto& c : picked) ids.insert(c.id);
    EXPECT_EQ(ids.size(), 20u);
    EXPECT_FALSE(ids.count(node(5).id));
    std::set<Role> first_two{picked[0].role, picked[1].role};
    EXPECT_EQ(first_two, (std::set<Role>{Role::bridge, Role::genesis}));
    for (std::size_t i = 2; i < picked.size(); ++i) EXPECT_EQ(picked[i].role, Role::dht);
  }
}

TEST(Registry, SamplesSpreadOverEveryRegisteredNode) {
  Registry reg(1000);
  for (std::uint16_t n = 0; n < 200; ++n) reg.record(node(n), 0);
  SeededRandom random(7);
  std::map<NodeId, int> hits;
  for (int round = 0; round < 1000; ++round) {
    for (const auto& c : reg.sample(NodeId{}, 10, 0, kTtl, random)) ++hits[c.id];
  }
  // 10,000 picks over 200 nodes: 50 each on average; every node is picked and none is favoured.
  ASSERT_EQ(hits.size(), 200u);
  for (const auto& [id, n] : hits) {
    EXPECT_GT(n, 15);
    EXPECT_LT(n, 100);
  }
}

TEST(Registry, StaleEntriesAreSkippedThenExpiredAndRefreshesKeepThem) {
  Registry reg(100);
  for (std::uint16_t n = 0; n < 10; ++n) reg.record(node(n), 0);
  reg.seen(node(3).id, 900);
  reg.record(node(4), 900);
  reg.seen(node(77).id, 900);  // not registered: ignored
  SeededRandom random(3);
  auto picked = reg.sample(NodeId{}, 20, 1500, kTtl, random);
  std::set<NodeId> ids;
  for (const auto& c : picked) ids.insert(c.id);
  EXPECT_EQ(ids, (std::set<NodeId>{node(3).id, node(4).id}));
  EXPECT_EQ(reg.size(), 10u);  // skipped, not yet forgotten
  reg.expire(1500, kTtl);
  EXPECT_EQ(reg.size(), 2u);
  EXPECT_EQ(reg.sample(NodeId{}, 20, 1500, kTtl, random).size(), 2u);
}

TEST(Registry, IsBoundedButStillRefreshesKnownNodes) {
  Registry reg(3);
  for (std::uint16_t n = 0; n < 5; ++n) reg.record(node(n), 0);
  EXPECT_EQ(reg.size(), 3u);
  EXPECT_FALSE(reg.entries().count(node(4).id));
  reg.record(node(0), 2000);
  reg.expire(2000, kTtl);
  ASSERT_EQ(reg.size(), 1u);
  EXPECT_TRUE(reg.entries().count(node(0).id));
  reg.record(node(4), 2000);  // room again
  EXPECT_EQ(reg.size(), 2u);
}

TEST(Registry, ANodeBackInAnotherRoleMovesPools) {
  Registry reg(100);
  for (std::uint16_t n = 0; n < 5; ++n) reg.record(node(n), 0);
  reg.record(node(2, Role::bridge), 0);
  SeededRandom random(5);
  for (int round = 0; round < 20; ++round) {
    auto picked = reg.sample(NodeId{}, 5, 0, kTtl, random);
    ASSERT_EQ(picked.size(), 5u);
    EXPECT_EQ(picked[0].id, node(2).id);
    EXPECT_EQ(picked[0].role, Role::bridge);
  }
}

}  // namespace
}  // namespace yz
