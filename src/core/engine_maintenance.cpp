// Engine: timers (request timeouts, handshake deadlines, keep-alive, idle query
// links, value expiry and republish), the connection policy, and health.
// Connection policy: keep between min_links and max_links links ("kept"),
// aiming at their midpoint, chosen for routing: half nearest to our own id
// (linked even when inbound links already fill the count), the rest spread
// over distinct buckets. Other links are "query links" opened
// by lookups; they close after query_link_idle without requests.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "core/engine_impl.hpp"

namespace yz {

namespace {
// Query links: opened for requests, closed when idle. Links to the bootstrap
// server are query links too; links from browsers/clients are not (they are
// held for the client, which cannot be dialled back).
bool is_query_link(const Engine::Impl& s, const Link& link) {
  return link.phase == Link::Phase::ready && !link.kept && (s.dialable(link) || link.role == Role::bootstrap);
}
// Links to or from the bootstrap server carry one PeersRequest (or a
// registration): they close soon, whatever query_link_idle says. So do the
// query links of a node that does not listen, e.g. a client or browser (see
// kClientQueryLinkIdle).
Millis idle_limit(const Engine::Impl& s, const Link& link) {
  bool bootstrap = s.cfg.role == Role::bootstrap || link.role == Role::bootstrap;
  if (bootstrap) return std::min(s.cfg.query_link_idle, kBootstrapLinkIdle);
  // Not dialable by servers: they count and hold our links as client links.
  return s.local.listens ? s.cfg.query_link_idle : std::min(s.cfg.query_link_idle, kClientQueryLinkIdle);
}
}  // namespace

void Engine::Impl::dial_seeds(Millis now) {
  for (const auto& address : cfg.seeds) {
    bool linked = std::any_of(links.begin(), links.end(),
                              [&](const auto& entry) { return entry.second.outbound && entry.second.address == address; });
    if (!linked) dial(address, std::nullopt, false, true, now);
  }
}

std::vector<Contact> Engine::Impl::nearest_link_candidates(Millis now) const {
  std::vector<Contact> out;
  for (const auto& c : table.closest(self, nearest_link_quota(cfg) * 2, now)) {
    if (out.size() >= nearest_link_quota(cfg)) break;
    if (usable_for_kept_link(c, now)) out.push_back(c);
  }
  return out;
}

bool Engine::Impl::keep_refused(const NodeId& peer, Millis now) const {
  auto refused = keep_refused_until.find(peer);
  return refused != keep_refused_until.end() && refused->second > now;
}

bool Engine::Impl::usable_for_kept_link(const Contact& c, Millis now) const {
  if (keep_refused(c.id, now)) return false;
  const auto* e = table.find(c.id);
  return e && e->retry_after <= now && reach(c).how == ReachBy::dial;
}

std::vector<Contact> Engine::Impl::desired_links(Millis now) const {
  std::vector<Contact> out;
  std::set<NodeId> chosen;
  auto usable = [&](const Contact& c) { return !chosen.count(c.id) && usable_for_kept_link(c, now); };
  for (const auto& c : nearest_link_candidates(now)) {
    out.push_back(c);
    chosen.insert(c.id);
  }
  // One contact per bucket, farthest buckets first, for routing diversity.
  auto entries = table.entries();
  std::sort(entries.begin(), entries.end(), [&](const RoutingEntry& a, const RoutingEntry& b) {
    int pa = common_prefix_length(self, a.contact.id), pb = common_prefix_length(self, b.contact.id);
    if (pa != pb) return pa < pb;
    return a.last_seen > b.last_seen;
  });
  int last_prefix = -1;
  for (const auto& e : entries) {
    int prefix = common_prefix_length(self, e.contact.id);
    if (prefix == last_prefix || !usable(e.contact)) continue;
    last_prefix = prefix;
    out.push_back(e.contact);
    chosen.insert(e.contact.id);
  }
  for (const auto& c : table.closest(self, cfg.max_links * 2, now)) {
    if (usable(c)) {
      out.push_back(c);
      chosen.insert(c.id);
    }
  }
  return out;
}

void Engine::Impl::apply_connection_policy(Millis now) {
  if (cfg.role == Role::bootstrap || stopped || !cfg.connection_policy) return;
  std::size_t target = link_target(cfg);
  std::size_t kept = kept_count();
  std::size_t dialing = tally().want_kept_dialing;

  // The nearest contacts come first, however many links we already keep:
  // routed messages find a node through its nearest neighbours, so a node
  // whose slots filled with inbound links from far away must still link its
  // own neighbourhood (trim_kept_links makes room by dropping a redundant link).
  for (const auto& c : nearest_link_candidates(now)) {
    auto ready = ready_by_peer.find(c.id);
    if (ready != ready_by_peer.end()) {
      Link& link = links.at(ready->second);
      if (!link.kept && dialable(link)) {
        set_kept(link, true);
        touch(link.id);
        ++kept;
      }
    } else if (!dialing_by_peer.count(c.id)) {
      dial(reach(c).address, c.id, true, false, now);
      ++dialing;
    }
  }
  if (kept + dialing < target) {
    // Cheapest first: promote open query links to peers we would want anyway.
    for (auto& [id, link] : links) {
      if (kept + dialing >= target) break;
      if (is_query_link(*this, link) && !keep_refused(link.peer, now)) {
        set_kept(link, true);
        touch(id);
        ++kept;
      }
    }
    for (const auto& c : desired_links(now)) {
      if (kept + dialing >= target) break;
      if (ready_by_peer.count(c.id) || dialing_by_peer.count(c.id)) continue;
      dial(reach(c).address, c.id, true, false, now);
      ++dialing;
    }
  }
  trim_kept_links();
  hold_query_cap(0, now);
}

void Engine::Impl::trim_kept_links() {
  std::size_t kept = kept_count();
  if (kept <= cfg.max_links || !cfg.connection_policy) return;
  // Keep what routing needs most: the links nearest our own id, then one link
  // per bucket (the oldest outbound one). Demote the rest first, the youngest
  // inbound ones before the youngest outbound ones; demoted links become query
  // links and close when idle.
  struct Candidate {
    Link* link;
    int tier;  // 0 nearest, 1 its bucket's representative, 2 redundant
  };
  std::vector<Candidate> ranked;
  for (auto& [id, link] : links) {
    if (link.kept && link.phase == Link::Phase::ready) ranked.push_back({&link, 2});
  }
  std::sort(ranked.begin(), ranked.end(),
            [&](const Candidate& a, const Candidate& b) { return closer(self, a.link->peer, b.link->peer); });
  auto senior = [](const Link* a, const Link* b) {
    if (a->outbound != b->outbound) return a->outbound;
    return a->opened_at < b->opened_at;
  };
  std::map<int, Candidate*> representative;  // by bucket (common prefix length)
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    if (i < nearest_link_quota(cfg)) {
      ranked[i].tier = 0;
      continue;
    }
    auto [it, inserted] =
        representative.try_emplace(common_prefix_length(self, ranked[i].link->peer), &ranked[i]);
    if (!inserted && senior(ranked[i].link, it->second->link)) it->second = &ranked[i];
  }
  for (auto& [bucket, candidate] : representative) candidate->tier = 1;
  std::sort(ranked.begin(), ranked.end(), [&](const Candidate& a, const Candidate& b) {
    if (a.tier != b.tier) return a.tier > b.tier;
    return senior(b.link, a.link);
  });
  for (const auto& candidate : ranked) {
    if (kept <= cfg.max_links) break;
    set_kept(*candidate.link, false);
    touch(candidate.link->id);
    --kept;
  }
}

