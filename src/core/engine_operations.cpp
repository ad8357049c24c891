// Engine: iterative lookups and the API operations built on them
// (find_node, put, get, ping). User callbacks are queued in `completions` and
// run when the current input call returns.
#include <algorithm>
#include <memory>
#include <unordered_set>

#include "core/engine_impl.hpp"

namespace yz {

// The lookup may finish (and be destroyed) inside this call when it has no one to ask.
void Engine::Impl::start_lookup(LookupOp::Kind kind, const NodeId& target, Millis now,
                                std::function<void(LookupOp&, Millis)> on_done,
                                std::function<void(LookupOp&, Millis)> on_converged) {
  std::uint64_t op_id = next_op_id++;
  auto op = std::make_unique<LookupOp>(target, self, cfg.k, cfg.alpha);
  op->kind = kind;
  op->on_converged = std::move(on_converged);
  op->started = now;
  op->on_done = std::move(on_done);
  op->lookup.seed(table.closest(target, cfg.k, now));
  lookups.emplace(op_id, std::move(op));
  drive_lookup(op_id, now);
}

void Engine::Impl::drive_lookup(std::uint64_t op_id, Millis now) {
  auto it = lookups.find(op_id);
  if (it == lookups.end()) return;
  LookupOp* op = it->second.get();
  if (op->driving) return;  // a synchronous failure inside request(): the outer loop continues
  op->driving = true;
  for (auto queries = op->lookup.next_queries(); !queries.empty(); queries = op->lookup.next_queries()) {
    for (const auto& contact : queries) {
      Message query = op->kind == LookupOp::Kind::node ? Message{FindNode{0, op->lookup.target()}}
                                                        : Message{FindValue{0, op->lookup.target()}};
      NodeId from = contact.id;
      request(contact, std::move(query), now, [this, op_id, from](const ReplyOutcome& outcome, Millis t) {
        on_lookup_reply(op_id, from, outcome, t);
      });
    }
  }
  op->driving = false;
  if (op->lookup.done()) finish_lookup(op_id, now);
}

void Engine::Impl::on_lookup_reply(std::uint64_t op_id, const NodeId& from, const ReplyOutcome& outcome, Millis now) {
  auto it = lookups.find(op_id);
  if (it == lookups.end()) return;
  LookupOp& op = *it->second;
  const Message* reply = outcome.reply;
  if (const auto* nodes = reply ? std::get_if<Nodes>(reply) : nullptr) {
    op.lookup.on_reply(from, nodes->contacts);
    if (op.kind == LookupOp::Kind::value) op.seq_seen.emplace(from, 0);
  } else if (const auto* value = reply ? std::get_if<Value>(reply) : nullptr;
             value && op.kind == LookupOp::Kind::value && value->key == op.lookup.target()) {
    op.lookup.on_reply(from, {});
    op.seq_seen[from] = value->seq;
    if (!op.best || value->seq > op.best->seq) op.best = *value;
    if (read_quorum_reached(op, now)) {
      op.settled = true;
      return finish_lookup(op_id, now);
    }
  } else {
    op.lookup.on_failure(from);
    // An Error reply means the peer is alive; only silence counts against it.
    if (!reply) table.record_failure(from, now);
  }
  if (op.on_converged && op.lookup.converged()) {
    auto converged = std::move(op.on_converged);
    op.on_converged = nullptr;
    converged(op, now);  // may send requests whose synchronous failure ends this lookup
  }
  drive_lookup(op_id, now);
}

// Enough nodes (this one counts when it holds the value) returned the newest
// version seen so far: a newer one would have to have missed all of them.
bool Engine::Impl::read_quorum_reached(const LookupOp& op, Millis now) const {
  if (cfg.get_quorum == 0 || !op.best) return false;
  std::uint64_t newest = op.best->seq;
  std::size_t votes = 0;
  if (const auto* local = store.get(op.lookup.target(), now)) {
    if (local->seq > newest) return false;  // this node holds a newer one: let the lookup run
    votes += local->seq == newest ? 1 : 0;
  }
  for (const auto& [id, seq] : op.seq_seen) votes += seq == newest ? 1 : 0;
  return votes >= cfg.get_quorum;
}

void Engine::Impl::finish_lookup(std::uint64_t op_id, Millis now) {
  auto it = lookups.find(op_id);
  if (it == lookups.end()) return;
  std::unique_ptr<LookupOp> op = std::move(it->second);
  lookups.erase(it);
  if (cfg.metrics_enabled) {  // every lookup counts: API, self-lookups, puts, gets, republish
    ++(lookup_succeeded(*op) || op->best ? metrics.lookups_ok : metrics.lookups_failed);
    metrics.lookup_latency.record(now - op->started);
  }
  if (op->on_done) op->on_done(*op, now);
}

bool Engine::Impl::lookup_succeeded(const LookupOp& op) const {
  // A node that knows no peer is alone in its network when it was started
  // without seeds or is the genesis node (which may list the bootstrap server).
  return !op.lookup.result().empty() ||
         (op.lookup.requests() == 0 && table.size() == 0 && (cfg.seeds.empty() || cfg.role == Role::genesis));
}

std::vector<Contact> Engine::Impl::lookup_result_with_self(const Lookup& lookup) const {
  return with_self(lookup.target(), lookup.result());
}

// `result` (nearest `target` first, at most k) with this node in its place
// when it is a DHT member among the k closest.
std::vector<Contact> Engine::Impl::with_self(const NodeId& target, std::vector<Contact> result) const {
  if (!role_is_dht_member(cfg.role) || cfg.role == Role::browser) return result;
  auto pos = std::find_if(result.begin(), result.end(), [&](const Contact& c) { return closer(target, self, c.id); });
  if (pos == result.end() && result.size() >= cfg.k) return result;
  result.insert(pos, Contact{self, cfg.role, cfg.advertised_addresses});
  if (result.size() > cfg.k) result.pop_back();
  return result;
}

void Engine::Impl::start_self_lookup(Millis now) {
  if (self_lookup_running || stopped || cfg.role == Role::bootstrap) return;
  self_lookup_running = true;
  start_lookup(LookupOp::Kind::node, self, now, [this](LookupOp& done_op, Millis t) {
    self_lookup_running = false;
    last_self_lookup_at = t;
    last_self_lookup_ok = lookup_succeeded(done_op);
    if (last_self_lookup_ok) last_lookup_ok_at = t;
    // Adaptive interval (docs/architecture.md, "Self-lookups"): a self-lookup
    // that found no close node the routing table lacked when it started means
    // the neighbourhood is stable, and the next one can wait twice as long (up
    // to kSelfLookupBackoffMax intervals); one that learned something, or
    // failed, returns to the configured interval.
    bool learned = false;
    for (const auto& c : done_op.lookup.result()) {
      const RoutingEntry* e = table.find(c.id);
      if (!e || e->added_at >= done_op.started) learned = true;
    }
    if (last_self_lookup_ok && !learned) {
      self_lookup_every = std::min(2 * self_lookup_every, kSelfLookupBackoffMax * cfg.self_lookup_interval);
    } else {
      self_lookup_every = cfg.self_lookup_interval;
    }
    // A failed self-lookup is retried sooner than the regular interval.
    next_self_lookup = t + (last_self_lookup_ok ? self_lookup_every
                                                : std::min(cfg.self_lookup_interval, cfg.maintenance_interval / 2));
    if (!stopped) apply_connection_policy(t);
  });
}

// A put sends its Stores when the lookup converges (where the final round
// would begin: the Store is that round's contact with the k nearest) and
// answers when they are acknowledged. The lookup runs on in the background;
// nodes that enter the final k closest after the first Stores get the value
// then, so placement is exact even when convergence missed part of the k closest.
void Engine::Impl::replicate(const NodeId& key, std::uint64_t seq, std::uint32_t ttl_seconds, Bytes value, Millis now,
                             std::function<void(const PutResult&)> done) {
  struct PutState {
    PutResult result;
    std::size_t remaining = 0;
    bool sent = false;  // the first Stores went out
    Bytes value;
    std::unordered_set<NodeId, NodeIdHash> stored_on;
    std::function<void(const PutResult&)> done;
  };
  auto state = std::make_shared<PutState>();
  state->result.key = key;
  state->result.seq = seq;
  state->done = std::move(done);
  state->value = std::move(value);
  auto finish = [this, state, started = now](Millis at) {
    auto& r = state->result;
    r.ok = r.replicas_acked > 0;
    r.elapsed = at - started;
    if (!r.ok && r.error.empty()) {
      r.error = "no replica stored the value";
      if (!r.refusals.empty()) r.error += ": " + r.refusals.front();
    }
    if (state->done) completions.push_back([state] { state->done(state->result); });
  };
  auto store_on = [this, state, key, seq, ttl_seconds](const Contact& target, Millis t,
                                                       ReplyHandler on_reply) {
    state->stored_on.insert(target.id);
    if (target.id != self) {
      return request(target, Store{0, key, seq, ttl_seconds, state->value}, t, std::move(on_reply));
    }
    Message ack = StoreAck{};
    ReplyOutcome local;
    if (store_accepted(store.put(key, seq, state->value, t + Millis{ttl_seconds} * 1000, t))) {
      local.reply = &ack;
    } else {
      local.error = "refused";
    }
    on_reply(local, t);
  };
  auto send_first = [this, state, finish, store_on](LookupOp& op, Millis t) {
    state->sent = true;
    auto targets = with_self(op.lookup.target(), op.lookup.nearest());
    if (!lookup_succeeded(op) || targets.empty()) {
      state->result.error = "lookup for the key's closest nodes failed: no peer answered (" +
                            std::to_string(op.lookup.failures()) + " requests failed)";
      return finish(t);
    }
    state->result.replicas_tried = static_cast<int>(targets.size());
    state->remaining = targets.size();
    for (const auto& target : targets) {
      std::string peer = target.id.short_hex() + (target.id == self ? " (this node)" : "");
      store_on(target, t, [state, peer, finish](const ReplyOutcome& outcome, Millis at) {
        if (outcome.reply && std::holds_alternative<StoreAck>(*outcome.reply)) {
          ++state->result.replicas_acked;
        } else {
          state->result.refusals.push_back(peer + ": " +
                                           (outcome.error.empty() ? "unexpected reply" : outcome.error));
        }
        if (--state->remaining == 0) finish(at);
      });
    }
  };
  start_lookup(
      LookupOp::Kind::node, key, now,
      [this, state, send_first, store_on](LookupOp& op, Millis t) {
        if (!state->sent) return send_first(op, t);  // the lookup ended before it converged
        for (const auto& target : with_self(op.lookup.target(), op.lookup.result())) {
          if (state->stored_on.count(target.id) != 0) continue;
          if (cfg.metrics_enabled) ++metrics.replicas_placed_late;
          store_on(target, t, [](const ReplyOutcome&, Millis) {});
        }
      },
      send_first);
}

// ---- Public API ---------------------------------------------------------------

namespace {
bool too_busy(Engine::Impl& s) { return s.lookups.size() >= kMaxConcurrentOps; }
constexpr const char* kBusy = "too many operations in flight on this node: retry shortly";
constexpr const char* kStopped = "node is stopped";
}  // namespace

void Engine::find_node(const NodeId& target, Millis now, std::function<void(const LookupResult&)> done) {
  auto& s = *impl_;
  if (s.stopped || too_busy(s)) {
    LookupResult r;
    r.error = s.stopped ? kStopped : kBusy;
    done(r);
    return;
  }
  InputScope scope(s);
  s.start_lookup(LookupOp::Kind::node, target, now, [&s, done](LookupOp& op, Millis t) {
    LookupResult r;
    r.ok = s.lookup_succeeded(op);
    r.closest = s.lookup_result_with_self(op.lookup);
    r.hops = op.lookup.hops();
    r.requests = op.lookup.requests();
    r.failures = op.lookup.failures();
    r.elapsed = t - op.started;
    if (!r.ok) {
      r.error = s.table.size() == 0 ? "no peers known: the node has no links yet (is the bootstrap server reachable?)"
                                    : "no peer answered: " + std::to_string(r.failures) + " requests failed";
    }
    if (r.ok) s.last_lookup_ok_at = t;
    s.completions.push_back([done, r] { done(r); });
  });
}

void Engine::put(BytesView user_key, Bytes value, std::uint32_t ttl_seconds, Millis now,
                 std::function<void(const PutResult&)> done) {
  auto& s = *impl_;
  NodeId key = key_id(user_key);
  std::uint32_t ttl = ttl_seconds == 0 ? s.cfg.default_ttl_seconds : ttl_seconds;
  PutResult refused;
  refused.key = key;
  if (s.stopped || too_busy(s)) refused.error = s.stopped ? kStopped : kBusy;
  if (value.size() > kMaxValueSize) {
    refused.error = "value of " + std::to_string(value.size()) + " bytes exceeds the " +
                    std::to_string(kMaxValueSize) + "-byte limit: split it or store a reference";
  }
  if (ttl > kMaxTtlSeconds) {
    refused.error = "ttl of " + std::to_string(ttl) + " s exceeds the maximum of " + std::to_string(kMaxTtlSeconds) +
                    " s";
  }
  if (!refused.error.empty()) {
    done(refused);
    return;
  }
  std::uint64_t seq = std::max<std::uint64_t>(static_cast<std::uint64_t>(std::max<Millis>(now, 0)), s.last_seq + 1);
  if (const auto* held = s.store.get(key, now)) seq = std::max(seq, held->seq + 1);
  s.last_seq = seq;
  InputScope scope(s);
  s.replicate(key, seq, ttl, std::move(value), now, std::move(done));
}

void Engine::get(BytesView user_key, Millis now, std::function<void(const GetResult&)> done) {
  auto& s = *impl_;
  NodeId key = key_id(user_key);
  if (s.stopped || too_busy(s)) {
    GetResult r;
    r.key = key;
    r.error = s.stopped ? kStopped : kBusy;
    done(r);
    return;
  }
  InputScope scope(s);
  s.start_lookup(LookupOp::Kind::value, key, now, [&s, key, done](LookupOp& op, Millis t) {
    GetResult r;
    r.key = key;
    r.ok = s.lookup_succeeded(op);
    r.hops = op.lookup.hops();
    r.requests = op.lookup.requests();
    r.elapsed = t - op.started;
    std::optional<Value> best = op.best;
    const auto* local = s.store.get(key, t);
    if (local && (!best || local->seq > best->seq)) {
      auto ttl = static_cast<std::uint32_t>(std::max<Millis>(1, (local->expires_at - t + 999) / 1000));
      best = Value{0, key, local->seq, ttl, local->value};
    }
    if (best) {
      r.ok = true;
      r.found = true;
      r.value = best->value;
      r.seq = best->seq;
      // Read repair: replicas among the k closest that lack the newest version
      // get it. A lookup ended by the read quorum knows only the nodes it asked:
      // those nearer the key than a holder of the newest version should hold it too.
      auto answered = s.lookup_result_with_self(op.lookup);
      if (op.settled) {
        auto farthest = std::find_if(answered.rbegin(), answered.rend(), [&](const Contact& c) {
          auto seen = op.seq_seen.find(c.id);
          return seen != op.seq_seen.end() && seen->second == best->seq;
        });
        answered.erase(farthest.base(), answered.end());
      }
      for (const auto& c : answered) {
        if (c.id == s.self) {
          if (!local || local->seq < best->seq) {
            s.store.put(key, best->seq, best->value, t + Millis{best->ttl_seconds} * 1000, t);
            ++r.repaired;
          }
          continue;
        }
        auto seen = op.seq_seen.find(c.id);
        if (seen != op.seq_seen.end() && seen->second >= best->seq) continue;
        ++r.repaired;
        s.request(c, Store{0, key, best->seq, best->ttl_seconds, best->value}, t, [](const ReplyOutcome&, Millis) {});
      }
      if (s.cfg.metrics_enabled) s.metrics.replicas_repaired += static_cast<std::uint64_t>(r.repaired);
    } else if (!r.ok) {
      r.error = "no peer answered the lookup (" + std::to_string(op.lookup.failures()) + " requests failed)";
    } else {
      r.error = "no value stored under this key";
    }
    if (r.ok) s.last_lookup_ok_at = t;
    s.completions.push_back([done, r] { done(r); });
  });
}

void Engine::ping(const NodeId& peer, Millis now, std::function<void(const PingResult&)> done) {
  auto& s = *impl_;
  std::optional<Contact> contact;
  if (auto r = s.ready_by_peer.find(peer); r != s.ready_by_peer.end()) {
    contact = s.contact_of(s.links.at(r->second));
  } else if (const auto* entry = s.table.find(peer)) {
    contact = entry->contact;
  } else if (s.cfg.routing && peer != s.self) {
    contact = Contact{peer, Role::dht, {}};  // unknown address: the request travels routed
  }
  if (s.stopped || !contact) {
    PingResult r;
    r.error = s.stopped ? kStopped : "node " + peer.short_hex() + " is not linked and not in the routing table";
    done(r);
    return;
  }
  InputScope scope(s);
  s.request(*contact, Ping{}, now, [&s, done, now](const ReplyOutcome& outcome, Millis t) {
    PingResult r;
    r.ok = outcome.reply && std::holds_alternative<Pong>(*outcome.reply);
    r.rtt = t - now;
    if (!r.ok) r.error = outcome.error.empty() ? "unexpected reply to ping" : outcome.error;
    s.completions.push_back([done, r] { done(r); });
  });
}

}  // namespace yz
