// Simulated transport with real engines: dials, latency, partitions, crashes,
// graceful leaves, loss and the trace hash.
#include "sim/network.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "core/codec.hpp"
#include "small_network.hpp"

namespace yz::sim {
namespace {

constexpr Millis kSecond = 1000;

// A bootstrap-free pair: genesis (no seeds) and a DHT node seeded with it.
struct Pair {
  explicit Pair(NetworkConfig config) : net(config) {
    NodeSpec g;
    g.config.role = Role::genesis;
    genesis = net.add_node(g);
    NodeSpec d;
    d.config.role = Role::dht;
    d.config.seeds = {Network::address_of(genesis)};
    node = net.add_node(d);
    net.start(genesis);
    net.start(node);
  }
  std::size_t ready_links(NodeIndex n) {
    if (!net.is_up(n)) return 0;
    auto st = net.engine(n)->status(net.now());
    return st.links + st.query_links;
  }
  // Pings `to` from `from`; runs the network until the answer (or 30 s).
  std::optional<PingResult> ping(NodeIndex from, NodeIndex to) {
    std::optional<PingResult> result;
    NodeId target = net.node_id(to);
    net.call(from, [&](Engine& e, Millis now) { e.ping(target, now, [&](const PingResult& r) { result = r; }); });
    Millis until = net.now() + 30 * kSecond;
    while (!result && net.now() < until) net.run_for(100);
    return result;
  }
  Network net;
  NodeIndex genesis;
  NodeIndex node;
};

NetworkConfig fixed_latency(Millis ms) {
  NetworkConfig c;
  c.latency_min = c.latency_max = ms;
  return c;
}

TEST(SimNetwork, LatencyIsFixedPerPairSymmetricAndInRange) {
  NetworkConfig c;
  c.seed = 11;
  c.latency_min = 20;
  c.latency_max = 150;
  Network a(c), b(c);
  bool varied = false;
  for (NodeIndex i = 0; i < 50; ++i) {
    for (NodeIndex j = i + 1; j < 50; ++j) {
      Millis l = a.latency(i, j);
      EXPECT_GE(l, 20);
      EXPECT_LE(l, 150);
      EXPECT_EQ(l, a.latency(j, i));
      EXPECT_EQ(l, b.latency(i, j));
      varied = varied || l != a.latency(0, 1);
    }
  }
  EXPECT_TRUE(varied);
  c.seed = 12;
  Network other(c);
  int same = 0;
  for (NodeIndex j = 1; j < 50; ++j) same += other.latency(0, j) == a.latency(0, j) ? 1 : 0;
  EXPECT_LT(same, 10);
}

TEST(SimNetwork, TwoEnginesHandshakeAfterDialAndRoundTrips) {
  Pair p(fixed_latency(50));
  // SYN, SYN-ACK, Hello, Auth: four one-way latencies before the link is ready.
  p.net.run_until(150);
  EXPECT_EQ(p.ready_links(p.node), 0u);
  p.net.run_until(1000);
  EXPECT_EQ(p.ready_links(p.node), 1u);
  EXPECT_EQ(p.ready_links(p.genesis), 1u);
  auto r = p.ping(p.node, p.genesis);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << r->error;
  EXPECT_EQ(r->rtt, 100);
  EXPECT_EQ(p.net.stats().links_established, 1u);
  EXPECT_EQ(p.net.stats().send_on_unknown_link, 0u);
}

TEST(SimNetwork, DialToUnknownAddressFailsAfterTimeout) {
  NetworkConfig c = fixed_latency(30);
  c.dial_timeout = 3000;
  Network net(c);
  NodeSpec d;
  d.config.role = Role::dht;
  d.config.seeds = {"sim://77", "ws://example.org/ws"};
  NodeIndex n = net.add_node(d);
  net.start(n);
  net.run_until(2999);
  EXPECT_EQ(net.stats().dials_failed, 0u);
  net.run_until(3000);
  EXPECT_EQ(net.stats().dials_failed, 2u);
  auto st = net.engine(n)->status(net.now());
  ASSERT_FALSE(st.recent_refusals.empty());
  EXPECT_NE(st.recent_refusals.back().reason.find("sim: no route to"), std::string::npos);
}

TEST(SimNetwork, DialToDownNodeIsRefusedAfterOneRoundTrip) {
  Network net(fixed_latency(40));
  NodeSpec g;
  g.config.role = Role::genesis;
  NodeIndex down = net.add_node(g);  // never started
  NodeSpec d;
  d.config.role = Role::dht;
  d.config.seeds = {Network::address_of(down)};
  NodeIndex n = net.add_node(d);
  net.start(n);
  net.run_until(79);
  EXPECT_EQ(net.stats().dials_failed, 0u);
  net.run_until(80);
  EXPECT_EQ(net.stats().dials_failed, 1u);
  auto st = net.engine(n)->status(net.now());
  ASSERT_FALSE(st.recent_refusals.empty());
  EXPECT_NE(st.recent_refusals.back().reason.find("refused"), std::string::npos);
}

TEST(SimNetwork, GracefulLeaveClosesThePeersLinkAfterOneLatency) {
  Pair p(fixed_latency(60));
  p.net.run_until(2000);
  ASSERT_EQ(p.ready_links(p.genesis), 1u);
  p.net.leave(p.node);
  EXPECT_FALSE(p.net.is_up(p.node));
  p.net.run_for(59);
  EXPECT_EQ(p.ready_links(p.genesis), 1u);
  p.net.run_for(1);
  EXPECT_EQ(p.ready_links(p.genesis), 0u);
  EXPECT_EQ(p.net.stats().open_links, 0u);
}

TEST(SimNetwork, CrashWithResetClosesAfterOneLatency) {
  NetworkConfig c = fixed_latency(60);
  c.crash_close_delay = 0;
  Pair p(c);
  p.net.run_until(2000);
  p.net.crash(p.node);
  p.net.run_for(60);
  EXPECT_EQ(p.ready_links(p.genesis), 0u);
}

TEST(SimNetwork, SilentCrashIsLeftToTheEnginesKeepAlive) {
  NetworkConfig c = fixed_latency(60);
  c.crash_close_delay = -1;
  Pair p(c);
  p.net.run_until(2000);
  p.net.crash(p.node);
  Millis crashed_at = p.net.now();
  p.net.run_for(10 * kSecond);
  EXPECT_EQ(p.ready_links(p.genesis), 1u);  // nothing told the genesis node
  // The genesis engine must notice by itself within its keep-alive timeout.
  Millis timeout = p.net.engine(p.genesis)->config().keepalive_timeout;
  while (p.ready_links(p.genesis) > 0 && p.net.now() < crashed_at + 2 * timeout) p.net.run_for(kSecond);
  EXPECT_EQ(p.ready_links(p.genesis), 0u);
  EXPECT_LE(p.net.now(), crashed_at + timeout + p.net.engine(p.genesis)->config().keepalive_interval + kSecond);
  EXPECT_GT(p.net.stats().frames_dropped, 0u);  // its pings went nowhere
  EXPECT_EQ(p.net.stats().open_links, 0u);
}

TEST(SimNetwork, CrashWithTransportTimeoutClosesAfterTheDelay) {
  NetworkConfig c = fixed_latency(60);
  c.crash_close_delay = 5000;
  Pair p(c);
  p.net.run_until(2000);
  p.net.crash(p.node);
  p.net.run_for(4999);
  EXPECT_EQ(p.ready_links(p.genesis), 1u);
  p.net.run_for(1);
  EXPECT_EQ(p.ready_links(p.genesis), 0u);
}

TEST(SimNetwork, PartitionHoldsTrafficAndHealDeliversIt) {
  Pair p(fixed_latency(50));
  p.net.run_until(2000);
  ASSERT_EQ(p.ready_links(p.node), 1u);
  std::vector<std::uint8_t> groups(p.net.node_count(), 0);
  groups[p.node] = 1;
  p.net.set_groups(groups);
  EXPECT_TRUE(p.net.cut(p.node, p.genesis));
  auto during = p.ping(p.node, p.genesis);
  ASSERT_TRUE(during.has_value());
  EXPECT_FALSE(during->ok);  // the request timed out: the link went silent
  EXPECT_EQ(p.ready_links(p.node), 1u);
  p.net.heal();
  EXPECT_FALSE(p.net.cut(p.node, p.genesis));
  EXPECT_EQ(p.net.stats().links_held_at_heal, 1u);  // the held ping, delivered now
  auto after = p.ping(p.node, p.genesis);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->ok) << after->error;
}

TEST(SimNetwork, DialsAcrossAPartitionTimeOut) {
  NetworkConfig c = fixed_latency(30);
  c.dial_timeout = 4000;
  Network net(c);
  NodeSpec g;
  g.config.role = Role::genesis;
  NodeIndex genesis = net.add_node(g);
  NodeSpec d;
  d.config.role = Role::dht;
  d.config.seeds = {Network::address_of(genesis)};
  NodeIndex n = net.add_node(d);
  net.set_groups({0, 1});
  net.start(genesis);
  net.start(n);
  net.run_until(3999);
  EXPECT_EQ(net.stats().dials_failed, 0u);
  net.run_until(4000);
  EXPECT_EQ(net.stats().dials_failed, 1u);
  EXPECT_EQ(net.stats().links_established, 0u);
}

TEST(SimNetwork, LossDelaysFramesButKeepsLinksWorking) {
  NetworkConfig c = fixed_latency(40);
  c.loss = 0.3;
  Pair p(c);
  p.net.run_until(10 * kSecond);
  EXPECT_EQ(p.ready_links(p.node), 1u);
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = p.ping(p.node, p.genesis);
    ok += r && r->ok ? 1 : 0;
  }
  EXPECT_GE(ok, 8);  // a ping is lost only when retransmissions outlast the request timeout
  EXPECT_GT(p.net.stats().frames_delayed_by_loss, 0u);
  EXPECT_EQ(p.net.stats().frames_dropped, 0u);
}

