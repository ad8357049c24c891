// Validation of yz-node / yz-bootstrap settings into RuntimeOptions, with one
// plain-words message per rule (the programs exit with status 2 on them).
#include "net/node_settings.hpp"

#include <algorithm>
#include <thread>

#include "net/address.hpp"

namespace yz::net {

namespace {

constexpr std::size_t kMaxInstances = 1000;

bool valid_build_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxBuildIdLength) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

SettingsOutcome runtime_options_from(const NodeSettings& s, Program program) {
  SettingsOutcome out;
  auto fail = [&](std::string message) {
    out.error = std::move(message);
    return out;
  };
  RuntimeOptions options;
  EngineConfig& config = options.engine;

  if (program == Program::bootstrap) {
    config.role = Role::bootstrap;
    options.program = "yz-bootstrap";
  } else {
    options.program = "yz-node";
    Role role{};
    if (s.role == "bootstrap")
      return fail("--role bootstrap: the bootstrap server is the separate program yz-bootstrap; yz-node runs "
                  "genesis, bridge or dht");
    if (!parse_role(s.role, role) || !role_is_dht_member(role) || role == Role::browser)
      return fail("--role '" + s.role + "' is not a server node role: use genesis, bridge or dht");
    config.role = role;
  }

  std::string error;
  auto listen = parse_listen_address(s.listen, error);
  if (!listen) return fail("--listen: " + error);
  options.listen = *listen;

  if (s.advertise.size() > kMaxAddresses)
    return fail("--advertise is given " + std::to_string(s.advertise.size()) + " times; at most " +
                std::to_string(kMaxAddresses) + " addresses can be advertised");
  for (const auto& url : s.advertise) {
    if (!parse_ws_url(url, error)) return fail("--advertise: " + error);
    if (url.size() > kMaxAddressLength)
      return fail("--advertise: address is " + std::to_string(url.size()) + " bytes; the limit is " +
                  std::to_string(kMaxAddressLength));
    config.advertised_addresses.push_back(url);
  }

  if (program == Program::node) {
    for (const auto* list : {&s.bootstrap, &s.peers}) {
      const char* flag = list == &s.bootstrap ? "--bootstrap" : "--peer";
      for (const auto& url : *list) {
        auto parsed = parse_ws_url(url, error);
        if (!parsed) return fail(std::string(flag) + ": " + error);
        if (parsed->secure)
          return fail(std::string(flag) + " " + url +
                      ": wss:// is not supported yet for outgoing links; give the node's plain ws:// address");
        config.seeds.push_back(url);
      }
    }
    if (config.seeds.empty() && config.role != Role::genesis)
      out.warnings.push_back("no --bootstrap or --peer given: this " + s.role +
                             " node joins nobody and can only be found by nodes that dial it");

    if (s.min_links < 1) return fail("--min-links must be at least 1");
    if (s.max_links < s.min_links)
      return fail("--min-links " + std::to_string(s.min_links) + " is above --max-links " +
                  std::to_string(s.max_links) + ": the minimum must not exceed the maximum");
    if (s.max_links > 1000) return fail("--max-links " + std::to_string(s.max_links) + " is above the limit of 1000");
    config.min_links = s.min_links;
    config.max_links = s.max_links;
    if (s.max_query_links > 4096)
      return fail("--max-query-links " + std::to_string(s.max_query_links) + " is above the limit of 4096");
    if (s.query_link_idle_ms < 100)
      return fail("--query-link-idle-ms must be at least 100 (got " + std::to_string(s.query_link_idle_ms) + ")");
    config.max_query_links = s.max_query_links;
    if (s.get_quorum > config.k)
      return fail("--get-quorum " + std::to_string(s.get_quorum) + " is above " + std::to_string(config.k) +
                  ": no get could reach it (k = " + std::to_string(config.k) + " replicas)");
    config.get_quorum = s.get_quorum;
    if (s.relay_sessions > 100'000)
      return fail("--relay-sessions " + std::to_string(s.relay_sessions) + " is above the limit of 100000");
    config.relay_sessions = s.relay_sessions;
    config.query_link_idle = s.query_link_idle_ms;
    if (s.maintenance_interval_ms < 100)
      return fail("--maintenance-interval-ms must be at least 100 (got " + std::to_string(s.maintenance_interval_ms) + ")");
    if (s.self_lookup_interval_ms < 100)
      return fail("--self-lookup-interval-ms must be at least 100 (got " + std::to_string(s.self_lookup_interval_ms) + ")");
    if (s.request_timeout_ms < 10)
      return fail("--request-timeout-ms must be at least 10 (got " + std::to_string(s.request_timeout_ms) + ")");
    if (s.routed_request_timeout_ms < 10)
      return fail("--routed-request-timeout-ms must be at least 10 (got " + std::to_string(s.routed_request_timeout_ms) +
                  ")");
    if (s.republish_interval_ms < 1000)
      return fail("--republish-interval-ms must be at least 1000 (got " + std::to_string(s.republish_interval_ms) + ")");
    config.maintenance_interval = s.maintenance_interval_ms;
    config.self_lookup_interval = s.self_lookup_interval_ms;
    config.request_timeout = s.request_timeout_ms;
    config.routed_request_timeout = s.routed_request_timeout_ms;
    config.republish_interval = s.republish_interval_ms;
    config.metrics_enabled = !s.no_metrics;
  }

  if (s.log_level != "debug" && s.log_level != "info" && s.log_level != "warn")
    return fail("--log-level '" + s.log_level + "' is not one of debug, info, warn");
  if (!valid_build_id(s.build_id))
    return fail("--build-id '" + s.build_id + "' must be 1 to " + std::to_string(kMaxBuildIdLength) +
                " printable characters without spaces");
  config.build_id = s.build_id;
  if (s.protocol_min < 1 || s.protocol_max > 65535 || s.protocol_min > s.protocol_max)
    return fail("--protocol-min " + std::to_string(s.protocol_min) + " / --protocol-max " +
                std::to_string(s.protocol_max) + " is not a valid range (1 <= min <= max <= 65535)");
  config.version_min = static_cast<std::uint16_t>(s.protocol_min);
  config.version_max = static_cast<std::uint16_t>(s.protocol_max);

  options.identity_path = s.identity;
  if (s.instances < 1 || s.instances > kMaxInstances)
    return fail("--instances " + std::to_string(s.instances) + " is outside 1.." + std::to_string(kMaxInstances));
  if (s.instances == 1 && s.threads > 1)
    return fail("--threads " + std::to_string(s.threads) +
                " without --instances: one node runs on one thread");
  if (s.instances > 1) {
    if (program == Program::bootstrap) return fail("--instances: yz-bootstrap runs one server per process");
    if (!s.identity.empty())
      return fail("--instances " + std::to_string(s.instances) +
                  " with --identity: the nodes cannot share one key file; leave --identity out (fresh identities)");
    if (!s.advertise.empty())
      return fail("--instances " + std::to_string(s.instances) +
                  " with --advertise: each node advertises its own port; leave --advertise out");
    if (options.listen.port != 0 && options.listen.port + s.instances - 1 > 65535)
      return fail("--instances " + std::to_string(s.instances) + " from port " + std::to_string(options.listen.port) +
                  " runs past port 65535: lower --listen's port");
    if (s.threads > s.instances)
      return fail("--threads " + std::to_string(s.threads) + " is more than --instances " +
                  std::to_string(s.instances) + ": a thread runs one node or more; use at most " +
                  std::to_string(s.instances));
    out.threads = s.threads != 0
                      ? s.threads
                      : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, s.instances);
    for (std::size_t i = 0; i < s.instances; ++i) {
      RuntimeOptions one = options;
      if (one.listen.port != 0) one.listen.port = static_cast<std::uint16_t>(options.listen.port + i);
      one.program = options.program + "#" + std::to_string(i);
      out.instances.push_back(std::move(one));
    }
  }
  out.options = std::move(options);
  return out;
}

void fit_open_files(SettingsOutcome& out, std::uint64_t open_files) {
  if (!out.options || out.options->engine.role == Role::bootstrap) return;
  const std::uint64_t nodes = out.instances.empty() ? 1 : out.instances.size();
  const EngineConfig& config = out.options->engine;
  const std::uint64_t share = open_files > kOpenFilesPerProcess ? (open_files - kOpenFilesPerProcess) / nodes : 0;
  const std::uint64_t fixed = kOpenFilesPerNode + config.max_links;
  const std::string limit = "the open-file limit of " + std::to_string(open_files) + " (ulimit -n)";
  if (share < fixed) {
    out.error = std::to_string(nodes) + (nodes == 1 ? " node needs" : " nodes need") + " at least " +
                std::to_string(kOpenFilesPerProcess + nodes * fixed) + " open files for their listeners and " +
                std::to_string(config.max_links) + " kept links each, above " + limit +
                ": raise the limit or run fewer nodes per process (--instances)";
    out.options.reset();
    out.instances.clear();
    return;
  }
  const std::size_t fit = static_cast<std::size_t>(share - fixed);
  if (fit >= config.max_query_links) return;
  out.warnings.push_back(std::to_string(nodes) + (nodes == 1 ? " node shares " : " nodes share ") + limit +
                         ": each keeps at most " + std::to_string(fit) + " query links instead of " +
                         std::to_string(config.max_query_links) +
                         " (--max-query-links); raise the limit to keep more");
  out.options->engine.max_query_links = fit;
  for (auto& one : out.instances) one.engine.max_query_links = fit;
}

}  // namespace yz::net
