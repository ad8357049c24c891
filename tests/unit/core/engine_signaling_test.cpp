// WebRTC-capable peers in the engine: browsers become routing contacts, find
// each other through the DHT and open a direct link after signaling through
// the overlay (or through the bootstrap server); servers never dial browsers
// but ask them to dial; bad signaling is refused in plain words.
#include <gtest/gtest.h>

#include <optional>

#include "core/transport_selection.hpp"
#include "engine_harness.hpp"

namespace yz {
namespace {

using test::Harness;

EngineConfig webrtc_browser() {
  EngineConfig cfg;
  cfg.webrtc = true;
  return cfg;
}

std::optional<LinkInfo> link_to(Harness& net, std::size_t from, std::size_t to) {
  for (const auto& l : net[from].engine->status(net.now()).link_list) {
    if (l.ready && l.peer == net[to].engine->id()) return l;
  }
  return std::nullopt;
}

SignalResult signal(Harness& net, std::size_t from, std::size_t to, std::string data) {
  SignalResult result;
  result.error = "no answer";
  net[from].engine->signal(net[to].engine->id(), std::move(data), net.now(),
                           [&](const SignalResult& r) { result = r; });
  net.pump(from);
  net.run_for(5'000);
  return result;
}

// Three servers (0 genesis) and two WebRTC browsers (3, 4) seeded with server 0.
void servers_and_browsers(Harness& net) {
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"});
  net.add(Role::dht, {"mem://0"});
  net.add(Role::browser, {"mem://0"}, webrtc_browser());
  net.add(Role::browser, {"mem://0"}, webrtc_browser());
  for (std::size_t i = 0; i < net.size(); ++i) net.start(i);
  net.run_for(20'000);
}

TEST(EngineWebRtc, BrowsersFindEachOtherThroughTheDhtAndLinkDirectly) {
  Harness net;
  servers_and_browsers(net);
  auto ab = link_to(net, 3, 4);
  ASSERT_TRUE(ab) << "browser 3 has no link to browser 4";
  EXPECT_TRUE(ab->kept);
  auto ba = link_to(net, 4, 3);
  ASSERT_TRUE(ba);
  // Exactly one side dialled; the other accepted the channel from that peer.
  EXPECT_NE(ab->outbound, ba->outbound);
  const LinkInfo& accepted = ab->outbound ? *ba : *ab;
  EXPECT_EQ(accepted.address, "webrtc:" + (ab->outbound ? net[3] : net[4]).engine->id().hex());
  // Servers list the browsers as routing contacts but never dial them.
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_EQ(net[s].webrtc_dials, 0) << "server " << s;
    bool knows = false;
    for (const auto& e : net[s].engine->routing_entries()) knows |= e.contact.id == net[3].engine->id();
    EXPECT_TRUE(knows) << "server " << s << " lacks browser 3 in its routing table";
  }
  // The browsers advertise their webrtc: address.
  auto st = net[3].engine->status(net.now());
  EXPECT_TRUE(st.healthy) << (st.reasons.empty() ? "" : st.reasons.front());
  // DHT traffic flows over the direct link.
  PingResult ping;
  net[3].engine->ping(net[4].engine->id(), net.now(), [&](const PingResult& r) { ping = r; });
  net.pump(3);
  net.run_for(1'000);
  EXPECT_TRUE(ping.ok) << ping.error;
  EXPECT_GE(link_to(net, 3, 4)->in.messages, 3u);
}

TEST(EngineWebRtc, BrowsersKeepTheirDirectLinkWhenServersGo) {
  Harness net;
  servers_and_browsers(net);
  ASSERT_TRUE(link_to(net, 3, 4));
  for (std::size_t s = 0; s < 3; ++s) net.crash(s);
  net.run_for(120'000);
  ASSERT_TRUE(link_to(net, 3, 4));
  PingResult ping;
  net[4].engine->ping(net[3].engine->id(), net.now(), [&](const PingResult& r) { ping = r; });
  net.pump(4);
  net.run_for(1'000);
  EXPECT_TRUE(ping.ok) << ping.error;
}

TEST(EngineWebRtc, SignalTravelsRoutedWithoutALinkAndOverTheLinkWithOne) {
  Harness net;
  net.add(Role::genesis, {});
  EngineConfig lone = webrtc_browser();
  lone.connection_policy = false;  // links only to its seed: no direct browser link forms
  net.add(Role::browser, {"mem://0"}, lone);
  net.add(Role::browser, {"mem://0"}, lone);
  for (std::size_t i = 0; i < net.size(); ++i) net.start(i);
  net.run_for(5'000);
  ASSERT_FALSE(link_to(net, 1, 2));
  auto r = signal(net, 1, 2, "{\"sdp\":\"v=0\"}");
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.path, "routed");
  ASSERT_EQ(net[2].signals.size(), 1u);
  EXPECT_EQ(net[2].signals[0].from, net[1].engine->id());
  EXPECT_EQ(net[2].signals[0].data, "{\"sdp\":\"v=0\"}");
  EXPECT_EQ(net[2].engine->metrics().signals_received, 1u);
}

TEST(EngineWebRtc, BootstrapRelaysSignalingOnly) {
  Harness net;
  net.add(Role::bootstrap, {});
  EngineConfig lone = webrtc_browser();
  lone.connection_policy = false;
  lone.query_link_idle = 600'000;  // newcomers still holding their bootstrap link
  net.add(Role::browser, {"mem://0"}, lone);
  net.add(Role::browser, {"mem://0"}, lone);
  for (std::size_t i = 0; i < net.size(); ++i) net.start(i);
  net.run_for(2'000);
  ASSERT_TRUE(link_to(net, 1, 0));
  ASSERT_TRUE(link_to(net, 2, 0));
  auto r = signal(net, 1, 2, "offer");
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.path, "routed");
  ASSERT_EQ(net[2].signals.size(), 1u);
  // Anything else routed through the bootstrap server is dropped and counted.
  PingResult ping;
  ping.error = "no answer";
  net[1].engine->ping(net[2].engine->id(), net.now(), [&](const PingResult& p) { ping = p; });
  net.pump(1);
  net.run_for(10'000);
  EXPECT_FALSE(ping.ok);
  EXPECT_GE(net[0].engine->metrics().routed.dropped_invalid + net[1].engine->metrics().routed.unreachable, 1u);
}

TEST(EngineWebRtc, ServerAsksABrowserToDialIt) {
  Harness net;
  net.add(Role::genesis, {});
  net.add(Role::dht, {"mem://0"});
  EngineConfig browser = webrtc_browser();
  browser.min_links = browser.max_links = 1;  // keeps only its seed, server 0
  browser.query_link_idle = 1'000;            // its own lookups' links to server 1 close quickly
  browser.self_lookup_interval = 600'000;
  net.add(Role::browser, {"mem://0"}, browser);
  for (std::size_t i = 0; i < net.size(); ++i) net.start(i);
  net.run_for(20'000);
  // Server 1 looks the browser up: the lookup asks the browser itself (routed,
  // as the server cannot dial it) and asks it to dial the server.
  std::uint64_t asked_before = net[1].engine->metrics().dial_requests_sent;
  LookupResult found;
  net[1].engine->find_node(net[2].engine->id(), net.now(), [&](const LookupResult& r) { found = r; });
  net.pump(1);
  net.run_for(300);  // well inside the browser's 1 s query-link idle time
  ASSERT_TRUE(found.ok) << found.error;
  ASSERT_FALSE(found.closest.empty());
  EXPECT_EQ(found.closest[0].id, net[2].engine->id());
  EXPECT_EQ(net[1].engine->metrics().dial_requests_sent, asked_before + 1);
  EXPECT_GE(net[2].engine->metrics().dial_requests_honoured, 1u);
  EXPECT_EQ(net[2].engine->metrics().dial_requests_declined, 0u);
  auto link = link_to(net, 2, 1);
  ASSERT_TRUE(link) << "the browser did not dial the server that asked";
  EXPECT_TRUE(link->outbound);
  EXPECT_EQ(net[1].webrtc_dials, 0);
  // Requests now take the direct link.
  std::uint64_t via_link = net[1].engine->metrics().routed.via_link;
  PingResult ping;
  net[1].engine->ping(net[2].engine->id(), net.now(), [&](const PingResult& r) { ping = r; });
  net.pump(1);
  net.run_for(200);
  EXPECT_TRUE(ping.ok) << ping.error;
  EXPECT_EQ(net[1].engine->metrics().routed.via_link, via_link + 1);
}

TEST(EngineWebRtcBadInput, SignalRefusalsInPlainWords) {
  Harness net;
  servers_and_browsers(net);
  auto too_big = signal(net, 3, 4, std::string(kMaxSignalLength + 1, 'x'));
  EXPECT_FALSE(too_big.ok);
  EXPECT_NE(too_big.error.find("1 to 16384 bytes"), std::string::npos) << too_big.error;
  auto empty = signal(net, 3, 4, "");
  EXPECT_FALSE(empty.ok);
  auto bad_text = signal(net, 3, 4, std::string("\xff\xfe", 2));
  EXPECT_FALSE(bad_text.ok);
  EXPECT_NE(bad_text.error.find("UTF-8"), std::string::npos);
  auto to_server = signal(net, 3, 1, "offer");
  EXPECT_FALSE(to_server.ok);
  EXPECT_NE(to_server.error.find("does not open WebRTC DataChannels"), std::string::npos) << to_server.error;
  // A server cannot signal at all.
  SignalResult from_server;
  net[1].engine->signal(net[3].engine->id(), "offer", net.now(), [&](const SignalResult& r) { from_server = r; });
  EXPECT_FALSE(from_server.ok);
  EXPECT_NE(from_server.error.find("WebRTC is not enabled"), std::string::npos);
  EXPECT_TRUE(net[4].signals.empty() || net[4].signals.size() == net[4].engine->metrics().signals_received);
}

TEST(EngineWebRtcBadInput, SignalFloodIsRateLimited) {
  Harness net;
  servers_and_browsers(net);
  ASSERT_TRUE(link_to(net, 3, 4));
  int ok = 0, limited = 0;
  for (std::size_t i = 0; i < kMaxSignalsPerSecond + 50; ++i) {
    net[3].engine->signal(net[4].engine->id(), "candidate", net.now(), [&](const SignalResult& r) {
      if (r.ok) ++ok;
      else if (r.error.find("per second") != std::string::npos) ++limited;
    });
  }
  net.pump(3);
  net.run_for(500);
  EXPECT_EQ(ok, static_cast<int>(kMaxSignalsPerSecond));
  EXPECT_EQ(limited, 50);
}

}  // namespace
}  // namespace yz