TEST(SimNetwork, LinkFailureClosesBothEnds) {
  NetworkConfig c = fixed_latency(40);
  c.link_failure = 0.5;
  Pair p(c);
  p.net.run_until(30 * kSecond);
  EXPECT_GT(p.net.stats().links_broken, 0u);
  EXPECT_GT(p.net.stats().dials, 1u);  // the engines dialled again
}

TEST(SimNetwork, SameSeedSameTraceDifferentSeedDifferentTrace) {
  auto run = [](std::uint64_t seed) {
    NetworkConfig c;
    c.seed = seed;
    Network net(c);
    start_small_network(net, 12);
    net.run_until(60 * kSecond);
    return std::make_pair(net.trace_hash(), net.stats().frames_delivered);
  };
  auto a = run(5);
  auto b = run(5);
  auto c = run(6);
  EXPECT_EQ(a, b);
  EXPECT_GT(a.second, 100u);
  EXPECT_NE(a.first, c.first);
}

TEST(SimNetwork, FrameTapSeesEveryDeliveredFrameIntact) {
  NetworkConfig c;
  c.seed = 21;
  c.loss = 0.1;
  Network net(c);
  std::uint64_t seen = 0, undecodable = 0, hellos = 0;
  net.set_frame_tap([&](NodeIndex from, NodeIndex to, Millis, BytesView frame) {
    EXPECT_NE(from, to);
    ++seen;
    auto decoded = decode(frame);
    if (!decoded) {
      ++undecodable;
      return;
    }
    hellos += std::holds_alternative<Hello>(decoded.value()) ? 1 : 0;
  });
  NodeSpec g;
  g.config.role = Role::genesis;
  NodeIndex genesis = net.add_node(g);
  for (int i = 0; i < 8; ++i) {
    NodeSpec d;
    d.config.role = Role::dht;
    d.config.seeds = {Network::address_of(genesis)};
    NodeIndex n = net.add_node(d);
    net.at(i * 200, [&net, n] { net.start(n); });
  }
  net.start(genesis);
  net.run_until(30 * kSecond);
  EXPECT_EQ(seen, net.stats().frames_delivered);
  EXPECT_EQ(undecodable, 0u);
  // Both ends say hello on every link (fewer only when a link closed before its hello arrived).
  EXPECT_LE(hellos, 2 * net.stats().links_established);
  EXPECT_GE(hellos, net.stats().links_established + net.stats().links_established / 2);
}

TEST(SimNetwork, RejoinWithFreshIdentityChangesTheNodeId) {
  Pair p(fixed_latency(20));
  p.net.run_until(2000);
  NodeId before = p.net.node_id(p.node);
  p.net.crash(p.node);
  p.net.start(p.node);
  EXPECT_EQ(p.net.engine(p.node)->id(), before);  // same identity, no memory
  p.net.crash(p.node);
  p.net.renew_identity(p.node);
  p.net.start(p.node);
  EXPECT_NE(p.net.engine(p.node)->id(), before);
  EXPECT_EQ(p.net.engine(p.node)->id(), p.net.node_id(p.node));
  EXPECT_EQ(p.net.incarnation(p.node), 3u);
  p.net.run_for(10 * kSecond);
  EXPECT_EQ(p.ready_links(p.node), 1u);
}

}  // namespace
}  // namespace yz::sim
