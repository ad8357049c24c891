// Engine: overlay routing. A Routed envelope carries one request or response
// frame to a destination id over open links. Each hop forwards it to the linked
// peer nearest (XOR) the destination that it has not tried yet; a hop with no
// way on bounces it back, and the previous hop tries its next candidate — a
// depth-first walk, so any destination connected through links is found.
// hop_limit is the walk's step budget (forwards and bounces both spend it), so
// a request to an unreachable or dead node costs at most hop_limit messages
// and fails fast back at the origin. Each hop remembers (origin, message id)
// briefly: duplicates and loops are bounced, and replies retrace the path.
// Peers tell each other which peers they keep links to (Neighbours, protocol
// version 2), so a hop also forwards to a peer whose neighbour is nearer the
// destination than any peer of its own: a look two hops ahead.
#include <algorithm>

#include "core/codec.hpp"
#include "core/engine_impl.hpp"

namespace yz {

namespace {
bool is_request(MessageType t) {
  return t == MessageType::ping || t == MessageType::find_node || t == MessageType::find_value ||
         t == MessageType::store || t == MessageType::peers_request || t == MessageType::signal ||
         t == MessageType::dial_request;
}
bool is_response(MessageType t) {
  return t == MessageType::pong || t == MessageType::nodes || t == MessageType::store_ack ||
         t == MessageType::value || t == MessageType::error || t == MessageType::ack;
}
// WebRTC signaling (a Signal, its Ack or an Error reply) is the only routed
// traffic a bootstrap server relays: it introduces newcomers that have no
// other link yet.
bool carries_signaling(const Routed& routed) {
  if (routed.payload.empty()) return false;
  auto type = static_cast<MessageType>(routed.payload[0]);
  return type == MessageType::signal || type == MessageType::ack ||
         (type == MessageType::error && (routed.flags & Routed::kReply));
}
}  // namespace

void Engine::Impl::sign_routed(Routed& routed) {
  routed.source_key = signer.public_key();
  routed.signature = signer.sign(routed_signing_payload(routed, crypto.sha256(routed.payload)));
}

bool Engine::Impl::routed_rate_ok(Link& link, Millis now) {
  double burst = 2 * cfg.routed_rate_per_link;
  link.routed_tokens =
      std::min(burst, link.routed_tokens + static_cast<double>(now - link.routed_refill_at) * cfg.routed_rate_per_link / 1000);
  link.routed_refill_at = now;
  if (link.routed_tokens < 1) return false;
  link.routed_tokens -= 1;
  return true;
}

RouteState& Engine::Impl::remember_route(const RouteKey& key, LinkId prev, Millis now) {
  while (routes.size() >= kMaxRouteStates && !route_order.empty()) {
    drop_route(route_order.front().second);
    route_order.pop_front();
  }
  auto [it, inserted] = routes.try_emplace(key);
  if (inserted) route_order.push_back({now, key});
  it->second.prev = prev;
  return it->second;
}

void Engine::Impl::expire_routes(Millis now) {
  while (!route_order.empty() && route_order.front().first + kRouteStateTtl <= now) {
    drop_route(route_order.front().second);
    route_order.pop_front();
  }
}

void Engine::Impl::drop_route(const RouteKey& key) {
  auto it = routes.find(key);
  if (it == routes.end()) return;
  take_in_flight(it->second);
  routes.erase(it);
}

void Engine::Impl::retain_in_flight(RouteState& state, LinkId link, const Routed& routed) {
  take_in_flight(state);
  state.sent_on = link;
  if (retained_routed_bytes + routed.payload.size() > kMaxRetainedRouted) return;  // flood: no second chance
  retained_routed_bytes += routed.payload.size();
  state.in_flight = routed;
}

std::optional<Routed> Engine::Impl::take_in_flight(RouteState& state) {
  std::optional<Routed> out;
  if (!state.in_flight) return out;
  retained_routed_bytes -= state.in_flight->payload.size();
  out.swap(state.in_flight);
  return out;
}

void Engine::Impl::reroute_in_flight(LinkId closed, Millis now) {
  std::vector<std::pair<RouteKey, Routed>> lost;
  for (auto& [key, state] : routes) {
    if (state.sent_on != closed) continue;
    if (auto routed = take_in_flight(state)) lost.emplace_back(key, std::move(*routed));
  }
  for (auto& [key, routed] : lost) {
    if (cfg.metrics_enabled) ++metrics.routed.rerouted;
    forward_routed(std::move(routed), key, now);
  }
}

std::optional<LinkId> Engine::Impl::next_hop(const NodeId& destination, const std::vector<NodeId>& tried,
                                             bool signaling) const {
  // Rank: the destination itself; then the peer whose reach (itself or one of
  // its announced neighbours, other than us) is nearest the destination; then
  // the peer itself nearest.
  std::optional<LinkId> best;
  const NodeId* best_peer = nullptr;
  const NodeId* best_reach = nullptr;
  for (const auto& [id, link] : links) {
    if (link.phase != Link::Phase::ready) continue;
    if (std::find(tried.begin(), tried.end(), link.peer) != tried.end()) continue;
    if (link.peer == destination) return id;
    // Headless clients do not forward for others; bootstrap servers only signaling.
    bool relays = link.role != Role::client && (link.role != Role::bootstrap || signaling);
    if (!relays) continue;
    const NodeId* reach = &link.peer;
    for (const auto& n : link.neighbours) {
      if (n != self && closer(destination, n, *reach)) reach = &n;
    }
    bool better = !best_peer || closer(destination, *reach, *best_reach) ||
                  (*reach == *best_reach && closer(destination, link.peer, *best_peer));
    if (better) {
      best = id;
      best_peer = &link.peer;
      best_reach = reach;
    }
  }
  return best;
}

std::vector<NodeId> Engine::Impl::kept_neighbours() const {
  std::vector<NodeId> out;
  for (const auto& [id, link] : links) {
    if (link.kept && link.phase == Link::Phase::ready && !link.draining) out.push_back(link.peer);
  }
  std::sort(out.begin(), out.end(), [&](const NodeId& a, const NodeId& b) { return closer(self, a, b); });
  if (out.size() > kMaxNeighbours) out.resize(kMaxNeighbours);
  return out;
}

// Only DHT members announce, only to peers that forward routed messages, and
// only on links that speak protocol version 2.
bool Engine::Impl::sends_neighbours(const Link& link) const {
  return cfg.routing && role_is_dht_member(cfg.role) && link.phase == Link::Phase::ready && link.kept &&
         link.version >= kNeighboursVersion && role_is_dht_member(link.role);
}

void Engine::Impl::send_neighbours(Link& link, const std::vector<NodeId>& ids, Millis now) {
  Neighbours message;
  for (const auto& id : ids) {
    if (id != link.peer) message.ids.push_back(id);  // the peer knows it is linked to us
  }
  send(link, message, now);
}

void Engine::Impl::announce_neighbours(Millis now) {
  auto current = kept_neighbours();
  if (current == announced_neighbours) return;
  announced_neighbours = current;
  for (auto& [id, link] : links) {
    if (sends_neighbours(link)) send_neighbours(link, current, now);
  }
}

void Engine::Impl::handle_neighbours(Link& link, Neighbours& neighbours, Millis now) {
  if (link.version < kNeighboursVersion) {
    return reply_error(link, 0, ErrorCode::unknown_type,
                       "neighbours (0x20) is not part of protocol version " + std::to_string(link.version) +
                           ", which this link speaks",
                       now);
  }
  link.neighbours = std::move(neighbours.ids);
}

void Engine::Impl::request_routed(const NodeId& to, Message message, Millis now, ReplyHandler handler) {
  if (!cfg.routing || stopped) {
    return handler(ReplyOutcome{nullptr, "no link to " + to.short_hex() + " and overlay routing is disabled"}, now);
  }
  std::uint32_t rid = next_routed_rid;
  while (rid == 0 || pending.count({kRoutedLink, rid})) ++rid;
  next_routed_rid = rid + 1;
  set_request_id(message, rid);
  if (cfg.metrics_enabled) {
    ++metrics.routed.via_route;
    ++metrics.routed.originated;
  }
  MessageType type = type_of(message);
  add_pending(kRoutedLink, rid, PendingRequest{to, type, now + cfg.routed_request_timeout, std::move(handler)});
  Routed routed;
  routed.source = self;
  routed.destination = to;
  routed.message_id = random.next_u64();
  routed.hop_limit = std::min(cfg.routed_hop_limit, kMaxHops);
  routed.payload = encode(message);
  sign_routed(routed);
  RouteKey key{self, routed.message_id};
  remember_route(key, kRoutedLink, now).request_id = rid;
  forward_routed(std::move(routed), key, now);
}

void Engine::Impl::forward_routed(Routed routed, const RouteKey& key, Millis now) {
  auto it = routes.find(key);
  if (it == routes.end()) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_no_state;
    return;
  }
  std::optional<LinkId> next = routed.hop_limit == 0
                                   ? std::nullopt
                                   : next_hop(routed.destination, it->second.tried, carries_signaling(routed));
  if (!next) return bounce_routed(std::move(routed), key, now);
  Link& link = links.at(*next);
  it->second.tried.push_back(link.peer);
  routed.hop_limit -= 1;
  routed.flags &= static_cast<std::uint8_t>(~Routed::kBounce);
  if (cfg.metrics_enabled && it->second.prev != kRoutedLink) ++metrics.routed.forwarded;
  retain_in_flight(it->second, link.id, routed);
  link.last_routed_out = now;
  send(link, routed, now);
}

