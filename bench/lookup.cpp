// Lookup benchmark on real processes: starts loopback clusters (bootstrap,
// genesis, 2 bridges and N DHT nodes) with the launcher, runs find_node, put
// and get through the HTTP API of random nodes, and prints latency percentiles
// as measured inside the node (elapsed_ms) and end to end over HTTP, plus the
// memory of each node. It prints figures; it asserts nothing about time.
// Usage: bench_lookup [--nodes 15,100] [--ops 200] [--base-port 23000] [--value-size 100]
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/cluster.hpp"
#include "net/http_client.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Samples {
  std::string operation;
  std::vector<double> node_ms;  // elapsed_ms reported by the node
  std::vector<double> http_ms;  // measured around the HTTP request
  std::vector<double> hops;
  int failed = 0;
  std::string first_failure;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return -1;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

std::string fmt(double value, const char* unit = "", int decimals = 1) {
  if (value < 0) return "-";
  char text[48];
  std::snprintf(text, sizeof text, "%.*f%s", decimals, value, unit);
  return text;
}

// VmRSS of a process in KiB (0 when unknown).
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

std::string hex_id(std::mt19937_64& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 64; ++i) out += kHex[random() % 16];
  return out;
}

// One timed HTTP call; returns the JSON answer (null on failure) and the time taken.
json timed_call(const std::string& method, const std::string& url, const std::string& body, double& http_ms,
                std::string& error) {
  yz::net::HttpRequestOptions options;
  options.timeout = 30s;
  auto start = Clock::now();
  auto response = yz::net::http_request(method, url, body, options);
  http_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!response.answered()) {
    error = response.error;
    return nullptr;
  }
  auto j = json::parse(response.body, nullptr, false);
  if (j.is_discarded()) {
    error = url + " answered HTTP " + std::to_string(response.status) + " without JSON";
    return nullptr;
  }
  return j;
}

void record(Samples& s, const json& j, double http_ms, bool ok, const std::string& error) {
  if (!ok) {
    ++s.failed;
    if (s.first_failure.empty()) {
      s.first_failure = !error.empty() ? error : j.is_object() ? j.value("error", std::string("(no error text)")) : "";
    }
    return;
  }
  s.http_ms.push_back(http_ms);
  if (j.contains("elapsed_ms") && j["elapsed_ms"].is_number()) s.node_ms.push_back(j["elapsed_ms"].get<double>());
  if (j.contains("hops") && j["hops"].is_number()) s.hops.push_back(j["hops"].get<double>());
}

struct SizeResult {
  int dht_nodes = 0;
  std::size_t processes = 0;
  double startup_s = 0;
  std::vector<Samples> samples;
  std::vector<long> member_rss;
  long bootstrap_rss = 0;
  std::string error;
};

