// The yz CLI's commands: each registers its CLI11 subcommand and runs it,
// returning an exit code (output.hpp). Node commands talk to one node's HTTP
// API; cluster commands drive the local-cluster launcher (net/cluster.hpp).
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace yz::cli {

struct GlobalOptions {
  bool json = false;       // print JSON for scripts instead of tables
  int timeout_ms = 15'000; // per HTTP request
};

// The result of one API call to a node: the JSON answer, or a printed error.
struct NodeAnswer {
  bool ok = false;       // an answer with a JSON body arrived (any status)
  int status = 0;
  nlohmann::json body;
};

// Calls `method path` on the node at `node_url` (any accepted URL form) and
// parses the JSON answer. On failure prints a plain-words error naming the
// node and the likely fix, and returns ok=false.
NodeAnswer call_node(const GlobalOptions& global, const std::string& node_url, const std::string& method,
                     const std::string& path, const std::string& body = {});

// Each returns a function that runs the parsed command and yields an exit code.
using Runner = std::function<int()>;
Runner add_health_command(CLI::App& app, const GlobalOptions& global);
Runner add_peers_command(CLI::App& app, const GlobalOptions& global);
Runner add_ping_command(CLI::App& app, const GlobalOptions& global);
Runner add_find_node_command(CLI::App& app, const GlobalOptions& global);
Runner add_put_command(CLI::App& app, const GlobalOptions& global);
Runner add_get_command(CLI::App& app, const GlobalOptions& global);
// `yz cluster up|down|status`: returns one runner that dispatches on the subcommand.
Runner add_cluster_command(CLI::App& app, const GlobalOptions& global);

}  // namespace yz::cli
