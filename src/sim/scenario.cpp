// Scenario runner: builds populations of real engines on the simulated
// network, drives workloads and churn, and checks results against ground truth.
#include "sim/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>

namespace yz::sim {

namespace {

constexpr NodeIndex kNone = static_cast<NodeIndex>(-1);
constexpr std::size_t kMaxErrorSamples = 8;

double uniform01(Random& random) { return static_cast<double>(random.next_u64() >> 11) * 0x1.0p-53; }

Millis exponential(Random& random, Millis mean) {
  double u = uniform01(random);
  return std::max<Millis>(1, static_cast<Millis>(-std::log(1.0 - u) * static_cast<double>(mean)));
}

NodeId random_id(Random& random) {
  NodeId id;
  random.fill(id.bytes.data(), id.bytes.size());
  return id;
}

Bytes value_for(std::uint64_t seed, std::size_t index) {
  std::string text = "value " + std::to_string(index) + " of run " + std::to_string(seed) + " ";
  while (text.size() < 64) text += '.';
  return to_bytes(text);
}

std::string first_reason(const Status& status) {
  return status.reasons.empty() ? std::string("(none)") : status.reasons.front();
}

// One network and the scenario's bookkeeping around it.
class World {
 public:
  explicit World(const ScenarioConfig& cfg) : cfg_(cfg), net_(network_config(cfg)), rng_(net_.scenario_random()) {
    if (cfg_.verbose || cfg_.log_node >= 0) {
      net_.set_log_sink([this](NodeIndex node, Millis now, LogLevel level, const std::string& text) {
        bool watched = static_cast<long long>(node) == cfg_.log_node;
        if (!watched && !(cfg_.verbose && level == LogLevel::warn)) return;
        std::cerr << "[" << now << " ms] " << Network::address_of(node) << ": " << text << "\n";
      });
    }
    report_.scenario = cfg.scenario;
    report_.seed = cfg.seed;
  }

  static NetworkConfig network_config(const ScenarioConfig& cfg) {
    NetworkConfig net = cfg.net;
    net.seed = cfg.seed;
    return net;
  }

  Network& net() { return net_; }
  ScenarioReport& report() { return report_; }
  Random& rng() { return rng_; }
  Millis now() const { return net_.now(); }
  const std::vector<NodeIndex>& live() const { return live_; }
  const std::vector<NodeIndex>& members() const { return members_; }
  NodeIndex bootstrap() const { return bootstrap_; }
  NodeIndex genesis() const { return genesis_; }
  const std::vector<NodeIndex>& bridges() const { return bridges_; }

  // ---- Population ----

  NodeIndex add(Role role, std::vector<std::string> seeds) {
    NodeSpec spec;
    spec.config = cfg_.engine;
    spec.config.role = role;
    spec.config.seeds = std::move(seeds);
    spec.config.advertised_addresses.clear();
    NodeIndex n = net_.add_node(std::move(spec));
    info_.emplace_back();
    info_.back().member = role_is_dht_member(role);
    if (role == Role::bootstrap && bootstrap_ == kNone) bootstrap_ = n;
    if (role == Role::genesis && genesis_ == kNone) genesis_ = n;
    if (role == Role::bridge) bridges_.push_back(n);
    return n;
  }

  std::vector<std::string> newcomer_seeds() {
    std::vector<std::string> seeds;
    if (bootstrap_ != kNone) seeds.push_back(Network::address_of(bootstrap_));
    if (!bridges_.empty()) seeds.push_back(Network::address_of(bridges_[rng_.uniform(bridges_.size())]));
    if (cfg_.emergency_seeds && genesis_ != kNone) seeds.push_back(Network::address_of(genesis_));
    return seeds;
  }

  // Bootstrap server, genesis and bridges, started at the beginning.
  void add_infrastructure(std::size_t bridges) {
    NodeIndex b = add(Role::bootstrap, {});
    NodeIndex g = add(Role::genesis, {Network::address_of(b)});
    for (std::size_t i = 0; i < bridges; ++i) add(Role::bridge, {Network::address_of(b), Network::address_of(g)});
    start_at(b, 0);
    start_at(g, 10);
    for (std::size_t i = 0; i < bridges_.size(); ++i) start_at(bridges_[i], 200 + static_cast<Millis>(i) * 50);
  }

  // Adds `count` nodes of `role` that start one join_interval apart from `from`.
  // Returns the last start time.
  Millis add_joiners(std::size_t count, Role role, Millis from, bool churnable) {
    Millis t = from;
    for (std::size_t i = 0; i < count; ++i) {
      NodeIndex n = add(role, newcomer_seeds());
      info_[n].churnable = churnable;
      start_at(n, t);
      if (i + 1 < count) t += cfg_.join_interval;
    }
    return t;
  }

  void start_at(NodeIndex n, Millis t) {
    net_.at(t, [this, n] { start(n); });
  }

  void start(NodeIndex n) {
    if (net_.is_up(n)) return;
    net_.start(n);
    Info& info = info_[n];
    info.id = net_.node_id(n);
    info.live_pos = live_.size();
    live_.push_back(n);
    if (info.member) {
      info.member_pos = members_.size();
      members_.push_back(n);
    }
    if (n != bootstrap_) poll_health(n, net_.incarnation(n));
    if (churn_on_ && info.churnable) {
      ++report_.arrivals;
      schedule_departure(n);
    }
  }

