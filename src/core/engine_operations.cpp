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
                                std::shared_ptr<PutPlan> put) {
  std::uint64_t op_id = next_op_id++;
  auto op = std::make_unique<LookupOp>(target, self, cfg.k, cfg.alpha);
  op->kind = kind;
  op->put = std::move(put);
  op->started = now;
  op->on_done = std::move(on_done);
  if (kind == LookupOp::Kind::value) op->lookup.prefer_in_every_round();
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
  // A get needs any read quorum of the k closest, all of which hold a value a
  // put placed: each round goes to linked peers among them first (no
  // handshake before their answer). A put's first round does the same: it
  // only finds the k closest, whose Stores then go out together (new links
  // dialled in parallel, not one round each).
  std::function<bool(const NodeId&)> linked;
  if (op->kind == LookupOp::Kind::value || op->put)
    linked = [this](const NodeId& id) { return ready_by_peer.count(id) != 0; };
  for (auto queries = op->lookup.next_queries(linked); !queries.empty();
       queries = op->lookup.next_queries(linked)) {
    for (const auto& contact : queries) {
      NodeId from = contact.id;
      if (op->put && op->lookup.converged()) {  // the final round of a put: the Store is the query
        send_store(op->put, contact, now, [this, op_id, from](const ReplyOutcome& outcome, Millis t) {
          on_lookup_reply(op_id, from, outcome, true, t);
        });
        continue;
      }
      Message query = op->kind == LookupOp::Kind::node ? Message{FindNode{0, op->lookup.target()}}
                                                       : Message{FindValue{0, op->lookup.target()}};
      request(contact, std::move(query), now, [this, op_id, from](const ReplyOutcome& outcome, Millis t) {
        on_lookup_reply(op_id, from, outcome, false, t);
      });
    }
  }
  op->driving = false;
  if (op->put && (op->lookup.converged() || op->lookup.done())) store_on_answered(*op, now);
  if (op->lookup.done()) finish_lookup(op_id, now);
}

void Engine::Impl::on_lookup_reply(std::uint64_t op_id, const NodeId& from, const ReplyOutcome& outcome,
                                   bool as_store, Millis now) {
  auto it = lookups.find(op_id);
  if (it == lookups.end()) return;
  LookupOp& op = *it->second;
  const Message* reply = outcome.reply;
  if (const auto* nodes = reply ? std::get_if<Nodes>(reply) : nullptr) {
    op.lookup.on_reply(from, nodes->contacts);
    if (op.kind == LookupOp::Kind::value) op.seq_seen.emplace(from, 0);
  } else if (const auto* ack = reply ? std::get_if<StoreAck>(reply) : nullptr) {
    op.lookup.on_reply(from, ack->contacts);  // empty from a version 1 or 2 peer: answered, nothing learned
  } else if (const auto* value = reply ? std::get_if<Value>(reply) : nullptr;
             value && op.kind == LookupOp::Kind::value && value->key == op.lookup.target()) {
    op.lookup.on_reply(from, {});
    op.seq_seen[from] = value->seq;
    if (!op.best || value->seq > op.best->seq) op.best = *value;
    if (read_quorum_reached(op, now)) {
      op.settled = true;
      return finish_lookup(op_id, now);
    }
  } else if (reply && as_store) {
    // A replica that refused the value (stale, full) is alive and stays
    // among the k closest: the put counts the refusal, the lookup does not
    // look past it for a replacement.
    op.lookup.on_reply(from, {});
  } else {
    op.lookup.on_failure(from);
    // An Error reply means the peer is alive; only silence counts against it.
    if (!reply) table.record_failure(from, now);
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

// A put is a node lookup for the key whose final round is its Stores: until
// the lookup converges (alpha replies in a row brought nothing closer) it asks
// FindNode; from then on each query is the Store itself, whose StoreAck
// carries the storer's closest contacts like a Nodes reply (protocol version
// 3), so the k closest are found and stored on in the same round trips. Nodes
// that answered a FindNode and are among the k closest get a Store as well.
// The put answers when the lookup is done (its k closest have all answered)
// and every Store has replied, so the value is on the exact k closest.
void Engine::Impl::replicate(const NodeId& key, std::uint64_t seq, std::uint32_t ttl_seconds, Bytes value,
                             Millis now, std::function<void(const PutResult&)> done) {
  auto plan = std::make_shared<PutPlan>();
  plan->store = Store{0, key, seq, ttl_seconds, std::move(value)};
  plan->result.key = key;
  plan->result.seq = seq;
  plan->started = now;
  plan->done = std::move(done);
  start_lookup(
      LookupOp::Kind::node, key, now,
      [this, plan](LookupOp& op, Millis t) {
        plan->lookup_done = true;
        if (!lookup_succeeded(op) && plan->result.replicas_acked == 0 && plan->result.refusals.empty() &&
            plan->outstanding == 0) {
          plan->result.error = "lookup for the key's closest nodes failed: no peer answered (" +
                               std::to_string(op.lookup.failures()) + " requests failed)";
        }
        finish_put_if_complete(*plan, t);
      },
      plan);
}

void Engine::Impl::send_store(const std::shared_ptr<PutPlan>& plan, const Contact& target, Millis now,
                              std::function<void(const ReplyOutcome&, Millis)> on_reply) {
  plan->stored_on.insert(target.id);
  ++plan->result.replicas_tried;
  ++plan->outstanding;
  std::string peer = target.id.short_hex() + (target.id == self ? " (this node)" : "");
  auto record = [this, plan, peer, on_reply = std::move(on_reply)](const ReplyOutcome& outcome, Millis at) {
    auto& r = plan->result;
    if (outcome.reply && std::holds_alternative<StoreAck>(*outcome.reply)) {
      ++r.replicas_acked;
    } else {
      r.refusals.push_back(peer + ": " + (outcome.error.empty() ? "unexpected reply" : outcome.error));
    }
    --plan->outstanding;
    if (on_reply) on_reply(outcome, at);
    finish_put_if_complete(*plan, at);
  };
  if (target.id != self) {
    Store store = plan->store;
    request(target, std::move(store), now, std::move(record));
    return;
  }
  Message ack = StoreAck{};
  ReplyOutcome local;
  const auto& s = plan->store;
  if (store_accepted(store.put(s.key, s.seq, s.value, now + Millis{s.ttl_seconds} * 1000, now))) {
    local.reply = &ack;
  } else {
    local.error = "refused";
  }
  record(local, now);
}

// Only inside the window (the k nearest not known to have failed, this node
// in its place): an answered node outside it is not among the k closest,
// however few have answered yet. Once the lookup is done the window is its result.
void Engine::Impl::store_on_answered(LookupOp& op, Millis now) {
  for (const auto& target : with_self(op.lookup.target(), op.lookup.nearest())) {
    if (op.put->stored_on.count(target.id) != 0) continue;
    if (target.id == self || op.lookup.answered(target.id)) send_store(op.put, target, now);
  }
}

void Engine::Impl::finish_put_if_complete(PutPlan& plan, Millis now) {
  if (plan.answered || !plan.lookup_done || plan.outstanding != 0) return;
  plan.answered = true;
  auto& r = plan.result;
  r.ok = r.replicas_acked > 0;
  r.elapsed = now - plan.started;
  if (!r.ok && r.error.empty()) {
    r.error = "no replica stored the value";
    if (!r.refusals.empty()) r.error += ": " + r.refusals.front();
  }
  if (plan.done) {
    completions.push_back([done = std::move(plan.done), result = r] { done(result); });
  }
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
