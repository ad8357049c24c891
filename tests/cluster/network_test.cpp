// Cluster tests on the full local network of `yz cluster up`: 19 processes
// (bootstrap, genesis, 2 bridges, 15 DHT nodes). Health and link counts, exact
// find_node results, values readable everywhere, and recovery after SIGKILL.
#include <algorithm>
#include <random>
#include <set>

#include "cluster_fixture.hpp"
#include "core/node_id.hpp"

namespace yz::cluster_test {
namespace {

constexpr std::size_t kK = 20;  // the nodes' replication factor (EngineConfig::k)

class FullNetwork : public ClusterTest {
 protected:
  void start_network(std::uint16_t base_port) {
    net::ClusterOptions options;
    options.nodes = 15;
    options.bridges = 2;
    start(options, base_port);
    if (HasFatalFailure()) return;
    ASSERT_EQ(cluster().nodes().size(), 19u);
    expect_healthy(90s);
  }

  // Node id (from /health) of every DHT member, by node name.
  std::map<std::string, NodeId> member_ids() {
    std::map<std::string, NodeId> ids;
    for (const auto& n : members()) {
      auto h = health(n);
      auto id = NodeId::from_hex(h.value("id", std::string()));
      EXPECT_TRUE(id) << n.name << " reports no valid id: " << h.dump();
      if (id) ids[n.name] = *id;
    }
    return ids;
  }
};

TEST_F(FullNetwork, BecomesHealthyAndEveryNodeKeepsThreeToEightLinks) {
  start_network(kPortBlock + 0);
  if (HasFailure()) return;
  for (const auto& n : members()) {
    auto h = health(n);
    EXPECT_TRUE(h.value("healthy", false)) << n.name << ": " << h.dump();
    auto links = h.value("links", -1);
    EXPECT_GE(links, 3) << n.name << " (" << n.role << ") keeps too few links: " << h.dump();
    EXPECT_LE(links, 8) << n.name << " (" << n.role << ") keeps too many links: " << h.dump();
    EXPECT_EQ(h.value("role", std::string()), n.role);
  }
  auto b = health(node("bootstrap"));
  EXPECT_EQ(b.value("role", std::string()), "bootstrap");
  EXPECT_TRUE(b.value("healthy", false)) << b.dump();
}

TEST_F(FullNetwork, FindNodeFromEveryNodeReturnsTheTrueClosest) {
  start_network(kPortBlock + 100);
  if (HasFailure()) return;
  auto ids = member_ids();
  ASSERT_EQ(ids.size(), 18u);
  std::mt19937_64 random(20240601);
  for (const auto& n : members()) {
    for (int round = 0; round < 3; ++round) {
      NodeId target;
      for (auto& byte : target.bytes) byte = static_cast<std::uint8_t>(random());
      // The truth: the k members closest to the target under XOR, nearest first.
      // The engine includes the asking node itself when it is among them.
      std::vector<NodeId> truth;
      for (const auto& [name, id] : ids) truth.push_back(id);
      std::sort(truth.begin(), truth.end(), [&](const NodeId& a, const NodeId& b) { return closer(target, a, b); });
      if (truth.size() > kK) truth.resize(kK);

      auto a = call("GET", n.url + "/find-node?target=" + target.hex());
      ASSERT_TRUE(a.error.empty()) << a.error;
      ASSERT_EQ(a.status, 200) << n.name << ": " << a.raw;
      ASSERT_TRUE(a.body.value("ok", false)) << n.name << ": " << a.raw;
      EXPECT_EQ(a.body.value("target", std::string()), target.hex());
      std::vector<NodeId> got;
      for (const auto& c : a.body.value("closest", json::array())) {
        auto id = NodeId::from_hex(c.value("id", std::string()));
        ASSERT_TRUE(id) << c.dump();
        got.push_back(*id);
        EXPECT_NE(c.value("role", std::string()), "bootstrap") << "the bootstrap server is not a DHT member";
      }
      std::vector<std::string> got_hex, truth_hex;
      for (const auto& id : got) got_hex.push_back(id.short_hex());
      for (const auto& id : truth) truth_hex.push_back(id.short_hex());
      EXPECT_EQ(got_hex, truth_hex) << "find_node from " << n.name << " for " << target.hex();
    }
  }
}

TEST_F(FullNetwork, ValuePutThroughOneNodeIsReadThroughEveryOther) {
  start_network(kPortBlock + 200);
  if (HasFailure()) return;
  auto all = members();
  const std::vector<std::string> writers = {"node1", "genesis", "bridge2"};
  for (const auto& writer_name : writers) {
    const auto& writer = node(writer_name);
    std::string key = "greeting from " + writer_name;
    std::string value = "hello, world (" + writer_name + ")";
    auto p = put(writer, key, value);
    ASSERT_EQ(p.status, 200) << p.raw;
    ASSERT_TRUE(p.body.value("ok", false)) << p.raw;
    // 18 members < k: every member is a replica.
    EXPECT_EQ(p.body.value("replicas_acked", 0), 18) << p.raw;
    for (const auto& reader : all) {
      if (reader.name == writer_name) continue;
      auto g = get(reader, key);
      ASSERT_EQ(g.status, 200) << "GET '" << key << "' through " << reader.name << ": " << g.raw;
      EXPECT_TRUE(g.body.value("found", false)) << reader.name << ": " << g.raw;
      EXPECT_EQ(g.body.value("value", std::string()), value) << reader.name << ": " << g.raw;
    }
  }
}

TEST_F(FullNetwork, KillingThreeNodesLosesNoValueAndTheRestRecover) {
  start_network(kPortBlock + 300);
  if (HasFailure()) return;
  auto all = members();
  std::vector<std::pair<std::string, std::string>> values;
  for (int i = 0; i < 10; ++i) {
    const auto& writer = all[static_cast<std::size_t>(i) % all.size()];
    std::string key = "key-" + std::to_string(i);
    std::string value = "value-" + std::to_string(i) + " from " + writer.name;
    auto p = put(writer, key, value);
    ASSERT_EQ(p.status, 200) << p.raw;
    ASSERT_TRUE(p.body.value("ok", false)) << p.raw;
    values.emplace_back(key, value);
  }

  const std::set<std::string> victims = {"node3", "node8", "node13"};
  auto killed_at = std::chrono::steady_clock::now();
  for (const auto& name : victims) {
    std::string error;
    ASSERT_TRUE(cluster().kill(name, error)) << error;
  }
  std::vector<std::string> survivors;
  for (const auto& n : all) {
    if (!victims.count(n.name)) survivors.push_back(n.name);
  }
  survivors.push_back("bootstrap");

  // Healthy again within one maintenance period, plus one request timeout for
  // the dead peers' requests to fail and a margin for a loaded machine.
  auto deadline = killed_at + std::chrono::milliseconds(kMaintenanceMs) + 2000ms + 4000ms;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  expect_healthy(std::max(left, 1ms), survivors);

  for (const auto& n : all) {
    if (victims.count(n.name)) continue;
    for (const auto& [key, value] : values) {
      auto g = get(n, key);
      EXPECT_EQ(g.status, 200) << "'" << key << "' through " << n.name << " after the kills: " << g.raw;
      EXPECT_EQ(g.body.value("value", std::string()), value) << n.name << ": " << g.raw;
    }
  }
  for (const auto& name : survivors) {
    if (name == "bootstrap") continue;
    auto h = health(node(name));
    EXPECT_GE(h.value("links", 0), 3) << name << ": " << h.dump();
    EXPECT_LE(h.value("links", 99), 8) << name << ": " << h.dump();
  }
}

}  // namespace
}  // namespace yz::cluster_test