SizeResult run_size(int dht_nodes, int ops, std::size_t value_size, std::uint16_t base_port, const std::string& dir,
                    const std::string& bin_dir, int maintenance_ms, std::mt19937_64& random) {
  SizeResult result;
  result.dht_nodes = dht_nodes;
  yz::net::ClusterOptions options;
  options.nodes = dht_nodes;
  options.bridges = 2;
  options.base_port = base_port;
  options.dir = dir + "/n" + std::to_string(dht_nodes);
  options.bin_dir = bin_dir;
  options.maintenance_interval_ms = maintenance_ms;
  options.log_level = "warn";
  options.die_with_parent = true;
  std::string error;
  auto start = Clock::now();
  auto cluster = yz::net::Cluster::start(options, error);
  if (!cluster) {
    result.error = error;
    return result;
  }
  result.processes = cluster->nodes().size();
  auto timeout = std::chrono::seconds(60 + dht_nodes);
  auto problems = cluster->wait_healthy(timeout);
  result.startup_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!problems.empty()) {
    result.error = std::to_string(problems.size()) + " nodes not healthy after " + std::to_string(timeout.count()) +
                   " s (first: " + problems.front().name + ": " +
                   (problems.front().reasons.empty() ? "" : problems.front().reasons.front()) + "); logs in " +
                   options.dir;
    cluster->stop();
    return result;
  }
  std::vector<const yz::net::ClusterNode*> members;
  for (const auto& node : cluster->nodes()) {
    if (node.role != "bootstrap") members.push_back(&node);
  }
  auto pick = [&] { return members[random() % members.size()]; };

  Samples find{"find_node"}, put{"put"}, get{"get"};
  std::vector<std::string> keys;
  for (int i = 0; i < ops; ++i) {
    double http_ms = 0;
    std::string err;
    auto j = timed_call("GET", pick()->url + "/find-node?target=" + hex_id(random), {}, http_ms, err);
    record(find, j, http_ms, j.is_object() && j.value("ok", false), err);
  }
  std::string value(value_size, 'v');
  for (int i = 0; i < ops; ++i) {
    std::string key = "bench-" + std::to_string(dht_nodes) + "-" + std::to_string(i);
    double http_ms = 0;
    std::string err;
    auto j = timed_call("PUT", pick()->url + "/values/" + yz::net::percent_encode(key), value, http_ms, err);
    bool ok = j.is_object() && j.value("ok", false);
    record(put, j, http_ms, ok, err);
    if (ok) keys.push_back(key);
  }
  for (int i = 0; i < ops && !keys.empty(); ++i) {
    const auto& key = keys[random() % keys.size()];
    double http_ms = 0;
    std::string err;
    auto j = timed_call("GET", pick()->url + "/values/" + yz::net::percent_encode(key), {}, http_ms, err);
    record(get, j, http_ms, j.is_object() && j.value("found", false), err);
  }
  result.samples = {find, put, get};
  for (const auto& node : cluster->nodes()) {
    long rss = rss_kib(node.pid);
    if (node.role == "bootstrap") {
      result.bootstrap_rss = rss;
    } else if (rss > 0) {
      result.member_rss.push_back(rss);
    }
  }
  cluster->stop();
  std::error_code ec;
  std::filesystem::remove_all(options.dir, ec);
  return result;
}