  void take_down(NodeIndex n, bool crash) {
    if (!net_.is_up(n)) return;
    Info& info = info_[n];
    add_engine_totals(net_.engine(n)->metrics());
    info.leaving = true;
    if (crash) {
      net_.crash(n);
    } else {
      net_.leave(n);
    }
    info.leaving = false;
    // Reads the crashed node never answered.
    for (auto it = reads_in_flight_.begin(); it != reads_in_flight_.end();) {
      if (it->second.origin != n) {
        ++it;
        continue;
      }
      abandon_read(n, it->second.index, it->second.retry);
      it = reads_in_flight_.erase(it);
    }
    remove_from(live_, n, &Info::live_pos);
    if (info.member) remove_from(members_, n, &Info::member_pos);
  }

  // ---- Health ----

  void poll_health(NodeIndex n, std::uint32_t incarnation) {
    Millis every = net_.node_count() > 2000 ? 2000 : 1000;
    net_.at(now() + every, [this, n, incarnation] {
      if (!net_.is_up(n) || net_.incarnation(n) != incarnation) return;
      Millis age = now() - net_.started_at(n);
      if (net_.engine(n)->status(now()).healthy) {
        report_.time_to_healthy_ms.add(static_cast<double>(age));
        return;
      }
      if (age < 10 * 60'000) poll_health(n, incarnation);
    });
  }

  bool healthy(NodeIndex n) const { return net_.is_up(n) && net_.engine(n)->status(now()).healthy; }

  // Every live node other than the bootstrap server healthy?
  bool all_healthy() const {
    for (NodeIndex n : live_) {
      if (n != bootstrap_ && !healthy(n)) return false;
    }
    return true;
  }

  // A random live node (not the bootstrap server); prefers one that reports
  // itself healthy, as an application would wait for that before using it.
  NodeIndex pick_ready(bool members_only = false, int group = -1) {
    const auto& pool = members_only ? members_ : live_;
    NodeIndex fallback = kNone;
    for (int attempt = 0; attempt < 24 && !pool.empty(); ++attempt) {
      NodeIndex n = pool[rng_.uniform(pool.size())];
      if (n == bootstrap_) continue;
      if (group >= 0 && group_of(n) != group) continue;
      if (fallback == kNone) fallback = n;
      if (healthy(n)) return n;
    }
    return fallback;
  }

  // ---- Ground truth ----

  struct Expected {
    NodeIndex slot;
    std::uint32_t incarnation;
    NodeId id;
  };

  // The k live DHT members closest to target (within `group` when >= 0).
  std::vector<Expected> truth(const NodeId& target, int group) const {
    std::vector<NodeIndex> pool;
    pool.reserve(members_.size());
    for (NodeIndex n : members_) {
      if (group < 0 || group_of(n) == group) pool.push_back(n);
    }
    std::size_t k = std::min(cfg_.engine.k, pool.size());
    auto nearer = [&](NodeIndex a, NodeIndex b) { return closer(target, info_[a].id, info_[b].id); };
    std::partial_sort(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(k), pool.end(), nearer);
    std::vector<Expected> out;
    for (std::size_t i = 0; i < k; ++i) out.push_back(Expected{pool[i], net_.incarnation(pool[i]), info_[pool[i]].id});
    return out;
  }

  bool still_alive(const Expected& e) const {
    return net_.is_up(e.slot) && net_.incarnation(e.slot) == e.incarnation && !info_[e.slot].leaving;
  }

  // ---- Workload ----

  void lookup(NodeIndex origin, const NodeId& target, LookupStats* stats, int group = -1) {
    if (origin == kNone || !net_.is_up(origin)) return;
    auto expected = std::make_shared<std::vector<Expected>>(truth(target, group));
    ++stats->issued;
    net_.call(origin, [&](Engine& engine, Millis now) {
      engine.find_node(target, now, [this, stats, origin, expected](const LookupResult& r) {
        on_lookup(*stats, origin, *expected, r);
      });
    });
  }

  void on_lookup(LookupStats& stats, NodeIndex origin, const std::vector<Expected>& expected, const LookupResult& r) {
    if (info_[origin].leaving) return;  // abandoned: counted in finish()
    if (!r.ok) {
      ++stats.failed;
      note_error("lookup from " + Network::address_of(origin) + ": " + r.error);
      probe_result(false);
      return;
    }
    ++stats.ok;
    ++interval_.lookups;
    stats.hops.add(r.hops);
    stats.requests.add(r.requests);
    stats.latency_ms.add(static_cast<double>(r.elapsed));
    interval_.hops.add(r.hops);
    interval_.latency.add(static_cast<double>(r.elapsed));
    std::vector<const Expected*> alive;
    for (const auto& e : expected) {
      if (still_alive(e)) alive.push_back(&e);
    }
    bool exact = !alive.empty() && !r.closest.empty() && r.closest.front().id == alive.front()->id;
    if (alive.empty()) exact = true;  // nobody to find: an empty answer is right
    if (exact) {
      ++stats.exact;
      ++interval_.lookups_exact;
    }
    std::size_t found = 0;
    for (const auto* e : alive) {
      found += std::any_of(r.closest.begin(), r.closest.end(), [&](const Contact& c) { return c.id == e->id; });
    }
    stats.recall_sum += alive.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(alive.size());
    probe_result(exact);
  }

  std::size_t new_value() {
    std::size_t index = values_.size();
    values_.push_back(Value{"key-" + std::to_string(index), value_for(cfg_.seed, index), false});
    return index;
  }

  void put(NodeIndex origin, std::size_t index) {
    if (origin == kNone || !net_.is_up(origin)) return;
    auto& stats = report_.values;
    ++stats.puts_issued;
    net_.call(origin, [&](Engine& engine, Millis now) {
      const Value& v = values_[index];
      engine.put(as_bytes(v.key), v.bytes, 0, now, [this, index, origin](const PutResult& r) {
        auto& s = report_.values;
        if (info_[origin].leaving) return;  // abandoned: counted in finish()
        if (r.ok) {
          ++s.puts_ok;
          values_[index].written = true;
          s.replicas_acked.add(r.replicas_acked);
        } else {
          ++s.puts_failed;
          note_error("put from " + Network::address_of(origin) + ": " + r.error);
        }
      });
    });
  }

  // Reads values_[index] through origin. A read whose node goes down before
  // the answer is abandoned and retried once through another ready node, as an
  // application would.
  void read(NodeIndex origin, std::size_t index, bool retry = true) {
    if (origin == kNone || !net_.is_up(origin)) return;
    ++report_.values.reads_issued;
    std::uint64_t op = next_read_++;
    reads_in_flight_.emplace(op, PendingRead{origin, index, retry});
    net_.call(origin, [&](Engine& engine, Millis now) {
      engine.get(as_bytes(values_[index].key), now, [this, index, origin, op, retry](const GetResult& r) {
        auto& s = report_.values;
        reads_in_flight_.erase(op);
        if (info_[origin].leaving) {
          abandon_read(origin, index, retry);
          return;
        }
        ++interval_.reads;
        bool good = false;
        if (!r.ok) {
          ++s.reads_failed;
          note_error("get from " + Network::address_of(origin) + ": " + r.error);
        } else if (!r.found) {
          ++s.reads_missing;
          note_error("get from " + Network::address_of(origin) + " of " + values_[index].key + ": " + r.error);
        } else if (r.value != values_[index].bytes) {
          ++s.reads_wrong;
          note_error("get from " + Network::address_of(origin) + " of " + values_[index].key + ": wrong bytes");
        } else {
          ++s.reads_ok;
          ++interval_.reads_ok;
          good = true;
        }
        s.read_latency_ms.add(static_cast<double>(r.elapsed));
        probe_result(good);
      });
    });
  }

  void abandon_read(NodeIndex origin, std::size_t index, bool retry) {
    ++report_.values.reads_abandoned;
    if (!retry) return;
    net_.at(now() + 100, [this, origin, index] {
      NodeIndex other = pick_ready();
      if (other == origin) other = pick_ready();
      read(other, index, false);
    });
  }

  std::vector<std::size_t> written_values() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (values_[i].written) out.push_back(i);
    }
    return out;
  }

