// yz-bootstrap: the first-contact server of a yz network. It is not a DHT
// member: it registers the nodes that say hello and answers PeersRequest with
// live nodes to dial. Same runtime and HTTP API as yz-node (docs/operations.md).
// Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot start, 2 for invalid flags.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "net/node_runtime.hpp"
#include "net/node_settings.hpp"
#include "net/open_files.hpp"

int main(int argc, char** argv) {
  yz::net::NodeSettings s;
  s.listen = yz::net::kDefaultBootstrapListen;
  CLI::App app{"yz-bootstrap: first contact for new yz nodes. Serves WebSocket links and its HTTP API "
               "(/health, /metrics, /peers) on one port."};
  app.set_config("--config", "", "Read flags from this INI/TOML file (keys are the long flag names)")
      ->envname("YZ_CONFIG");
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key must not be ignored
  app.add_option("--listen", s.listen, "host:port to listen on (port 0 = any free port)")
      ->envname("YZ_LISTEN")
      ->capture_default_str();
  app.add_option("--advertise", s.advertise, "ws:// URL nodes dial to reach this server (default ws://<listen>/)")
      ->envname("YZ_ADVERTISE")
      ->delimiter(',');
  app.add_option("--identity", s.identity, "key file (created if missing); default: a fresh in-memory identity")
      ->envname("YZ_IDENTITY");
  app.add_option("--log-level", s.log_level, "debug | info | warn")->envname("YZ_LOG_LEVEL")->capture_default_str();
  app.add_option("--build-id", s.build_id, "build id sent in Hello")->envname("YZ_BUILD_ID")->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto outcome = yz::net::runtime_options_from(s, yz::net::Program::bootstrap);
  if (!outcome.options) {
    std::fprintf(stderr, "yz-bootstrap: %s\n", outcome.error.c_str());
    return 2;
  }
  // Every newcomer's first link ends here: take every open file the process may have.
  if (auto files = yz::net::raise_open_file_limit(); !files.error.empty()) outcome.warnings.push_back(files.error);
  yz::net::configure_logging(s.log_level);
  return yz::net::run_program(std::move(*outcome.options), outcome.warnings);
}
