// `yz-node --instances N --threads T`: several nodes in one process on T
// shared event loops, each with its own port, identity and HTTP API, joining
// a running network; values put through one are read through another; one
// SIGTERM stops them all gracefully.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster_fixture.hpp"

extern char** environ;

namespace yz::cluster_test {
namespace {

class Instances : public ClusterTest {};

TEST_F(Instances, ThreeNodesInOneProcessJoinServeAndStopTogether) {
  net::ClusterOptions options;
  options.nodes = 2;
  options.bridges = 0;
  start(options, kPortBlock + 1200);
  if (HasFatalFailure()) return;
  expect_healthy(90s);
  if (HasFailure()) return;

  const std::uint16_t first = kPortBlock + 1250;
  std::string bin = std::string(YZ_BIN_DIR) + "/yz-node";
  std::vector<std::string> args = {bin,
                                   "--instances",
                                   "3",
                                   "--threads",
                                   "2",  // nodes 0 and 2 share a loop
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(first),
                                   "--peer",
                                   node("genesis").ws_url,
                                   "--maintenance-interval-ms",
                                   std::to_string(kMaintenanceMs),
                                   "--log-level",
                                   "warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, bin.c_str(), nullptr, nullptr, argv.data(), environ), 0);
  struct Reap {  // a failed assertion below must not leave the process running
    pid_t pid;
    ~Reap() {
      if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
  } reap{pid};

  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) urls.push_back("http://127.0.0.1:" + std::to_string(first + i));
  std::set<std::string> ids;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    ids.clear();
    int healthy = 0;
    for (const auto& url : urls) {
      auto a = call("GET", url + "/health", {}, 2s);
      if (!a.body.is_object()) continue;
      ids.insert(a.body.value("id", std::string()));
      healthy += a.body.value("healthy", false) ? 1 : 0;
    }
    if (healthy == 3) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(ids.size(), 3u) << "each instance has its own identity";

  auto p = call("PUT", urls[0] + value_path("one process"), "three nodes");
  EXPECT_EQ(p.status, 200) << p.raw;
  auto g = call("GET", urls[2] + value_path("one process"));
  EXPECT_EQ(g.status, 200) << g.raw;
  EXPECT_EQ(g.body.value("value", std::string()), "three nodes") << g.raw;
  auto from_cluster = get(node("node1"), "one process");
  EXPECT_EQ(from_cluster.body.value("value", std::string()), "three nodes") << from_cluster.raw;

  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  reap.pid = 0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace yz::cluster_test
