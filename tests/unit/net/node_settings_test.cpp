// Validation of yz-node / yz-bootstrap flags into runtime options (net/node_settings).
#include "net/node_settings.hpp"

#include <gtest/gtest.h>

namespace yz::net {
namespace {

TEST(NodeSettings, DefaultsMakeADhtNodeOnLoopback) {
  NodeSettings s;
  s.bootstrap = {"ws://127.0.0.1:8999/"};
  auto out = runtime_options_from(s, Program::node);
  ASSERT_TRUE(out.options) << out.error;
  EXPECT_EQ(out.options->engine.role, Role::dht);
  EXPECT_EQ(out.options->listen.host, "127.0.0.1");
  EXPECT_EQ(out.options->listen.port, 9000);
  EXPECT_EQ(out.options->engine.seeds, std::vector<std::string>{"ws://127.0.0.1:8999/"});
  EXPECT_TRUE(out.options->engine.advertised_addresses.empty());  // filled with the bound port at open()
  EXPECT_TRUE(out.options->engine.metrics_enabled);
  EXPECT_TRUE(out.warnings.empty());
}

TEST(NodeSettings, FlagsReachTheEngineConfig) {
  NodeSettings s;
  s.role = "bridge";
  s.listen = "0.0.0.0:7401";
  s.advertise = {"wss://example.org/bridge1"};
  s.bootstrap = {"ws://10.0.0.1:7400/"};
  s.peers = {"ws://10.0.0.2:7402/"};
  s.min_links = 4;
  s.max_links = 6;
  s.get_quorum = 3;
  s.maintenance_interval_ms = 500;
  s.self_lookup_interval_ms = 2000;
  s.request_timeout_ms = 300;
  s.routed_request_timeout_ms = 7000;
  s.republish_interval_ms = 5000;
  s.no_metrics = true;
  s.build_id = "test-1";
  s.protocol_min = 2;
  s.protocol_max = 3;
  auto out = runtime_options_from(s, Program::node);
  ASSERT_TRUE(out.options) << out.error;
  const auto& c = out.options->engine;
  EXPECT_EQ(c.role, Role::bridge);
  EXPECT_EQ(c.advertised_addresses, std::vector<std::string>{"wss://example.org/bridge1"});
  EXPECT_EQ(c.seeds, (std::vector<std::string>{"ws://10.0.0.1:7400/", "ws://10.0.0.2:7402/"}));
  EXPECT_EQ(c.min_links, 4u);
  EXPECT_EQ(c.max_links, 6u);
  EXPECT_EQ(c.get_quorum, 3u);
  EXPECT_EQ(c.maintenance_interval, 500);
  EXPECT_EQ(c.self_lookup_interval, 2000);
  EXPECT_EQ(c.request_timeout, 300);
  EXPECT_EQ(c.routed_request_timeout, 7000);
  EXPECT_EQ(c.republish_interval, 5000);
  EXPECT_FALSE(c.metrics_enabled);
  EXPECT_EQ(c.build_id, "test-1");
  EXPECT_EQ(c.version_min, 2);
  EXPECT_EQ(c.version_max, 3);
}

std::string error_of(NodeSettings s, Program program = Program::node) {
  auto out = runtime_options_from(s, program);
  EXPECT_FALSE(out.options);
  return out.error;
}

TEST(NodeSettings, BadFlagsAreNamedWithTheFix) {
  NodeSettings s;
  s.role = "leader";
  EXPECT_EQ(error_of(s), "--role 'leader' is not a server node role: use genesis, bridge or dht");
  s = {};
  s.role = "bootstrap";
  EXPECT_NE(error_of(s).find("yz-bootstrap"), std::string::npos);
  s = {};
  s.listen = "127.0.0.1:70000";
  EXPECT_EQ(error_of(s), "--listen: listen address '127.0.0.1:70000' is malformed: port '70000' is not a number from 0 to 65535");
  s = {};
  s.min_links = 9;
  s.max_links = 8;
  EXPECT_EQ(error_of(s), "--min-links 9 is above --max-links 8: the minimum must not exceed the maximum");
  s = {};
  s.bootstrap = {"wss://example.org/ws"};
  EXPECT_EQ(error_of(s), "--bootstrap wss://example.org/ws: wss:// is not supported yet for outgoing links; give the "
                         "node's plain ws:// address");
  s = {};
  s.peers = {"127.0.0.1:9000"};
  EXPECT_EQ(error_of(s), "--peer: address '127.0.0.1:9000' is not a WebSocket URL: expected ws://host:port/path");
  s = {};
  s.log_level = "trace";
  EXPECT_EQ(error_of(s), "--log-level 'trace' is not one of debug, info, warn");
  s = {};
  s.protocol_min = 3;
  s.protocol_max = 2;
  EXPECT_NE(error_of(s).find("not a valid range"), std::string::npos);
  s = {};
  s.maintenance_interval_ms = 0;
  EXPECT_EQ(error_of(s), "--maintenance-interval-ms must be at least 100 (got 0)");
  s = {};
  s.routed_request_timeout_ms = 5;
  EXPECT_EQ(error_of(s), "--routed-request-timeout-ms must be at least 10 (got 5)");
  s = {};
  s.instances = 2;
  s.identity = "node.key";
  EXPECT_EQ(error_of(s), "--instances 2 with --identity: the nodes cannot share one key file; leave --identity out "
                         "(fresh identities)");
  s = {};
  s.instances = 3;
  s.listen = "127.0.0.1:65534";
  EXPECT_EQ(error_of(s), "--instances 3 from port 65534 runs past port 65535: lower --listen's port");
  s = {};
  s.instances = 0;
  EXPECT_EQ(error_of(s), "--instances 0 is outside 1..1000");
  s = {};
  s.instances = 4;
  s.threads = 5;
  EXPECT_EQ(error_of(s),
            "--threads 5 is more than --instances 4: a thread runs one node or more; use at most 4");
  s = {};
  s.threads = 2;
  EXPECT_EQ(error_of(s), "--threads 2 without --instances: one node runs on one thread");
  s = {};
  s.get_quorum = 21;
  EXPECT_EQ(error_of(s), "--get-quorum 21 is above 20: no get could reach it (k = 20 replicas)");
  s = {};
  s.build_id = "has space";
  EXPECT_NE(error_of(s).find("--build-id"), std::string::npos);
}

TEST(NodeSettings, InstancesCountPortsUpAndNameEachNode) {
  NodeSettings s;
  s.instances = 3;
  s.listen = "127.0.0.1:7500";
  s.peers = {"ws://127.0.0.1:7401/"};
  auto out = runtime_options_from(s, Program::node);
  ASSERT_TRUE(out.options) << out.error;
  ASSERT_EQ(out.instances.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.instances[i].listen.port, 7500 + i);
    EXPECT_EQ(out.instances[i].program, "yz-node#" + std::to_string(i));
    EXPECT_EQ(out.instances[i].engine.seeds, s.peers);
  }
  EXPECT_GE(out.threads, 1u);
  EXPECT_LE(out.threads, 3u);
  s.threads = 2;
  EXPECT_EQ(runtime_options_from(s, Program::node).threads, 2u);
  s.threads = 0;
  s.instances = 1;
  EXPECT_TRUE(runtime_options_from(s, Program::node).instances.empty());
}

TEST(NodeSettings, DhtNodeWithoutSeedsIsWarnedAbout) {
  NodeSettings s;
  auto out = runtime_options_from(s, Program::node);
  ASSERT_TRUE(out.options);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("no --bootstrap or --peer"), std::string::npos);
  s.role = "genesis";
  EXPECT_TRUE(runtime_options_from(s, Program::node).warnings.empty());
}

