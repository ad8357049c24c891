// Engine: request/response tracking and the one dispatch table shared by every
// role. Internal reply handlers run immediately (the reply lives only during
// dispatch); user-facing API callbacks are deferred by the caller.
#include <algorithm>
#include <array>

#include "core/engine_impl.hpp"

namespace yz {

void Engine::Impl::observe_peer(const Link& link, Millis now) {
  if (link.hello_in) observe_contact(contact_of(link), now);
}

void Engine::Impl::observe_contact(const Contact& contact, Millis now) {
  if (cfg.role == Role::bootstrap || !is_routing_contact(contact)) return;
  auto result = table.observe(contact, now);
  if (!result.ping_candidate) return;
  // Full bucket: the least-recently-seen entry must answer a ping to stay.
  NodeId candidate = result.ping_candidate->id;
  request(*result.ping_candidate, Ping{}, now, [this, candidate](const ReplyOutcome& outcome, Millis t) {
    bool alive = outcome.reply && std::holds_alternative<Pong>(*outcome.reply);
    table.ping_result(candidate, alive, t);
  });
}

void Engine::Impl::request(const Contact& to, Message message, Millis now, ReplyHandler handler) {
  if (stopped) return handler(ReplyOutcome{nullptr, "node is stopping"}, now);
  // Policy (docs/architecture.md): an open link, else a direct dial when the
  // peer is dialable, else a routed request.
  if (auto r = ready_by_peer.find(to.id); r != ready_by_peer.end()) {
    if (cfg.metrics_enabled) ++metrics.routed.via_link;
    return request_on_link(links.at(r->second), std::move(message), now, std::move(handler));
  }
  if (auto d = dialing_by_peer.find(to.id); d != dialing_by_peer.end()) {
    if (cfg.metrics_enabled) ++metrics.routed.via_dial;
    return request_on_link(links.at(d->second), std::move(message), now, std::move(handler));
  }
  ReachPlan plan = reach(to);
  // WebRTC links cost signaling and ICE: only the connection policy opens them
  // (kept links); a single request to a browser travels routed instead.
  bool short_lived_webrtc = plan.how == ReachBy::dial && is_webrtc_address(plan.address);
  if (plan.how != ReachBy::dial || short_lived_webrtc || cfg.max_query_links == 0) {
    // A peer that can dial us but not we it (a browser, from a server) is also
    // asked to open a link, so later requests need no routing.
    if (plan.how == ReachBy::ask_to_dial) ask_to_dial(to.id, now);
    if (cfg.routing) {
      // A signed routed answer proves the peer is alive: it enters the routing
      // table like a peer that answered over a link (browsers learn of each
      // other this way, then link directly).
      return request_routed(to.id, std::move(message), now,
                            [this, to, handler = std::move(handler)](const ReplyOutcome& outcome, Millis t) {
                              if (outcome.reply && !std::holds_alternative<Error>(*outcome.reply)) {
                                observe_contact(to, t);
                              }
                              handler(outcome, t);
                            });
    }
    return handler(ReplyOutcome{nullptr, "no link to " + to.id.short_hex() + " and no address this node can dial"},
                   now);
  }
  // A failed dial is not retried through the overlay: under churn most failed
  // dials are departed nodes, and routing to them floods the network for nothing
  // (measured in the simulator). The contact is backed off instead.
  // Room for one more query link: close the longest-idle one without work if needed.
  if (tally().query >= cfg.max_query_links && !recycle_query_link(0, now)) {
    return handler(ReplyOutcome{nullptr, "all " + std::to_string(cfg.max_query_links) +
                                             " query links are busy; raise max_query_links"},
                   now);
  }
  if (cfg.metrics_enabled) ++metrics.routed.via_dial;
  LinkId id = dial(plan.address, to.id, false, false, now);
  request_on_link(links.at(id), std::move(message), now, std::move(handler));
}

bool Engine::Impl::recycle_query_link(LinkId spare, Millis now) {
  const Link* idlest = nullptr;
  for (const auto& [id, link] : links) {
    if (id == spare || link.kept || (link.phase == Link::Phase::ready && !dialable(link))) continue;
    // Busy: requests wait for an answer on it, or in its handshake.
    bool busy = link.phase != Link::Phase::ready || has_pending(id);
    if (!busy && (!idlest || link.last_request < idlest->last_request)) idlest = &link;
  }
  if (!idlest) return false;
  close_link(idlest->id, CloseCode::surplus_link, "query link recycled: this node holds max_query_links query links",
             now);
  return true;
}

void Engine::Impl::hold_query_cap(LinkId spare, Millis now) {
  if (cfg.max_query_links == 0) return;  // the node routes instead of dialling, and leaves links to it alone
  while (tally().query > cfg.max_query_links && recycle_query_link(spare, now)) {
  }
}

void Engine::Impl::request_on_link(Link& link, Message message, Millis now, ReplyHandler handler) {
  if (link.phase != Link::Phase::ready) {
    auto& queued = link.handshake->queued;  // a link that is not ready has its handshake record
    if (queued.size() >= kMaxQueuedPerDial) {
      return handler(ReplyOutcome{nullptr, "too many requests waiting for the link to " + link.address}, now);
    }
    queued.push_back(QueuedRequest{std::move(message), std::move(handler)});
    if (link.hello_in) send_early(link, queued.back(), now);
    return;
  }
  std::uint32_t rid = next_free_request_id(link);
  auto first = pending.lower_bound({link.id, 0});
  std::size_t on_link = 0;
  for (auto it = first; it != pending.end() && it->first.first == link.id; ++it) ++on_link;
  if (rid == 0 || on_link >= kMaxPendingPerLink) {
    return handler(ReplyOutcome{nullptr, "too many outstanding requests to " + describe(link)}, now);
  }
  set_request_id(message, rid);
  MessageType type = type_of(message);
  if (type != MessageType::ping) link.last_request = now;
  add_pending(link.id, rid, PendingRequest{link.peer, type, now + cfg.request_timeout, std::move(handler)});
  send(link, message, now);
}

// 0 when four ids in a row are taken (the link is flooded with requests).
std::uint32_t Engine::Impl::next_free_request_id(Link& link) const {
  std::uint32_t rid = 0;
  for (int attempts = 0; attempts < 4 && rid == 0; ++attempts) {
    rid = link.next_request_id++;
    if (link.next_request_id == 0) link.next_request_id = 1;
    if (pending.count({link.id, rid})) rid = 0;
  }
  return rid;
}

// A request may follow this node's own Auth at once: the peer reads it only
// after verifying that Auth, and its answer comes behind the peer's Auth, so
// nothing is trusted early and a dial saves the round trip of waiting for the
// peer's Auth. Only the DHT queries go early: if the link loses a duplicate
// race they are sent again on the winner, which they survive unchanged.
void Engine::Impl::send_early(Link& link, QueuedRequest& queued, Millis now) {
  MessageType type = type_of(queued.request);
  bool idempotent = type == MessageType::find_node || type == MessageType::find_value ||
                    type == MessageType::store || type == MessageType::ping;
  if (!idempotent || link.route || queued.early_id != 0) return;
  std::uint32_t rid = next_free_request_id(link);
  if (rid == 0) return;
  set_request_id(queued.request, rid);
  queued.early_id = rid;
  if (type != MessageType::ping) link.last_request = now;
  send(link, queued.request, now);
}

void Engine::Impl::resolve(LinkId link, std::uint32_t request_id, const ReplyOutcome& outcome, Millis now) {
  auto it = pending.find({link, request_id});
  if (it == pending.end()) {  // late reply after a timeout, or never asked
    if (outcome.reply && cfg.metrics_enabled) ++metrics.late_replies;
    return;
  }
  auto handler = std::move(it->second.handler);
  pending.erase(it);
  touch(link);  // no request left: an idle query link starts its idle timer
  handler(outcome, now);
  // A direct link that lost a duplicate race closes once its last request is
  // answered (relayed links drain in relay_maintenance).
  auto l = links.find(link);
  if (l != links.end() && l->second.draining && !l->second.relay && !has_pending(link)) {
    close_link(link, CloseCode::duplicate_link, kDuplicateLinkReason, now);
  }
}

bool Engine::Impl::has_pending(LinkId link) const {
  auto it = pending.lower_bound({link, 0});
  return it != pending.end() && it->first.first == link;
}

void Engine::Impl::drain(Link& link) {
  link.draining = true;
  set_kept(link, false);
  touch(link.id);
}

void Engine::Impl::fail_link_requests(LinkId link, const std::string& why, Millis now) {
  std::vector<ReplyHandler> handlers;
  for (auto it = pending.lower_bound({link, 0}); it != pending.end() && it->first.first == link;) {
    handlers.push_back(std::move(it->second.handler));
    it = pending.erase(it);
  }
  for (auto& h : handlers) h(ReplyOutcome{nullptr, why}, now);
}

void Engine::Impl::reply_error(Link& link, std::uint32_t request_id, ErrorCode code, std::string text, Millis now) {
  send(link, Error{request_id, code, truncate_utf8(std::move(text), kMaxErrorTextLength)}, now);
}

std::vector<Contact> Engine::Impl::contacts_for(const NodeId& target, const NodeId& exclude, std::size_t n,
                                                Millis now) const {
  n = std::min(n, kMaxContacts);
  std::vector<Contact> out;
  for (auto& c : table.closest(target, n + 1, now)) {
    if (c.id != exclude && c.id != self && out.size() < n) out.push_back(std::move(c));
  }
  return out;
}

// ---- The dispatch table ------------------------------------------------------

namespace {
using Handler = void (*)(Engine::Impl&, Link&, Message&, Millis);

// Bootstrap servers and headless clients hold no DHT state (docs/protocol.md).
bool serves_dht(Engine::Impl& s, Link& link, std::uint32_t rid, Millis now) {
  if (s.cfg.role != Role::bootstrap && s.cfg.role != Role::client) return true;
  s.reply_error(link, rid, ErrorCode::not_supported,
                "this " + std::string(role_name(s.cfg.role)) +
                    " node does not serve DHT requests; send them to a DHT node",
                now);
  return false;
}

void on_ping(Engine::Impl& s, Link& link, Message& m, Millis now) {
  s.send(link, Pong{std::get<Ping>(m).request_id}, now);
}

void on_response(Engine::Impl& s, Link& link, Message& m, Millis now) {
  std::uint32_t rid = request_id_of(m);
  std::string error;
  if (auto* e = std::get_if<Error>(&m)) error = std::string(error_code_name(e->code)) + ": " + e->message;
  if (!std::holds_alternative<Error>(m) && !std::holds_alternative<Pong>(m)) link.last_request = now;
  s.observe_peer(link, now);
  s.resolve(link.id, rid, ReplyOutcome{&m, error}, now);
}

void on_find_node(Engine::Impl& s, Link& link, Message& m, Millis now) {
  auto& req = std::get<FindNode>(m);
  if (!serves_dht(s, link, req.request_id, now)) return;
  link.last_request = now;
  s.observe_peer(link, now);
  s.send(link, Nodes{req.request_id, s.contacts_for(req.target, link.peer, s.cfg.k, now)}, now);
}

void on_find_value(Engine::Impl& s, Link& link, Message& m, Millis now) {
  auto& req = std::get<FindValue>(m);
  if (!serves_dht(s, link, req.request_id, now)) return;
  link.last_request = now;
  s.observe_peer(link, now);
  if (const auto* v = s.store.get(req.key, now)) {
    auto ttl = static_cast<std::uint32_t>(std::max<Millis>(1, (v->expires_at - now + 999) / 1000));
    s.send(link, Value{req.request_id, req.key, v->seq, ttl, v->value}, now);
    return;
  }
  s.send(link, Nodes{req.request_id, s.contacts_for(req.key, link.peer, s.cfg.k, now)}, now);
}

void on_store(Engine::Impl& s, Link& link, Message& m, Millis now) {
  auto& req = std::get<Store>(m);
  if (!serves_dht(s, link, req.request_id, now)) return;
  link.last_request = now;
  s.observe_peer(link, now);
  const auto* held = s.store.get(req.key, now);
  std::uint64_t held_seq = held ? held->seq : 0;
  auto outcome = s.store.put(req.key, req.seq, req.value, now + Millis{req.ttl_seconds} * 1000, now);
  if (store_accepted(outcome)) {
    if (s.cfg.metrics_enabled) ++s.metrics.stores_accepted;
    StoreAck ack{req.request_id, {}};
    // The storer's closest contacts let the writer's lookup end on its Stores
    // (docs/protocol.md, "store"); routed stand-in links have version 0.
    if (link.version >= kStoreAckContactsVersion)
      ack.contacts = s.contacts_for(req.key, link.peer, s.cfg.k, now);
    s.send(link, ack, now);
    return;
  }
  if (s.cfg.metrics_enabled) ++s.metrics.stores_refused;
  switch (outcome) {
    case StoreOutcome::too_large:
      return s.reply_error(link, req.request_id, ErrorCode::value_too_large,
                           "value of " + std::to_string(req.value.size()) + " bytes exceeds the " +
                               std::to_string(kMaxValueSize) + "-byte limit",
                           now);
    case StoreOutcome::full:
      return s.reply_error(link, req.request_id, ErrorCode::storage_full,
                           "storage quota reached (" + std::to_string(s.store.size()) + " values, " +
                               std::to_string(s.store.bytes()) + " bytes): the node refuses new keys",
                           now);
    default:
      return s.reply_error(link, req.request_id, ErrorCode::stale_value,
                           "a newer or conflicting version is held (seq " + std::to_string(held_seq) +
                               " vs offered " + std::to_string(req.seq) + ")",
                           now);
  }
}

void on_peers_request(Engine::Impl& s, Link& link, Message& m, Millis now) {
  auto& req = std::get<PeersRequest>(m);
  if (s.cfg.role == Role::client) {
    s.reply_error(link, req.request_id, ErrorCode::not_supported, "a headless client has no peers to share", now);
    return;
  }
  link.last_request = now;
  std::size_t max = std::min<std::size_t>(req.max_peers, kMaxContacts);
  Nodes reply{req.request_id, {}};
  if (s.cfg.role != Role::bootstrap) {
    reply.contacts = s.contacts_for(link.peer, link.peer, max, now);
    s.send(link, reply, now);
    return;
  }
  // Bootstrap: a random sample of nodes heard within registration_ttl, bridges and genesis first.
  reply.contacts = s.registry.sample(link.peer, max, now, s.cfg.registration_ttl, s.random);
  s.send(link, reply, now);
}

void on_out_of_place(Engine::Impl& s, Link& link, Message& m, Millis now) {
  s.close_link(link.id, CloseCode::protocol_violation,
               std::string(message_type_name(type_of(m))) + " is only valid during the handshake", now);
}

std::array<Handler, kMessageTypeCount> make_table() {
  std::array<Handler, kMessageTypeCount> t{};
  auto at = [](MessageType type) { return message_type_index(static_cast<std::uint8_t>(type)); };
  t[at(MessageType::hello)] = on_out_of_place;
  t[at(MessageType::auth)] = on_out_of_place;
  t[at(MessageType::goodbye)] = on_out_of_place;
  t[at(MessageType::error)] = on_response;
  t[at(MessageType::ping)] = on_ping;
  t[at(MessageType::pong)] = on_response;
  t[at(MessageType::find_node)] = on_find_node;
  t[at(MessageType::nodes)] = on_response;
  t[at(MessageType::store)] = on_store;
  t[at(MessageType::store_ack)] = on_response;
  t[at(MessageType::find_value)] = on_find_value;
  t[at(MessageType::value)] = on_response;
  t[at(MessageType::peers_request)] = on_peers_request;
  t[at(MessageType::routed)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_routed(link, std::get<Routed>(m), now);
  };
  t[at(MessageType::signal)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_signal(link, std::get<Signal>(m), now);
  };
  t[at(MessageType::ack)] = on_response;
  t[at(MessageType::dial_request)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_dial_request(link, std::get<DialRequest>(m), now);
  };
  t[at(MessageType::relay_open)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_relay_open(link, std::get<RelayOpen>(m), now);
  };
  t[at(MessageType::relay_data)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_relay_data(link, std::get<RelayData>(m), now);
  };
  t[at(MessageType::relay_close)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_relay_close(link, std::get<RelayClose>(m), now);
  };
  t[at(MessageType::neighbours)] = [](Engine::Impl& s, Link& link, Message& m, Millis now) {
    s.handle_neighbours(link, std::get<Neighbours>(m), now);
  };
  return t;
}
}  // namespace

void Engine::Impl::dispatch(Link& link, Message& message, Millis now) {
  static const std::array<Handler, kMessageTypeCount> table = make_table();
  if (cfg.role == Role::bootstrap) {  // any frame refreshes a registration
    registry.seen(link.peer, now);
  }
  std::size_t index = message_type_index(static_cast<std::uint8_t>(type_of(message)));
  table[index](*this, link, message, now);
}

}  // namespace yz
