// The local-cluster launcher: starts yz-bootstrap, one genesis node, bridges and
// DHT nodes as child processes on 127.0.0.1 with consecutive ports, records
// them in <dir>/cluster.json, waits until they report healthy, shows their
// status and stops them. Used by `yz cluster`, the cluster tests and the benchmark.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace yz::net {

struct ClusterOptions {
  std::string bin_dir;             // holds yz-node and yz-bootstrap; empty = next to this program
  std::string dir = ".yz-cluster"; // logs, identities, cluster.json
  int nodes = 15;                  // ordinary DHT nodes
  int bridges = 2;
  std::uint16_t base_port = 7400;  // bootstrap=base, genesis=base+1, bridges, then DHT nodes
  int min_links = 0;               // 0 = the node's default
  int max_links = 0;
  int maintenance_interval_ms = 0;
  int request_timeout_ms = 0;
  std::string log_level;                 // passed as --log-level when set
  std::vector<std::string> node_args;    // extra arguments for every yz-node
  // Children get SIGTERM when the launching thread exits (tests, benchmark, --demo).
  // A detached `yz cluster up` leaves this off so the nodes outlive it.
  bool die_with_parent = false;
};

struct ClusterNode {
  std::string name;   // bootstrap, genesis, bridge1.., node1..
  std::string role;   // bootstrap | genesis | bridge | dht
  std::uint16_t port = 0;
  pid_t pid = 0;
  std::string url;    // http://127.0.0.1:port (HTTP API)
  std::string ws_url; // ws://127.0.0.1:port/ (what peers dial)
  std::string log_path;
  std::string identity_path;
  std::vector<std::string> args;  // full command line, for the record and for restarts
};

// One node that is not healthy, and why (plain words).
struct NodeProblem {
  std::string name;
  std::string url;
  std::vector<std::string> reasons;
  bool exited = false;  // the process is gone (the reasons include its log's last lines)
};

struct NodeStatus {
  std::string name;
  std::string role;
  std::string url;
  pid_t pid = 0;
  bool alive = false;       // the process exists
  bool answered = false;    // /health answered
  bool healthy = false;
  std::string id;           // hex node id (from /health)
  int links = 0;
  int query_links = 0;
  int routing_table_size = 0;
  int stored_values = 0;
  std::vector<std::string> reasons;  // unhealthy reasons or the failure to ask
  nlohmann::json health;             // the /health JSON as answered (null if none)
};

class Cluster {
 public:
  // Starts every process of a new cluster. On failure, stops what was started and
  // returns nullopt with `error` set (e.g. a port in use, a missing binary).
  static std::optional<Cluster> start(const ClusterOptions& options, std::string& error);
  // Reads <dir>/cluster.json written by start(); nullopt + error when absent/invalid.
  static std::optional<Cluster> load(const std::string& dir, std::string& error);

  Cluster(Cluster&&) noexcept;
  Cluster& operator=(Cluster&&) noexcept;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  ~Cluster();  // does NOT stop the nodes (a detached cluster outlives its launcher)

  const std::vector<ClusterNode>& nodes() const { return nodes_; }
  const ClusterNode* find(const std::string& name) const;
  const ClusterOptions& options() const { return options_; }
  const std::string& dir() const { return options_.dir; }
  std::string state_path() const;

  // Starts one more yz-node (e.g. with different flags) on the next free port in
  // the cluster's range; its args are the usual ones plus `extra_args`.
  std::optional<ClusterNode> add_node(const std::string& name, const std::string& role,
                                      const std::vector<std::string>& extra_args, std::string& error);

  // Polls /health of every node (or of `names` only) until all are healthy or the
  // deadline passes. Returns the nodes that are not healthy, with reasons; empty
  // means all healthy. Stops early when a process has exited.
  std::vector<NodeProblem> wait_healthy(std::chrono::milliseconds timeout,
                                        const std::vector<std::string>& names = {}) const;
  // One /health round over every node, in parallel.
  std::vector<NodeStatus> status(std::chrono::milliseconds per_node_timeout = std::chrono::milliseconds(2000)) const;

  // SIGTERM each process, wait up to `grace` for them to exit, then SIGKILL.
  // Returns the names of the nodes that needed SIGKILL.
  std::vector<std::string> stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // SIGKILL one node (tests: a crash). False + error when unknown or not running.
  bool kill(const std::string& name, std::string& error);
  // True when the node's process still runs (reaps it when it is our child).
  bool alive(const ClusterNode& node) const;
  // "exited with status 1" / "killed by signal 9" for a node that is gone, else "".
  std::string exit_description(const ClusterNode& node) const;

  // The last `lines` lines of a node's log (for error messages).
  static std::string log_tail(const std::string& path, std::size_t lines);

 private:
  Cluster() = default;
  bool spawn(ClusterNode& node, std::string& error);
  bool save(std::string& error) const;
  std::vector<std::string> node_args(const std::string& name, const std::string& role, std::uint16_t port) const;

  ClusterOptions options_;
  std::vector<ClusterNode> nodes_;
  bool owns_children_ = false;  // started by this process (waitpid works)
  mutable std::vector<std::pair<pid_t, int>> reaped_;  // pid -> wait status, for our children
};

// Directory holding the running program (from /proc/self/exe).
std::string program_dir();

// True when something already listens on (or holds) 127.0.0.1:port.
bool port_in_use(std::uint16_t port);

}  // namespace yz::net