  // Lookups from random ready nodes at `rate` per second during [from, until).
  void lookups_between(Millis from, Millis until, double rate, LookupStats* stats, bool per_group = false) {
    if (rate <= 0) return;
    auto every = std::max<Millis>(1, static_cast<Millis>(1000.0 / rate));
    for (Millis t = from; t < until; t += every) {
      net_.at(t, [this, stats, per_group] {
        int group = per_group ? static_cast<int>(rng_.uniform(2)) : -1;
        NodeIndex origin = pick_ready(false, group);
        if (origin == kNone) return;
        lookup(origin, random_id(rng_), stats, per_group ? group_of(origin) : -1);
      });
    }
  }

  // Reads every written value once from random ready nodes, spread over `span`.
  void read_all_between(Millis from, Millis span) {
    net_.at(from, [this, span] {
      auto written = written_values();
      if (written.empty()) return;
      Millis step = std::max<Millis>(1, span / static_cast<Millis>(written.size()));
      Millis t = now();
      for (std::size_t index : written) {
        net_.at(t, [this, index] { read(pick_ready(), index); });
        t += step;
      }
    });
  }

  // ---- Churn ----

  void start_churn(Millis mean_lifetime) {
    churn_on_ = true;
    churn_lifetime_ = mean_lifetime;
    for (NodeIndex n : std::vector<NodeIndex>(live_)) {
      if (info_[n].churnable) schedule_departure(n);
    }
  }
  void stop_churn() { churn_on_ = false; }

  void schedule_departure(NodeIndex n) {
    std::uint32_t incarnation = net_.incarnation(n);
    net_.at(now() + exponential(rng_, churn_lifetime_), [this, n, incarnation] {
      if (!churn_on_ || !net_.is_up(n) || net_.incarnation(n) != incarnation) return;
      bool crash = uniform01(rng_) < cfg_.crash_share;
      bool fresh = uniform01(rng_) < cfg_.fresh_identity_share;
      take_down(n, crash);
      ++report_.departures;
      net_.at(now() + exponential(rng_, cfg_.mean_downtime), [this, n, fresh] {
        if (net_.is_up(n)) return;
        if (fresh) net_.renew_identity(n);
        start(n);
      });
    });
  }