void Engine::Impl::maintenance(Millis now) {
  if (cfg.role == Role::bootstrap) {
    registry.expire(now, cfg.registration_ttl);
    return;
  }
  expire_routes(now);
  for (auto it = keep_refused_until.begin(); it != keep_refused_until.end();) {
    it = it->second <= now ? keep_refused_until.erase(it) : std::next(it);
  }
  // Re-register with the seeds periodically, and reach for them whenever isolated.
  bool dialable_role = local_transports().listens && role_is_dht_member(cfg.role);
  if ((dialable_role && now >= next_registration) || (kept_count() == 0 && table.size() == 0)) {
    next_registration = now + cfg.registration_ttl / 2;
    dial_seeds(now);
  }
  relay_maintenance(now);
  apply_connection_policy(now);
  announce_neighbours(now);
}

void Engine::Impl::run_timers(Millis now) {
  // Request timeouts, in (link, request id) order.
  auto expired = request_timers.take_due(
      now, [this](const DeadlineIndex::Key& key) { return request_deadline(key.first, key.second); });
  std::sort(expired.begin(), expired.end());
  for (const auto& key : expired) {
    auto it = pending.find(key);
    if (it == pending.end()) continue;
    if (cfg.metrics_enabled) ++metrics.requests_timed_out;
    bool routed = key.first == kRoutedLink;
    std::string why = "no answer from " + it->second.peer.short_hex() + " to " +
                      std::string(message_type_name(it->second.request_type)) + " within " +
                      std::to_string(routed ? cfg.routed_request_timeout : cfg.request_timeout) + " ms" +
                      (routed ? " (routed through the overlay)" : "");
    resolve(key.first, key.second, ReplyOutcome{nullptr, why}, now);
    // A query link has no keep-alive: a silent peer is presumed gone, and the
    // next request to it dials afresh (a departed node refuses or times out
    // there) instead of waiting on a dead link until it idles out.
    if (auto l = links.find(key.first); l != links.end() && is_query_link(*this, l->second)) {
      close_link(key.first, CloseCode::keepalive_timeout, why, now);
    }
  }

  // Maintenance before the link deadlines: a query link it promotes to kept
  // may be due for a keep-alive ping at once.
  if (now >= next_maintenance) {
    next_maintenance = now + cfg.maintenance_interval;
    maintenance(now);
  }
  if (cfg.role != Role::bootstrap && !self_lookup_running && last_self_lookup_at >= 0 && now >= next_self_lookup) {
    start_self_lookup(now);
  }

  // Link deadlines, in link order: only the links whose deadline has come.
  auto due = link_timers.take_due(now, [this](const DeadlineIndex::Key& key) { return link_deadline(key.first); });
  std::sort(due.begin(), due.end());
  std::vector<std::pair<LinkId, std::pair<CloseCode, std::string>>> to_close;
  std::vector<LinkId> to_ping;
  for (const auto& key : due) {
    LinkId id = key.first;
    auto found = links.find(id);
    if (found == links.end()) continue;
    Link& link = found->second;
    switch (link.phase) {
      case Link::Phase::dialing:
        if (now - link.opened_at >= 2 * cfg.handshake_timeout) {
          to_close.push_back({id, {CloseCode::unreachable, "dial to " + link.address + " did not complete"}});
        }
        break;
      case Link::Phase::handshaking:
        if (now - link.opened_at >= cfg.handshake_timeout) {
          to_close.push_back({id, {CloseCode::handshake_timeout,
                                   "no Hello/Auth within " + std::to_string(cfg.handshake_timeout) +
                                       " ms: is the peer a yz node of a compatible version?"}});
        }
        break;
      case Link::Phase::ready:
        if (is_query_link(*this, link)) {
          if (now - link.last_request >= idle_limit(*this, link) && !has_pending(id)) {
            to_close.push_back({id, {CloseCode::surplus_link, "idle query link"}});
          }
        } else if (now - link.last_in >= cfg.keepalive_timeout && !link.outbound) {
          // The dialer keeps a link alive; silence means it is gone or holds the
          // link only as a query link. Not a failure of the peer: it may be fine.
          to_close.push_back({id, {CloseCode::surplus_link, "the dialer stopped keeping this link alive"}});
        } else if (now - link.last_in >= cfg.keepalive_timeout) {
          to_close.push_back({id, {CloseCode::keepalive_timeout,
                                   "no frame for " + std::to_string(now - link.last_in) + " ms: peer presumed dead"}});
        } else if (pings(link) && now - link.last_in >= cfg.keepalive_interval) {
          // Only the dialer pings; the acceptor (and any end of a link from a
          // browser or client) enforces the silence timeout.
          to_ping.push_back(id);
        }
        break;
    }
  }
  for (auto& [id, what] : to_close) {
    auto it = links.find(id);
    if (it == links.end()) continue;
    if (what.first == CloseCode::handshake_timeout || what.first == CloseCode::unreachable) {
      if (cfg.metrics_enabled) ++metrics.handshakes_failed;
      record_refusal(describe(it->second), what.first, what.second, now);
      const auto& hs = it->second.handshake;
      if (hs && hs->expected_peer) table.record_failure(*hs->expected_peer, now);
    }
    if (what.first == CloseCode::keepalive_timeout) table.record_failure(it->second.peer, now);
    close_link(id, what.first, what.second, now);
  }
  for (LinkId id : to_ping) {
    auto it = links.find(id);
    if (it == links.end()) continue;
    it->second.ping_in_flight = true;
    request_on_link(it->second, Ping{}, now, [this, id](const ReplyOutcome&, Millis) {
      if (auto l = links.find(id); l != links.end()) {
        l->second.ping_in_flight = false;
        touch(id);
      }
    });
  }
  for (const auto& key : due) touch(key.first);  // those still open: their next deadline

  // Values: expiry and republish.
  if (store.next_deadline() <= now) {
    std::size_t gone = store.expire(now);
    if (cfg.metrics_enabled) metrics.values_expired += gone;
    for (auto& v : store.take_due_for_republish(now)) {
      if (lookups.size() >= kMaxConcurrentOps) break;
      auto ttl = static_cast<std::uint32_t>(std::max<Millis>(1, (v.expires_at - now) / 1000));
      replicate(v.key, v.seq, ttl, std::move(v.value), now, nullptr);
    }
  }
}

