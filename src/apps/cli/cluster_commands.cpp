// `yz cluster up|down|status`: a local network of yz-bootstrap, genesis, bridge
// and DHT node processes on 127.0.0.1, driven by the launcher in net/cluster.
// `up --demo` stays in the foreground until Ctrl-C; plain `up` detaches.
#include <signal.h>
#include <time.h>

#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "apps/cli/commands.hpp"
#include "apps/cli/output.hpp"
#include "net/cluster.hpp"
#include "net/http_client.hpp"

namespace yz::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct UpArgs {
  net::ClusterOptions options;
  int health_timeout_s = 60;
  bool demo = false;
  bool keep = false;
};

json status_json(const std::string& dir, const std::vector<net::NodeStatus>& rows) {
  json nodes = json::array();
  bool all = !rows.empty();
  for (const auto& r : rows) {
    all = all && r.healthy;
    nodes.push_back({{"name", r.name},
                     {"role", r.role},
                     {"url", r.url},
                     {"pid", r.pid},
                     {"alive", r.alive},
                     {"healthy", r.healthy},
                     {"id", r.id},
                     {"links", r.links},
                     {"query_links", r.query_links},
                     {"routing_table_size", r.routing_table_size},
                     {"stored_values", r.stored_values},
                     {"reasons", r.reasons}});
  }
  return {{"dir", dir}, {"healthy", all}, {"nodes", nodes}};
}

void print_status_table(const std::vector<net::NodeStatus>& rows, bool detailed) {
  std::vector<std::string> headers = {"NODE", "ROLE", "URL", "HEALTHY", "LINKS"};
  std::vector<bool> right = {false, false, false, false, true};
  if (detailed) {
    headers.insert(headers.begin() + 3, "PID");
    right.insert(right.begin() + 3, true);
    headers.insert(headers.end(), {"QUERY", "ROUTING", "VALUES"});
    right.insert(right.end(), {true, true, true});
  }
  Table t(headers, right);
  for (const auto& r : rows) {
    std::string healthy = !r.alive ? "down" : !r.answered ? "no answer" : r.healthy ? "yes" : "NO";
    std::string links = r.answered ? std::to_string(r.links) : "-";
    std::vector<std::string> row = {r.name, r.role, r.url, healthy, links};
    if (detailed) {
      row.insert(row.begin() + 3, std::to_string(r.pid));
      row.insert(row.end(), {r.answered ? std::to_string(r.query_links) : "-",
                             r.answered ? std::to_string(r.routing_table_size) : "-",
                             r.answered ? std::to_string(r.stored_values) : "-"});
    }
    t.add(row);
  }
  t.print(std::cout);
  for (const auto& r : rows) {
    if (r.healthy || r.reasons.empty()) continue;
    std::cout << r.name << ": ";
    for (std::size_t i = 0; i < r.reasons.size(); ++i) std::cout << (i ? "; " : "") << r.reasons[i];
    std::cout << "\n";
  }
}

void print_problems(const std::vector<net::NodeProblem>& problems, std::size_t total, int waited_s) {
  std::size_t exited = 0;
  for (const auto& p : problems) exited += p.exited ? 1 : 0;
  if (exited > 0) {
    std::cerr << "yz: " << exited << " of " << total << " processes exited while starting:\n";
  } else {
    std::cerr << "yz: " << problems.size() << " of " << total << " nodes are not healthy after " << waited_s
              << " s:\n";
  }
  for (const auto& p : problems) {
    if (exited > 0 && !p.exited) continue;
    std::cerr << "  " << p.name << " (" << p.url << "):\n";
    for (const auto& reason : p.reasons) {
      std::string indented;
      for (char c : reason) {
        indented += c;
        if (c == '\n') indented += "        ";
      }
      while (!indented.empty() && (indented.back() == ' ' || indented.back() == '\n')) indented.pop_back();
      std::cerr << "    - " << indented << "\n";
    }
  }
}