  // ---- Partitions ----

  int group_of(NodeIndex n) const { return groups_.empty() ? 0 : groups_[n]; }

  // Splits the nodes into two halves: bootstrap and genesis on side 0, bridges
  // alternate, everyone else by coin flip.
  void split() {
    groups_.assign(net_.node_count(), 0);
    for (NodeIndex n = 0; n < net_.node_count(); ++n) groups_[n] = static_cast<std::uint8_t>(rng_.uniform(2));
    if (bootstrap_ != kNone) groups_[bootstrap_] = 0;
    if (genesis_ != kNone) groups_[genesis_] = 0;
    for (std::size_t i = 0; i < bridges_.size(); ++i) groups_[bridges_[i]] = static_cast<std::uint8_t>(i % 2);
    net_.set_groups(groups_);
  }
  void heal() {
    groups_.clear();
    net_.heal();
  }

  // ---- Recovery probes (partition scenario) ----

  void set_probing(bool on) { probing_ = on; }
  struct Probe {
    Millis at;
    bool ok;
  };
  const std::vector<Probe>& probes() const { return probes_; }

  // ---- Sampling and final figures ----

  void sample_every(Millis interval, Millis until) {
    for (Millis t = interval; t <= until; t += interval) net_.at(t, [this] { sample(); });
  }

  void sample() {
    SeriesRow row;
    row.t = now();
    row.live = live_.size();
    row.members = members_.size();
    std::size_t checked = 0, good = 0;
    bool all = live_.size() <= 200;
    std::size_t count = all ? live_.size() : 200;
    for (std::size_t i = 0; i < count; ++i) {
      NodeIndex n = all ? live_[i] : live_[rng_.uniform(live_.size())];
      if (n == bootstrap_) continue;
      ++checked;
      good += healthy(n) ? 1 : 0;
    }
    row.healthy_share = checked ? static_cast<double>(good) / static_cast<double>(checked) : -1;
    row.lookups = interval_.lookups;
    row.lookups_exact = interval_.lookups_exact;
    row.hops_p50 = interval_.hops.percentile(50);
    row.latency_p50 = interval_.latency.percentile(50);
    row.reads = interval_.reads;
    row.reads_ok = interval_.reads_ok;
    row.frames = net_.stats().frames_sent - interval_.frames_at_start;
    row.open_links = net_.stats().open_links;
    if (cfg_.progress) {
      std::cerr << "yz-sim: t=" << row.t / 1000 << " s live=" << row.live << " members=" << row.members
                << " lookups=" << row.lookups << " reads=" << row.reads << " frames=" << row.frames
                << " links=" << row.open_links << " events=" << net_.stats().events << std::endl;
    }
    report_.series.push_back(std::move(row));
    interval_ = Interval{};
    interval_.frames_at_start = net_.stats().frames_sent;
  }