// Keep-alive is the dialer's job (docs/architecture.md, "Keep-alive"): one ping
// per idle interval per link instead of one from each end.
bool Engine::Impl::pings(const Link& link) const { return !link.ping_in_flight && link.outbound && dialable(link); }

Millis Engine::Impl::link_deadline(const Link& link) const {
  switch (link.phase) {
    case Link::Phase::dialing: return link.opened_at + 2 * cfg.handshake_timeout;
    case Link::Phase::handshaking: return link.opened_at + cfg.handshake_timeout;
    case Link::Phase::ready:
      if (is_query_link(*this, link)) {
        return has_pending(link.id) ? kNever : link.last_request + idle_limit(*this, link);
      } else {
        return link.last_in + (pings(link) ? cfg.keepalive_interval : cfg.keepalive_timeout);
      }
  }
  return kNever;
}

Millis Engine::Impl::link_deadline(LinkId id) const {
  auto it = links.find(id);
  return it == links.end() ? kNever : link_deadline(it->second);
}

Millis Engine::Impl::request_deadline(LinkId link, std::uint32_t request_id) const {
  auto it = pending.find({link, request_id});
  return it == pending.end() ? kNever : it->second.deadline;
}

void Engine::Impl::touch(LinkId id) { link_timers.schedule({id, 0}, link_deadline(id)); }

