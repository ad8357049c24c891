// Engine: links through a relay server (docs/protocol.md section 18).
// Two browsers that cannot open a DataChannel (symmetric NATs) run their
// link through a server both are linked to. The relay only forwards RelayData
// between the two ends of a session it accepted (at most relay_sessions). The
// link inside is an ordinary yz link: Hello/Auth authenticate both ends, and
// every frame after the Hellos is sealed (XChaCha20-Poly1305) with keys from
// an X25519 agreement of the two node identities and both Hello nonces, so
// the relay reads and alters nothing. The ends keep retrying a direct
// (WebRTC) link; when it is ready the relayed link drains and closes.
#include <algorithm>

#include "core/codec.hpp"
#include "core/engine_impl.hpp"

namespace yz {

namespace {
std::pair<NodeId, NodeId> session_key(const NodeId& a, const NodeId& b) { return a < b ? std::pair{a, b} : std::pair{b, a}; }

AeadNonce counter_nonce(std::uint64_t counter) {
  AeadNonce nonce{};
  for (int i = 0; i < 8; ++i) nonce[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter >> (8 * i));
  return nonce;
}

bool serves_as_relay(const EngineConfig& cfg) {
  return cfg.relay_sessions > 0 && role_is_dht_member(cfg.role) && cfg.role != Role::browser;
}
}  // namespace

std::optional<LinkId> Engine::Impl::relayed_link(LinkId via, const NodeId& far_end) const {
  for (const auto& [id, link] : links) {
    if (link.relay && link.relay->via == via && link.relay->far_end == far_end) return id;
  }
  return std::nullopt;
}

// ---- frames out --------------------------------------------------------------

void Engine::Impl::emit_frame(Link& link, Bytes frame) {
  if (!link.relay) {
    actions.push_back(SendFrame{link.id, std::move(frame)});
    return;
  }
  auto via = links.find(link.relay->via);
  if (via == links.end() || via->second.phase != Link::Phase::ready) return;  // forget_link follows
  RelayPath& path = *link.relay;
  Bytes payload = path.keyed ? crypto.seal(path.out_key, counter_nonce(path.out_count++), frame) : std::move(frame);
  Bytes out = encode(RelayData{path.far_end, std::move(payload)});
  via->second.last_out = via->second.last_request = link.last_out;
  ++via->second.out.messages;
  via->second.out.bytes += out.size();
  actions.push_back(SendFrame{via->first, std::move(out)});
}

void Engine::Impl::emit_close(Link& link, CloseCode code, const std::string& text) {
  if (!link.relay) {
    actions.push_back(CloseLink{link.id, code, text});
    return;
  }
  auto via = links.find(link.relay->via);
  if (via == links.end() || via->second.phase != Link::Phase::ready) return;
  actions.push_back(SendFrame{via->first, encode(RelayClose{link.relay->far_end, text})});
}

// ---- keys ----------------------------------------------------------------------

// The two ends are ordered by node id, not by who dialled: both may open the
// same session through the same relay at once, and each then sees itself as
// the dialler of one link.
void Engine::Impl::relay_link_keys(Link& link) {
  RelayPath& path = *link.relay;
  const LinkHandshake& hs = *link.handshake;  // called from handle_hello: still handshaking
  auto shared = signer.agree(hs.peer_key);
  if (!shared) return;  // not a valid key: Auth cannot verify either, the handshake fails
  bool self_first = self < link.peer;
  const Nonce& first_nonce = self_first ? hs.nonce : hs.peer_nonce;
  const Nonce& second_nonce = self_first ? hs.peer_nonce : hs.nonce;
  static constexpr std::string_view kContext = "yz-relay-v2";
  Bytes material(kContext.begin(), kContext.end());
  material.insert(material.end(), shared->begin(), shared->end());
  material.insert(material.end(), first_nonce.begin(), first_nonce.end());
  material.insert(material.end(), second_nonce.begin(), second_nonce.end());
  Hash256 root = crypto.sha256(material);
  auto direction_key = [&](std::uint8_t from_first) {
    Bytes b(root.begin(), root.end());
    b.push_back(from_first);
    return crypto.sha256(b);
  };
  path.out_key = direction_key(self_first ? 1 : 2);
  path.in_key = direction_key(self_first ? 2 : 1);
  path.keyed = true;
}

// ---- endpoint: opening a relayed link --------------------------------------------

void Engine::Impl::open_relay(const NodeId& peer, std::size_t candidate, Millis now) {
  if (stopped || !cfg.use_relays || ready_by_peer.count(peer) || dialing_by_peer.count(peer)) return;
  if (tally().relayed >= kMaxRelayedLinks) return;
  // Candidates: linked servers, nearest the peer first (the ones it most likely links to).
  std::vector<const Link*> servers;
  for (const auto& [id, l] : links) {
    if (l.phase == Link::Phase::ready && !l.relay && l.role != Role::browser && role_is_dht_member(l.role)) {
      servers.push_back(&l);
    }
  }
  std::sort(servers.begin(), servers.end(),
            [&](const Link* a, const Link* b) { return closer(peer, a->peer, b->peer); });
  if (candidate >= servers.size()) {
    log(LogLevel::warn, "no relay reaches " + peer.short_hex() + ": tried " + std::to_string(servers.size()) +
                            " linked servers; the peer stays reachable by routed messages");
    return;
  }
  LinkId via = servers[candidate]->id;
  NodeId relay_node = servers[candidate]->peer;
  request_on_link(links.at(via), RelayOpen{0, peer}, now,
                  [this, peer, via, relay_node, candidate](const ReplyOutcome& outcome, Millis t) {
                    if (!outcome.reply || !std::holds_alternative<Ack>(*outcome.reply)) {
                      log(LogLevel::debug, "relay " + relay_node.short_hex() + " refused a session to " +
                                               peer.short_hex() + ": " + outcome.error);
                      return open_relay(peer, candidate + 1, t);
                    }
                    auto v = links.find(via);
                    if (v == links.end() || ready_by_peer.count(peer) || dialing_by_peer.count(peer)) return;
                    LinkId id = next_link_id++;
                    Link link;
                    link.id = id;
                    link.outbound = true;
                    link.want_kept = true;
                    link.address = "relay:" + relay_node.hex() + "/" + peer.hex();
                    link.handshake = std::make_unique<LinkHandshake>();
                    link.handshake->expected_peer = peer;
                    link.relay = std::make_unique<RelayPath>(RelayPath{via, relay_node, peer});
                    dialing_by_peer[peer] = id;
                    auto& stored = add_link(std::move(link));
                    if (cfg.metrics_enabled) ++metrics.relayed_links_opened;
                    direct_retry_at[peer] = t + cfg.direct_retry_interval;
                    on_transport_up(stored, t);
                  });
}

// ---- relay role ------------------------------------------------------------------

void Engine::Impl::handle_relay_open(Link& link, const RelayOpen& open, Millis now) {
  auto refuse = [&](ErrorCode code, const std::string& why) {
    if (cfg.metrics_enabled) ++metrics.relay_sessions_refused;
    reply_error(link, open.request_id, code, why, now);
  };
  if (!serves_as_relay(cfg)) return refuse(ErrorCode::not_supported, "this node does not relay (relay_sessions 0)");
  if (link.route) return refuse(ErrorCode::not_supported, "relay sessions are opened over a direct link only");
  if (open.peer == link.peer || open.peer == self) return refuse(ErrorCode::malformed, "a relay session needs two other nodes");
  if (!ready_by_peer.count(open.peer)) {
    return refuse(ErrorCode::not_linked, "this relay has no link to " + open.peer.short_hex());
  }
  auto key = session_key(link.peer, open.peer);
  if (!relay_sessions.count(key) && relay_sessions.size() >= cfg.relay_sessions) {
    return refuse(ErrorCode::rate_limited, "relay full: " + std::to_string(cfg.relay_sessions) +
                                               " sessions in use; try another relay");
  }
  if (relay_sessions.emplace(key, now).second && cfg.metrics_enabled) ++metrics.relay_sessions_opened;
  send(link, Ack{open.request_id}, now);
}

void Engine::Impl::handle_relay_data(Link& link, RelayData& data, Millis now) {
  if (link.route) return;  // never routed
  // At an end of the session: the frame belongs to our relayed link with data.peer.
  auto mine = relayed_link(link.id, data.peer);
  bool for_relay = serves_as_relay(cfg) && relay_sessions.count(session_key(link.peer, data.peer));
  if (!mine && for_relay) {
    auto to = ready_by_peer.find(data.peer);
    if (to == ready_by_peer.end()) {
      send(link, RelayClose{data.peer, "the relay lost its link to " + data.peer.short_hex()}, now);
      return;
    }
    if (cfg.metrics_enabled) ++metrics.relay_frames_forwarded;
    link.last_request = now;
    NodeId from = link.peer;
    Link& out = links.at(to->second);
    out.last_request = now;
    send(out, RelayData{from, std::move(data.payload)}, now);
    return;
  }
  if (!mine) {
    // A new session from data.peer through this relay: accept it when it opens with a Hello.
    auto first = decode(data.payload);
    std::size_t relayed = tally().relayed;
    if (!first || !std::holds_alternative<Hello>(first.value()) || !cfg.use_relays || relayed >= kMaxRelayedLinks ||
        stopped) {
      send(link, RelayClose{data.peer, !first || !std::holds_alternative<Hello>(first.value())
                                           ? "no relayed link with this node: it must open with a Hello"
                                           : "no room for another relayed link"},
           now);
      return;
    }
    LinkId id = next_link_id++;
    Link relayed_in;
    relayed_in.id = id;
    relayed_in.address = "relay:" + link.peer.hex() + "/" + data.peer.hex();
    relayed_in.handshake = std::make_unique<LinkHandshake>();
    relayed_in.handshake->expected_peer = data.peer;
    relayed_in.relay = std::make_unique<RelayPath>(RelayPath{link.id, link.peer, data.peer});
    auto& stored = add_link(std::move(relayed_in));
    if (cfg.metrics_enabled) ++metrics.relayed_links_opened;
    direct_retry_at[data.peer] = now + cfg.direct_retry_interval;
    on_transport_up(stored, now);
    mine = id;
  }
  Link& relayed = links.at(*mine);
  link.last_request = now;
  if (!relayed.relay->keyed) return handle_frame(relayed, data.payload, now);
  auto frame = crypto.open(relayed.relay->in_key, counter_nonce(relayed.relay->in_count), data.payload);
  if (!frame) {
    if (cfg.metrics_enabled) ++metrics.relayed_frames_rejected;
    return close_link(relayed.id, CloseCode::auth_failed,
                      "a relayed frame failed to decrypt: altered in transit or out of order", now);
  }
  ++relayed.relay->in_count;
  handle_frame(relayed, *frame, now);
}

void Engine::Impl::handle_relay_close(Link& link, const RelayClose& close, Millis now) {
  if (link.route) return;
  if (auto mine = relayed_link(link.id, close.peer)) {
    std::string why = "relay " + link.peer.short_hex() + " closed the session: " + close.reason;
    log(LogLevel::debug, why);
    forget_link(*mine, why, now);
    return;
  }
  if (relay_sessions.erase(session_key(link.peer, close.peer)) == 0) return;
  if (auto to = ready_by_peer.find(close.peer); to != ready_by_peer.end()) {
    send(links.at(to->second), RelayClose{link.peer, close.reason}, now);
  }
}

// A link closed: relayed links through it are gone, and (as a relay) so are the
// sessions of its peer; the other ends are told.
void Engine::Impl::relay_endpoint_gone(const Link& link, Millis now) {
  if (link.relay) {
    // Both ends may open a relay at once; the losing relayed link closes as a
    // duplicate, and the surviving one keeps the peer's direct retry.
    if (auto ready = ready_by_peer.find(link.relay->far_end); ready == ready_by_peer.end() || ready->second == link.id) {
      direct_retry_at.erase(link.relay->far_end);
    }
    return;
  }
  std::vector<LinkId> through;
  if (tally().relayed > 0) {
    for (const auto& [id, l] : links) {
      if (l.relay && l.relay->via == link.id) through.push_back(id);
    }
  }
  for (LinkId id : through) forget_link(id, "the link to relay " + link.peer.short_hex() + " closed", now);
  if (link.phase != Link::Phase::ready || relay_sessions.empty()) return;
  for (auto it = relay_sessions.begin(); it != relay_sessions.end();) {
    const auto& [a, b] = it->first;
    if (a != link.peer && b != link.peer) {
      ++it;
      continue;
    }
    const NodeId& other = a == link.peer ? b : a;
    if (auto to = ready_by_peer.find(other); to != ready_by_peer.end()) {
      send(links.at(to->second), RelayClose{link.peer, "the relay lost its link to " + link.peer.short_hex()}, now);
    }
    it = relay_sessions.erase(it);
  }
}

// Drained relayed links close; relayed peers get another direct attempt.
void Engine::Impl::relay_maintenance(Millis now) {
  std::vector<LinkId> drained;
  std::vector<NodeId> retry;
  for (const auto& [id, link] : links) {
    if (!link.relay || link.phase != Link::Phase::ready) continue;
    if (link.draining) {
      bool busy = has_pending(id);
      bool quiet = now - link.last_in >= cfg.request_timeout && now - link.last_out >= cfg.request_timeout;
      if (!busy && quiet) drained.push_back(id);
      continue;
    }
    // Every relayed link has a retry time (try_emplace: never lost to a race).
    auto at = direct_retry_at.try_emplace(link.peer, now + cfg.direct_retry_interval).first;
    if (cfg.webrtc && at->second <= now && !dialing_by_peer.count(link.peer)) {
      retry.push_back(link.peer);
      at->second = now + cfg.direct_retry_interval;
    }
  }
  for (LinkId id : drained) close_link(id, CloseCode::duplicate_link, "a direct link replaced this relayed one", now);
  for (const auto& peer : retry) dial(webrtc_address(peer), peer, true, false, now);
}

}  // namespace yz