void Engine::Impl::bounce_routed(Routed routed, const RouteKey& key, Millis now) {
  auto it = routes.find(key);
  if (it == routes.end()) return;
  take_in_flight(it->second);  // this hop gave up on it: nothing to send again
  if (it->second.prev == kRoutedLink) {
    // Back at the origin with nowhere left to go.
    if (cfg.metrics_enabled) ++metrics.routed.unreachable;
    std::string why = routed.hop_limit == 0
                          ? "no route to " + routed.destination.short_hex() + " within " +
                                std::to_string(cfg.routed_hop_limit) + " routing steps"
                          : "no route to " + routed.destination.short_hex() +
                                ": every path through linked peers was tried (unreachable or offline)";
    return resolve(kRoutedLink, it->second.request_id, ReplyOutcome{nullptr, why}, now);
  }
  auto prev = links.find(it->second.prev);
  if (prev == links.end() || prev->second.phase != Link::Phase::ready) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_no_state;
    return;
  }
  if (cfg.metrics_enabled) ++metrics.routed.bounced;
  routed.flags |= Routed::kBounce;
  if (routed.hop_limit > 0) routed.hop_limit -= 1;
  send(prev->second, routed, now);
}

void Engine::Impl::handle_routed(Link& link, Routed& routed, Millis now) {
  if (!cfg.routing) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_invalid;
    return;
  }
  if (routed.hop_limit > kMaxHops) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_hop_limit;
    log(LogLevel::debug, "dropped a routed message from " + describe(link) + ": hop limit " +
                             std::to_string(routed.hop_limit) + " above the maximum " + std::to_string(kMaxHops));
    return;
  }
  if (cfg.role == Role::bootstrap && routed.destination != self && !carries_signaling(routed)) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_invalid;
    log(LogLevel::debug, "dropped a routed message from " + describe(link) +
                             ": a bootstrap server relays only WebRTC signaling");
    return;
  }
  if (!routed_rate_ok(link, now)) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_rate;
    return;
  }
  expire_routes(now);
  bool reply = routed.flags & Routed::kReply;
  RouteKey key = reply ? RouteKey{routed.destination, routed.message_id} : RouteKey{routed.source, routed.message_id};

  auto known = routes.find(key);  // this hop's memory of the message, if any
  if (reply && known != routes.end()) take_in_flight(known->second);  // it got through: nothing to resend
  if (routed.flags & Routed::kBounce) {
    if (reply || known == routes.end()) {
      if (cfg.metrics_enabled) ++metrics.routed.dropped_no_state;
      return;
    }
    known->second.tried.push_back(link.peer);
    if (routed.hop_limit == 0) return bounce_routed(std::move(routed), key, now);  // budget spent: unwind
    return forward_routed(std::move(routed), key, now);
  }
  if (routed.destination == self) return deliver_routed(link, routed, now);
  if (reply) {
    // Retrace the request's path when remembered, else go greedy.
    std::optional<LinkId> next;
    if (known != routes.end() && known->second.prev != kRoutedLink) {
      auto prev = links.find(known->second.prev);
      if (prev != links.end() && prev->second.phase == Link::Phase::ready) next = known->second.prev;
    }
    if (!next) next = next_hop(routed.destination, {link.peer}, carries_signaling(routed));
    if (!next || routed.hop_limit == 0) {
      if (cfg.metrics_enabled) ++metrics.routed.dropped_no_state;
      return;
    }
    routed.hop_limit -= 1;
    if (cfg.metrics_enabled) ++metrics.routed.forwarded;
    send(links.at(*next), routed, now);
    return;
  }
  if (known != routes.end()) {
    // Seen before: a loop or a duplicate. The sender tries another way (or,
    // with the budget spent, unwinds: a bounce with hop_limit 0 means "give up").
    if (cfg.metrics_enabled) ++metrics.routed.dropped_duplicate;
    routed.flags |= Routed::kBounce;
    if (routed.hop_limit > 0) routed.hop_limit -= 1;
    if (cfg.metrics_enabled) ++metrics.routed.bounced;
    send(link, routed, now);
    return;
  }
  remember_route(key, link.id, now).tried.push_back(link.peer);
  forward_routed(std::move(routed), key, now);
}