void print_row(const std::vector<std::string>& cells, const std::vector<int>& widths) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string cell = cells[i];
    int pad = widths[i] - static_cast<int>(cell.size());
    line += (i == 0 || i == 1 ? cell + std::string(std::max(pad, 0), ' ') : std::string(std::max(pad, 0), ' ') + cell);
    if (i + 1 < cells.size()) line += "  ";
  }
  std::cout << line << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"yz lookup benchmark: find_node / put / get latency on loopback clusters of real nodes"};
  std::vector<int> sizes = {15, 100};
  int ops = 200;
  int value_size = 100;
  int maintenance_ms = 2000;
  std::uint16_t base_port = 23000;
  std::string bin_dir = YZ_BIN_DIR;
  std::string dir;
  unsigned seed = 1;
  app.add_option("--nodes", sizes, "DHT node counts to measure (plus bootstrap, genesis, 2 bridges)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--ops", ops, "operations of each kind per network")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--value-size", value_size, "bytes per stored value")->capture_default_str()->check(CLI::Range(0, 65536));
  app.add_option("--maintenance-interval-ms", maintenance_ms, "nodes' maintenance period")->capture_default_str();
  app.add_option("--base-port", base_port, "first port of each cluster")->capture_default_str();
  app.add_option("--bin-dir", bin_dir, "directory of yz-node and yz-bootstrap")->capture_default_str();
  app.add_option("--dir", dir, "working directory for logs (default: a new one under /tmp)");
  app.add_option("--seed", seed, "seed for targets and node choice")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (dir.empty()) {
    char pattern[] = "/tmp/yz-bench-XXXXXX";
    if (!::mkdtemp(pattern)) {
      std::cerr << "bench_lookup: cannot create a working directory under /tmp\n";
      return 1;
    }
    dir = pattern;
  }
  utsname uts{};
  ::uname(&uts);
  std::cout << "yz lookup benchmark (build " << YZ_BUILD_ID << ")\n"
            << "  machine:      " << uts.sysname << " " << uts.release << ", " << std::thread::hardware_concurrency()
            << " CPUs (all nodes share them)\n"
            << "  networks:     bootstrap + genesis + 2 bridges + N DHT nodes, N in {";
  for (std::size_t i = 0; i < sizes.size(); ++i) std::cout << (i ? ", " : "") << sizes[i];
  std::cout << "}, on 127.0.0.1 from port " << base_port << "\n"
            << "  operations:   " << ops << " each of find_node (random target), put (" << value_size
            << "-byte value), get (a stored key), one at a time through a random member's HTTP API\n"
            << "  node config:  defaults (k=20, alpha=3, links 3..8), maintenance every " << maintenance_ms << " ms\n"
            << "  columns:      'node' = elapsed_ms reported by the node (whole ms), 'http' = measured around the\n"
            << "                HTTP request by this program; failed = not ok / not found\n"
            << "  logs:         " << dir << "\n"
            << std::endl;

  std::mt19937_64 random(seed);
  std::vector<SizeResult> results;
  for (int n : sizes) {
    std::cout << "starting " << n + 4 << " processes..." << std::flush;
    auto r = run_size(n, ops, static_cast<std::size_t>(value_size), base_port, dir, bin_dir, maintenance_ms, random);
    if (!r.error.empty()) {
      std::cout << " failed: " << r.error << std::endl;
    } else {
      std::cout << " healthy after " << fmt(r.startup_s, " s") << ", measured" << std::endl;
    }
    results.push_back(std::move(r));
  }

  std::cout << "\n";
  std::vector<int> widths = {5, 9, 5, 6, 8, 8, 9, 9, 9};
  print_row({"nodes", "operation", "count", "failed", "node p50", "node p99", "http p50", "http p99", "mean hops"},
            widths);
  for (const auto& r : results) {
    if (!r.error.empty()) {
      print_row({std::to_string(r.dht_nodes), "(failed)", "-", "-", "-", "-", "-", "-", "-"}, widths);
      continue;
    }
    for (const auto& s : r.samples) {
      print_row({std::to_string(r.dht_nodes), s.operation, std::to_string(s.http_ms.size() + static_cast<std::size_t>(s.failed)),
                 std::to_string(s.failed), fmt(percentile(s.node_ms, 50), " ms", 0),
                 fmt(percentile(s.node_ms, 99), " ms", 0), fmt(percentile(s.http_ms, 50), " ms"),
                 fmt(percentile(s.http_ms, 99), " ms"), fmt(mean(s.hops), "", 2)},
                widths);
    }
  }
  std::cout << "\nmemory (VmRSS) after the operations\n";
  std::vector<int> mwidths = {5, 9, 9, 9, 9, 9};
  print_row({"nodes", "processes", "node min", "median", "max", "bootstrap"}, mwidths);
  for (const auto& r : results) {
    if (!r.error.empty() || r.member_rss.empty()) continue;
    std::vector<double> rss(r.member_rss.begin(), r.member_rss.end());
    print_row({std::to_string(r.dht_nodes), std::to_string(r.processes), fmt(percentile(rss, 0) / 1024, " MiB"),
               fmt(percentile(rss, 50) / 1024, " MiB"), fmt(percentile(rss, 100) / 1024, " MiB"),
               fmt(static_cast<double>(r.bootstrap_rss) / 1024, " MiB")},
              mwidths);
  }
  bool any_failure = false;
  for (const auto& r : results) {
    if (!r.error.empty()) {
      std::cout << "\nnetwork of " << r.dht_nodes << " DHT nodes failed: " << r.error << "\n";
      any_failure = true;
    }
    for (const auto& s : r.samples) {
      if (s.failed > 0) {
        std::cout << "\n" << r.dht_nodes << " nodes, " << s.operation << ": " << s.failed
                  << " failed; first failure: " << s.first_failure << "\n";
      }
    }
  }
  if (!any_failure) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return any_failure ? 1 : 0;
}
