// Overlay routing with real processes: 33 DHT members that keep at most 3 links
// each and never dial for a request (--max-query-links 0), so every request to
// a peer without a link travels routed. find_node, put and get must still work
// for every target, and /metrics must show the routed traffic.
#include <algorithm>
#include <random>

#include "cluster_fixture.hpp"
#include "core/node_id.hpp"

namespace yz::cluster_test {
namespace {

constexpr std::size_t kK = 20;

class RoutedNetwork : public ClusterTest {
 protected:
  void start_network(std::uint16_t base_port) {
    net::ClusterOptions options;
    options.nodes = 30;
    options.bridges = 2;
    options.max_links = 3;
    options.node_args = {"--max-query-links", "0"};
    start(options, base_port);
    if (HasFatalFailure()) return;
    expect_healthy(90s);
  }
};

TEST_F(RoutedNetwork, ThreeLinksPerNodeStillServeFindNodePutAndGet) {
  start_network(kPortBlock + 1100);
  if (HasFailure()) return;
  auto all = members();
  ASSERT_EQ(all.size(), 33u);
  std::vector<NodeId> ids;
  for (const auto& n : all) {
    auto h = health(n);
    EXPECT_LE(h.value("links", 99), 3) << n.name << ": " << h.dump();
    auto id = NodeId::from_hex(h.value("id", std::string()));
    ASSERT_TRUE(id) << h.dump();
    ids.push_back(*id);
  }

  std::mt19937_64 random(77);
  for (const auto& n : all) {
    NodeId target;
    for (auto& byte : target.bytes) byte = static_cast<std::uint8_t>(random());
    auto truth = ids;
    std::sort(truth.begin(), truth.end(), [&](const NodeId& a, const NodeId& b) { return closer(target, a, b); });
    truth.resize(kK);
    auto a = call("GET", n.url + "/find-node?target=" + target.hex());
    ASSERT_EQ(a.status, 200) << n.name << ": " << a.raw;
    std::vector<std::string> got, want;
    for (const auto& c : a.body.value("closest", json::array())) got.push_back(c.value("id", std::string()).substr(0, 8));
    for (const auto& id : truth) want.push_back(id.short_hex());
    EXPECT_EQ(got, want) << "find_node from " << n.name;
  }

  for (const auto& writer : {all[3], all[17], all[29]}) {
    auto p = put(writer, "routed-" + writer.name, "through three links from " + writer.name);
    ASSERT_EQ(p.status, 200) << p.raw;
    // At least the k closest; a node stored on while among the k nearest
    // candidates may be pushed out by a closer one found later (an extra replica).
    EXPECT_GE(p.body.value("replicas_acked", 0), static_cast<int>(kK)) << p.raw;
    EXPECT_EQ(p.body.value("replicas_acked", 0), p.body.value("replicas_tried", -1)) << p.raw;
  }
  for (const auto& reader : all) {
    for (const auto& writer : {all[3], all[17], all[29]}) {
      auto g = get(reader, "routed-" + writer.name);
      EXPECT_EQ(g.status, 200) << reader.name << ": " << g.raw;
      EXPECT_EQ(g.body.value("value", std::string()), "through three links from " + writer.name) << g.raw;
    }
  }

  std::uint64_t routed = 0;
  for (const auto& n : all) {
    auto m = call("GET", n.url + "/metrics");
    auto at = m.raw.find("yz_routed_requests_total{path=\"route\"} ");
    ASSERT_NE(at, std::string::npos) << n.name;
    routed += std::stoull(m.raw.substr(at + std::string("yz_routed_requests_total{path=\"route\"} ").size()));
  }
  EXPECT_GT(routed, 100u) << "requests should have travelled routed";
}

}  // namespace
}  // namespace yz::cluster_test