void Engine::Impl::touch_all_links() {
  for (const auto& [id, link] : links) touch(id);
}

void Engine::Impl::add_pending(LinkId link, std::uint32_t request_id, PendingRequest request) {
  auto [it, added] = pending.emplace(std::make_pair(link, request_id), std::move(request));
  if (added) request_timers.schedule({link, request_id}, it->second.deadline);
}

Millis Engine::Impl::next_deadline() const {
  if (!started || stopped) return kNever;
  Millis next = next_maintenance;
  if (cfg.role != Role::bootstrap && !self_lookup_running && last_self_lookup_at >= 0) {
    next = std::min(next, next_self_lookup);
  }
  next = std::min(next, request_timers.earliest([this](const DeadlineIndex::Key& key) {
    return request_deadline(key.first, key.second);
  }));
  next = std::min(next, link_timers.earliest([this](const DeadlineIndex::Key& key) { return link_deadline(key.first); }));
#ifndef NDEBUG
  // Debug builds (the ASan test runs) check the indexes against a full scan.
  Millis scanned = next_maintenance;
  if (cfg.role != Role::bootstrap && !self_lookup_running && last_self_lookup_at >= 0) {
    scanned = std::min(scanned, next_self_lookup);
  }
  for (const auto& [key, p] : pending) scanned = std::min(scanned, p.deadline);
  for (const auto& [id, link] : links) scanned = std::min(scanned, link_deadline(link));
  if (scanned != next) std::abort();
#endif
  return std::min(next, store.next_deadline());
}