bool signal_pending(const sigset_t& set) {
  sigset_t pending;
  sigpending(&pending);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    if (sigismember(&set, sig) && sigismember(&pending, sig)) {
      timespec zero{0, 0};
      sigtimedwait(&set, nullptr, &zero);  // consume it
      return true;
    }
  }
  return false;
}

void remove_state(const net::Cluster& cluster) {
  std::error_code ec;
  std::filesystem::remove(cluster.state_path(), ec);
}

void stop_and_report(net::Cluster& cluster, bool quiet) {
  auto killed = cluster.stop();
  remove_state(cluster);
  if (quiet) return;
  std::cout << "stopped " << cluster.nodes().size() << " processes";
  if (!killed.empty()) {
    std::cout << " (" << killed.size() << " did not stop within 5 s and were killed:";
    for (const auto& name : killed) std::cout << " " << name;
    std::cout << ")";
  }
  std::cout << "\n";
}

// A put through one node and a get through another, to show the network works.
void run_demo_roundtrip(const GlobalOptions& global, const net::Cluster& cluster) {
  const net::ClusterNode* writer = nullptr;
  const net::ClusterNode* reader = nullptr;
  for (const auto& node : cluster.nodes()) {
    if (node.role == "bootstrap") continue;
    if (!writer && node.role == "dht") writer = &node;
    reader = &node;
  }
  if (!writer || !reader || writer == reader) return;
  std::string key = "hello";
  std::string value = "world, from " + writer->name;
  auto put = call_node(global, writer->url, "PUT", "/values/" + key, value);
  if (!put.ok || !jbool(put.body, "ok")) {
    std::cout << "demo: storing '" << key << "' through " << writer->name
              << " failed: " << (put.ok ? jstr(put.body, "error") : std::string("see the error above")) << "\n";
    return;
  }
  auto get = call_node(global, reader->url, "GET", "/values/" + key);
  if (!get.ok || !jbool(get.body, "found")) {
    std::cout << "demo: '" << key << "' was stored through " << writer->name << " but not found through "
              << reader->name << (get.ok ? ": " + jstr(get.body, "error") : std::string()) << "\n";
    return;
  }
  std::cout << "demo: put key '" << key << "' through " << writer->name << " (stored on "
            << jint(put.body, "replicas_acked") << " replicas), read it back through " << reader->name << ": \"" << jstr(get.body, "value") << "\" ("
            << count_of(jint(get.body, "hops"), "hop") << ", " << format_json_ms(get.body.value("elapsed_ms", json())) << ")\n";
}

