// Scenarios on the simulated network: join at scale, lookup efficiency, churn
// with persistence nodes, partition and heal, sparse/empty networks, and the
// default mix. Each builds a network of real engines from a ScenarioConfig,
// drives a workload, checks results against ground truth (the true k closest
// live nodes, the values written) and returns a ScenarioReport. Used by
// yz-sim, bench_sim and tests/sim. Guide: docs/simulator.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/engine.hpp"
#include "sim/network.hpp"
#include "sim/stats.hpp"

namespace yz::sim {

struct ScenarioConfig {
  std::string scenario = "mix";  // join | lookup | churn | partition | sparse | mix
  std::uint64_t seed = 7;
  std::size_t nodes = 1000;      // every node, bootstrap server included
  std::size_t bridges = 4;       // bridge nodes between the bootstrap server and the DHT
  Millis duration = 10 * 60'000; // simulated time (mix: whole run; others: workload phase)
  Millis join_interval = 10;     // between two node starts while joining
  Millis settle = 30'000;        // quiet time after the last join before the workload

  NetworkConfig net;             // latency, loss, crash behaviour (net.seed is set from seed)
  EngineConfig engine;           // template for every node (role, seeds, addresses are set per node)

  // Churn: a departing node crashes (crash_share) or leaves; it comes back after
  // an exponential downtime with no memory, with a fresh identity
  // (fresh_identity_share) or its old one.
  double churn_per_minute = 0.1;  // share of churnable nodes leaving per minute
  Millis mean_lifetime = 0;       // overrides churn_per_minute when > 0
  Millis mean_downtime = 10'000;
  double crash_share = 0.5;
  double fresh_identity_share = 0.5;
  double client_share = 0.2;      // mix: share of nodes that are clients (the rest are DHT servers)
  std::size_t servers = 0;        // churn scenario: fixed server nodes (0 = a tenth of the nodes, at least 20)
  Role churn_role = Role::client; // churn scenario: role of the churning nodes (client or dht)
  int lifetimes = 4;              // churn scenario: mean lifetimes of churn before the reads

  // Workload.
  double lookups_per_second = 10;
  std::size_t lookups = 1000;     // lookup scenario: number of lookups
  std::size_t puts = 200;         // mix and partition: values written
  Millis partition_duration = 120'000;

  // Newcomers' seeds: the bootstrap server plus one bridge; with emergency_seeds
  // also the genesis address (the hook for emergency bootstrap mode).
  bool emergency_seeds = false;

