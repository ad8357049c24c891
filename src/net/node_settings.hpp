// Flag values of yz-node and yz-bootstrap (from the command line, YZ_* env vars
// or a config file) and their validation into RuntimeOptions. Kept apart from
// the CLI parser so every rule and message is unit-tested.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/engine.hpp"
#include "net/node_runtime.hpp"

namespace yz::net {

struct NodeSettings {
  std::string role = "dht";
  std::string listen = "127.0.0.1:9000";
  std::vector<std::string> advertise;  // empty = ws://<listen>/
  std::vector<std::string> bootstrap;
  std::vector<std::string> peers;
  std::string identity;                // empty = fresh in-memory identity
  std::size_t instances = 1;           // nodes this process runs (consecutive ports from --listen)
  std::size_t threads = 0;             // event-loop threads for --instances; 0 = one per CPU core
  std::size_t min_links = EngineConfig{}.min_links;
  std::size_t max_links = EngineConfig{}.max_links;
  // Server nodes keep a larger, longer-lived pool of query links than the
  // engine's default: sockets are cheap here, and a warm pool lets lookups reuse
  // links instead of paying a new TCP + WebSocket + signed handshake per contact.
  std::size_t max_query_links = 128;
  std::size_t get_quorum = 2;
  Millis query_link_idle_ms = 60'000;
  std::size_t relay_sessions = EngineConfig{}.relay_sessions;
  Millis maintenance_interval_ms = EngineConfig{}.maintenance_interval;
  Millis self_lookup_interval_ms = EngineConfig{}.self_lookup_interval;
  Millis request_timeout_ms = EngineConfig{}.request_timeout;
  Millis routed_request_timeout_ms = EngineConfig{}.routed_request_timeout;
  Millis republish_interval_ms = EngineConfig{}.republish_interval;
  bool no_metrics = false;
  std::string log_level = "info";
  std::string build_id = YZ_BUILD_ID;
  unsigned protocol_min = kProtocolVersionMin;
  unsigned protocol_max = kProtocolVersionMax;
};

enum class Program { node, bootstrap };

inline constexpr const char* kDefaultNodeListen = "127.0.0.1:9000";
inline constexpr const char* kDefaultBootstrapListen = "127.0.0.1:8999";

struct SettingsOutcome {
  std::optional<RuntimeOptions> options;  // set when the settings are usable
  std::vector<RuntimeOptions> instances;  // --instances N > 1: one per node, listen ports counted up
  std::size_t threads = 1;                // event-loop threads the instances share (1..N)
  std::string error;                      // else: the first problem, naming the flag
  std::vector<std::string> warnings;      // usable but probably not what was meant
};

SettingsOutcome runtime_options_from(const NodeSettings& settings, Program program);

// Open files this process keeps for itself (standard streams, the event
// loops' epoll and wake-up descriptors, logs), and per node for its listener
// and HTTP API sessions, on top of its links.
inline constexpr std::uint64_t kOpenFilesPerProcess = 128;
inline constexpr std::uint64_t kOpenFilesPerNode = 16;

// Fits the nodes of `out` into `open_files` descriptors (the process's
// RLIMIT_NOFILE): each node's share, less kOpenFilesPerNode and its kept
// links, bounds its query links. A lowered --max-query-links is a warning
// naming the limit; a share too small even for the kept links is the error.
// Links from browsers and clients (at most 256 per node) are not budgeted:
// past the limit the node's accept fails and retries, and says so.
void fit_open_files(SettingsOutcome& out, std::uint64_t open_files);

}  // namespace yz::net
