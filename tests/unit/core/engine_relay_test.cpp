// Relayed links: two WebRTC browsers that cannot open a DataChannel link
// through a server both are linked to, end-to-end encrypted; the relay caps its
// sessions; a direct link replaces the relay without losing a request.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "core/codec.hpp"
#include "engine_harness.hpp"

namespace yz {
namespace {

using test::Harness;

std::optional<LinkInfo> ready_link(Harness& net, std::size_t from, std::size_t to) {
  for (const auto& l : net[from].engine->status(net.now()).link_list) {
    if (l.ready && l.peer == net[to].engine->id()) return l;
  }
  return std::nullopt;
}

// Servers 0..servers-1 (0 genesis), then `browsers` WebRTC browsers seeded with server 0.
void network(Harness& net, std::size_t servers, std::size_t browsers, EngineConfig server_cfg = {}) {
  net.add(Role::genesis, {}, server_cfg);
  for (std::size_t s = 1; s < servers; ++s) net.add(Role::dht, {"mem://0"}, server_cfg);
  EngineConfig browser;
  browser.webrtc = true;
  for (std::size_t b = 0; b < browsers; ++b) net.add(Role::browser, {"mem://0"}, browser);
  for (std::size_t i = 0; i < net.size(); ++i) net.start(i);
}

bool contains(const Bytes& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

TEST(EngineRelay, BrowsersWithoutDirectPathLinkThroughARelayEndToEndEncrypted) {
  Harness net;
  net.webrtc_works = false;
  network(net, 3, 2);
  for (std::size_t s = 0; s < 3; ++s) net[s].capture = true;
  net.run_for(30'000);
  auto link = ready_link(net, 3, 4);
  ASSERT_TRUE(link) << "no relayed link between the browsers";
  EXPECT_TRUE(link->relayed);
  auto back = ready_link(net, 4, 3);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->relayed);
  EXPECT_EQ(link->relay_node, back->relay_node);
  std::size_t relay = 0;
  while (net[relay].engine->id() != link->relay_node) ++relay;
  EXPECT_EQ(net[relay].engine->metrics().relay_sessions_opened, 1u);
  EXPECT_GE(net[3].engine->metrics().relayed_links_opened + net[4].engine->metrics().relayed_links_opened, 2u);

  // DHT traffic between the browsers crosses the relay sealed: a value stored
  // by one browser on the other never appears in the relay's frames.
  PingResult ping;
  net[3].engine->ping(net[4].engine->id(), net.now(), [&](const PingResult& r) { ping = r; });
  net.pump(3);
  net.run_for(1'000);
  EXPECT_TRUE(ping.ok) << ping.error;
  std::uint64_t forwarded = net[relay].engine->metrics().relay_frames_forwarded;
  EXPECT_GE(forwarded, 2u);
  PutResult put;
  const std::string secret = "relay-must-not-read-this";
  net[3].engine->put(as_bytes("k"), Bytes(secret.begin(), secret.end()), 60, net.now(),
                     [&](const PutResult& r) { put = r; });
  net.pump(3);
  net.run_for(5'000);
  ASSERT_TRUE(put.ok) << put.error;
  EXPECT_GT(net[relay].engine->metrics().relay_frames_forwarded, forwarded);
  for (const auto& frame : net[relay].frames_out) {
    auto decoded = decode(frame);
    if (decoded && std::holds_alternative<RelayData>(decoded.value())) {
      EXPECT_FALSE(contains(std::get<RelayData>(decoded.value()).payload, secret)) << "relay saw the value";
    }
  }
  // The other browser holds it (one of the 5 nodes, all within k).
  GetResult got;
  net[4].engine->get(as_bytes("k"), net.now(), [&](const GetResult& r) { got = r; });
  net.pump(4);
  net.run_for(5'000);
  ASSERT_TRUE(got.found) << got.error;
  EXPECT_EQ(std::string(got.value.begin(), got.value.end()), secret);
}

// Both browsers' WebRTC dials fail at the same instant, so both open the same
// session through the only server at once and each holds it as its own
// outbound link: the sealing keys must still agree (they follow node ids).
TEST(EngineRelay, BothEndsOpeningOneSessionAtOnceAgreeOnTheKeys) {
  Harness net;
  net.webrtc_works = false;
  net.webrtc_fails_at = net.now() + 20'000;
  network(net, 1, 2);
  net.run_for(2'000);
  // Browser 1 learns of browser 2 now, so both connection policies dial each other.
  net[1].engine->find_node(net[2].engine->id(), net.now(), [](const LookupResult&) {});
  net.pump(1);
  net.run_for(40'000);
  std::uint64_t opened = net[1].engine->metrics().relayed_links_opened + net[2].engine->metrics().relayed_links_opened;
  EXPECT_GE(opened, 2u);
  for (std::size_t b : {1u, 2u}) EXPECT_EQ(net[b].engine->metrics().relayed_frames_rejected, 0u) << "browser " << b;
  auto link = ready_link(net, 1, 2);
  auto back = ready_link(net, 2, 1);
  ASSERT_TRUE(link && back) << "no relayed link between the browsers";
  EXPECT_TRUE(link->relayed && back->relayed);
  PingResult ping;
  net[1].engine->ping(net[2].engine->id(), net.now(), [&](const PingResult& r) { ping = r; });
  net.pump(1);
  net.run_for(1'000);
  EXPECT_TRUE(ping.ok) << ping.error;
}

TEST(EngineRelay, DirectLinkReplacesTheRelayWithoutLosingARequest) {
  Harness net;
  net.webrtc_works = false;
  network(net, 3, 2);
  net.run_for(30'000);
  ASSERT_TRUE(ready_link(net, 3, 4) && ready_link(net, 3, 4)->relayed);
  // WebRTC starts working; meanwhile browser 3 pings browser 4 every 100 ms.
  net.webrtc_works = true;
  int sent = 0, answered = 0, failed = 0;
  std::string first_error;
  for (int step = 0; step < 1'200; ++step) {  // 120 s: several direct retries and drains
    ++sent;
    net[3].engine->ping(net[4].engine->id(), net.now(), [&](const PingResult& r) {
      if (r.ok) {
        ++answered;
      } else if (++failed == 1) {
        first_error = r.error;
      }
    });
    net.pump(3);
    net.run_for(100);
  }
  net.run_for(5'000);
  EXPECT_EQ(failed, 0) << first_error;
  EXPECT_EQ(answered, sent);
  auto link = ready_link(net, 3, 4);
  ASSERT_TRUE(link);
  EXPECT_FALSE(link->relayed) << "still relayed after WebRTC became possible";
  EXPECT_EQ(net[3].engine->metrics().relayed_links_upgraded + net[4].engine->metrics().relayed_links_upgraded, 2u);
  // The drained relayed link is closed on both ends, and the relay forgot the session.
  for (std::size_t b : {3u, 4u}) {
    for (const auto& l : net[b].engine->status(net.now()).link_list) EXPECT_FALSE(l.relayed) << "browser " << b;
  }
}

TEST(EngineRelay, RelayCapsItsSessions) {
  Harness net;
  net.webrtc_works = false;
  EngineConfig one_session;
  one_session.relay_sessions = 1;
  network(net, 1, 3, one_session);  // one server, three browsers: three pairs want links
  net.run_for(60'000);
  auto& relay = net[0].engine->metrics();
  EXPECT_EQ(relay.relay_sessions_opened, 1u);
  EXPECT_GE(relay.relay_sessions_refused, 1u);
  int relayed_pairs = 0;
  for (std::size_t a = 1; a < 4; ++a) {
    for (std::size_t b = a + 1; b < 4; ++b) relayed_pairs += ready_link(net, a, b) ? 1 : 0;
  }
  EXPECT_EQ(relayed_pairs, 1);
  // Browsers without a relayed link still reach each other by routed messages.
  PingResult ping;
  std::size_t x = 1, y = 2;
  if (ready_link(net, 1, 2)) y = 3;
  net[x].engine->ping(net[y].engine->id(), net.now(), [&](const PingResult& r) { ping = r; });
  net.pump(x);
  net.run_for(5'000);
  EXPECT_TRUE(ping.ok) << ping.error;
}

TEST(EngineRelay, RelayLosingAnEndClosesTheSessionOnTheOther) {
  Harness net;
  net.webrtc_works = false;
  network(net, 1, 2);
  net.run_for(30'000);
  ASSERT_TRUE(ready_link(net, 1, 2));
  net.crash(2);
  net.run_for(1'000);
  EXPECT_FALSE(ready_link(net, 1, 2)) << "browser 1 still believes in the relayed link";
}

TEST(EngineRelay, ServersAndPlainNodesRefuseToRelayInPlainWords) {
  Harness net;
  EngineConfig no_relay;
  no_relay.relay_sessions = 0;
  net.webrtc_works = false;
  network(net, 1, 2, no_relay);
  net.run_for(30'000);
  EXPECT_FALSE(ready_link(net, 1, 2));
  EXPECT_GE(net[0].engine->metrics().relay_sessions_refused, 1u);
  bool explained = false;
  for (std::size_t b : {1u, 2u}) {
    for (const auto& line : net[b].logs) explained |= line.find("no relay reaches") != std::string::npos;
  }
  EXPECT_TRUE(explained);
}

}  // namespace
}  // namespace yz
