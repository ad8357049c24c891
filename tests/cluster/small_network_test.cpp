// Cluster tests on a network smaller than k (bootstrap + genesis + 2 DHT nodes):
// a put still succeeds and lands on every node, and a refused store is
// reported as refused, with the reason, without storing anything.
#include <string>

#include "cluster_fixture.hpp"
#include "core/protocol.hpp"

namespace yz::cluster_test {
namespace {

class SmallNetwork : public ClusterTest {
 protected:
  void start_small(std::uint16_t base_port) {
    net::ClusterOptions options;
    options.nodes = 2;
    options.bridges = 0;
    start(options, base_port);
    if (HasFatalFailure()) return;
    ASSERT_EQ(cluster().nodes().size(), 4u);
    expect_healthy(90s);
  }
};

TEST_F(SmallNetwork, PutIsStoredOnEveryNodeAndCountsEveryReplica) {
  start_small(kPortBlock + 400);
  if (HasFailure()) return;
  auto all = members();  // genesis, node1, node2
  ASSERT_EQ(all.size(), 3u);
  for (const auto& n : all) EXPECT_EQ(health(n).value("stored_values", -1), 0) << n.name;

  auto p = put(node("node1"), "small network key", "small network value");
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_TRUE(p.body.value("ok", false)) << p.raw;
  EXPECT_EQ(p.body.value("replicas_acked", 0), 3) << p.raw;
  EXPECT_EQ(p.body.value("replicas_tried", 0), 3) << p.raw;
  EXPECT_TRUE(p.body.value("refusals", json::array()).empty()) << p.raw;

  for (const auto& n : all) {
    auto h = health(n);
    EXPECT_EQ(h.value("stored_values", -1), 1) << n.name << " does not hold the value: " << h.dump();
    EXPECT_GE(h.value("stored_bytes", 0), static_cast<int>(std::string("small network value").size())) << n.name;
    auto g = get(n, "small network key");
    EXPECT_EQ(g.status, 200) << n.name << ": " << g.raw;
    EXPECT_EQ(g.body.value("value", std::string()), "small network value") << n.name << ": " << g.raw;
  }
  auto b = health(node("bootstrap"));
  EXPECT_EQ(b.value("stored_values", -1), 0) << "the bootstrap server is not a DHT member: " << b.dump();
}

TEST_F(SmallNetwork, ValueAboveTheLimitIsRefusedWithTheReason) {
  start_small(kPortBlock + 500);
  if (HasFailure()) return;
  std::string big(kMaxValueSize + 1, 'x');
  auto p = put(node("node1"), "too big", big);
  EXPECT_NE(p.status, 200) << p.raw.substr(0, 300);
  EXPECT_TRUE(p.status == 413 || p.status == 400 || p.status == 502) << "HTTP " << p.status;
  std::string error = p.body.is_object() ? p.body.value("error", std::string()) : p.raw;
  EXPECT_FALSE(p.body.is_object() && p.body.value("ok", false)) << p.raw.substr(0, 300);
  bool names_limit = error.find(std::to_string(kMaxValueSize)) != std::string::npos ||
                     error.find("64 KiB") != std::string::npos;
  EXPECT_TRUE(names_limit) << "the refusal does not name the size limit: " << error;

  for (const auto& n : members()) {
    EXPECT_EQ(health(n).value("stored_values", -1), 0) << n.name << " stored a refused value";
  }
  auto g = get(node("node2"), "too big");
  EXPECT_EQ(g.status, 404) << g.raw;
  EXPECT_FALSE(g.body.value("found", true)) << g.raw;

  // The largest allowed value is accepted.
  std::string largest(kMaxValueSize, 'y');
  auto ok = put(node("node1"), "largest", largest);
  EXPECT_EQ(ok.status, 200) << ok.raw.substr(0, 300);
  auto back = get(node("genesis"), "largest");
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.body.value("value", std::string()).size(), kMaxValueSize);
}

}  // namespace
}  // namespace yz::cluster_test
