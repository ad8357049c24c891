// Overlay routing on fixed sparse link graphs (no query links, no connection
// policy): every reachable node answers routed requests, unreachable ones fail
// fast, and forged, looping, over-limit or flooding routed messages do no harm.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/codec.hpp"
#include "engine_harness.hpp"

namespace yz {
namespace {

using test::Harness;

EngineConfig fixed_topology(std::uint8_t hop_limit = kDefaultHops) {
  EngineConfig cfg;
  cfg.connection_policy = false;
  cfg.max_query_links = 0;  // never dial for requests: route instead
  cfg.routed_hop_limit = hop_limit;
  cfg.min_links = 1;
  return cfg;
}

// Node i dials the nodes listed in edges[i].
void build(Harness& net, const std::vector<std::vector<std::size_t>>& edges, EngineConfig cfg) {
  for (std::size_t i = 0; i < edges.size(); ++i) {
    std::vector<std::string> seeds;
    for (auto j : edges[i]) seeds.push_back("mem://" + std::to_string(j));
    net.add(i == 0 ? Role::genesis : Role::dht, seeds, cfg);
  }
  for (std::size_t i = 0; i < edges.size(); ++i) net.start(i);
  net.run_for(3'000);
}

PingResult ping(Harness& net, std::size_t from, std::size_t to) {
  PingResult result;
  result.error = "no answer";
  net[from].engine->ping(net[to].engine->id(), net.now(), [&](const PingResult& r) { result = r; });
  net.pump(from);
  net.run_for(5'000);
  return result;
}

std::size_t link_count(Harness& net, std::size_t i) {
  auto st = net[i].engine->status(net.now());
  return st.links + st.query_links;
}

TEST(Routing, RingRoutesEveryPair) {
  const std::size_t n = 12;
  std::vector<std::vector<std::size_t>> edges(n);
  for (std::size_t i = 0; i < n; ++i) edges[i] = {(i + 1) % n};
  Harness net(2);
  build(net, edges, fixed_topology(kMaxHops));
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(link_count(net, i), 2u) << "node " << i;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = 0; b < n; ++b) {
      if (a == b) continue;
      auto r = ping(net, a, b);
      EXPECT_TRUE(r.ok) << a << " -> " << b << ": " << r.error;
    }
  }
  std::uint64_t routed = 0;
  for (std::size_t i = 0; i < n; ++i) routed += net[i].engine->metrics().routed.delivered;
  EXPECT_GT(routed, 0u);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(link_count(net, i), 2u) << "routing must not open links";
}

TEST(Routing, RandomSparseGraphsRouteEveryPairAndReportHops) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const std::size_t n = 30;
    SeededRandom rng(seed);
    std::vector<std::vector<std::size_t>> edges(n);
    for (std::size_t i = 1; i < n; ++i) edges[i].push_back(rng.uniform(i));  // a spanning tree: connected
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t j = rng.uniform(n);
      if (j != i && std::find(edges[j].begin(), edges[j].end(), i) == edges[j].end()) edges[i].push_back(j);
    }
    Harness net(2);
    build(net, edges, fixed_topology(kMaxHops));
    // Every node pings every other node, all at once.
    std::map<std::pair<std::size_t, std::size_t>, PingResult> results;
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t b = 0; b < n; ++b) {
        if (a == b) continue;
        net[a].engine->ping(net[b].engine->id(), net.now(),
                            [&results, a, b](const PingResult& r) { results[{a, b}] = r; });
      }
      net.pump(a);
    }
    net.run_for(10'000);
    int failures = 0;
    std::string first_error;
    for (const auto& [pair, r] : results) {
      if (!r.ok && ++failures == 1) first_error = r.error;
    }
    EXPECT_EQ(results.size(), n * (n - 1)) << "seed " << seed;
    EXPECT_EQ(failures, 0) << "seed " << seed << ": " << first_error;
    std::uint64_t hop_samples = 0;
    for (std::size_t i = 0; i < n; ++i) {
      for (auto h : net[i].engine->metrics().routed.hops) hop_samples += h;
    }
    EXPECT_GT(hop_samples, 0u);
  }
}

// Ids of the first n harness nodes (they depend only on the index).
std::vector<NodeId> harness_ids(std::size_t n) {
  Harness probe;
  std::vector<NodeId> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(probe.add(Role::dht, {}).engine->id());
  return ids;
}

