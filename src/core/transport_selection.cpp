// Transport selection rules (see transport_selection.hpp).
#include "core/transport_selection.hpp"

namespace yz {

std::string webrtc_address(const NodeId& id) { return std::string(kWebRtcScheme) + id.hex(); }

bool is_webrtc_address(std::string_view address) { return address.substr(0, kWebRtcScheme.size()) == kWebRtcScheme; }

std::optional<NodeId> webrtc_address_id(std::string_view address) {
  if (!is_webrtc_address(address)) return std::nullopt;
  return NodeId::from_hex(address.substr(kWebRtcScheme.size()));
}

std::string_view reach_by_name(ReachBy how) {
  switch (how) {
    case ReachBy::dial: return "dial";
    case ReachBy::ask_to_dial: return "ask_to_dial";
    case ReachBy::routed: return "routed";
  }
  return "routed";
}

ReachPlan plan_reach(const LocalTransports& self, const Contact& peer) {
  if (!role_is_dht_member(peer.role)) return {};
  bool peer_webrtc = false;
  for (const auto& address : peer.addresses) {
    if (is_webrtc_address(address)) {
      // Only a browser's own id counts; anything else is a forged or broken contact.
      auto id = webrtc_address_id(address);
      if (id && *id == peer.id) peer_webrtc = true;
      continue;
    }
    // A server address: browsers and servers alike dial it.
    if (peer.role != Role::browser) return {ReachBy::dial, std::string(address)};
  }
  if (!peer_webrtc) return {};
  if (self.webrtc) return {ReachBy::dial, webrtc_address(peer.id)};
  if (self.listens && role_is_dht_member(self.role)) return {ReachBy::ask_to_dial, {}};
  return {};
}

bool is_routing_contact(const Contact& contact) {
  // Reachable by somebody: a server address, or a browser's own webrtc: address.
  return plan_reach(LocalTransports{Role::dht, true, true}, contact).how == ReachBy::dial;
}

}  // namespace yz
