// Overlay routing on the link graph the connection policy builds by itself
// (bench/routing.cpp at a size the ASan suite can afford): every node keeps
// 3-8 links, links its nearest neighbours even when far nodes filled its slots
// with inbound links, and every routed request between random pairs arrives.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sim/network.hpp"

namespace yz::sim {
namespace {

constexpr std::size_t kNodes = 160;

// Node 0 is the genesis; each later node is seeded with up to three earlier
// ones, so early nodes collect inbound links from all over the id space. With
// no query links, a node learns of later neighbours at its next self-lookup
// (60 s): the network settles for 90 s after the last join.
void join_all(Network& net) {
  for (std::size_t i = 0; i < kNodes; ++i) {
    NodeSpec spec;
    spec.config.role = i == 0 ? Role::genesis : Role::dht;
    spec.config.max_query_links = 0;  // requests to unlinked nodes travel routed
    for (int s = 0; s < 3 && i > 0; ++s) {
      spec.config.seeds.push_back(
          Network::address_of(static_cast<NodeIndex>(net.scenario_random().uniform(i))));
    }
    NodeIndex node = net.add_node(spec);
    net.at(static_cast<Millis>(i) * 50, [&net, node] { net.start(node); });
  }
  net.run_until(static_cast<Millis>(kNodes) * 50 + 90'000);
}

// One joined network for both tests: the join is the expensive part.
class RoutingAtScale : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    NetworkConfig cfg;
    cfg.seed = 7;
    network = new Network(cfg);
    join_all(*network);
  }
  static void TearDownTestSuite() {
    delete network;
    network = nullptr;
  }
  static Network* network;
};
Network* RoutingAtScale::network = nullptr;

TEST_F(RoutingAtScale, EveryNodeKeepsItsNearestNeighbourAndAtMostMaxLinks) {
  Network& net = *network;
  std::vector<NodeId> ids;
  for (std::size_t i = 0; i < kNodes; ++i) ids.push_back(net.node_id(static_cast<NodeIndex>(i)));
  std::size_t missing = 0;
  std::string first;
  for (std::size_t i = 0; i < kNodes; ++i) {
    const Engine& e = *net.engine(static_cast<NodeIndex>(i));
    auto st = e.status(net.now());
    EXPECT_LE(st.links, e.config().max_links) << "node " << i;
    EXPECT_GE(st.links, e.config().min_links) << "node " << i;
    std::set<NodeId> kept;
    for (const auto& l : st.link_list) {
      if (l.ready && l.kept) kept.insert(l.peer);
    }
    // The true nearest node (over the whole network) is among the kept links.
    NodeId nearest = i == 0 ? ids[1] : ids[0];
    for (const auto& id : ids) {
      if (id != ids[i] && closer(ids[i], id, nearest)) nearest = id;
    }
    if (!kept.count(nearest) && ++missing == 1)
      first = "node " + std::to_string(i) + " keeps no link to its nearest";
  }
  EXPECT_EQ(missing, 0u) << first;
}

TEST_F(RoutingAtScale, RoutedRequestsBetweenRandomPairsAllArrive) {
  Network& net = *network;
  const std::size_t pairs = 150;
  std::map<std::size_t, PingResult> results;
  std::size_t routed_before = 0;
  for (std::size_t i = 0; i < kNodes; ++i)
    routed_before += net.engine(static_cast<NodeIndex>(i))->metrics().routed.delivered;
  for (std::size_t p = 0; p < pairs; ++p) {
    auto a = static_cast<NodeIndex>(net.scenario_random().uniform(kNodes));
    auto b = static_cast<NodeIndex>((a + 1 + net.scenario_random().uniform(kNodes - 1)) % kNodes);
    NodeId to = net.node_id(b);
    // Spread over 15 s so the per-link routed rate limit is not what is tested.
    net.at(net.now() + static_cast<Millis>(p) * 100, [&net, &results, a, to, p] {
      net.call(a, [&results, to, p](Engine& e, Millis now) {
        e.ping(to, now, [&results, p](const PingResult& r) { results[p] = r; });
      });
    });
  }
  net.run_for(static_cast<Millis>(pairs) * 100 + 12'000);
  ASSERT_EQ(results.size(), pairs);
  std::size_t failed = 0;
  std::string first;
  for (const auto& [p, r] : results) {
    if (!r.ok && ++failed == 1) first = r.error;
  }
  EXPECT_EQ(failed, 0u) << first;
  std::size_t routed = 0;
  for (std::size_t i = 0; i < kNodes; ++i)
    routed += net.engine(static_cast<NodeIndex>(i))->metrics().routed.delivered;
  EXPECT_GT(routed - routed_before, pairs / 2)
      << "most random pairs are not linked: their pings travel routed";
}

}  // namespace
}  // namespace yz::sim