std::uint64_t total_bounces(Harness& net) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < net.size(); ++i) n += net[i].engine->metrics().routed.bounced;
  return n;
}

// Four nodes: the destination d = node 0; c is the node nearest d and a dead
// end (linked only to the source); b leads to d. Edges are given from each
// node's point of view (node i dials edges[i]).
struct DeadEndTopology {
  std::size_t source, b, c, d = 0;
  std::vector<std::vector<std::size_t>> edges;
};
DeadEndTopology dead_end_topology() {
  auto ids = harness_ids(4);
  DeadEndTopology t;
  std::vector<std::size_t> others = {1, 2, 3};
  std::sort(others.begin(), others.end(), [&](auto x, auto y) { return closer(ids[0], ids[x], ids[y]); });
  t.c = others[0];
  t.b = others[1];
  t.source = others[2];
  t.edges.resize(4);
  t.edges[t.source] = {t.b, t.c};
  t.edges[t.b] = {t.d};
  return t;
}

TEST(Routing, NeighbourListsLetAHopSkipADeadEnd) {
  // Greedy by its own links alone, the source tries c (nearest d) first and
  // must come back; knowing b's neighbours (Neighbours, protocol version 2)
  // it goes through b at once. Version 1 nodes show the difference.
  auto t = dead_end_topology();
  for (std::uint16_t version : {std::uint16_t{1}, kNeighboursVersion}) {
    SCOPED_TRACE("protocol version " + std::to_string(version));
    EngineConfig cfg = fixed_topology();
    cfg.version_max = version;
    Harness net(2);
    build(net, t.edges, cfg);
    net.run_for(cfg.maintenance_interval + 1'000);  // lists announced
    auto delivered = net[t.d].engine->metrics().routed.delivered;
    auto bounces = total_bounces(net);
    auto r = ping(net, t.source, t.d);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(net[t.d].engine->metrics().routed.delivered, delivered + 1);
    if (version >= kNeighboursVersion) {
      EXPECT_EQ(total_bounces(net), bounces) << "the walk went through b directly";
    } else {
      EXPECT_GT(total_bounces(net), bounces) << "without neighbour lists the walk visits the dead end";
    }
  }
}

TEST(Routing, RequestLostWithItsLinkIsForwardedAgain) {
  // The source reaches d through b or c. The hop it picks crashes while the
  // request is on the wire: the frame is lost, the source sees the link
  // close, and forwards the request to the other one.
  auto ids = harness_ids(4);
  std::vector<std::vector<std::size_t>> edges = {{}, {0}, {0}, {1, 2}};  // 3 -> {1, 2} -> 0
  EngineConfig cfg = fixed_topology();
  Harness net(20);
  build(net, edges, cfg);
  net.run_for(cfg.maintenance_interval + 1'000);
  std::size_t first = closer(ids[0], ids[1], ids[2]) ? 1 : 2;  // both list node 0: the nearer goes first
  auto delivered = net[0].engine->metrics().routed.delivered;
  PingResult result;
  result.error = "no answer";
  net[3].engine->ping(ids[0], net.now(), [&](const PingResult& r) { result = r; });
  net.pump(3);
  net.crash(first);  // before the 20 ms frame arrives
  net.run_for(3'000);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(net[3].engine->metrics().routed.rerouted, 1u);
  EXPECT_EQ(net[0].engine->metrics().routed.delivered, delivered + 1);
  // What the hops kept for re-forwarding is released once the reply passed.
  for (std::size_t i : {std::size_t{0}, 3 - first, std::size_t{3}}) {
    EXPECT_EQ(net[i].engine->status(net.now()).routed_retained_bytes, 0u) << "node " << i;
  }
}

TEST(RoutingBadInput, NeighboursOnAVersionOneLinkIsAnsweredLikeAnUnknownType) {
  Harness net;
  EngineConfig old_cfg;
  old_cfg.version_max = 1;
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"}, old_cfg);
  net.start(0);
  net.start(1);
  net.run_for(2'000);
  auto st = net[0].engine->status(net.now());
  ASSERT_EQ(st.link_list.size(), 1u);
  EXPECT_EQ(st.link_list.front().version, 1u);
  net[0].engine->frame_received(st.link_list.front().link, encode(Neighbours{{net[1].engine->id()}}), net.now());
  auto error = net.sole_error_reply(0);
  ASSERT_TRUE(error.has_value()) << "one Error in reply";
  EXPECT_EQ(error->code, ErrorCode::unknown_type);
  EXPECT_NE(error->message.find("protocol version 1"), std::string::npos) << error->message;
  EXPECT_EQ(net[0].engine->status(net.now()).links, 1u) << "the link stays";
}

TEST(Routing, UnreachableDestinationFailsFastWithReason) {
  // Two separate triangles: 0-1-2 and 3-4-5.
  std::vector<std::vector<std::size_t>> edges = {{1, 2}, {2}, {}, {4, 5}, {5}, {}};
  Harness net(2);
  build(net, edges, fixed_topology());
  Millis start = net.now();
  PingResult result;
  bool done = false;
  net[0].engine->ping(net[4].engine->id(), net.now(), [&](const PingResult& r) {
    result = r;
    done = true;
  });
  net.pump(0);
  while (!done && net.now() - start < 10'000) net.run_for(1);
  ASSERT_TRUE(done);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("no route to"), std::string::npos) << result.error;
  EXPECT_LT(net.now() - start, 2 * EngineConfig{}.request_timeout) << "must fail by exhausting paths, not by timeout";
  EXPECT_EQ(net[0].engine->metrics().routed.unreachable, 1u);
}

TEST(Routing, RoutedRequestWaitsItsOwnLongerTimeout) {
  // A chain 0-1-2; node 2 goes silent (no close reaches anyone), so the routed
  // ping from 0 gets no answer. It fails after routed_request_timeout, not
  // after the direct request_timeout, and says it was routed.
  EngineConfig cfg = fixed_topology();
  cfg.request_timeout = 2'000;
  cfg.routed_request_timeout = 6'000;
  cfg.keepalive_timeout = 600'000;
  Harness net(2);
  build(net, {{1}, {2}, {}}, cfg);
  net[2].up = false;
  PingResult result;
  bool done = false;
  Millis start = net.now();
  net[0].engine->ping(net[2].engine->id(), net.now(), [&](const PingResult& r) {
    result = r;
    done = true;
  });
  net.pump(0);
  net.run_for(cfg.request_timeout + 1'000);
  EXPECT_FALSE(done) << "a routed request outlives the direct request timeout: " << result.error;
  while (!done && net.now() - start < 20'000) net.run_for(10);
  ASSERT_TRUE(done);
  EXPECT_FALSE(result.ok);
  EXPECT_GE(net.now() - start, cfg.routed_request_timeout);
  EXPECT_LT(net.now() - start, cfg.routed_request_timeout + 1'000);
  EXPECT_NE(result.error.find("within 6000 ms (routed through the overlay)"), std::string::npos) << result.error;
}

TEST(Routing, PutAndGetWorkOverRoutedRequestsOnly) {
  const std::size_t n = 16;
  std::vector<std::vector<std::size_t>> edges(n);
  for (std::size_t i = 0; i < n; ++i) edges[i] = {(i + 1) % n, (i + 5) % n};
  Harness net(2);
  build(net, edges, fixed_topology());
  net.run_for(5'000);
  PutResult put;
  net[3].engine->put(as_bytes("routed-key"), to_bytes("routed-value"), 600, net.now(),
                     [&](const PutResult& r) { put = r; });
  net.pump(3);
  net.run_for(5'000);
  ASSERT_TRUE(put.ok) << put.error;
  EXPECT_EQ(put.replicas_acked, static_cast<int>(n));
  for (std::size_t i = 0; i < n; i += 3) {
    GetResult got;
    net[i].engine->get(as_bytes("routed-key"), net.now(), [&](const GetResult& r) { got = r; });
    net.pump(i);
    net.run_for(5'000);
    EXPECT_TRUE(got.found) << "node " << i << ": " << got.error;
    EXPECT_EQ(to_string(got.value), "routed-value");
  }
  std::uint64_t via_route = 0;
  for (std::size_t i = 0; i < n; ++i) via_route += net[i].engine->metrics().routed.via_route;
  EXPECT_GT(via_route, 0u);
}

// ---- Bad input --------------------------------------------------------------

struct Crafted {
  Harness net{2};
  SodiumCrypto crypto;
  SodiumSigner attacker = SodiumSigner::generate();
  LinkId link = 0;  // node 0's link to node 1

  Crafted() {
    build(net, {{1}, {}}, fixed_topology());
    link = net[0].engine->status(net.now()).link_list.front().link;
  }
  Routed make(const NodeId& destination, std::uint64_t id, const Message& inner) {
    Routed r;
    r.source = node_id_of(crypto, attacker.public_key());
    r.destination = destination;
    r.message_id = id;
    r.hop_limit = 8;
    r.payload = encode(inner);
    r.source_key = attacker.public_key();
    r.signature = attacker.sign(routed_signing_payload(r, crypto.sha256(r.payload)));
    return r;
  }
  void inject(const Routed& r) {
    net[0].engine->frame_received(link, encode(r), net.now());
    net.pump(0);
  }
  const Metrics& metrics() { return net[0].engine->metrics(); }
  bool link_alive() { return link_count(net, 0) == 1; }
};

TEST(RoutingBadInput, ForgedSourceIsDroppedAndCounted) {
  Crafted c;
  Routed r = c.make(c.net[0].engine->id(), 1, Ping{});
  r.source = c.net[1].engine->id();  // claims to be node 1; the key says otherwise
  c.inject(r);
  EXPECT_EQ(c.metrics().routed.dropped_forged, 1u);
  EXPECT_EQ(c.metrics().routed.delivered, 0u);
  Routed tampered = c.make(c.net[0].engine->id(), 2, Ping{});
  tampered.payload = encode(FindNode{0, NodeId{}});  // payload swapped after signing
  c.inject(tampered);
  EXPECT_EQ(c.metrics().routed.dropped_forged, 2u);
  EXPECT_TRUE(c.link_alive());
}

TEST(RoutingBadInput, HopLimitAboveMaximumIsDropped) {
  Crafted c;
  Routed r = c.make(c.net[0].engine->id(), 3, Ping{});
  r.hop_limit = kMaxHops + 1;
  c.inject(r);
  EXPECT_EQ(c.metrics().routed.dropped_hop_limit, 1u);
  EXPECT_TRUE(c.link_alive());
}

TEST(RoutingBadInput, DuplicatesAndLoopsDie) {
  Crafted c;
  Routed r = c.make(c.net[0].engine->id(), 4, Ping{});
  c.inject(r);
  c.inject(r);  // the same request again
  EXPECT_EQ(c.metrics().routed.delivered, 1u);
  EXPECT_EQ(c.metrics().routed.dropped_duplicate, 1u);
  // A message for a third node that comes back to a hop that already forwarded it.
  NodeId elsewhere;
  elsewhere.bytes.fill(0xee);
  Routed loop = c.make(elsewhere, 5, Ping{});
  c.inject(loop);
  c.inject(loop);
  EXPECT_GE(c.metrics().routed.dropped_duplicate, 2u);
  EXPECT_TRUE(c.link_alive());
}

TEST(RoutingBadInput, FloodIsRateLimited) {
  Crafted c;
  for (std::uint64_t i = 0; i < 5'000; ++i) c.inject(c.make(c.net[0].engine->id(), 100 + i, Ping{}));
  EXPECT_GT(c.metrics().routed.dropped_rate, 3'000u);
  EXPECT_LE(c.metrics().routed.delivered, 2 * EngineConfig{}.routed_rate_per_link + 1);
  EXPECT_TRUE(c.link_alive());
  c.net.run_for(10'000);  // tokens refill: routed traffic flows again
  c.inject(c.make(c.net[0].engine->id(), 99'999, Ping{}));
  EXPECT_EQ(c.metrics().routed.dropped_rate, c.metrics().routed.dropped_rate);
  auto delivered = c.metrics().routed.delivered;
  c.inject(c.make(c.net[0].engine->id(), 100'000, Ping{}));
  EXPECT_EQ(c.metrics().routed.delivered, delivered + 1);
}

TEST(RoutingBadInput, PayloadThatIsNotARequestIsDropped) {
  Crafted c;
  c.inject(c.make(c.net[0].engine->id(), 6, Hello{}));
  c.inject(c.make(c.net[0].engine->id(), 7, Pong{1}));  // a response without the reply flag
  EXPECT_EQ(c.metrics().routed.dropped_invalid, 2u);
  EXPECT_TRUE(c.link_alive());
}

}  // namespace
}  // namespace yz
