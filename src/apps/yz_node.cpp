// yz-node: a yz DHT server node (genesis, bridge or dht role). Flags come from
// the command line, YZ_* environment variables or a config file (--config);
// docs/operations.md lists them all. Exit status: 0 after SIGINT/SIGTERM,
// 1 when the node cannot start, 2 for invalid flags.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "net/node_runtime.hpp"
#include "net/node_settings.hpp"
#include "net/open_files.hpp"

int main(int argc, char** argv) {
  using yz::net::NodeSettings;
  NodeSettings s;
  CLI::App app{"yz-node: a yz DHT server node. Serves WebSocket peer links and its HTTP API "
               "(/health, /metrics, /peers, /find-node, /ping, /values) on one port."};
  app.set_config("--config", "", "Read flags from this INI/TOML file (keys are the long flag names, e.g. min-links = 4)")
      ->envname("YZ_CONFIG");
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key must not be ignored
  app.add_option("--role", s.role, "genesis | bridge | dht")->envname("YZ_ROLE")->capture_default_str();
  app.add_option("--listen", s.listen, "host:port to listen on (port 0 = any free port)")
      ->envname("YZ_LISTEN")
      ->capture_default_str();
  app.add_option("--advertise", s.advertise, "ws:// URL peers dial to reach this node (default ws://<listen>/)")
      ->envname("YZ_ADVERTISE")
      ->delimiter(',');
  app.add_option("--bootstrap", s.bootstrap, "ws:// URL of a bootstrap server (repeatable)")
      ->envname("YZ_BOOTSTRAP")
      ->delimiter(',');
  app.add_option("--peer", s.peers, "ws:// URL of a known node (repeatable)")->envname("YZ_PEER")->delimiter(',');
  app.add_option("--identity", s.identity, "key file (created if missing); default: a fresh in-memory identity")
      ->envname("YZ_IDENTITY");
  app.add_option("--instances", s.instances,
                 "run this many nodes in one process, on consecutive ports from --listen's (fresh identities)")
      ->envname("YZ_INSTANCES")
      ->capture_default_str();
  app.add_option(
         "--threads", s.threads,
         "event-loop threads the --instances share (node i on thread i mod T); default: one per CPU core")
      ->envname("YZ_THREADS");
  app.add_option("--min-links", s.min_links, "links the connection policy keeps at least")
      ->envname("YZ_MIN_LINKS")
      ->capture_default_str();
  app.add_option("--max-links", s.max_links, "links the connection policy keeps at most")
      ->envname("YZ_MAX_LINKS")
      ->capture_default_str();
  app.add_option("--max-query-links", s.max_query_links,
                 "short-lived links lookups may hold open beyond --max-links (0: route requests over kept links instead)")
      ->envname("YZ_MAX_QUERY_LINKS")
      ->capture_default_str();
  app.add_option("--get-quorum", s.get_quorum,
                 "a get answers once this many nodes returned the newest version (0: run every value lookup to the end)")
      ->envname("YZ_GET_QUORUM")
      ->capture_default_str();
  app.add_option("--relay-sessions", s.relay_sessions,
                 "browser pairs this node relays when they cannot link directly (0: not a relay)")
      ->envname("YZ_RELAY_SESSIONS")
      ->capture_default_str();
  app.add_option("--query-link-idle-ms", s.query_link_idle_ms, "an unused query link closes after this long")
      ->envname("YZ_QUERY_LINK_IDLE_MS")
      ->capture_default_str();
  app.add_option("--maintenance-interval-ms", s.maintenance_interval_ms,
                 "connection policy, value expiry and re-registration period")
      ->envname("YZ_MAINTENANCE_INTERVAL_MS")
      ->capture_default_str();
  app.add_option("--self-lookup-interval-ms", s.self_lookup_interval_ms,
                 "self-lookup period (health probe and routing-table refresh)")
      ->envname("YZ_SELF_LOOKUP_INTERVAL_MS")
      ->capture_default_str();
  app.add_option("--request-timeout-ms", s.request_timeout_ms, "time a peer has to answer one request")
      ->envname("YZ_REQUEST_TIMEOUT_MS")
      ->capture_default_str();
  app.add_option("--routed-request-timeout-ms", s.routed_request_timeout_ms,
                 "time a request routed through the overlay has to be answered")
      ->envname("YZ_ROUTED_REQUEST_TIMEOUT_MS")
      ->capture_default_str();
  app.add_option("--republish-interval-ms", s.republish_interval_ms, "how often held values are stored again")
      ->envname("YZ_REPUBLISH_INTERVAL_MS")
      ->capture_default_str();
  app.add_flag("--no-metrics", s.no_metrics, "do not count messages and bytes (behaviour is unchanged)")
      ->envname("YZ_NO_METRICS");
  app.add_option("--log-level", s.log_level, "debug | info | warn")->envname("YZ_LOG_LEVEL")->capture_default_str();
  app.add_option("--build-id", s.build_id, "build id sent in Hello")->envname("YZ_BUILD_ID")->group("");
  app.add_option("--protocol-min", s.protocol_min, "lowest protocol version spoken")
      ->envname("YZ_PROTOCOL_MIN")
      ->group("");
  app.add_option("--protocol-max", s.protocol_max, "highest protocol version spoken")
      ->envname("YZ_PROTOCOL_MAX")
      ->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto outcome = yz::net::runtime_options_from(s, yz::net::Program::node);
  auto files = yz::net::raise_open_file_limit();
  if (!files.error.empty()) outcome.warnings.push_back(files.error);
  if (files.soft != 0) yz::net::fit_open_files(outcome, files.soft);
  if (!outcome.options) {
    std::fprintf(stderr, "yz-node: %s\n", outcome.error.c_str());
    return 2;
  }
  yz::net::configure_logging(s.log_level);
  if (!outcome.instances.empty())
    return yz::net::run_programs(std::move(outcome.instances), outcome.threads, outcome.warnings);
  return yz::net::run_program(std::move(*outcome.options), outcome.warnings);
}