int run_up(const GlobalOptions& global, UpArgs& args) {
  auto& o = args.options;
  o.die_with_parent = args.demo;
  // Ctrl-C, kill and hangup are taken synchronously (sigtimedwait) so the nodes
  // are always stopped in order; the children unblock them before exec.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string error;
  auto cluster = net::Cluster::start(o, error);
  if (!cluster) {
    print_error(error);
    return kExitFailed;
  }
  const auto& nodes = cluster->nodes();
  if (!global.json) {
    std::cout << "started " << nodes.size() << " processes (1 bootstrap, 1 genesis, " << o.bridges << " bridges, "
              << o.nodes << " DHT nodes) on 127.0.0.1:" << nodes.front().port << ".." << nodes.back().port
              << "; logs in " << cluster->dir() << "\n"
              << "waiting up to " << args.health_timeout_s << " s until every node is healthy..." << std::endl;
  }
  auto started = Clock::now();
  auto deadline = started + std::chrono::seconds(args.health_timeout_s);
  std::vector<net::NodeProblem> problems;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    problems = cluster->wait_healthy(std::clamp(left, 0ms, std::chrono::milliseconds(1000)));
    if (problems.empty()) break;
    bool died = false;
    for (const auto& p : problems) died = died || !cluster->alive(*cluster->find(p.name));
    if (died || Clock::now() >= deadline) break;
    if (signal_pending(signals)) {
      std::cerr << "yz: interrupted while waiting for the nodes; stopping them\n";
      stop_and_report(*cluster, global.json);
      return kExitFailed;
    }
  }
  if (!problems.empty()) {
    auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
    print_problems(problems, nodes.size(), static_cast<int>(waited));
    if (args.keep) {
      std::cerr << "the nodes keep running (--keep): inspect them with `yz cluster status --dir " << cluster->dir()
                << "`, stop them with `yz cluster down --dir " << cluster->dir() << "`\n";
    } else {
      std::cerr << "stopping the cluster (use --keep to leave it running for inspection; logs stay in "
                << cluster->dir() << ")\n";
      stop_and_report(*cluster, true);
    }
    return kExitFailed;
  }
  auto rows = cluster->status();
  if (global.json) {
    std::cout << status_json(cluster->dir(), rows).dump(2) << "\n";
  } else {
    auto took = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    std::cout << "all " << nodes.size() << " nodes are healthy (after " << format_duration_ms(took) << ")\n";
    print_status_table(rows, false);
    const auto* any = cluster->find("node1") ? cluster->find("node1") : &nodes.back();
    std::cout << "\nHTTP API of every node: <URL>/health, /peers, /metrics, /find-node?target=<hex>, /values/<key>\n"
              << "try:  yz health " << any->url << "\n"
              << "      yz put " << any->url << " greeting hello  &&  yz get " << nodes.back().url << " greeting\n"
              << "      yz find-node " << any->url << " --random\n";
  }
  if (!args.demo) {
    if (!global.json) {
      std::cout << "the nodes keep running: `yz cluster status` shows them, `yz cluster down` stops them\n";
    }
    return kExitOk;
  }
  if (!global.json) {
    run_demo_roundtrip(global, *cluster);
    std::cout << "\nthe network runs in the foreground: press Ctrl-C to stop it" << std::endl;
  }
  std::set<std::string> reported;
  while (true) {
    timespec wait{1, 0};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig > 0) break;
    for (const auto& node : nodes) {
      if (reported.count(node.name) || cluster->alive(node)) continue;
      reported.insert(node.name);
      std::cerr << "yz: " << node.name << " " << cluster->exit_description(node) << "; its log: " << node.log_path
                << "\n";
    }
  }
  if (!global.json) std::cout << "\nstopping the network..." << std::endl;
  stop_and_report(*cluster, global.json);
  return kExitOk;
}

int run_down(const GlobalOptions& global, const std::string& dir) {
  std::string error;
  auto cluster = net::Cluster::load(dir, error);
  if (!cluster) {
    print_error(error);
    return kExitFailed;
  }
  std::size_t running = 0;
  for (const auto& node : cluster->nodes()) running += cluster->alive(node) ? 1 : 0;
  auto killed = cluster->stop();
  remove_state(*cluster);
  if (global.json) {
    std::cout << json{{"dir", cluster->dir()}, {"stopped", running}, {"killed", killed}}.dump(2) << "\n";
    return kExitOk;
  }
  if (running == 0) {
    std::cout << "no process of the cluster in " << cluster->dir() << " was running; removed its state file\n";
    return kExitOk;
  }
  std::cout << "stopped " << running << " processes of the cluster in " << cluster->dir();
  if (!killed.empty()) std::cout << " (" << killed.size() << " needed SIGKILL after 5 s)";
  std::cout << "\n";
  return kExitOk;
}

int run_status(const GlobalOptions& global, const std::string& dir) {
  std::string error;
  auto cluster = net::Cluster::load(dir, error);
  if (!cluster) {
    print_error(error);
    return kExitFailed;
  }
  auto rows = cluster->status();
  bool all = !rows.empty();
  for (const auto& r : rows) all = all && r.healthy;
  if (global.json) {
    std::cout << status_json(cluster->dir(), rows).dump(2) << "\n";
  } else {
    std::size_t healthy = 0;
    for (const auto& r : rows) healthy += r.healthy ? 1 : 0;
    std::cout << "cluster in " << cluster->dir() << ": " << healthy << " of " << rows.size() << " nodes healthy\n";
    print_status_table(rows, true);
  }
  return all ? kExitOk : kExitFailed;
}

}  // namespace