Status Engine::Impl::status(Millis now) const {
  Status st;
  st.id = self;
  st.role = cfg.role;
  st.build_id = cfg.build_id;
  st.started_at = started_at;
  st.routing_table_size = cfg.role == Role::bootstrap ? registry.size() : table.size();
  st.stored_values = store.size();
  st.stored_bytes = store.bytes();
  st.routed_retained_bytes = retained_routed_bytes;
  st.last_lookup_ok_at = last_lookup_ok_at;
  st.last_self_lookup_at = last_self_lookup_at;
  st.last_self_lookup_ok = last_self_lookup_ok;
  st.recent_refusals.assign(refusals.begin(), refusals.end());
  for (const auto& [id, link] : links) {
    LinkInfo info;
    info.link = id;
    info.outbound = link.outbound;
    info.ready = link.phase == Link::Phase::ready;
    info.kept = link.kept;
    info.peer = link.peer;
    info.role = link.role;
    info.address = link.address;
    info.build_id = link.peer_build_id;
    info.version = link.version;
    info.relayed = link.relay != nullptr;
    if (link.relay) info.relay_node = link.relay->relay_node;
    info.opened_at = link.opened_at;
    info.last_frame_at = link.last_in;
    info.in = link.in;
    info.out = link.out;
    st.link_list.push_back(std::move(info));
    if (link.phase == Link::Phase::ready) ++(link.kept ? st.links : st.query_links);
  }
  if (!started || stopped) {
    st.reasons.push_back(stopped ? "node is stopped" : "node has not started");
    return st;
  }
  if (cfg.role == Role::bootstrap) {
    st.healthy = true;
    return st;
  }
  std::size_t unlinked = 0;
  for (const auto& e : table.entries()) unlinked += ready_by_peer.count(e.contact.id) ? 0 : 1;
  bool alone_ok = table.size() == 0 && (cfg.seeds.empty() || cfg.role == Role::genesis);
  if (st.links < cfg.min_links && (unlinked > 0 || (table.size() == 0 && !alone_ok))) {
    st.reasons.push_back("only " + std::to_string(st.links) + " peer links (minimum " + std::to_string(cfg.min_links) +
                         ") while " + std::to_string(unlinked) + " known peers are not linked" +
                         (table.size() == 0 ? ": no peers known yet, check that the bootstrap server is reachable"
                                            : ""));
  }
  if (last_self_lookup_at < 0) {
    st.reasons.push_back("no self-lookup has completed yet");
  } else if (!last_self_lookup_ok) {
    st.reasons.push_back("the last self-lookup failed: no peer answered");
  } else if (now - last_self_lookup_at > 3 * self_lookup_every) {
    st.reasons.push_back("the last self-lookup is " + std::to_string((now - last_self_lookup_at) / 1000) +
                         " s old (expected every " + std::to_string(self_lookup_every / 1000) + " s)");
  }
  st.healthy = st.reasons.empty();
  return st;
}

}  // namespace yz
