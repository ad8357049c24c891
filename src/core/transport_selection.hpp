// Transport selection, in one place: how this node can reach a peer that has no
// open link to it. Browser -> server: WebSocket; browser <-> browser: WebRTC
// (signalled through the overlay); server -> browser: only over a link the
// browser opened, else the browser is asked (routed DialRequest) to dial us;
// server -> server: WebSocket. docs/architecture.md has the table;
// tests/unit/core/transport_selection_test.cpp proves every pair.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/messages.hpp"

namespace yz {

// "webrtc:<64 hex id>": a peer reached by a WebRTC DataChannel after signaling.
inline constexpr std::string_view kWebRtcScheme = "webrtc:";
std::string webrtc_address(const NodeId& id);
// True for an address of the webrtc: form (whatever its id).
bool is_webrtc_address(std::string_view address);
// The id a webrtc: address names, when well formed.
std::optional<NodeId> webrtc_address_id(std::string_view address);

// What this node's shell can do.
struct LocalTransports {
  Role role = Role::dht;
  bool webrtc = false;   // the shell opens WebRTC DataChannels (browsers, WebRTC-enabled clients)
  bool listens = false;  // the node advertises an address others can dial (servers)
};

enum class ReachBy {
  dial,         // open a link to `address` ourselves
  ask_to_dial,  // the peer can dial us but we cannot dial it: send it a routed DialRequest
  routed,       // no direct link is possible either way: routed messages only
};
std::string_view reach_by_name(ReachBy how);

struct ReachPlan {
  ReachBy how = ReachBy::routed;
  std::string address;  // for ReachBy::dial
};

// How `self` reaches `peer` when no link is open. Server addresses (ws://, and
// the simulator's and tests' own schemes) are dialled by anyone; webrtc:
// addresses only by WebRTC-capable nodes, and only when the id in the address
// is the peer's own (a contact cannot point a dial at a third node).
ReachPlan plan_reach(const LocalTransports& self, const Contact& peer);

// A contact worth keeping in routing tables: a DHT member that can be reached
// directly by someone (it advertises at least one address).
bool is_routing_contact(const Contact& contact);

}  // namespace yz
