// Engine behaviour on a small in-memory network: handshake, one link per peer,
// version refusal, lookups returning the true k closest, put/get with
// replication and read repair, crash tolerance, health.
#include "core/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/codec.hpp"
#include "engine_harness.hpp"

namespace yz {
namespace {

using test::Harness;

bool closed_with(const std::vector<Action>& actions, CloseCode code) {
  return std::any_of(actions.begin(), actions.end(), [code](const Action& a) {
    auto* c = std::get_if<CloseLink>(&a);
    return c && c->code == code;
  });
}

// bootstrap (0) + genesis (1) + n dht nodes, all started.
void build_network(Harness& net, std::size_t dht_nodes, EngineConfig config = {}) {
  net.add(Role::bootstrap, {}, config);
  net.add(Role::genesis, {}, config);
  net.start(0);
  net.start(1);
  for (std::size_t i = 0; i < dht_nodes; ++i) {
    net.add(i < 2 ? Role::bridge : Role::dht, {"mem://0", "mem://1"}, config);
    net.start(net.size() - 1);
    net.run_for(50);
  }
}

// One operation on node i, run until it settles (or `ms` simulated ms pass).
PutResult put_on(Harness& net, std::size_t i, std::string_view key, std::string_view value,
                 Millis ms = 3'000) {
  PutResult out;
  net[i].engine->put(as_bytes(key), to_bytes(value), 600, net.now(), [&](const PutResult& r) { out = r; });
  net.pump(i);
  net.run_for(ms);
  return out;
}
GetResult get_on(Harness& net, std::size_t i, std::string_view key, Millis ms = 3'000) {
  GetResult out;
  net[i].engine->get(as_bytes(key), net.now(), [&](const GetResult& r) { out = r; });
  net.pump(i);
  net.run_for(ms);
  return out;
}
LookupResult find_on(Harness& net, std::size_t i, const NodeId& target, Millis ms = 3'000) {
  LookupResult out;
  net[i].engine->find_node(target, net.now(), [&](const LookupResult& r) { out = r; });
  net.pump(i);
  net.run_for(ms);
  return out;
}

TEST(Engine, TwoNodesHandshakeAndBecomeHealthy) {
  Harness net;
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"});
  net.start(0);
  net.start(1);
  net.run_for(5'000);
  auto a = net[0].engine->status(net.now());
  auto b = net[1].engine->status(net.now());
  EXPECT_EQ(a.links, 1u);
  EXPECT_EQ(b.links, 1u);
  EXPECT_TRUE(a.healthy) << (a.reasons.empty() ? "" : a.reasons.front());
  EXPECT_TRUE(b.healthy) << (b.reasons.empty() ? "" : b.reasons.front());
  EXPECT_EQ(a.link_list.front().peer, net[1].engine->id());
}

TEST(Engine, NetworkOfTwentyIsHealthyWithLinksInBounds) {
  Harness net;
  build_network(net, 18);
  net.run_for(60'000);
  for (std::size_t i = 1; i < net.size(); ++i) {
    auto st = net[i].engine->status(net.now());
    EXPECT_TRUE(st.healthy) << "node " << i << ": " << (st.reasons.empty() ? "" : st.reasons.front());
    EXPECT_GE(st.links, 3u) << "node " << i;
    EXPECT_LE(st.links, 8u) << "node " << i;
  }
}

TEST(Engine, FindNodeReturnsTrueClosest) {
  Harness net;
  build_network(net, 30);
  net.run_for(30'000);
  std::vector<NodeId> members;
  for (std::size_t i = 1; i < net.size(); ++i) members.push_back(net[i].engine->id());
  SeededRandom rng(7);
  for (int trial = 0; trial < 10; ++trial) {
    NodeId target;
    rng.fill(target.bytes.data(), target.bytes.size());
    std::size_t from = 1 + rng.uniform(net.size() - 1);
    LookupResult got;
    bool done = false;
    net[from].engine->find_node(target, net.now(), [&](const LookupResult& r) {
      got = r;
      done = true;
    });
    net.pump(from);
    net.run_for(5'000);
    ASSERT_TRUE(done);
    ASSERT_TRUE(got.ok) << got.error;
    auto expected = members;
    std::sort(expected.begin(), expected.end(),
              [&](const NodeId& a, const NodeId& b) { return closer(target, a, b); });
    expected.resize(20);
    std::vector<NodeId> ids;
    for (auto& c : got.closest) ids.push_back(c.id);
    EXPECT_EQ(ids, expected) << "trial " << trial;
    EXPECT_GT(got.hops, 0);
  }
}

// Servers hold at most kMaxClientLinks links from clients and never close
// one themselves, so a client closes its own query links after
// 10 s (kClientQueryLinkIdle) instead of query_link_idle (9 min): otherwise
// clients that each write a value fill their servers, which then refuse the
// next clients' Stores as surplus links (seen in the simulator's churn
// scenario: values on fewer than k replicas).
TEST(Engine, ClientQueryLinksCloseSoonServerQueryLinksStay) {
  Harness net;
  build_network(net, 30);
  std::size_t client = net.size();
  net.add(Role::client, {"mem://0", "mem://1"});
  net.start(client);
  net.run_for(30'000);
  const std::size_t server = 5;
  auto query_links = [&](std::size_t i) { return net[i].engine->status(net.now()).query_links; };
  std::size_t client_before = query_links(client);
  std::size_t server_before = query_links(server);

  SeededRandom rng(11);
  for (std::size_t i : {client, server}) {
    for (int trial = 0; trial < 3; ++trial) {
      NodeId target;
      rng.fill(target.bytes.data(), target.bytes.size());
      ASSERT_TRUE(find_on(net, i, target, 1'000).ok);
    }
  }
  std::size_t client_after_lookups = query_links(client);
  std::size_t server_after_lookups = query_links(server);
  EXPECT_GT(client_after_lookups, client_before);
  EXPECT_GT(server_after_lookups, server_before);

  constexpr Millis kClientIdle = 10'000;  // kClientQueryLinkIdle (core/engine_impl.hpp)
  net.run_for(kClientIdle + 2'000);       // both idle since
  EXPECT_EQ(query_links(client), 0u) << "a client's idle query links must close after " << kClientIdle
                                     << " ms";
  EXPECT_GE(query_links(server), server_after_lookups - 1)
      << "a server keeps its query links for query_link_idle";
}

// Every link is an open file, so max_query_links bounds the links a node
// holds beyond its kept ones in both directions: links other servers open to
// it count too, and past the cap the idlest idle one closes. Before, only the
// node's own dials were bounded, and nodes that many lookups passed through
// held links without limit (a process of 498 nodes ran out of open files).
TEST(Engine, QueryLinksStayWithinTheCapInBothDirections) {
  Harness net;
  EngineConfig config;
  config.max_query_links = 4;
  build_network(net, 30, config);
  net.run_for(20'000);
  SeededRandom rng(5);
  std::size_t most = 0;
  for (std::size_t from = 2; from < net.size(); ++from) {
    for (int trial = 0; trial < 3; ++trial) {
      NodeId target;
      rng.fill(target.bytes.data(), target.bytes.size());
      ASSERT_TRUE(find_on(net, from, target, 500).ok);
      for (std::size_t i = 1; i < net.size(); ++i) {
        most = std::max(most, net[i].engine->status(net.now()).query_links);
      }
    }
  }
  EXPECT_LE(most, config.max_query_links);
}

// A request that waits for a new link goes out right behind the dialer's
// Auth instead of after the peer's: with 5 ms links a ping over a fresh link
// takes connect, Hello, Auth + Ping, Pong = 20 ms, not 25 ms. Every peer in the
// table that has no link yet is pinged; each ping dials and is answered.
TEST(Engine, RequestsOnANewLinkFollowTheDialersAuth) {
  Harness net(5);
  EngineConfig config;
  config.query_link_idle = 1'000;  // the lookups' links close: table entries without a link
  build_network(net, 20, config);
  net.run_for(5'000);
  const std::size_t from = 7;
  auto status = net[from].engine->status(net.now());
  std::set<NodeId> linked;
  for (const auto& l : status.link_list) linked.insert(l.peer);
  std::vector<NodeId> unlinked;
  for (const auto& e : net[from].engine->routing_entries()) {
    if (!linked.count(e.contact.id)) unlinked.push_back(e.contact.id);
  }
  ASSERT_FALSE(unlinked.empty());
  auto opened_before = net[from].engine->metrics().links_opened;
  for (const auto& peer : unlinked) {
    std::optional<PingResult> result;
    net[from].engine->ping(peer, net.now(), [&](const PingResult& r) { result = r; });
    net.pump(from);
    net.run_for(100);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->ok) << result->error;
    EXPECT_EQ(result->rtt, 20) << "ping to " << peer.short_hex() << " over a new link";
  }
  EXPECT_EQ(net[from].engine->metrics().links_opened - opened_before, unlinked.size());
}

// Two nodes that ping each other at the same moment dial each other: both
// pings go out behind the dialers' Auths and one of the two links loses the
// duplicate race. A ping already pending on the loser is answered there
// (the loser drains, then closes), so both pings succeed and one link remains.
TEST(Engine, RequestsPendingOnALinkThatLosesADuplicateRaceAreStillAnswered) {
  Harness net(5);
  EngineConfig config;
  config.query_link_idle = 1'000;
  build_network(net, 20, config);
  net.run_for(5'000);
  auto links_to = [&](std::size_t i, const NodeId& peer) {
    std::size_t n = 0;
    for (const auto& l : net[i].engine->status(net.now()).link_list) n += l.peer == peer ? 1 : 0;
    return n;
  };
  auto in_table = [&](std::size_t i, const NodeId& peer) {
    for (const auto& e : net[i].engine->routing_entries()) {
      if (e.contact.id == peer) return true;
    }
    return false;
  };
  std::optional<std::pair<std::size_t, std::size_t>> pair;
  for (std::size_t a = 2; a < net.size() && !pair; ++a) {
    for (std::size_t b = a + 1; b < net.size() && !pair; ++b) {
      const NodeId ia = net[a].engine->id(), ib = net[b].engine->id();
      if (in_table(a, ib) && in_table(b, ia) && links_to(a, ib) == 0 && links_to(b, ia) == 0) pair = {a, b};
    }
  }
  ASSERT_TRUE(pair.has_value()) << "no two nodes know each other without a link";
  auto [a, b] = *pair;
  const std::size_t kDuplicate = static_cast<std::size_t>(CloseCode::duplicate_link) - 4000;
  auto duplicates = [&] {
    return net[a].engine->metrics().closes_sent[kDuplicate] +
           net[b].engine->metrics().closes_sent[kDuplicate];
  };
  auto duplicates_before = duplicates();
  std::optional<PingResult> from_a, from_b;
  net[a].engine->ping(net[b].engine->id(), net.now(), [&](const PingResult& r) { from_a = r; });
  net[b].engine->ping(net[a].engine->id(), net.now(), [&](const PingResult& r) { from_b = r; });
  net.pump(a);
  net.pump(b);
  net.run_for(200);
  ASSERT_TRUE(from_a && from_b);
  EXPECT_TRUE(from_a->ok) << from_a->error;
  EXPECT_TRUE(from_b->ok) << from_b->error;
  EXPECT_GT(duplicates(), duplicates_before) << "the two dials should have raced";
  EXPECT_EQ(links_to(a, net[b].engine->id()), 1u);
  EXPECT_EQ(links_to(b, net[a].engine->id()), 1u);
}

TEST(Engine, PutThenGetFromEveryNodeAndSurviveCrashes) {
  Harness net;
  build_network(net, 10);
  net.run_for(20'000);
  PutResult put;
  net[3].engine->put(as_bytes("colour"), to_bytes("blue"), 600, net.now(),
                     [&](const PutResult& r) { put = r; });
  net.pump(3);
  net.run_for(3'000);
  ASSERT_TRUE(put.ok) << put.error;
  EXPECT_EQ(put.replicas_acked, 11);  // a network smaller than k: every member holds it
  net.crash(4);
  net.crash(5);
  net.crash(6);
  net.run_for(5'000);
  for (std::size_t i = 1; i < net.size(); ++i) {
    if (!net[i].up) continue;
    GetResult got;
    net[i].engine->get(as_bytes("colour"), net.now(), [&](const GetResult& r) { got = r; });
    net.pump(i);
    net.run_for(5'000);
    EXPECT_TRUE(got.found) << "node " << i << ": " << got.error;
    EXPECT_EQ(to_string(got.value), "blue");
  }
}

TEST(Engine, NewerPutWinsAndStaleIsRefused) {
  Harness net;
  build_network(net, 4);
  net.run_for(10'000);
  PutResult first, second;
  net[2].engine->put(as_bytes("k"), to_bytes("v1"), 600, net.now(), [&](const PutResult& r) { first = r; });
  net.pump(2);
  net.run_for(1'000);
  net[3].engine->put(as_bytes("k"), to_bytes("v2"), 600, net.now(), [&](const PutResult& r) { second = r; });
  net.pump(3);
  net.run_for(1'000);
  ASSERT_TRUE(first.ok && second.ok);
  EXPECT_GT(second.seq, first.seq);
  GetResult got;
  net[4].engine->get(as_bytes("k"), net.now(), [&](const GetResult& r) { got = r; });
  net.pump(4);
  net.run_for(2'000);
  EXPECT_EQ(to_string(got.value), "v2");
}

// At 60 nodes (k = 20) a get answers once two replicas returned the value,
// well before a full lookup of the key would end; the value is still right.
TEST(Engine, GetAnswersAtTheReadQuorum) {
  Harness net;
  build_network(net, 60);
  net.run_for(30'000);
  PutResult put = put_on(net, 5, "quorum", "v1");
  ASSERT_TRUE(put.ok) << put.error;
  EXPECT_GE(put.replicas_acked, 20);
  std::size_t reader = 40;
  GetResult got = get_on(net, reader, "quorum");
  ASSERT_TRUE(got.found) << got.error;
  EXPECT_EQ(to_string(got.value), "v1");
  EXPECT_EQ(got.seq, put.seq);
  LookupResult full = find_on(net, reader, net[reader].engine->key_id(as_bytes("quorum")));
  ASSERT_TRUE(full.ok) << full.error;
  EXPECT_LT(got.requests, full.requests) << "the get ran as long as a full lookup";
  EXPECT_LE(got.requests, 10);
}

// How many of the true k closest nodes of `key` (a strict find_node from
// `asker`) do not store it.
std::size_t closest_without_value(Harness& net, std::size_t asker, std::string_view key) {
  NodeId id = net[asker].engine->key_id(as_bytes(key));
  LookupResult full = find_on(net, asker, id);
  EXPECT_TRUE(full.ok) << full.error;
  std::size_t missing = 0;
  for (const auto& c : full.closest) {
    for (std::size_t i = 0; i < net.size(); ++i) {
      if (net[i].engine->id() == c.id) missing += net[i].engine->stored_seq(id, net.now()) ? 0 : 1;
    }
  }
  return missing;
}

std::uint64_t sent(Harness& net, std::size_t node, MessageType type) {
  return net[node].engine->metrics().out[message_type_index(static_cast<std::uint8_t>(type))].messages;
}

// A put's Stores are its lookup's final round: it asks FindNode only until
// the lookup converges (a strict find_node of the same key asks all k
// nearest), answers once its lookup has ended, and the value is then on the
// true k closest nodes of the network.
TEST(Engine, PutStoresAreItsLookupsFinalRoundAndLandOnTheKClosest) {
  Harness net;
  build_network(net, 60);
  net.run_for(30'000);
  std::size_t writer = 7;
  auto lookups_ended = [&] {
    auto m = net[writer].engine->metrics();
    return m.lookups_ok + m.lookups_failed;
  };
  std::uint64_t before = lookups_ended();
  std::uint64_t find_nodes_before = sent(net, writer, MessageType::find_node);
  std::uint64_t stores_before = sent(net, writer, MessageType::store);
  std::optional<std::uint64_t> ended_at_answer;
  PutResult put;
  net[writer].engine->put(as_bytes("placed"), to_bytes("v"), 600, net.now(), [&](const PutResult& r) {
    put = r;
    ended_at_answer = lookups_ended();
  });
  net.pump(writer);
  net.run_for(3'000);
  ASSERT_TRUE(put.ok) << put.error;
  EXPECT_GE(put.replicas_acked, 20);
  ASSERT_TRUE(ended_at_answer);
  EXPECT_EQ(*ended_at_answer, before + 1) << "the put answered before its lookup ended";
  std::uint64_t put_find_nodes = sent(net, writer, MessageType::find_node) - find_nodes_before;
  std::uint64_t put_stores = sent(net, writer, MessageType::store) - stores_before;
  EXPECT_GE(put_stores, 19U);  // the writer itself may be one of the k closest
  EXPECT_EQ(closest_without_value(net, writer, "placed"), 0U) << "a node among the k closest lacks the value";

  std::uint64_t find_before = sent(net, writer, MessageType::find_node);
  LookupResult strict = find_on(net, writer, net[writer].engine->key_id(as_bytes("placed")));
  ASSERT_TRUE(strict.ok) << strict.error;
  std::uint64_t strict_find_nodes = sent(net, writer, MessageType::find_node) - find_before;
  EXPECT_GE(strict_find_nodes, 19U);
  EXPECT_LE(put_find_nodes, 10U) << "the put asked FindNode of its final round as well (strict lookup: "
                                 << strict_find_nodes << ")";
}

// Peers speaking protocol version 2 answer a Store with a bare StoreAck: the
// lookup counts them as answered, learns nothing from them, and the value
// still lands on the k closest. Version 3 peers send their closest contacts.
TEST(Engine, StoreAckCarriesContactsOnlyOnVersion3Links) {
  Harness net;
  build_network(net, 30);
  EngineConfig old_peer;
  old_peer.version_max = 2;
  for (int i = 0; i < 10; ++i) {
    net.add(Role::dht, {"mem://0", "mem://1"}, old_peer);
    net.start(net.size() - 1);
    net.run_for(50);
  }
  net.run_for(30'000);
  const std::size_t store_ack = message_type_index(static_cast<std::uint8_t>(MessageType::store_ack));
  for (int n = 0; n < 10; ++n) {
    std::string key = "mixed-" + std::to_string(n);
    std::size_t writer = 2 + static_cast<std::size_t>(n * 7) % 30;
    PutResult put = put_on(net, writer, key, "v");
    ASSERT_TRUE(put.ok) << put.error;
    EXPECT_EQ(closest_without_value(net, writer, key), 0U) << key;
  }
  std::uint64_t old_acks = 0, new_acks = 0;
  for (std::size_t i = 2; i < net.size(); ++i) {
    const auto& out = net[i].engine->metrics().out[store_ack];
    if (out.messages == 0) continue;
    if (i >= 32) {
      old_acks += out.messages;
      EXPECT_EQ(out.bytes, out.messages * 5) << "a version 2 node sent StoreAck contacts";
    } else {
      new_acks += out.messages;
      EXPECT_GT(out.bytes, out.messages * 5) << "version 3 node " << i << " sent bare StoreAcks only";
    }
  }
  EXPECT_GT(old_acks, 0U) << "no version 2 node stored a value: the case is not exercised";
  EXPECT_GT(new_acks, 0U);
}

// Where the nearest candidates at convergence include crashed nodes (churn),
// their Stores go unanswered and the lookup replaces them with live nodes
// among the k closest before the put answers.
TEST(Engine, PutReplacesCrashedCandidatesWithLiveKClosest) {
  Harness net;
  EngineConfig narrow;
  narrow.k = 8;  // several buckets at 120 nodes, lookups still exact
  narrow.alpha = 2;
  build_network(net, 120, narrow);
  net.run_for(30'000);
  auto crashed = [](std::size_t i) { return i >= 4 && i % 4 == 0; };
  for (std::size_t i = 0; i < net.size(); ++i) {
    if (crashed(i)) net.crash(i);
  }
  std::size_t unanswered = 0;
  for (int n = 0; n < 30; ++n) {
    std::string key = "late-" + std::to_string(n);
    std::size_t writer = 2 + static_cast<std::size_t>(n * 37) % 120;
    if (crashed(writer)) ++writer;
    PutResult put = put_on(net, writer, key, "v");
    ASSERT_TRUE(put.ok) << put.error;
    unanswered += put.refusals.size();
    EXPECT_EQ(closest_without_value(net, writer, key), 0U) << key;
  }
  EXPECT_GT(unanswered, 0U) << "no Store went to a crashed node: the case is not exercised";
}

// get_quorum 0: every value lookup runs to the end (the k nearest all asked).
TEST(Engine, GetQuorumZeroRunsTheLookupToTheEnd) {
  Harness net;
  EngineConfig to_the_end;
  to_the_end.get_quorum = 0;
  build_network(net, 40, to_the_end);
  net.run_for(30'000);
  PutResult put = put_on(net, 5, "k", "v");
  ASSERT_TRUE(put.ok) << put.error;
  GetResult got = get_on(net, 30, "k");
  ASSERT_TRUE(got.found) << got.error;
  EXPECT_GE(got.requests, 20);
}

TEST(Engine, OversizedPutIsRefusedWithReason) {
  Harness net;
  build_network(net, 2);
  net.run_for(5'000);
  PutResult r;
  net[2].engine->put(as_bytes("big"), Bytes(kMaxValueSize + 1, 'x'), 60, net.now(),
                     [&](const PutResult& p) { r = p; });
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("65536-byte limit"), std::string::npos) << r.error;
}

TEST(Engine, IncompatibleVersionsAreRefusedOnBothSides) {
  Harness net;
  EngineConfig old_cfg;
  old_cfg.version_min = kProtocolVersionMax + 1;  // a node from the future
  old_cfg.version_max = kProtocolVersionMax + 2;
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"}, old_cfg);
  net.start(0);
  net.start(1);
  net.run_for(2'000);
  auto a = net[0].engine->status(net.now());
  auto b = net[1].engine->status(net.now());
  EXPECT_EQ(a.links + a.query_links, 0u);
  ASSERT_FALSE(a.recent_refusals.empty());
  ASSERT_FALSE(b.recent_refusals.empty());
  EXPECT_EQ(a.recent_refusals.front().code, CloseCode::incompatible_version);
  EXPECT_NE(a.recent_refusals.front().reason.find("upgrade this node"), std::string::npos)
      << a.recent_refusals.front().reason;
  EXPECT_NE(b.recent_refusals.front().reason.find("the peer must upgrade"), std::string::npos)
      << b.recent_refusals.front().reason;
  EXPECT_FALSE(b.healthy);
}

TEST(Engine, SimultaneousDialsLeaveOneLink) {
  Harness net;
  net.add(Role::genesis, {"mem://1"});
  net.add(Role::dht, {"mem://0"});
  net.start(0);
  net.start(1);
  net.run_for(3'000);
  auto a = net[0].engine->status(net.now());
  auto b = net[1].engine->status(net.now());
  EXPECT_EQ(a.links + a.query_links, 1u);
  EXPECT_EQ(b.links + b.query_links, 1u);
}

TEST(Engine, UnknownTypeIsAnsweredWithErrorAndLinkStays) {
  Harness net;
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"});
  net.start(0);
  net.start(1);
  net.run_for(2'000);
  auto link = net[0].engine->status(net.now()).link_list.front().link;
  Bytes frame = {0x7f, 9, 0, 0, 0, 1, 2, 3};
  net[0].engine->frame_received(link, frame, net.now());
  auto error = net.sole_error_reply(0);
  ASSERT_TRUE(error.has_value()) << "one Error in reply";
  EXPECT_EQ(error->request_id, 9u);
  EXPECT_EQ(error->code, ErrorCode::unknown_type);
  EXPECT_EQ(net[0].engine->metrics().unknown_types, 1u);
  EXPECT_EQ(net[0].engine->status(net.now()).links, 1u);
}

TEST(Engine, MalformedFrameClosesOnlyThatLink) {
  Harness net;
  build_network(net, 3);
  net.run_for(5'000);
  auto before = net[1].engine->status(net.now());
  auto link = before.link_list.front().link;
  Bytes garbage = {0x14, 1, 0, 0, 0, 0xff};  // Store truncated after the header
  net[1].engine->frame_received(link, garbage, net.now());
  auto actions = net[1].engine->take_actions();
  EXPECT_TRUE(closed_with(actions, CloseCode::malformed_frame));
  EXPECT_EQ(net[1].engine->metrics().decode_errors, 1u);
}

TEST(Engine, FrameBeforeHandshakeIsAProtocolViolation) {
  Harness net;
  net.add(Role::genesis, {});
  net.start(0);
  LinkId link = net[0].engine->link_accepted("tcp://attacker", net.now());
  net[0].engine->take_actions();
  net[0].engine->frame_received(link, encode(FindNode{1, NodeId{}}), net.now());
  auto actions = net[0].engine->take_actions();
  EXPECT_TRUE(closed_with(actions, CloseCode::protocol_violation));
}

TEST(Engine, ForgedAuthIsRefused) {
  Harness net;
  net.add(Role::genesis, {});
  net.start(0);
  LinkId link = net[0].engine->link_accepted("tcp://forger", net.now());
  auto actions = net[0].engine->take_actions();
  auto victim = SodiumSigner::generate();
  Hello hello;
  hello.role = Role::dht;
  hello.public_key = victim.public_key();  // claims someone else's key
  hello.build_id = "forger";
  net[0].engine->frame_received(link, encode(hello), net.now());
  Auth auth;
  auth.signature.fill(0x42);
  net[0].engine->frame_received(link, encode(auth), net.now());
  actions = net[0].engine->take_actions();
  EXPECT_TRUE(closed_with(actions, CloseCode::auth_failed));
  EXPECT_EQ(net[0].engine->metrics().handshakes_failed, 1u);
}

TEST(Engine, HandshakeTimeoutClosesSilentLinks) {
  Harness net;
  net.add(Role::genesis, {});
  net.start(0);
  net[0].engine->link_accepted("tcp://silent", net.now());
  net[0].engine->take_actions();
  net.run_for(6'000);
  auto st = net[0].engine->status(net.now());
  EXPECT_TRUE(st.link_list.empty());
  ASSERT_FALSE(st.recent_refusals.empty());
  EXPECT_EQ(st.recent_refusals.back().code, CloseCode::handshake_timeout);
}

TEST(Engine, StopSaysGoodbyeAndFailsPendingWork) {
  Harness net;
  build_network(net, 3);
  net.run_for(5'000);
  bool called = false;
  net[2].engine->find_node(NodeId{}, net.now(), [&](const LookupResult&) { called = true; });
  net[2].engine->stop(net.now());
  EXPECT_TRUE(called);
  auto actions = net[2].engine->take_actions();
  EXPECT_TRUE(std::any_of(actions.begin(), actions.end(),
                          [](const Action& a) { return std::holds_alternative<CloseLink>(a); }));
  EXPECT_EQ(net[2].engine->next_deadline(), kNever);
}

TEST(Engine, RepublishReachesNodesThatJoinedAfterThePut) {
  Harness net;
  EngineConfig cfg;
  cfg.republish_interval = 30'000;
  build_network(net, 3, cfg);
  net.run_for(5'000);
  PutResult put;
  net[2].engine->put(as_bytes("early"), to_bytes("bird"), 3600, net.now(),
                     [&](const PutResult& r) { put = r; });
  net.pump(2);
  net.run_for(2'000);
  ASSERT_TRUE(put.ok) << put.error;
  std::size_t first_late = net.size();
  for (int i = 0; i < 3; ++i) {
    net.add(Role::dht, {"mem://0", "mem://1"}, cfg);
    net.start(net.size() - 1);
  }
  net.run_for(5'000);
  for (std::size_t i = first_late; i < net.size(); ++i) {
    EXPECT_EQ(net[i].engine->status(net.now()).stored_values, 0u) << "node " << i << " joined after the put";
  }
  net.run_for(cfg.republish_interval + 5'000);
  for (std::size_t i = first_late; i < net.size(); ++i) {
    EXPECT_EQ(net[i].engine->status(net.now()).stored_values, 1u)
        << "node " << i << " got no republished copy";
  }
}

}  // namespace
}  // namespace yz

namespace yz {
namespace {

std::uint64_t pings_sent(const Engine& engine) {
  return engine.metrics().out[message_type_index(static_cast<std::uint8_t>(MessageType::ping))].messages;
}

// Keep-alive is the dialer's job: the idle link stays up on the dialer's pings
// alone, and the acceptor never pings (docs/protocol.md section 13).
TEST(Engine, OnlyTheDialerPingsAnIdleKeptLink) {
  Harness net;
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"});  // node 1 dials node 0
  net.start(0);
  net.start(1);
  net.run_for(5 * 60'000);
  auto a = net[0].engine->status(net.now());
  auto b = net[1].engine->status(net.now());
  EXPECT_EQ(a.links, 1u);
  EXPECT_EQ(b.links, 1u);
  EXPECT_GT(pings_sent(*net[1].engine), 0u);
  EXPECT_EQ(pings_sent(*net[0].engine), 0u);
  EXPECT_TRUE(b.healthy) << (b.reasons.empty() ? "" : b.reasons.front());
}

// Self-lookups that find nothing new back off (up to 8 intervals), and the
// node stays healthy meanwhile.
TEST(Engine, StableNeighbourhoodBacksOffSelfLookups) {
  EngineConfig config;
  config.self_lookup_interval = 1'000;
  Harness net;
  net.add(Role::genesis, {}, config);
  net.add(Role::dht, {"mem://0"}, config);
  net.start(0);
  net.start(1);
  net.run_for(120'000);
  // Every second for two minutes would be ~120 self-lookups; backing off to
  // 8 s after a few doublings leaves well under 40.
  EXPECT_LT(net[1].engine->metrics().lookups_ok, 40u);
  EXPECT_GT(net[1].engine->metrics().lookups_ok, 5u);
  auto st = net[1].engine->status(net.now());
  EXPECT_TRUE(st.healthy) << (st.reasons.empty() ? "" : st.reasons.front());
}

}  // namespace
}  // namespace yz