Runner add_cluster_command(CLI::App& app, const GlobalOptions& global) {
  auto* cluster = app.add_subcommand("cluster", "Run a local network of yz processes on 127.0.0.1");
  cluster->require_subcommand(1);

  auto up_args = std::make_shared<UpArgs>();
  auto& o = up_args->options;
  auto* up = cluster->add_subcommand(
      "up", "Start bootstrap + genesis + bridges + DHT nodes, wait until all are healthy, print the table");
  up->add_option("--nodes", o.nodes, "ordinary DHT nodes (default 15: 19 processes in all)")
      ->capture_default_str()
      ->check(CLI::Range(1, 2000));
  up->add_option("--bridges", o.bridges, "bridge nodes")->capture_default_str()->check(CLI::Range(0, 100));
  up->add_option("--base-port", o.base_port, "first port: bootstrap=P, genesis=P+1, bridges, then DHT nodes")
      ->capture_default_str()
      ->check(CLI::Range(1024, 65535));
  up->add_option("--dir", o.dir, "directory for logs, identities and cluster.json")->capture_default_str();
  up->add_option("--min-links", o.min_links, "links each node keeps at least (default: the node's, 3)")
      ->check(CLI::Range(1, 1000));
  up->add_option("--max-links", o.max_links, "links each node keeps at most (default: the node's, 8)")
      ->check(CLI::Range(1, 1000));
  up->add_option("--maintenance-interval-ms", o.maintenance_interval_ms,
                 "connection-policy period of every node (default: the node's)")
      ->check(CLI::Range(100, 3'600'000));
  up->add_option("--log-level", o.log_level, "log level of every process (debug, info, warn)");
  up->add_option("--node-arg", o.node_args, "extra argument for every yz-node (repeatable)")->allow_extra_args(false);
  up->add_option("--bin-dir", o.bin_dir, "directory of yz-node and yz-bootstrap (default: next to yz)");
  up->add_option("--health-timeout", up_args->health_timeout_s, "seconds to wait until every node is healthy")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  up->add_flag("--demo", up_args->demo, "stay in the foreground until Ctrl-C, then stop everything");
  up->add_flag("--keep", up_args->keep, "leave the nodes running even when some are not healthy in time");

  auto down_dir = std::make_shared<std::string>(".yz-cluster");
  auto* down = cluster->add_subcommand("down", "Stop every process of a cluster started by `yz cluster up`");
  down->add_option("--dir", *down_dir, "the cluster's directory")->capture_default_str();

  auto status_dir = std::make_shared<std::string>(".yz-cluster");
  auto* status = cluster->add_subcommand("status", "Show every node of a local cluster (exit 1 if any is unhealthy)");
  status->add_option("--dir", *status_dir, "the cluster's directory")->capture_default_str();

  return [&global, up_args, down_dir, status_dir, up, down, status] {
    if (up->parsed()) {
      if (up_args->options.min_links > 0 && up_args->options.max_links > 0 &&
          up_args->options.min_links > up_args->options.max_links) {
        print_error("--min-links (" + std::to_string(up_args->options.min_links) + ") is above --max-links (" +
                    std::to_string(up_args->options.max_links) + ")");
        return kExitUsage;
      }
      return run_up(global, *up_args);
    }
    if (down->parsed()) return run_down(global, *down_dir);
    if (status->parsed()) return run_status(global, *status_dir);
    print_error("`yz cluster` needs a subcommand: up, down or status");
    return kExitUsage;
  };
}

}  // namespace yz::cli
