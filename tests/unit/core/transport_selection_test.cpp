// The transport selection table: for every pair of (this node, peer) kinds,
// how the peer is reached when no link is open (src/core/transport_selection.hpp).
#include "core/transport_selection.hpp"

#include <gtest/gtest.h>

namespace yz {
namespace {

NodeId id_of(std::uint8_t b) {
  NodeId id;
  id.bytes.fill(b);
  return id;
}

struct Kind {
  const char* name;
  LocalTransports local;  // when this kind is the node choosing
  Contact contact;        // when this kind is the peer
};

std::vector<Kind> kinds() {
  const NodeId browser = id_of(0xb0);
  return {
      {"server", {Role::dht, false, true}, {id_of(0x10), Role::dht, {"ws://10.0.0.1:7001/"}}},
      {"genesis", {Role::genesis, false, true}, {id_of(0x11), Role::genesis, {"wss://seed.example.org/"}}},
      {"bridge", {Role::bridge, false, true}, {id_of(0x12), Role::bridge, {"ws://10.0.0.2:7001/"}}},
      {"bootstrap", {Role::bootstrap, false, true}, {id_of(0x13), Role::bootstrap, {"ws://10.0.0.3:7000/"}}},
      {"browser_webrtc", {Role::browser, true, false}, {browser, Role::browser, {webrtc_address(browser)}}},
      {"browser_plain", {Role::browser, false, false}, {id_of(0xb1), Role::browser, {}}},
      {"client", {Role::client, false, false}, {id_of(0xc0), Role::client, {}}},
      {"client_webrtc", {Role::client, true, false}, {id_of(0xc1), Role::client, {webrtc_address(id_of(0xc1))}}},
  };
}

// Expected plan, row = the choosing node, column = the peer (same order as kinds()).
// d = dial, a = ask the peer to dial us, r = routed only.
const char* const kTable[] = {
    // server genesis bridge bootstrap browser_webrtc browser_plain client client_webrtc
    "dddrarrr",  // server: dials servers, asks WebRTC browsers to dial it
    "dddrarrr",  // genesis
    "dddrarrr",  // bridge
    "dddrrrrr",  // bootstrap: not a DHT member, never asks anyone to dial it
    "dddrdrrr",  // browser_webrtc: WebSocket to servers, WebRTC to browsers
    "dddrrrrr",  // browser_plain: WebSocket to servers only
    "dddrrrrr",  // client
    "dddrdrrr",  // client_webrtc
};

TEST(TransportSelection, TableCoversEveryPair) {
  auto all = kinds();
  ASSERT_EQ(std::size(kTable), all.size());
  for (std::size_t row = 0; row < all.size(); ++row) {
    for (std::size_t col = 0; col < all.size(); ++col) {
      ReachPlan plan = plan_reach(all[row].local, all[col].contact);
      char got = plan.how == ReachBy::dial ? 'd' : plan.how == ReachBy::ask_to_dial ? 'a' : 'r';
      EXPECT_EQ(got, kTable[row][col]) << all[row].name << " -> " << all[col].name << ": "
                                       << reach_by_name(plan.how);
      if (plan.how == ReachBy::dial) {
        const auto& peer = all[col].contact;
        bool browser_peer = peer.role == Role::browser;
        EXPECT_EQ(plan.address, browser_peer ? webrtc_address(peer.id) : std::string(peer.addresses.front()));
      }
    }
  }
}

TEST(TransportSelection, WebRtcAddressMustNameThePeerItself) {
  LocalTransports browser{Role::browser, true, false};
  Contact forged{id_of(0xb0), Role::browser, {webrtc_address(id_of(0xee))}};
  EXPECT_EQ(plan_reach(browser, forged).how, ReachBy::routed);
  EXPECT_FALSE(is_routing_contact(forged));
  Contact broken{id_of(0xb0), Role::browser, {"webrtc:not-hex"}};
  EXPECT_EQ(plan_reach(browser, broken).how, ReachBy::routed);
}

TEST(TransportSelection, BrowsersNeverGetWebSocketDials) {
  // A browser cannot listen: a ws:// address in its contact is ignored.
  LocalTransports server{Role::dht, false, true};
  Contact odd{id_of(0xb0), Role::browser, {"ws://10.0.0.9:7001/"}};
  EXPECT_EQ(plan_reach(server, odd).how, ReachBy::routed);
}

TEST(TransportSelection, RoutingContacts) {
  for (const auto& k : kinds()) {
    bool expected = k.contact.role == Role::dht || k.contact.role == Role::genesis || k.contact.role == Role::bridge ||
                    (k.contact.role == Role::browser && !k.contact.addresses.empty());
    EXPECT_EQ(is_routing_contact(k.contact), expected) << k.name;
  }
}

TEST(TransportSelection, WebRtcAddressRoundTrip) {
  NodeId id = id_of(0x42);
  EXPECT_EQ(webrtc_address(id), "webrtc:" + id.hex());
  EXPECT_TRUE(is_webrtc_address(webrtc_address(id)));
  EXPECT_EQ(webrtc_address_id(webrtc_address(id)), id);
  EXPECT_FALSE(is_webrtc_address("ws://x/"));
  EXPECT_FALSE(webrtc_address_id("webrtc:1234").has_value());
}

}  // namespace
}  // namespace yz