void Engine::Impl::deliver_routed(Link& link, Routed& routed, Millis now) {
  if (node_id_of(crypto, routed.source_key) != routed.source ||
      !crypto.verify(routed.source_key, routed_signing_payload(routed, crypto.sha256(routed.payload)),
                     routed.signature)) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_forged;
    log(LogLevel::warn, "dropped a routed message via " + describe(link) + " claiming source " +
                            routed.source.short_hex() + ": its key or signature does not match that source");
    return;
  }
  auto decoded = decode(routed.payload);
  MessageType type = decoded ? type_of(decoded.value()) : MessageType::hello;
  bool reply = routed.flags & Routed::kReply;
  if (!decoded || (reply ? !is_response(type) : !is_request(type))) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_invalid;
    return;
  }
  Message& inner = decoded.value();
  if (reply) {
    auto p = pending.find({kRoutedLink, request_id_of(inner)});
    if (p == pending.end() || p->second.peer != routed.source) {
      if (cfg.metrics_enabled) ++metrics.late_replies;
      return;
    }
    if (cfg.metrics_enabled) ++metrics.routed.replies;
    std::string error;
    if (auto* e = std::get_if<Error>(&inner)) error = std::string(error_code_name(e->code)) + ": " + e->message;
    return resolve(kRoutedLink, request_id_of(inner), ReplyOutcome{&inner, error}, now);
  }
  RouteKey key{routed.source, routed.message_id};
  auto it = routes.find(key);
  if (it != routes.end() && it->second.delivered) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_duplicate;
    return;
  }
  RouteState& state = it != routes.end() ? it->second : remember_route(key, link.id, now);
  state.delivered = true;
  int hops = std::max(1, static_cast<int>(cfg.routed_hop_limit) - static_cast<int>(routed.hop_limit));
  if (cfg.metrics_enabled) {
    ++metrics.routed.delivered;
    metrics.routed.record_hops(hops);
  }
  // Handle it through the one dispatch table, on a stand-in link whose replies are routed back.
  Link stand_in;
  stand_in.id = kRoutedLink;
  stand_in.phase = Link::Phase::ready;
  stand_in.peer = routed.source;
  stand_in.role = Role::client;  // unknown role: never entered into the routing table from here
  stand_in.route = std::make_unique<RouteContext>(RouteContext{routed.source, routed.message_id, link.id});
  dispatch(stand_in, inner, now);
}

void Engine::Impl::route_reply(const RouteContext& context, const Message& reply, Millis now) {
  Routed routed;
  routed.source = self;
  routed.destination = context.source;
  routed.message_id = context.message_id;
  routed.hop_limit = std::min(cfg.routed_hop_limit, kMaxHops);
  routed.flags = Routed::kReply;
  routed.payload = encode(reply);
  sign_routed(routed);
  std::optional<LinkId> next;
  if (auto prev = links.find(context.prev); prev != links.end() && prev->second.phase == Link::Phase::ready) {
    next = context.prev;
  } else {
    next = next_hop(context.source, {}, carries_signaling(routed));
  }
  if (!next) {
    if (cfg.metrics_enabled) ++metrics.routed.dropped_no_state;
    return;
  }
  routed.hop_limit -= 1;
  send(links.at(*next), routed, now);
}

}  // namespace yz
