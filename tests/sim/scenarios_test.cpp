// The simulator scenarios of issue 3, scaled down so the suite stays fast under
// ASan: join, lookup efficiency, churn with persistence nodes, partition and
// heal, sparse networks, the default mix, and determinism of the trace.
// bench/sim.cpp runs the same scenarios at full size.
#include "sim/scenario.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace yz::sim {
namespace {

std::string describe(const ScenarioReport& r) {
  std::ostringstream out;
  print_report(out, r);
  return out.str();
}

ScenarioConfig small(const std::string& scenario, std::size_t nodes) {
  ScenarioConfig c;
  c.scenario = scenario;
  c.nodes = nodes;
  c.seed = 3;
  c.bridges = 3;
  c.join_interval = 50;
  c.settle = 20'000;
  return c;
}

TEST(SimScenario, JoinEveryNodeReachesAHealthyRoutingTable) {
  ScenarioConfig c = small("join", 100);
  c.duration = 30'000;
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  EXPECT_EQ(r.live, 99u);
  EXPECT_EQ(r.healthy, r.live);
  EXPECT_GE(r.all_healthy_at, 0);
  EXPECT_EQ(r.time_to_healthy_ms.count(), 99u);  // every node became healthy once
  // A healthy table knows at least a bucket's worth of peers.
  EXPECT_GE(r.routing_min, c.engine.k);
  EXPECT_EQ(r.net.send_on_unknown_link, 0u);
  EXPECT_EQ(r.net.send_before_connected, 0u);
  EXPECT_EQ(r.net.reused_link_ids, 0u);
  EXPECT_GT(r.messages_per_node_minute_idle, 0);
}

TEST(SimScenario, LookupsFindTheTrueClosestNodes) {
  ScenarioConfig c = small("lookup", 100);
  c.lookups = 80;
  c.lookups_per_second = 10;
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  EXPECT_EQ(r.lookups.issued, 80u);
  EXPECT_EQ(r.lookups.completed(), 80u);
  EXPECT_EQ(r.lookups.ok, 80u);
  EXPECT_GE(r.lookups.exact, 79u);
  EXPECT_GE(r.lookups.recall(), 0.95);
  EXPECT_LE(r.lookups.hops.percentile(50), 3);
}

TEST(SimScenario, ChurnOfClientsLosesNoValue) {
  ScenarioConfig c = small("churn", 60);
  c.servers = 15;
  c.mean_lifetime = 5'000;  // clients live 5 s on average
  c.mean_downtime = 5'000;
  c.lifetimes = 8;
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  EXPECT_GT(r.departures, 100u);
  EXPECT_EQ(r.values.puts_issued, 59u);
  EXPECT_EQ(r.values.puts_ok, 59u);
  EXPECT_GE(r.values.reads_ok, 56u);
  EXPECT_EQ(r.values.reads_ok, r.values.reads_completed());  // every read returned the written value
  EXPECT_EQ(r.values.reads_wrong + r.values.reads_missing + r.values.reads_failed, 0u);
}

TEST(SimScenario, ChurnOfDhtMembersLosesNoValue) {
  ScenarioConfig c = small("churn", 60);
  c.servers = 15;
  c.churn_role = Role::dht;  // churning nodes hold replicas and come back with no memory
  c.mean_lifetime = 15'000;
  c.mean_downtime = 5'000;
  c.lifetimes = 4;
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  EXPECT_GT(r.departures, 40u);
  EXPECT_EQ(r.values.puts_ok, r.values.puts_issued);
  EXPECT_GE(r.values.reads_ok, 56u);
  EXPECT_EQ(r.values.reads_ok, r.values.reads_completed());
}

TEST(SimScenario, PartitionHealsAndLookupsAndReadsRecover) {
  ScenarioConfig c = small("partition", 60);
  c.puts = 30;
  c.lookups_per_second = 2;
  c.partition_duration = 75'000;  // longer than the keep-alive timeout: cross links die
  c.duration = 90'000;            // probe window after the heal
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  EXPECT_EQ(r.values.puts_ok, 30u);
  EXPECT_GT(r.lookups_during_partition.completed(), 80u);
  ASSERT_GE(r.recovery_after_heal, 0);
  EXPECT_LE(r.recovery_after_heal, 60'000);
  EXPECT_GT(r.probes_after_recovery, 100u);
  EXPECT_LE(r.probe_failures_after_recovery * 100, r.probes_after_recovery);  // at most 1% after recovery
  EXPECT_EQ(r.healthy, r.live);
}

TEST(SimScenario, SparseNetworksStillWork) {
  ScenarioConfig c = small("sparse", 1);
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  ASSERT_EQ(r.sparse.size(), 5u);
  for (std::size_t i = 1; i < r.sparse.size(); ++i) {
    const auto& s = r.sparse[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.healthy, s.nodes);
    EXPECT_EQ(s.lookups_exact, s.lookups);
    EXPECT_EQ(s.puts_ok, s.puts);
    EXPECT_EQ(s.reads_ok, s.reads);
    EXPECT_GT(s.reads, 0u);
  }
  EXPECT_EQ(r.sparse[3].nodes, 6u);  // genesis and the five newcomers
  EXPECT_EQ(r.sparse[4].nodes, 6u);
}

// A network of one: the genesis node, registered with the bootstrap server,
// is every key's closest node and must store and serve values by itself.
TEST(SimScenario, SingleNodeNetworkStoresAndServesValues) {
  ScenarioConfig c = small("sparse", 1);
  auto r = run_scenario(c);
  ASSERT_FALSE(r.sparse.empty());
  const auto& one = r.sparse[0];
  SCOPED_TRACE(describe(r));
  EXPECT_EQ(one.nodes, 1u);
  EXPECT_EQ(one.puts_ok, one.puts);
  EXPECT_EQ(one.reads_ok, one.reads);
  EXPECT_EQ(one.lookups_exact, one.lookups);
}

TEST(SimScenario, MixUnderChurnKeepsLookupsAndValues) {
  ScenarioConfig c = small("mix", 80);
  c.duration = 150'000;
  c.churn_per_minute = 0.2;
  c.lookups_per_second = 3;
  c.puts = 40;
  auto r = run_scenario(c);
  SCOPED_TRACE(describe(r));
  EXPECT_GT(r.departures, 10u);
  EXPECT_GT(r.lookups.completed(), 150u);
  EXPECT_GE(r.lookups.exact * 100, r.lookups.completed() * 98);
  EXPECT_EQ(r.values.puts_ok, r.values.puts_issued - r.values.puts_abandoned);
  EXPECT_EQ(r.values.reads_ok, r.values.reads_completed());
  EXPECT_GE(r.values.reads_ok + 2, r.values.puts_ok);  // each written value read back
}

TEST(SimScenario, SameSeedGivesTheSameTraceAndReport) {
  ScenarioConfig c = small("mix", 24);
  c.duration = 60'000;
  c.lookups_per_second = 2;
  c.puts = 10;
  c.churn_per_minute = 0.2;
  auto a = run_scenario(c);
  auto b = run_scenario(c);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(describe(a), describe(b));
  c.seed = 4;
  auto other = run_scenario(c);
  EXPECT_NE(a.trace_hash, other.trace_hash);
}

TEST(SimScenario, UnknownScenarioIsRefusedWithItsName) {
  ScenarioConfig c;
  c.scenario = "stampede";
  try {
    run_scenario(c);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stampede"), std::string::npos);
  }
}

}  // namespace
}  // namespace yz::sim