TEST(NodeSettings, BootstrapProgramHasTheBootstrapRole) {
  NodeSettings s;
  s.listen = kDefaultBootstrapListen;
  auto out = runtime_options_from(s, Program::bootstrap);
  ASSERT_TRUE(out.options) << out.error;
  EXPECT_EQ(out.options->engine.role, Role::bootstrap);
  EXPECT_EQ(out.options->program, "yz-bootstrap");
  EXPECT_EQ(out.options->listen.port, 8999);
  EXPECT_TRUE(out.options->engine.seeds.empty());
}

// The limit in these tests is the one that made a 498-node process refuse
// connections before query links were budgeted: 20,000 open files.
TEST(NodeSettings, QueryLinksOfNodesSharingAProcessFitItsOpenFiles) {
  NodeSettings s;
  s.role = "genesis";
  s.instances = 498;
  s.listen = "127.0.0.1:20000";
  auto out = runtime_options_from(s, Program::node);
  ASSERT_TRUE(out.options) << out.error;
  fit_open_files(out, 20'000);
  ASSERT_TRUE(out.options) << out.error;
  // (20000 - 128) / 498 = 39 per node, less 16 (listener, HTTP) and 8 kept links.
  for (const auto& one : out.instances) EXPECT_EQ(one.engine.max_query_links, 15u);
  EXPECT_EQ(out.options->engine.max_query_links, 15u);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0],
            "498 nodes share the open-file limit of 20000 (ulimit -n): each keeps at most 15 query links instead of "
            "128 (--max-query-links); raise the limit to keep more");
  // All of them at most the limit, with every link open.
  std::uint64_t most = kOpenFilesPerProcess + 498 * (kOpenFilesPerNode + 8 + 15);
  EXPECT_LE(most, 20'000u);
}

TEST(NodeSettings, ANodeWithRoomForItsQueryLinksIsLeftAlone) {
  NodeSettings s;
  s.role = "genesis";
  auto out = runtime_options_from(s, Program::node);
  fit_open_files(out, 1024);  // Debian's default soft limit
  ASSERT_TRUE(out.options);
  EXPECT_EQ(out.options->engine.max_query_links, 128u);
  EXPECT_TRUE(out.warnings.empty());
  s.instances = 5;
  s.max_query_links = 0;  // routes instead of dialling: nothing to lower
  out = runtime_options_from(s, Program::node);
  fit_open_files(out, 400);
  ASSERT_TRUE(out.options) << out.error;
  EXPECT_TRUE(out.warnings.empty());
}

TEST(NodeSettings, TooManyNodesForTheOpenFileLimitIsAnErrorNamingTheFix) {
  NodeSettings s;
  s.role = "genesis";
  s.instances = 1000;
  auto out = runtime_options_from(s, Program::node);
  fit_open_files(out, 10'000);
  EXPECT_FALSE(out.options);
  EXPECT_TRUE(out.instances.empty());
  EXPECT_EQ(out.error,
            "1000 nodes need at least 24128 open files for their listeners and 8 kept links each, above the "
            "open-file limit of 10000 (ulimit -n): raise the limit or run fewer nodes per process (--instances)");
  // The bootstrap server has no query links to budget.
  NodeSettings b;
  b.listen = kDefaultBootstrapListen;
  out = runtime_options_from(b, Program::bootstrap);
  fit_open_files(out, 64);
  EXPECT_TRUE(out.options);
}

}  // namespace
}  // namespace yz::net
