// yz-sim: runs a simulator scenario (thousands of real engines on a simulated
// network) and prints its summary table; flags -> ScenarioConfig. The table on
// stdout depends only on the flags and the seed; wall time and memory go to
// stderr. Guide: docs/simulator.md.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "sim/scenario.hpp"

namespace {

double parse_number(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) throw std::invalid_argument(what + ": '" + text + "' is not a number");
  return value;
}

// "20-150" -> min, max (milliseconds); "80" -> fixed.
void parse_latency(const std::string& text, yz::sim::NetworkConfig& net) {
  auto dash = text.find('-');
  std::string lo = dash == std::string::npos ? text : text.substr(0, dash);
  std::string hi = dash == std::string::npos ? text : text.substr(dash + 1);
  net.latency_min = static_cast<yz::Millis>(parse_number(lo, "--latency"));
  net.latency_max = static_cast<yz::Millis>(parse_number(hi, "--latency"));
  if (net.latency_min < 0 || net.latency_max < net.latency_min) {
    throw std::invalid_argument("--latency: expected MIN-MAX milliseconds with 0 <= MIN <= MAX");
  }
}

// "0.1" or "10%" -> share leaving per minute; "5s", "15s", "2m" -> mean lifetime; "0" -> none.
void parse_churn(const std::string& text, yz::sim::ScenarioConfig& cfg) {
  if (text.empty()) throw std::invalid_argument("--churn: empty");
  char unit = text.back();
  if (unit == 's' || unit == 'm') {
    double amount = parse_number(text.substr(0, text.size() - 1), "--churn");
    if (amount <= 0) throw std::invalid_argument("--churn: a mean lifetime must be positive");
    cfg.mean_lifetime = static_cast<yz::Millis>(amount * (unit == 's' ? 1000.0 : 60'000.0));
    return;
  }
  double rate = unit == '%' ? parse_number(text.substr(0, text.size() - 1), "--churn") / 100.0
                            : parse_number(text, "--churn");
  if (rate < 0) throw std::invalid_argument("--churn: a rate cannot be negative");
  cfg.churn_per_minute = rate;
  cfg.mean_lifetime = 0;
}

// "LOOKUPS_PER_SECOND[,PUTS]".
void parse_workload(const std::string& text, yz::sim::ScenarioConfig& cfg) {
  auto comma = text.find(',');
  cfg.lookups_per_second = parse_number(text.substr(0, comma), "--workload");
  if (comma != std::string::npos) {
    cfg.puts = static_cast<std::size_t>(parse_number(text.substr(comma + 1), "--workload"));
  }
  if (cfg.lookups_per_second < 0) throw std::invalid_argument("--workload: lookups per second cannot be negative");
}

// "never", "reset" or milliseconds.
void parse_crash_detect(const std::string& text, yz::sim::NetworkConfig& net) {
  if (text == "never") {
    net.crash_close_delay = -1;
  } else if (text == "reset") {
    net.crash_close_delay = 0;
  } else {
    net.crash_close_delay = static_cast<yz::Millis>(parse_number(text, "--crash-detect"));
    if (net.crash_close_delay <= 0) throw std::invalid_argument("--crash-detect: never, reset or a positive delay");
  }
}

}  // namespace

int main(int argc, char** argv) {
  yz::sim::ScenarioConfig cfg;
  std::string latency = "20-150";
  std::string churn = "0.1";
  std::string workload = "10,200";
  std::string crash_detect = "never";
  std::string churn_role = "client";
  std::string csv_path;
  double duration_s = 600;
  double settle_s = 30;
  double partition_s = 120;

  CLI::App app{"yz-sim: run thousands of yz engines on a simulated network (docs/simulator.md)", "yz-sim"};
  app.add_option("--scenario", cfg.scenario, "join | lookup | churn | partition | sparse | mix")
      ->check(CLI::IsMember({"join", "lookup", "churn", "partition", "sparse", "mix"}))
      ->capture_default_str();
  app.add_option("--nodes", cfg.nodes, "nodes in the network, bootstrap server included")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--duration", duration_s, "simulated seconds (mix: whole run; others: workload or idle phase)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--latency", latency, "one-way link latency range MIN-MAX in ms, fixed per node pair")
      ->capture_default_str();
  app.add_option("--loss", cfg.net.loss, "per-frame loss probability (costs a retransmission delay)")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  app.add_option("--link-failure", cfg.net.link_failure, "per-frame probability that the whole link breaks")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  app.add_option("--churn", churn, "share of nodes leaving per minute (0.1, 10%) or mean lifetime (5s, 15s, 2m)")
      ->capture_default_str();
  app.add_option("--downtime", cfg.mean_downtime, "mean ms a departed node stays away")->capture_default_str();
  app.add_option("--crash-share", cfg.crash_share, "share of departures that crash instead of leaving")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--fresh-identity-share", cfg.fresh_identity_share, "share of returns with a new identity")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--crash-detect", crash_detect,
                 "after a crash, peers' links: never close (keep-alive must notice), reset, or close after MS")
      ->capture_default_str();
  app.add_option("--seed", cfg.seed, "scenario seed: same seed, same output")->capture_default_str();
  app.add_option("--workload", workload, "LOOKUPS_PER_SECOND[,PUTS]")->capture_default_str();
  app.add_option("--lookups", cfg.lookups, "lookup scenario: number of lookups")->capture_default_str();
  app.add_option("--servers", cfg.servers, "churn scenario: fixed server nodes (0 = a tenth)")->capture_default_str();
  app.add_option("--churn-role", churn_role, "churn scenario: role of churning nodes")
      ->check(CLI::IsMember({"client", "dht"}))
      ->capture_default_str();
  app.add_option("--lifetimes", cfg.lifetimes, "churn scenario: mean lifetimes of churn before the reads")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--clients", cfg.client_share, "mix: share of client nodes")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--bridges", cfg.bridges, "bridge nodes")->capture_default_str();
  app.add_option("--join-interval", cfg.join_interval, "ms between two joins")->capture_default_str();
  app.add_option("--settle", settle_s, "simulated seconds between the last join and the workload")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--partition", partition_s, "partition scenario: seconds the halves stay apart")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  // Engine tuning, for experiments (defaults are the engine's own).
  app.add_option("--query-link-idle", cfg.engine.query_link_idle, "engine: ms before an idle query link closes")
      ->capture_default_str();
  app.add_option("--max-query-links", cfg.engine.max_query_links,
                 "engine: query links a node holds open beyond its kept links (0: route requests instead)")
      ->capture_default_str();
  app.add_option("--self-lookup-interval", cfg.engine.self_lookup_interval, "engine: ms between self-lookups")
      ->capture_default_str();
  app.add_option("--maintenance-interval", cfg.engine.maintenance_interval, "engine: ms between maintenance runs")
      ->capture_default_str();
  app.add_option("--keepalive-interval", cfg.engine.keepalive_interval, "engine: ms of silence before a ping")
      ->capture_default_str();
  app.add_option("--keepalive-timeout", cfg.engine.keepalive_timeout, "engine: ms of silence before a link is dead")
      ->capture_default_str();
  app.add_flag("--emergency-seeds", cfg.emergency_seeds, "newcomers also know the genesis address");
  app.add_option("--csv", csv_path, "write the time series (one row per 10 s) to this CSV file");
  app.add_flag("--verbose", cfg.verbose, "print engine warnings to stderr");
  app.add_option("--log-node", cfg.log_node, "print every log line of node N (sim://N) to stderr");
  app.add_flag("--progress", cfg.progress, "print a progress line per sample interval to stderr");

  try {
    app.parse(argc, argv);
    parse_latency(latency, cfg.net);
    parse_churn(churn, cfg);
    parse_workload(workload, cfg);
    parse_crash_detect(crash_detect, cfg.net);
    cfg.churn_role = churn_role == "dht" ? yz::Role::dht : yz::Role::client;
    cfg.duration = static_cast<yz::Millis>(duration_s * 1000.0);
    cfg.settle = static_cast<yz::Millis>(settle_s * 1000.0);
    cfg.partition_duration = static_cast<yz::Millis>(partition_s * 1000.0);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "yz-sim: " << e.what() << "\n";
    return 2;
  }

  auto started = std::chrono::steady_clock::now();
  yz::sim::ScenarioReport report;
  try {
    report = yz::sim::run_scenario(cfg);
  } catch (const std::exception& e) {
    std::cerr << "yz-sim: " << e.what() << "\n";
    return 2;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  yz::sim::print_report(std::cout, report);
  if (!csv_path.empty()) {
    std::ofstream csv(csv_path);
    if (!csv) {
      std::cerr << "yz-sim: cannot write " << csv_path << "\n";
      return 1;
    }
    yz::sim::write_csv(csv, report);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::fprintf(stderr, "yz-sim: wall time %.1f s, CPU %.1f s (both threads), peak RSS %.0f MB\n", wall,
               static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                   static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6,
               static_cast<double>(usage.ru_maxrss) / 1024.0);
  const auto& ahead = report.crypto_ahead;
  std::fprintf(stderr, "yz-sim: handshake crypto computed ahead %llu of %llu asked for (%llu hinted)\n",
               static_cast<unsigned long long>(ahead.ready), static_cast<unsigned long long>(ahead.asked),
               static_cast<unsigned long long>(ahead.hinted));
  return 0;
}
