// Engine: public entry points, link lifecycle and the signed handshake.
// Handshake (docs/protocol.md): both sides send Hello on link open; each
// answers the peer's Hello with Auth (a signature over the peer's nonce and its
// own Hello); the link is ready when the peer's Auth verifies.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/codec.hpp"
#include "core/engine_impl.hpp"

namespace yz {

namespace {

std::string version_range(std::uint16_t lo, std::uint16_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

}  // namespace

Engine::Impl::Impl(EngineConfig config, const Crypto& crypto_, const Signer& signer_, Random& random_)
    : cfg(std::move(config)),
      crypto(crypto_),
      signer(signer_),
      random(random_),
      self(node_id_of(crypto_, signer_.public_key())),
      table(self, cfg.k, cfg.replacement_cache),
      store(cfg.storage_max_bytes, cfg.storage_max_values, cfg.republish_interval) {
  if (cfg.webrtc) {
    std::string own = webrtc_address(self);
    if (std::find(cfg.advertised_addresses.begin(), cfg.advertised_addresses.end(), own) ==
        cfg.advertised_addresses.end()) {
      cfg.advertised_addresses.push_back(own);
    }
  }
  bool listens = std::any_of(cfg.advertised_addresses.begin(), cfg.advertised_addresses.end(),
                             [](const std::string& a) { return !is_webrtc_address(a); });
  local = LocalTransports{cfg.role, cfg.webrtc, listens};
  self_lookup_every = cfg.self_lookup_interval;
}

void Engine::Impl::log(LogLevel level, std::string text) { actions.push_back(LogLine{level, std::move(text)}); }

std::string Engine::Impl::describe(const Link& link) const {
  std::string who = link.phase == Link::Phase::ready ? link.peer.short_hex() : std::string("?");
  return who + (link.address.empty() ? "" : " at " + link.address);
}

Contact Engine::Impl::contact_of(const Link& link) const {
  Contact c;
  c.id = link.peer;
  c.role = link.role;
  if (link.hello_in) c.addresses = link.peer_addresses;
  return c;
}

LocalTransports Engine::Impl::local_transports() const { return local; }

ReachPlan Engine::Impl::reach(const Contact& peer) const { return plan_reach(local_transports(), peer); }

// Whether this node could open a link to the peer itself (else the peer is a
// client of ours, reachable only over the link it opened). Decided once, on
// the peer's Hello: this is asked for every link on every timer pass.
bool Engine::Impl::dialable(const Link& link) const {
  return link.hello_in && link.peer_dialable;
}

// Debug builds (the sanitizer tests) recount on every read, so a change to a
// counted field that bypassed update_link fails there at once.
const LinkTally& Engine::Impl::tally() const {
#ifndef NDEBUG
  LinkTally recount;
  for (const auto& [id, link] : links) recount.add(link, +1);
  assert(recount == link_tally && "a link field changed without update_link");
#endif
  return link_tally;
}

std::size_t Engine::Impl::kept_count() const {
  return tally().kept_ready;
}
std::size_t Engine::Impl::client_link_count() const {
  return tally().clients_ready;
}

Link& Engine::Impl::add_link(Link link) {
  LinkId id = link.id;
  if (!link.handshake && link.phase != Link::Phase::ready) link.handshake = std::make_unique<LinkHandshake>();
  Link& stored = links.emplace(id, std::move(link)).first->second;
  link_tally.add(stored, +1);
  return stored;
}

Link Engine::Impl::take_link(std::map<LinkId, Link>::iterator it) {
  link_tally.add(it->second, -1);
  Link link = std::move(it->second);
  links.erase(it);
  return link;
}

void Engine::Impl::record_refusal(const std::string& peer, CloseCode code, const std::string& reason, Millis now) {
  // Newest only per peer: a seed that stays unreachable is one line, not the whole list.
  for (auto it = refusals.begin(); it != refusals.end();) {
    it = it->peer == peer ? refusals.erase(it) : std::next(it);
  }
  refusals.push_back(PeerRefusal{now, peer, code, reason});
  if (refusals.size() > kMaxRefusalsKept) refusals.erase(refusals.begin());
}

LinkId Engine::Impl::dial(const std::string& address, std::optional<NodeId> expected, bool want_kept, bool seed,
                          Millis now) {
  LinkId id = next_link_id++;
  Link link;
  link.id = id;
  link.outbound = true;
  link.seed = seed;
  link.want_kept = want_kept;
  link.address = address;
  link.opened_at = link.last_in = link.last_out = link.last_request = now;
  link.handshake = std::make_unique<LinkHandshake>();
  link.handshake->expected_peer = expected;
  if (expected) dialing_by_peer[*expected] = id;
  add_link(std::move(link));
  touch(id);
  actions.push_back(DialAddress{id, address});
  return id;
}

void Engine::Impl::on_transport_up(Link& link, Millis now) {
  update_link(link, [](Link& l) { l.phase = Link::Phase::handshaking; });
  link.opened_at = link.last_in = link.last_request = now;
  link.routed_tokens = 2 * cfg.routed_rate_per_link;
  link.routed_refill_at = now;
  touch(link.id);
  if (cfg.metrics_enabled) ++metrics.links_opened;
  Hello hello;
  hello.version_min = cfg.version_min;
  hello.version_max = cfg.version_max;
  hello.role = cfg.role;
  hello.public_key = signer.public_key();
  hello.addresses = cfg.advertised_addresses;
  hello.build_id = cfg.build_id;
  random.fill(hello.nonce.data(), hello.nonce.size());
  if (!link.handshake) link.handshake = std::make_unique<LinkHandshake>();
  link.handshake->nonce = hello.nonce;
  Bytes frame = encode(hello);
  link.handshake->own_hello_hash = crypto.sha256(frame);
  link.last_out = now;
  if (cfg.metrics_enabled) {
    auto& c = metrics.out[message_type_index(static_cast<std::uint8_t>(MessageType::hello))];
    ++c.messages;
    c.bytes += frame.size();
  }
  ++link.out.messages;
  link.out.bytes += frame.size();
  emit_frame(link, std::move(frame));
}

void Engine::Impl::send(Link& link, const Message& message, Millis now) {
  if (link.route) return route_reply(*link.route, message, now);
  Bytes frame = encode(message);
  link.last_out = now;
  ++link.out.messages;
  link.out.bytes += frame.size();
  if (cfg.metrics_enabled) {
    auto& c = metrics.out[message_type_index(static_cast<std::uint8_t>(type_of(message)))];
    ++c.messages;
    c.bytes += frame.size();
  }
  emit_frame(link, std::move(frame));
}

void Engine::Impl::close_link(LinkId id, CloseCode code, const std::string& reason, Millis now) {
  auto it = links.find(id);
  if (it == links.end()) return;
  std::string text = truncate_utf8(reason, kMaxReasonLength);
  if (it->second.phase != Link::Phase::dialing) send(it->second, Goodbye{code, text}, now);
  if (cfg.metrics_enabled) {
    auto slot = static_cast<std::size_t>(code) - 4000;
    if (slot < metrics.closes_sent.size()) ++metrics.closes_sent[slot];
  }
  log(code == CloseCode::normal || code == CloseCode::surplus_link || code == CloseCode::duplicate_link
          ? LogLevel::debug
          : LogLevel::warn,
      "closing link to " + describe(it->second) + ": " + std::string(close_code_name(code)) + ": " + reason);
  emit_close(it->second, code, text);
  forget_link(id, "link closed: " + reason, now);
}

void Engine::Impl::forget_dial(const LinkHandshake& handshake, LinkId id) {
  if (!handshake.expected_peer) return;
  auto d = dialing_by_peer.find(*handshake.expected_peer);
  if (d != dialing_by_peer.end() && d->second == id) dialing_by_peer.erase(d);
}

void Engine::Impl::forget_link(LinkId id, const std::string& why, Millis now) {
  auto it = links.find(id);
  if (it == links.end()) return;
  Link link = take_link(it);
  if (cfg.metrics_enabled && link.phase != Link::Phase::dialing) ++metrics.links_closed;
  if (link.phase == Link::Phase::ready) {
    auto r = ready_by_peer.find(link.peer);
    if (r != ready_by_peer.end() && r->second == id) ready_by_peer.erase(r);
  }
  if (link.handshake) forget_dial(*link.handshake, id);
  if (link.handshake) {
    for (auto& queued : link.handshake->queued) queued.handler(ReplyOutcome{nullptr, why, true}, now);
  }
  fail_link_requests(id, why, now);
  relay_endpoint_gone(link, now);
  if (link.last_routed_out >= 0 && now - link.last_routed_out < kRouteStateTtl) reroute_in_flight(id, now);
}

void Engine::Impl::handle_frame(Link& link, BytesView frame, Millis now) {
  link.last_in = now;
  ++link.in.messages;
  link.in.bytes += frame.size();
  auto decoded = decode(frame);
  if (!decoded) {
    const auto& err = decoded.error();
    if (err.kind == DecodeErrorKind::unknown_type) {
      if (cfg.metrics_enabled) {
        ++metrics.unknown_types;
        auto& c = metrics.in[kMessageTypeCount];
        ++c.messages;
        c.bytes += frame.size();
      }
      if (link.phase == Link::Phase::ready) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", err.raw_type);
        reply_error(link, err.request_id, ErrorCode::unknown_type,
                    std::string("message type ") + hex + " is not known to this node (build " + cfg.build_id +
                        ", protocol " + version_range(cfg.version_min, cfg.version_max) + ")",
                    now);
        return;
      }
      close_link(link.id, CloseCode::protocol_violation, "unknown message type before the handshake finished",
                 now);
      return;
    }
    if (cfg.metrics_enabled) ++metrics.decode_errors;
    std::string reason = std::string("malformed frame: ") + err.detail;
    if (link.phase != Link::Phase::ready) record_refusal(describe(link), CloseCode::malformed_frame, reason, now);
    close_link(link.id, CloseCode::malformed_frame, reason, now);
    return;
  }
  Message& message = decoded.value();
  if (cfg.metrics_enabled) {
    auto& c = metrics.in[message_type_index(static_cast<std::uint8_t>(type_of(message)))];
    ++c.messages;
    c.bytes += frame.size();
  }
  if (auto* hello = std::get_if<Hello>(&message)) return handle_hello(link, *hello, frame, now);
  if (auto* auth = std::get_if<Auth>(&message)) return handle_auth(link, *auth, now);
  if (auto* bye = std::get_if<Goodbye>(&message)) {
    if (cfg.metrics_enabled) {
      auto slot = static_cast<std::size_t>(bye->code) - 4000;
      if (slot < metrics.closes_received.size()) ++metrics.closes_received[slot];
    }
    std::string why = "peer closed the link: " + std::string(close_code_name(bye->code)) + ": " + bye->reason;
    if (bye->code != CloseCode::normal && bye->code != CloseCode::surplus_link &&
        bye->code != CloseCode::duplicate_link) {
      record_refusal(describe(link), bye->code, "peer said: " + bye->reason, now);
      log(LogLevel::warn, "link to " + describe(link) + ": " + why);
    }
    if (bye->code == CloseCode::surplus_link && link.kept && link.phase == Link::Phase::ready) {
      // The peer does not want to keep a link with us: keep one with someone else.
      keep_refused_until[link.peer] = now + 5 * cfg.maintenance_interval;
      next_maintenance = std::min(next_maintenance, now + 1);
    }
    LinkId id = link.id;
    emit_close(link, bye->code, "goodbye received");
    forget_link(id, why, now);
    return;
  }
  if (link.phase != Link::Phase::ready) {
    close_link(link.id, CloseCode::protocol_violation,
               std::string(message_type_name(type_of(message))) + " sent before the handshake finished", now);
    return;
  }
  dispatch(link, message, now);
}

void Engine::Impl::handle_hello(Link& link, const Hello& hello, BytesView frame, Millis now) {
  if (link.hello_in || link.phase != Link::Phase::handshaking) {
    close_link(link.id, CloseCode::protocol_violation, "second Hello on one link", now);
    return;
  }
  NodeId peer = node_id_of(crypto, hello.public_key);
  std::string who = peer.short_hex() + (link.address.empty() ? "" : " at " + link.address);
  std::uint16_t lo = std::max(cfg.version_min, hello.version_min);
  std::uint16_t hi = std::min(cfg.version_max, hello.version_max);
  if (lo > hi) {
    std::string fix = hello.version_min > cfg.version_max ? "upgrade this node" : "the peer must upgrade";
    std::string reason = "incompatible protocol: this node speaks " + version_range(cfg.version_min, cfg.version_max) +
                         ", peer " + who + " (build " + hello.build_id + ") speaks " +
                         version_range(hello.version_min, hello.version_max) + ": " + fix;
    record_refusal(who, CloseCode::incompatible_version, reason, now);
    if (cfg.metrics_enabled) ++metrics.handshakes_failed;
    close_link(link.id, CloseCode::incompatible_version, reason, now);
    return;
  }
  if (peer == self) {
    if (cfg.metrics_enabled) ++metrics.handshakes_failed;
    close_link(link.id, CloseCode::self_link, "this node dialled itself at " + link.address, now);
    return;
  }
  const std::optional<NodeId>& expected = link.handshake->expected_peer;
  if (expected && *expected != peer) {
    std::string reason = "expected node " + expected->short_hex() + " at " + link.address + " but " +
                         peer.short_hex() + " answered: the address now belongs to another node";
    record_refusal(who, CloseCode::wrong_peer, reason, now);
    table.remove(*expected);
    if (cfg.metrics_enabled) ++metrics.handshakes_failed;
    close_link(link.id, CloseCode::wrong_peer, reason, now);
    return;
  }
  if (cfg.role == Role::bootstrap && hello.role == Role::bootstrap) {
    close_link(link.id, CloseCode::role_refused, "bootstrap servers do not link to each other", now);
    return;
  }
  link.handshake->peer_key = hello.public_key;
  link.handshake->peer_nonce = hello.nonce;
  update_link(link, [&](Link& l) {
    l.hello_in = true;
    l.peer_addresses = hello.addresses;
    l.peer_build_id = hello.build_id;
    l.peer = peer;
    l.role = hello.role;
    l.peer_dialable = reach(contact_of(l)).how == ReachBy::dial;
  });
  if (link.relay) relay_link_keys(link);
  link.version = hi;
  link.handshake->peer_hello_hash = crypto.sha256(frame);
  send(link, Auth{signer.sign(auth_payload(hello.nonce, link.handshake->own_hello_hash))}, now);
  for (auto& q : link.handshake->queued) send_early(link, q, now);
}

void Engine::Impl::handle_auth(Link& link, const Auth& auth, Millis now) {
  if (!link.hello_in || link.phase != Link::Phase::handshaking) {
    close_link(link.id, CloseCode::protocol_violation, "Auth before Hello or after the handshake", now);
    return;
  }
  const LinkHandshake& hs = *link.handshake;
  if (!crypto.verify(hs.peer_key, auth_payload(hs.nonce, hs.peer_hello_hash), auth.signature)) {
    std::string reason = "Auth signature from " + describe(link) +
                         " does not verify: its identity is forged or its Hello was altered in transit";
    record_refusal(describe(link), CloseCode::auth_failed, reason, now);
    if (cfg.metrics_enabled) ++metrics.handshakes_failed;
    close_link(link.id, CloseCode::auth_failed, reason, now);
    return;
  }
  if (cfg.metrics_enabled) ++metrics.handshakes_ok;
  std::unique_ptr<LinkHandshake> done = std::move(link.handshake);  // freed when this returns
  update_link(link, [](Link& l) { l.phase = Link::Phase::ready; });
  on_ready(link, *done, now);
}

void Engine::Impl::on_ready(Link& link, LinkHandshake& handshake, Millis now) {
  LinkId id = link.id;
  // One link per peer: the link dialled by the lower id wins; same dialer: newer wins.
  auto existing = ready_by_peer.find(link.peer);
  if (existing != ready_by_peer.end() && existing->second != id) {
    Link& other = links.at(existing->second);
    const NodeId& dialer_new = link.outbound ? self : link.peer;
    const NodeId& dialer_old = other.outbound ? self : other.peer;
    bool new_wins = dialer_new == dialer_old || dialer_new < dialer_old;
    // A direct link always beats one through a relay (the relay is the fallback).
    if ((link.relay != nullptr) != (other.relay != nullptr)) new_wins = !link.relay;
    if (new_wins && other.relay && !link.relay) {
      // Upgrade: new requests take the direct link; the relayed one answers
      // what is already in flight on it, then closes when quiet (nothing is lost).
      if (cfg.metrics_enabled) ++metrics.relayed_links_upgraded;
      set_kept(link, other.kept || other.want_kept || link.kept);
      drain(other);
      log(LogLevel::info, "direct link to " + link.peer.short_hex() + " replaces the relay through " +
                              other.relay->relay_node.short_hex());
    } else if (!new_wins) {
      // Requests queued on the losing link travel on the winner instead.
      set_kept(other, other.kept || link.want_kept);
      touch(other.id);
      auto queued = std::move(handshake.queued);
      handshake.queued.clear();
      LinkId other_id = other.id;
      forget_dial(handshake, id);
      close_link(id, CloseCode::duplicate_link, kDuplicateLinkReason, now);
      for (auto& q : queued) request_on_link(links.at(other_id), std::move(q.request), now, std::move(q.handler));
      return;
    } else {
      set_kept(link, other.kept || other.want_kept);
      LinkId other_id = other.id;
      ready_by_peer[link.peer] = id;
      if (has_pending(other_id)) {
        drain(other);  // requests already sent on the loser (e.g. behind its Auth) are answered there
      } else {
        close_link(other_id, CloseCode::duplicate_link, kDuplicateLinkReason, now);
      }
    }
  }
  ready_by_peer[link.peer] = id;
  if (handshake.expected_peer) dialing_by_peer.erase(*handshake.expected_peer);
  log(LogLevel::debug, "link ready: " + describe(link) + " role " + std::string(role_name(link.role)) +
                           (link.outbound ? " (outbound)" : " (inbound)"));

  if (cfg.role == Role::bootstrap) {
    if (dialable(link)) {
      registry.record(contact_of(link), now);
    }
  } else if (dialable(link)) {
    bool room = kept_count() < cfg.max_links;
    if (link.want_kept || (link.seed && room) || (!link.outbound && room) || !cfg.connection_policy) {
      set_kept(link, true);
    }
    trim_kept_links();
    hold_query_cap(id, now);  // this link, or one it demoted, may be one query link too many
    observe_peer(link, now);
    if (sends_neighbours(link)) send_neighbours(link, kept_neighbours(), now);
  } else if (link.role == Role::bootstrap) {
    // First contact: ask for peers; the link closes when idle.
    request_on_link(link, PeersRequest{0, static_cast<std::uint8_t>(kMaxContacts)}, now,
                    [this](const ReplyOutcome& outcome, Millis t) {
                      auto* nodes = outcome.reply ? std::get_if<Nodes>(outcome.reply) : nullptr;
                      if (!nodes) {
                        log(LogLevel::warn, "bootstrap server gave no peers: " + outcome.error);
                        return;
                      }
                      for (const auto& c : nodes->contacts) {
                        if (c.id != self && is_routing_contact(c)) table.observe(c, t);
                      }
                      apply_connection_policy(t);
                      if (!self_lookup_running) start_self_lookup(t);
                    });
  } else if (client_link_count() > kMaxClientLinks) {
    close_link(id, CloseCode::surplus_link, "too many browser/client links on this node: try another node", now);
    return;
  }

  // Requests queued while the link was being set up. A request that fails at
  // once can make a lookup dial elsewhere and recycle this very link, so the
  // link is looked up again each time rather than held by reference.
  touch(id);  // ready, and maybe kept: new deadlines
  auto queued = std::move(handshake.queued);
  handshake.queued.clear();
  bool kept = link.kept;
  for (auto& q : queued) {
    auto it = links.find(id);
    if (it == links.end()) {
      q.handler(ReplyOutcome{nullptr, "link closed before the request was sent", true}, now);
      continue;
    }
    if (q.early_id != 0) {  // already sent behind our Auth: its answer is on the way
      add_pending(id, q.early_id,
                  PendingRequest{it->second.peer, type_of(q.request), now + cfg.request_timeout,
                                 std::move(q.handler)});
      continue;
    }
    request_on_link(it->second, std::move(q.request), now, std::move(q.handler));
  }

  if (cfg.role != Role::bootstrap && kept && !last_self_lookup_ok && !self_lookup_running) {
    start_self_lookup(now);
  }
}

// ---- Engine public API --------------------------------------------------

Engine::Engine(EngineConfig config, const Crypto& crypto, const Signer& signer, Random& random)
    : impl_(std::make_unique<Impl>(std::move(config), crypto, signer, random)) {}
Engine::~Engine() = default;

const NodeId& Engine::id() const { return impl_->self; }
const EngineConfig& Engine::config() const { return impl_->cfg; }

void Engine::start(Millis now) {
  InputScope scope(*impl_);
  auto& s = *impl_;
  if (s.started) return;
  s.started = true;
  s.started_at = now;
  s.next_maintenance = now + s.cfg.maintenance_interval;
  s.next_registration = now + s.cfg.registration_ttl / 2;
  s.log(LogLevel::info, "node " + s.self.hex() + " starting as " + std::string(role_name(s.cfg.role)));
  if (s.cfg.role == Role::bootstrap) return;
  s.dial_seeds(now);
  if (s.cfg.seeds.empty()) s.start_self_lookup(now);  // genesis of a new network
}

void Engine::stop(Millis now) {
  InputScope scope(*impl_);
  auto& s = *impl_;
  if (s.stopped) return;
  std::vector<LinkId> ids;
  for (const auto& [id, link] : s.links) ids.push_back(id);
  for (LinkId id : ids) s.close_link(id, CloseCode::normal, "node shutting down", now);
  for (auto& [id, op] : s.lookups) {
    op->lookup = Lookup(op->lookup.target(), s.self, s.cfg.k, s.cfg.alpha);
  }
  std::vector<std::uint64_t> ops;
  for (const auto& [id, op] : s.lookups) ops.push_back(id);
  for (auto id : ops) s.finish_lookup(id, now);
  s.stopped = true;
}

LinkId Engine::link_accepted(std::string remote, Millis now) {
  InputScope scope(*impl_);
  auto& s = *impl_;
  LinkId id = s.next_link_id++;
  Link link;
  link.id = id;
  link.address = std::move(remote);
  auto& stored = s.add_link(std::move(link));
  if (s.stopped) {
    s.actions.push_back(CloseLink{id, CloseCode::normal, "node shutting down"});
    s.take_link(s.links.find(id));
    return id;
  }
  s.on_transport_up(stored, now);
  return id;
}

void Engine::link_connected(LinkId link, Millis now) {
  InputScope scope(*impl_);
  auto it = impl_->links.find(link);
  if (it == impl_->links.end() || it->second.phase != Link::Phase::dialing) return;
  impl_->on_transport_up(it->second, now);
}

void Engine::link_closed(LinkId link, std::string reason, Millis now) {
  InputScope scope(*impl_);
  auto& s = *impl_;
  auto it = s.links.find(link);
  if (it == s.links.end()) return;
  Link& l = it->second;
  if (l.phase == Link::Phase::dialing) {
    if (s.cfg.metrics_enabled) ++s.metrics.dials_failed;
    // A browser we wanted to keep but cannot reach directly: go through a relay.
    const std::optional<NodeId> expected = l.handshake ? l.handshake->expected_peer : std::nullopt;
    if (l.want_kept && expected && is_webrtc_address(l.address) && s.cfg.use_relays) {
      NodeId peer = *expected;
      // Requests that waited for this dial travel routed instead of failing:
      // the peer is reachable through the servers it is linked to.
      auto waiting = std::move(l.handshake->queued);
      l.handshake->queued.clear();
      s.forget_link(link, reason, now);
      s.log(LogLevel::info, "WebRTC to " + peer.short_hex() + " failed (" + reason + "): trying a relay");
      s.open_relay(peer, 0, now);
      for (auto& q : waiting) s.request_routed(peer, std::move(q.request), now, std::move(q.handler));
      return;
    }
    if (expected) s.table.record_failure(*expected, now);
    s.log(l.seed ? LogLevel::warn : LogLevel::debug, "dial to " + l.address + " failed: " + reason);
    if (l.seed) s.record_refusal(l.address, CloseCode::unreachable, "seed unreachable: " + reason, now);
  } else {
    s.log(LogLevel::debug, "link to " + s.describe(l) + " closed by transport: " + reason);
  }
  s.forget_link(link, reason, now);
}

void Engine::frame_received(LinkId link, BytesView frame, Millis now) {
  InputScope scope(*impl_);
  auto it = impl_->links.find(link);
  if (it == impl_->links.end() || it->second.phase == Link::Phase::dialing) return;
  impl_->handle_frame(it->second, frame, now);
}

void Engine::frame_too_large(LinkId link, std::size_t size, Millis now) {
  InputScope scope(*impl_);
  auto& s = *impl_;
  auto it = s.links.find(link);
  if (it == s.links.end()) return;
  if (s.cfg.metrics_enabled) ++s.metrics.decode_errors;
  std::string reason = "frame of " + std::to_string(size) + " bytes exceeds the " + std::to_string(kMaxFrameSize) +
                       "-byte limit";
  s.record_refusal(s.describe(it->second), CloseCode::frame_too_large, reason, now);
  s.close_link(link, CloseCode::frame_too_large, reason, now);
}

void Engine::tick(Millis now) {
  InputScope scope(*impl_);
  if (impl_->stopped || !impl_->started) return;
  impl_->run_timers(now);
}

Millis Engine::next_deadline() const { return impl_->next_deadline(); }

std::vector<Action> Engine::take_actions() {
  std::vector<Action> out;
  out.swap(impl_->actions);
  return out;
}

NodeId Engine::key_id(BytesView user_key) const { return NodeId{impl_->crypto.sha256(user_key)}; }

Status Engine::status(Millis now) const { return impl_->status(now); }
const Metrics& Engine::metrics() const { return impl_->metrics; }
std::optional<std::uint64_t> Engine::stored_seq(const NodeId& key, Millis now) const {
  const auto* held = impl_->store.get(key, now);
  return held ? std::optional<std::uint64_t>(held->seq) : std::nullopt;
}
std::vector<RoutingEntry> Engine::routing_entries() const {
  if (impl_->cfg.role != Role::bootstrap) return impl_->table.entries();
  // The bootstrap server's table is its registry of recently seen nodes.
  std::vector<RoutingEntry> out;
  for (const auto& [id, reg] : impl_->registry.entries())
    out.push_back(RoutingEntry{reg.contact, reg.last_seen, reg.last_seen, 0, 0});
  return out;
}

void Engine::set_keepalive(Millis interval, Millis timeout) {
  impl_->cfg.keepalive_interval = interval;
  impl_->cfg.keepalive_timeout = timeout;
  impl_->touch_all_links();
}

}  // namespace yz