  // Frames sent per live node per minute over [from, to]; by type from engine metrics.
  struct TrafficMark {
    Millis at = 0;
    std::uint64_t frames = 0;
    std::vector<std::uint64_t> by_type;
  };
  TrafficMark mark_traffic() const {
    TrafficMark mark;
    mark.at = now();
    mark.frames = net_.stats().frames_sent;
    mark.by_type.assign(kMessageTypeCount + 1, 0);
    for (NodeIndex n : live_) {
      const auto& out = net_.engine(n)->metrics().out;
      for (std::size_t i = 0; i < out.size(); ++i) mark.by_type[i] += out[i].messages;
    }
    return mark;
  }
  double per_node_minute(const TrafficMark& from, const TrafficMark& to) const {
    double minutes = static_cast<double>(to.at - from.at) / 60'000.0;
    auto nodes = static_cast<double>(live_.size() - (bootstrap_ != kNone && net_.is_up(bootstrap_) ? 1 : 0));
    if (minutes <= 0 || nodes <= 0) return -1;
    return static_cast<double>(to.frames - from.frames) / nodes / minutes;
  }
  std::vector<std::pair<std::string, double>> by_type(const TrafficMark& from, const TrafficMark& to) const {
    double minutes = static_cast<double>(to.at - from.at) / 60'000.0;
    auto nodes = static_cast<double>(live_.size() - (bootstrap_ != kNone && net_.is_up(bootstrap_) ? 1 : 0));
    std::vector<std::pair<std::string, double>> out;
    if (minutes <= 0 || nodes <= 0) return out;
    for (std::size_t i = 0; i < kMessageTypeCount; ++i) {
      if (to.by_type[i] <= from.by_type[i]) continue;
      out.emplace_back(std::string(message_type_name(message_type_at(i))),
                       static_cast<double>(to.by_type[i] - from.by_type[i]) / nodes / minutes);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
  }

  // Health and routing figures over the live nodes, plus network totals.
  void finish() {
    auto& r = report_;
    r.nodes = net_.node_count();
    r.simulated_ms = now();
    r.live = 0;
    r.live_members = members_.size();
    r.healthy = 0;
    std::vector<std::size_t> sizes;
    for (NodeIndex n : live_) {
      if (n == bootstrap_) continue;
      ++r.live;
      Status st = net_.engine(n)->status(now());
      if (st.healthy) {
        ++r.healthy;
      } else if (r.unhealthy_reasons.size() < kMaxErrorSamples) {
        std::size_t backoff = 0;
        auto entries = net_.engine(n)->routing_entries();
        for (const auto& e : entries) backoff += e.retry_after > now() ? 1 : 0;
        std::size_t not_ready = 0;
        for (const auto& l : st.link_list) not_ready += l.ready ? 0 : 1;
        r.unhealthy_reasons.push_back(Network::address_of(n) + " (" + std::string(role_name(st.role)) +
                                      "): " + first_reason(st) + " [routing table " +
                                      std::to_string(entries.size()) + ", " + std::to_string(backoff) +
                                      " in failure backoff; links: " + std::to_string(st.links) + " kept, " +
                                      std::to_string(st.query_links) + " other ready, " +
                                      std::to_string(not_ready) + " not ready]");
      }
      if (info_[n].member) sizes.push_back(st.routing_table_size);
    }
    for (NodeIndex n : live_) add_engine_totals(net_.engine(n)->metrics());
    if (!sizes.empty()) {
      std::sort(sizes.begin(), sizes.end());
      r.routing_min = sizes.front();
      r.routing_median = static_cast<double>(sizes[sizes.size() / 2]);
    }
    for (LookupStats* l : {&r.lookups, &r.lookups_during_partition}) l->abandoned = l->issued - l->completed();
    r.values.puts_abandoned = r.values.puts_issued - r.values.puts_ok - r.values.puts_failed;
    r.net = net_.stats();
    r.trace_hash = net_.trace_hash();
    r.crypto_ahead = net_.crypto_ahead_stats();
    r.error_samples = errors_;
  }

  void add_engine_totals(const Metrics& m) {
    auto& t = report_.engines;
    t.requests_timed_out += m.requests_timed_out;
    t.late_replies += m.late_replies;
    t.handshakes_ok += m.handshakes_ok;
    t.handshakes_failed += m.handshakes_failed;
    t.dials_failed += m.dials_failed;
    t.request_dials += m.routed.via_dial;
    t.lookups_ok += m.lookups_ok;
    t.lookups_failed += m.lookups_failed;
  }

  void note_error(std::string text) {
    if (errors_.size() < kMaxErrorSamples) errors_.push_back(std::move(text));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  struct Info {
    bool member = false;
    bool churnable = false;
    bool leaving = false;
    std::size_t live_pos = 0;
    std::size_t member_pos = 0;
    NodeId id;
  };
  struct Value {
    std::string key;
    Bytes bytes;
    bool written;
  };
  struct PendingRead {
    NodeIndex origin;
    std::size_t index;
    bool retry;
  };
  struct Interval {
    std::uint64_t lookups = 0, lookups_exact = 0, reads = 0, reads_ok = 0;
    Distribution hops, latency;
    std::uint64_t frames_at_start = 0;
  };

  void remove_from(std::vector<NodeIndex>& list, NodeIndex n, std::size_t Info::*pos) {
    std::size_t at = info_[n].*pos;
    NodeIndex last = list.back();
    list[at] = last;
    info_[last].*pos = at;
    list.pop_back();
  }

  void probe_result(bool ok) {
    if (probing_) probes_.push_back(Probe{now(), ok});
  }

  const ScenarioConfig& cfg_;
  Network net_;
  Random& rng_;
  ScenarioReport report_;
  std::vector<Info> info_;
  std::vector<NodeIndex> live_;
  std::vector<NodeIndex> members_;
  NodeIndex bootstrap_ = kNone;
  NodeIndex genesis_ = kNone;
  std::vector<NodeIndex> bridges_;
  std::vector<Value> values_;
  std::map<std::uint64_t, PendingRead> reads_in_flight_;  // ordered: deterministic retries
  std::uint64_t next_read_ = 1;
  std::vector<std::uint8_t> groups_;
  bool churn_on_ = false;
  Millis churn_lifetime_ = 60'000;
  bool probing_ = false;
  std::vector<Probe> probes_;
  Interval interval_;
  std::vector<std::string> errors_;
};

Millis churn_lifetime(const ScenarioConfig& cfg) {
  if (cfg.mean_lifetime > 0) return cfg.mean_lifetime;
  if (cfg.churn_per_minute <= 0) return 0;
  return static_cast<Millis>(60'000.0 / cfg.churn_per_minute);
}

void validate(const ScenarioConfig& cfg, std::size_t minimum) {
  if (cfg.nodes < minimum) {
    throw std::invalid_argument("scenario " + cfg.scenario + " needs at least " + std::to_string(minimum) + " nodes");
  }
  if (cfg.join_interval < 0 || cfg.settle < 0 || cfg.duration <= 0) {
    throw std::invalid_argument("durations must be positive");
  }
}

std::size_t bridge_count(const ScenarioConfig& cfg) {
  // Infrastructure (bootstrap, genesis, bridges) takes at most a third of a small network.
  return std::min(cfg.bridges, cfg.nodes >= 6 ? (cfg.nodes - 2) / 3 : 0);
}

// Bootstrap, genesis and bridges, then every other node joining as a DHT member
// one by one; returns the time the last one joined.
Millis join_dht_network(World& w, const ScenarioConfig& cfg) {
  std::size_t bridges = bridge_count(cfg);
  w.add_infrastructure(bridges);
  return w.add_joiners(cfg.nodes - 2 - bridges, Role::dht, 2000, false);
}

// ---- Scenario 1: join at scale ------------------------------------------------

ScenarioReport run_join(const ScenarioConfig& cfg) {
  validate(cfg, 3);
  World w(cfg);
  Millis join_end = join_dht_network(w, cfg);
  Millis idle_from = join_end + cfg.settle;
  Millis end = idle_from + cfg.duration;
  w.sample_every(cfg.sample_interval, end);
  // First time every node is healthy, checked every 5 s from the last join.
  auto check = std::make_shared<std::function<void()>>();
  *check = [&w, check, end] {
    if (w.all_healthy()) {
      w.report().all_healthy_at = w.now();
      return;
    }
    if (w.now() + 5000 <= end) w.net().at(w.now() + 5000, *check);
  };
  w.net().at(join_end, *check);
  w.net().run_until(idle_from);
  auto from = w.mark_traffic();
  w.net().run_until(end);
  auto to = w.mark_traffic();
  w.report().messages_per_node_minute_idle = w.per_node_minute(from, to);
  w.report().idle_by_type = w.by_type(from, to);
  *check = nullptr;
  w.finish();
  return w.report();
}

// ---- Scenario 2: lookup efficiency -----------------------------------------------

ScenarioReport run_lookup(const ScenarioConfig& cfg) {
  validate(cfg, 3);
  World w(cfg);
  Millis join_end = join_dht_network(w, cfg);
  Millis from = join_end + cfg.settle;
  double rate = cfg.lookups_per_second > 0 ? cfg.lookups_per_second : 10;
  Millis span = static_cast<Millis>(static_cast<double>(cfg.lookups) * 1000.0 / rate);
  w.lookups_between(from, from + span, rate, &w.report().lookups);
  Millis end = from + span + 3 * cfg.engine.request_timeout + 5000;
  w.sample_every(cfg.sample_interval, end);
  w.net().run_until(from);
  auto mark = w.mark_traffic();
  w.net().run_until(end);
  w.report().messages_per_node_minute_load = w.per_node_minute(mark, w.mark_traffic());
  w.finish();
  return w.report();
}

// ---- Scenario 3: churn with persistence nodes ----------------------------------------

ScenarioReport run_churn(const ScenarioConfig& cfg) {
  validate(cfg, 8);
  Millis lifetime = churn_lifetime(cfg);
  if (lifetime <= 0) throw std::invalid_argument("churn scenario needs --churn (a rate or a mean lifetime)");
  World w(cfg);
  std::size_t servers = cfg.servers ? cfg.servers : std::max<std::size_t>(20, cfg.nodes / 10);
  servers = std::min(servers, cfg.nodes - 1);
  std::size_t bridges = std::min(bridge_count(cfg), servers > 1 ? servers - 1 : 0);
  w.add_infrastructure(bridges);
  Millis t = w.add_joiners(servers - 1 - bridges, Role::dht, 2000, false);
  Millis join_end = w.add_joiners(cfg.nodes - 1 - servers, cfg.churn_role, t + cfg.join_interval, true);
  // Every node writes one value.
  Millis puts_from = join_end + cfg.settle;
  Millis puts_span = 20'000;
  w.net().at(puts_from, [&w, puts_span] {
    std::vector<NodeIndex> writers(w.live());
    std::sort(writers.begin(), writers.end());
    Millis step = std::max<Millis>(1, puts_span / static_cast<Millis>(std::max<std::size_t>(1, writers.size())));
    Millis at = w.now();
    for (NodeIndex n : writers) {
      if (n == w.bootstrap()) continue;
      std::size_t index = w.new_value();
      w.net().at(at, [&w, n, index] { w.put(n, index); });
      at += step;
    }
  });
  Millis churn_from = puts_from + puts_span + 3 * cfg.engine.request_timeout + 5000;
  w.net().at(churn_from, [&w, lifetime] { w.start_churn(lifetime); });
  Millis reads_from = churn_from + cfg.lifetimes * lifetime;
  Millis reads_span = 30'000;
  w.read_all_between(reads_from, reads_span);
  Millis end = reads_from + reads_span + 4 * cfg.engine.request_timeout + 5000;
  w.sample_every(cfg.sample_interval, end);
  w.net().run_until(churn_from);
  auto mark = w.mark_traffic();
  w.net().run_until(end);
  w.report().messages_per_node_minute_load = w.per_node_minute(mark, w.mark_traffic());
  w.stop_churn();
  w.finish();
  return w.report();
}

// ---- Scenario 4: partition and heal ----------------------------------------------------

ScenarioReport run_partition(const ScenarioConfig& cfg) {
  validate(cfg, 8);
  World w(cfg);
  Millis join_end = join_dht_network(w, cfg);
  Millis puts_from = join_end + cfg.settle;
  Millis puts_span = 20'000;
  std::size_t puts = std::max<std::size_t>(1, cfg.puts);
  for (std::size_t i = 0; i < puts; ++i) {
    w.net().at(puts_from + static_cast<Millis>(i) * puts_span / static_cast<Millis>(puts), [&w] {
      w.put(w.pick_ready(), w.new_value());
    });
  }
  Millis split_at = puts_from + puts_span + 3 * cfg.engine.request_timeout + 5000;
  Millis heal_at = split_at + cfg.partition_duration;
  Millis probe_span = cfg.duration;
  Millis end = heal_at + probe_span + 3 * cfg.engine.request_timeout + 5000;
  w.net().at(split_at, [&w] { w.split(); });
  w.lookups_between(split_at + 1000, heal_at, cfg.lookups_per_second, &w.report().lookups_during_partition, true);
  w.net().at(heal_at, [&w] {
    w.heal();
    w.set_probing(true);
  });
  // After the heal: every second, two lookups and two reads from random nodes.
  for (Millis t = heal_at; t < heal_at + probe_span; t += 1000) {
    w.net().at(t, [&w] {
      for (int i = 0; i < 2; ++i) w.lookup(w.pick_ready(), random_id(w.rng()), &w.report().lookups);
      auto written = w.written_values();
      for (int i = 0; i < 2 && !written.empty(); ++i) w.read(w.pick_ready(), written[w.rng().uniform(written.size())]);
    });
  }
  w.sample_every(cfg.sample_interval, end);
  w.net().run_until(end);
  // Recovery: the first second after the heal from which 30 s of probes all
  // succeeded; failures after that point are counted separately.
  auto& r = w.report();
  constexpr Millis kClean = 30'000;
  for (Millis t = heal_at; t + kClean <= heal_at + probe_span; t += 1000) {
    std::size_t seen = 0;
    bool clean = true;
    for (const auto& p : w.probes()) {
      if (p.at < t || p.at >= t + kClean) continue;
      ++seen;
      clean = clean && p.ok;
    }
    if (seen > 0 && clean) {
      r.recovery_after_heal = t - heal_at;
      break;
    }
  }
  if (r.recovery_after_heal >= 0) {
    for (const auto& p : w.probes()) {
      if (p.at < heal_at + r.recovery_after_heal) continue;
      ++r.probes_after_recovery;
      r.probe_failures_after_recovery += p.ok ? 0 : 1;
    }
  }
  w.finish();
  return r;
}

// ---- Scenario 5: sparse and empty networks ------------------------------------------------

// A network of `members` DHT nodes (genesis included) and a bootstrap server:
// everyone writes a value, reads everyone's, and looks up random ids.
SparseCase sparse_small(const ScenarioConfig& base, std::size_t members, std::uint64_t& combined,
                        Millis& simulated) {
  ScenarioConfig cfg = base;
  cfg.seed = base.seed * 31 + members;
  World w(cfg);
  w.add_infrastructure(0);
  w.add_joiners(members - 1, Role::dht, 1000, false);
  Millis settle = std::max<Millis>(60'000, cfg.settle);
  w.net().run_until(settle);
  auto ids = std::vector<NodeIndex>(w.members());
  std::sort(ids.begin(), ids.end());
  std::vector<std::size_t> values;
  for (NodeIndex n : ids) {
    std::size_t index = w.new_value();
    values.push_back(index);
    w.put(n, index);
  }
  w.net().run_for(10'000);
  LookupStats& lookups = w.report().lookups;
  for (NodeIndex n : ids) {
    for (std::size_t index : values) w.read(n, index);
    for (int i = 0; i < 3; ++i) w.lookup(n, random_id(w.rng()), &lookups);
  }
  w.net().run_for(15'000);
  w.finish();
  SparseCase c;
  c.name = std::to_string(members) + (members == 1 ? " node" : " nodes");
  c.nodes = w.report().live_members;
  c.healthy = w.report().healthy;
  c.unhealthy_reasons = w.report().unhealthy_reasons;
  c.lookups = lookups.issued;
  c.lookups_exact = lookups.exact;
  c.puts = w.report().values.puts_issued;
  c.puts_ok = w.report().values.puts_ok;
  c.reads = w.report().values.reads_issued;
  c.reads_ok = w.report().values.reads_ok;
  combined = combined * Trace::kPrime ^ w.report().trace_hash;
  simulated += w.now();
  return c;
}

// Ten nodes join, then everyone but the genesis node goes; newcomers must join.
// With `bootstrap_gone` the bootstrap server dies too and newcomers know only
// the genesis address (the emergency bootstrap hook).
SparseCase sparse_genesis_only(const ScenarioConfig& base, bool bootstrap_gone, std::uint64_t& combined,
                               Millis& simulated) {
  ScenarioConfig cfg = base;
  cfg.seed = base.seed * 37 + (bootstrap_gone ? 2 : 1);
  if (bootstrap_gone) cfg.emergency_seeds = true;
  World w(cfg);
  w.add_infrastructure(0);
  w.add_joiners(10, Role::dht, 1000, false);
  w.net().run_until(60'000);
  auto first = std::vector<NodeIndex>(w.members());
  std::sort(first.begin(), first.end());
  int i = 0;
  for (NodeIndex n : first) {
    if (n != w.genesis()) w.take_down(n, (i++ % 2) == 0);
  }
  if (bootstrap_gone) w.take_down(w.bootstrap(), true);
  w.net().run_for(90'000);
  std::vector<NodeIndex> newcomers;
  Millis t = w.now() + 1000;
  for (int j = 0; j < 5; ++j) {
    NodeIndex n = w.add(Role::dht, w.newcomer_seeds());
    newcomers.push_back(n);
    w.start_at(n, t);
    t += 1000;
  }
  w.net().run_until(t + 60'000);
  std::size_t index = w.new_value();
  w.put(newcomers.front(), index);
  w.net().run_for(10'000);
  LookupStats& lookups = w.report().lookups;
  for (NodeIndex n : w.members()) {
    w.read(n, index);
    for (int j = 0; j < 3; ++j) w.lookup(n, random_id(w.rng()), &lookups);
  }
  w.net().run_for(15'000);
  w.finish();
  SparseCase c;
  c.name = bootstrap_gone ? "genesis only, bootstrap gone (emergency seeds)" : "genesis only, then 5 newcomers";
  c.nodes = w.report().live_members;
  c.healthy = w.report().healthy;
  c.unhealthy_reasons = w.report().unhealthy_reasons;
  c.lookups = lookups.issued;
  c.lookups_exact = lookups.exact;
  c.puts = w.report().values.puts_issued;
  c.puts_ok = w.report().values.puts_ok;
  c.reads = w.report().values.reads_issued;
  c.reads_ok = w.report().values.reads_ok;
  combined = combined * Trace::kPrime ^ w.report().trace_hash;
  simulated += w.now();
  return c;
}

ScenarioReport run_sparse(const ScenarioConfig& cfg) {
  ScenarioReport r;
  r.scenario = cfg.scenario;
  r.seed = cfg.seed;
  std::uint64_t combined = Trace::kOffset;
  Millis simulated = 0;
  for (std::size_t members : {1, 2, 3}) r.sparse.push_back(sparse_small(cfg, members, combined, simulated));
  r.sparse.push_back(sparse_genesis_only(cfg, false, combined, simulated));
  r.sparse.push_back(sparse_genesis_only(cfg, true, combined, simulated));
  r.simulated_ms = simulated;
  r.trace_hash = combined;
  for (const auto& c : r.sparse) {
    r.nodes += c.nodes;
    r.live += c.nodes;
    r.healthy += c.healthy;
  }
  return r;
}

// ---- The default mix ----------------------------------------------------------------------

ScenarioReport run_mix(const ScenarioConfig& cfg) {
  validate(cfg, 8);
  World w(cfg);
  std::size_t bridges = bridge_count(cfg);
  w.add_infrastructure(bridges);
  std::size_t others = cfg.nodes - 2 - bridges;
  auto clients = static_cast<std::size_t>(static_cast<double>(others) * std::clamp(cfg.client_share, 0.0, 1.0));
  Millis t = w.add_joiners(others - clients, Role::dht, 2000, true);
  Millis join_end = clients ? w.add_joiners(clients, Role::client, t + cfg.join_interval, true) : t;
  Millis work_from = join_end + cfg.settle;
  Millis end = std::max(cfg.duration, work_from + 90'000);
  Millis reads_from = std::max(work_from + 50'000, end - 40'000);
  // Writes first, then lookups and churn until the reads, then the reads.
  std::size_t puts = cfg.puts;
  for (std::size_t i = 0; i < puts; ++i) {
    w.net().at(work_from + static_cast<Millis>(i) * 30'000 / static_cast<Millis>(puts), [&w] {
      w.put(w.pick_ready(), w.new_value());
    });
  }
  Millis lifetime = churn_lifetime(cfg);
  if (lifetime > 0) w.net().at(work_from + 30'000, [&w, lifetime] { w.start_churn(lifetime); });
  w.lookups_between(work_from, reads_from, cfg.lookups_per_second, &w.report().lookups);
  w.read_all_between(reads_from, 20'000);
  w.sample_every(cfg.sample_interval, end);
  w.net().run_until(join_end + cfg.settle / 2);
  auto idle_from = w.mark_traffic();
  w.net().run_until(work_from);
  auto idle_to = w.mark_traffic();
  w.report().messages_per_node_minute_idle = w.per_node_minute(idle_from, idle_to);
  w.report().idle_by_type = w.by_type(idle_from, idle_to);
  w.net().run_until(end);
  w.report().messages_per_node_minute_load = w.per_node_minute(idle_to, w.mark_traffic());
  w.stop_churn();
  w.finish();
  return w.report();
}

}  // namespace

ScenarioReport run_scenario(const ScenarioConfig& cfg) {
  if (cfg.scenario == "join") return run_join(cfg);
  if (cfg.scenario == "lookup") return run_lookup(cfg);
  if (cfg.scenario == "churn") return run_churn(cfg);
  if (cfg.scenario == "partition") return run_partition(cfg);
  if (cfg.scenario == "sparse") return run_sparse(cfg);
  if (cfg.scenario == "mix") return run_mix(cfg);
  throw std::invalid_argument("unknown scenario '" + cfg.scenario +
                              "' (expected join, lookup, churn, partition, sparse or mix)");
}

}  // namespace yz::sim
