// `yz-node` under a low open-file limit (docs/operations.md "Open files"): a
// process that cannot hold its nodes' listeners and kept links refuses to start
// with exit status 2 and says how many files it needs; one that can, but not
// their query links, starts with fewer query links and says so.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace yz::cluster_test {
namespace {

using namespace std::chrono_literals;

struct ProgramRun {
  std::string output;  // stdout and stderr
  int status = -1;     // exit status; -1 while running (then killed)
};

// Runs yz-node with `args` under RLIMIT_NOFILE = `files` (soft and hard, so it
// cannot raise it), for at most `wait`; a program still running then is killed.
ProgramRun yz_node_with_open_files(rlim_t files, const std::vector<std::string>& args, std::chrono::milliseconds wait) {
  std::string bin = std::string(YZ_BIN_DIR) + "/yz-node";
  std::vector<std::string> all = {bin};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe(out) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    rlimit limit{files, files};
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ProgramRun run;
  auto deadline = std::chrono::steady_clock::now() + wait;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (run.status == -1) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) run.output.append(buffer, static_cast<size_t>(n));
  ::close(out[0]);
  return run;
}

TEST(OpenFiles, TooManyNodesForTheLimitRefuseToStartNamingTheFix) {
  ProgramRun run = yz_node_with_open_files(300, {"--role", "genesis", "--instances", "50", "--listen", "127.0.0.1:0"}, 10s);
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("yz-node: 50 nodes need at least 1328 open files for their listeners and 8 kept links "
                            "each, above the open-file limit of 300 (ulimit -n): raise the limit or run fewer nodes "
                            "per process (--instances)"),
            std::string::npos)
      << run.output;
}

TEST(OpenFiles, NodesThatFitWithFewerQueryLinksStartAndSaySo) {
  // (1000 - 128) / 20 = 43 per node, less 16 and 8 kept links: 19 query links.
  ProgramRun run = yz_node_with_open_files(1000, {"--role", "genesis", "--instances", "20", "--listen", "127.0.0.1:0"}, 3s);
  EXPECT_EQ(run.status, -1) << "yz-node exited: " << run.output;
  EXPECT_NE(run.output.find("20 nodes share the open-file limit of 1000 (ulimit -n): each keeps at most 19 query "
                            "links instead of 128 (--max-query-links); raise the limit to keep more"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("yz-node#19 started"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace yz::cluster_test
