// yz: the command-line tool for yz nodes and local clusters. It talks to nodes
// over their HTTP API (health, peers, ping, find-node, put, get) and runs local
// networks (cluster up|down|status). Commands live in src/apps/cli/; the
// reference is docs/cli.md. Exit codes: 0 ok, 1 operation failed, 2 usage error.
#include <iostream>
#include <vector>

#include "apps/cli/commands.hpp"
#include "apps/cli/output.hpp"

int main(int argc, char** argv) {
  using namespace yz::cli;
  CLI::App app{"yz: talk to yz DHT nodes and run local networks (docs/cli.md)", "yz"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("yz ") + YZ_BUILD_ID);
  GlobalOptions global;
  app.add_flag("--json", global.json, "print JSON (the node's answer as-is) instead of tables")->configurable(false);
  app.add_option("--timeout", global.timeout_ms, "milliseconds to wait for each HTTP answer")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));
  // Options after the subcommand name are accepted too: `yz health URL --json`.
  app.fallthrough();

  std::vector<Runner> runners;
  runners.push_back(add_health_command(app, global));
  runners.push_back(add_peers_command(app, global));
  runners.push_back(add_ping_command(app, global));
  runners.push_back(add_find_node_command(app, global));
  runners.push_back(add_put_command(app, global));
  runners.push_back(add_get_command(app, global));
  runners.push_back(add_cluster_command(app, global));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  // Subcommands were registered in the order of `runners`.
  const auto& all = app.get_subcommands({});
  for (std::size_t i = 0; i < all.size() && i < runners.size(); ++i) {
    if (all[i]->parsed()) return runners[i]();
  }
  print_error("no command given; see `yz --help`");
  return kExitUsage;
}