  Millis sample_interval = 10'000;  // time-series rows (CSV)
  bool verbose = false;             // engine warnings to stderr
  bool progress = false;            // one line per sample interval to stderr
  long long log_node = -1;          // every log line of this node to stderr (-1: none)
};

struct LookupStats {
  std::uint64_t issued = 0;
  std::uint64_t ok = 0;          // the engine reported success
  std::uint64_t exact = 0;       // ok, and the nearest result is the true nearest live node
  std::uint64_t failed = 0;
  std::uint64_t abandoned = 0;   // the asking node went down before the answer
  double recall_sum = 0;         // share of the true k closest found, summed over ok lookups
  Distribution hops;
  Distribution requests;  // requests one lookup sent (the queried nodes, failures included)
  Distribution latency_ms;
  std::uint64_t completed() const { return ok + failed; }
  double recall() const { return ok ? recall_sum / static_cast<double>(ok) : 0; }
};

struct ValueStats {
  std::uint64_t puts_issued = 0;
  std::uint64_t puts_ok = 0;
  std::uint64_t puts_failed = 0;
  std::uint64_t puts_abandoned = 0;  // the writing node went down before the answer
  Distribution replicas_acked;
  std::uint64_t reads_issued = 0;
  std::uint64_t reads_ok = 0;        // found, with the written bytes
  std::uint64_t reads_wrong = 0;     // found other bytes
  std::uint64_t reads_missing = 0;   // lookup finished, value not found
  std::uint64_t reads_failed = 0;    // lookup failed
  std::uint64_t reads_abandoned = 0; // the reading node went down before the answer (retried once elsewhere)
  Distribution read_latency_ms;
  std::uint64_t reads_completed() const { return reads_ok + reads_wrong + reads_missing + reads_failed; }
};

struct SeriesRow {
  Millis t = 0;
  std::size_t live = 0;
  std::size_t members = 0;
  double healthy_share = -1;       // of a sample of live nodes; -1 when not sampled
  std::uint64_t lookups = 0;       // completed in the interval
  std::uint64_t lookups_exact = 0;
  double hops_p50 = 0;
  double latency_p50 = 0;
  std::uint64_t reads = 0;
  std::uint64_t reads_ok = 0;
  std::uint64_t frames = 0;        // sent in the interval
  std::size_t open_links = 0;
};

struct SparseCase {
  std::string name;
  std::size_t nodes = 0;           // DHT members up at the check
  std::size_t healthy = 0;
  std::uint64_t lookups = 0, lookups_exact = 0;
  std::uint64_t puts = 0, puts_ok = 0;
  std::uint64_t reads = 0, reads_ok = 0;
  std::vector<std::string> unhealthy_reasons;  // first reason of each unhealthy node
};

// Engine counters summed over every engine of the run (at departure and at the end).
struct EngineTotals {
  std::uint64_t requests_timed_out = 0;
  std::uint64_t late_replies = 0;
  std::uint64_t handshakes_ok = 0;
  std::uint64_t handshakes_failed = 0;
  std::uint64_t dials_failed = 0;
  std::uint64_t request_dials = 0;   // links dialled to send a request (Metrics::routed.via_dial)
  std::uint64_t lookups_ok = 0;      // as the engines count them (Metrics::lookups_ok)
  std::uint64_t lookups_failed = 0;
};

struct ScenarioReport {
  std::string scenario;
  std::uint64_t seed = 0;
  std::size_t nodes = 0;
  Millis simulated_ms = 0;

  // Health at the end: live nodes other than the bootstrap server.
  std::size_t live = 0;
  std::size_t live_members = 0;
  std::size_t healthy = 0;
  std::size_t routing_min = 0;      // routing-table size over live members
  double routing_median = 0;
  Millis all_healthy_at = -1;       // join: first time every node was healthy (-1: never)
  Distribution time_to_healthy_ms;  // per started node
  std::vector<std::string> unhealthy_reasons;  // a few, for diagnosis
  std::vector<std::string> error_samples;      // first failed operations, for diagnosis

  LookupStats lookups;
  ValueStats values;
  LookupStats lookups_during_partition;  // partition: within each side, vs that side's truth
  Millis recovery_after_heal = -1;       // partition: 30 s of lookups and reads all succeed from here (-1: never)
  std::uint64_t probes_after_recovery = 0;
  std::uint64_t probe_failures_after_recovery = 0;
  std::vector<SparseCase> sparse;

  // Traffic: frames sent per live node per minute.
  double messages_per_node_minute_idle = -1;  // no workload, no churn
  double messages_per_node_minute_load = -1;  // during the workload phase
  std::vector<std::pair<std::string, double>> idle_by_type;  // per node per minute, by message type
  std::uint64_t departures = 0;
  std::uint64_t arrivals = 0;

  NetworkStats net;
  EngineTotals engines;
  std::uint64_t trace_hash = 0;
  std::vector<SeriesRow> series;
  // Depends on thread timing: shown on stderr, never in the table.
  CryptoAhead::Stats crypto_ahead;
};

// Runs cfg.scenario; throws std::invalid_argument for an unknown name or bad sizes.
ScenarioReport run_scenario(const ScenarioConfig& cfg);

// Summary table (deterministic: no wall-clock figures).
void print_report(std::ostream& out, const ScenarioReport& report);
// Time series as CSV (header + one row per sample interval).
void write_csv(std::ostream& out, const ScenarioReport& report);

}  // namespace yz::sim
