// The local-cluster launcher (see cluster.hpp): fork/exec of yz-bootstrap and
// yz-node processes, each in its own process group (Ctrl-C reaches only the
// launcher, which stops them in order), a JSON state file, and health polling
// over the nodes' HTTP API.
#include "net/cluster.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "net/http_client.hpp"

namespace yz::net {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kStateFile = "cluster.json";

int json_int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->get<int>();
}

std::string json_string(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "stopped (wait status " + std::to_string(status) + ")";
}

// The process exists and is not a zombie.
bool pid_running(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  auto paren = text.rfind(')');
  if (paren != std::string::npos && paren + 2 < text.size()) {
    char state = text[paren + 2];
    if (state == 'Z' || state == 'X') return false;
  }
  return true;
}

// The running process `pid` is the node we started (not a recycled pid).
bool pid_is_node(pid_t pid, std::uint16_t port) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmdline.find("127.0.0.1:" + std::to_string(port) + std::string(1, '\0')) != std::string::npos;
}

// Runs fn(i) for i in [0, n) on up to `workers` threads.
template <typename Fn>
void parallel_for(std::size_t n, std::size_t workers, Fn fn) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  workers = std::max<std::size_t>(1, std::min(workers, n));
  for (std::size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string program_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

bool port_in_use(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the nodes' acceptors do
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool in_use = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

Cluster::Cluster(Cluster&&) noexcept = default;
Cluster& Cluster::operator=(Cluster&&) noexcept = default;
Cluster::~Cluster() = default;

const ClusterNode* Cluster::find(const std::string& name) const {
  for (const auto& node : nodes_) {
    if (node.name == name) return &node;
  }
  return nullptr;
}

std::string Cluster::state_path() const { return (fs::path(options_.dir) / kStateFile).string(); }

std::vector<std::string> Cluster::node_args(const std::string& name, const std::string& role,
                                            std::uint16_t port) const {
  const auto& o = options_;
  std::string listen = "127.0.0.1:" + std::to_string(port);
  std::string advertise = "ws://" + listen + "/";
  std::string identity = (fs::path(o.dir) / (name + ".key")).string();
  std::vector<std::string> args;
  if (role == "bootstrap") {
    args = {(fs::path(o.bin_dir) / "yz-bootstrap").string(), "--listen", listen, "--advertise", advertise,
            "--identity", identity};
    if (!o.log_level.empty()) args.insert(args.end(), {"--log-level", o.log_level});
    return args;
  }
  args = {(fs::path(o.bin_dir) / "yz-node").string(), "--role", role, "--listen", listen, "--advertise", advertise,
          "--identity", identity, "--bootstrap", "ws://127.0.0.1:" + std::to_string(o.base_port) + "/"};
  if (role != "genesis") args.insert(args.end(), {"--peer", "ws://127.0.0.1:" + std::to_string(o.base_port + 1) + "/"});
  if (o.min_links > 0) args.insert(args.end(), {"--min-links", std::to_string(o.min_links)});
  if (o.max_links > 0) args.insert(args.end(), {"--max-links", std::to_string(o.max_links)});
  if (o.maintenance_interval_ms > 0) {
    args.insert(args.end(), {"--maintenance-interval-ms", std::to_string(o.maintenance_interval_ms)});
  }
  if (o.request_timeout_ms > 0) args.insert(args.end(), {"--request-timeout-ms", std::to_string(o.request_timeout_ms)});
  if (!o.log_level.empty()) args.insert(args.end(), {"--log-level", o.log_level});
  args.insert(args.end(), o.node_args.begin(), o.node_args.end());
  return args;
}

bool Cluster::spawn(ClusterNode& node, std::string& error) {
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed (we may have threads).
  std::vector<char*> argv;
  for (auto& arg : node.args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // The nodes read YZ_* variables as flag defaults: pass none, so a node runs
  // exactly the command line recorded in cluster.json.
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "YZ_", 3) != 0) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  int log_fd = ::open(node.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    error = "cannot create the log file " + node.log_path + " (" + std::strerror(errno) +
            "): is the directory writable? Choose another with --dir";
    return false;
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2];
  if (null_fd < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    error = std::string("cannot prepare to start a process (") + std::strerror(errno) + ")";
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return false;
  }
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  pid_t parent = ::getpid();
  bool die_with_parent = options_.die_with_parent;

  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("cannot start a process (fork failed: ") + std::strerror(errno) + ")";
    ::close(log_fd);
    ::close(null_fd);
    ::close(exec_pipe[0]);
    ::close(exec_pipe[1]);
    return false;
  }
  if (pid == 0) {
    // Child.
    // Own session and process group: a terminal's Ctrl-C or hangup reaches the
    // launcher only, which stops the nodes in order (or leaves them detached).
    if (::setsid() < 0) ::setpgid(0, 0);
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execve(argv[0], argv.data(), envp.data());
    int err = errno;
    [[maybe_unused]] auto written = ::write(exec_pipe[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  ::close(log_fd);
  ::close(null_fd);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    error = "cannot start " + node.args[0] + " for " + node.name + " (" + std::strerror(child_errno) + ")";
    return false;
  }
  node.pid = pid;
  return true;
}

std::optional<Cluster> Cluster::start(const ClusterOptions& options, std::string& error) {
  Cluster cluster;
  cluster.options_ = options;
  auto& o = cluster.options_;
  if (o.bin_dir.empty()) o.bin_dir = program_dir();
  std::error_code ec;
  o.bin_dir = fs::absolute(o.bin_dir, ec).lexically_normal().string();
  if (o.nodes < 0 || o.bridges < 0) {
    error = "the number of nodes and bridges cannot be negative";
    return std::nullopt;
  }
  for (const char* program : {"yz-node", "yz-bootstrap"}) {
    auto path = (fs::path(o.bin_dir) / program).string();
    if (!executable(path)) {
      error = "cannot find the program " + path + ": build it first (`make build`), or point to its directory";
      return std::nullopt;
    }
  }
  int total = 2 + o.bridges + o.nodes;
  if (static_cast<int>(o.base_port) + total - 1 > 65535 || o.base_port < 1024) {
    error = "ports " + std::to_string(o.base_port) + ".." + std::to_string(o.base_port + total - 1) +
            " do not fit between 1024 and 65535: choose another --base-port";
    return std::nullopt;
  }
  fs::create_directories(o.dir, ec);
  if (ec) {
    error = "cannot create the cluster directory " + o.dir + " (" + ec.message() + "): choose another with --dir";
    return std::nullopt;
  }
  o.dir = fs::absolute(o.dir).lexically_normal().string();
  if (!o.dir.empty() && o.dir.back() == '/') o.dir.pop_back();

  // A cluster already running from this directory?
  if (fs::exists(fs::path(o.dir) / kStateFile)) {
    std::string ignored;
    if (auto old = load(o.dir, ignored)) {
      std::size_t running = 0;
      for (const auto& node : old->nodes()) running += old->alive(node) ? 1 : 0;
      if (running > 0) {
        error = "a cluster is already running from " + o.dir + " (" + std::to_string(running) + " of " +
                plural(old->nodes().size(), "process", "processes") + " alive): stop it with `yz cluster down --dir " + o.dir +
                "`, or use another --dir";
        return std::nullopt;
      }
    }
  }
  for (int i = 0; i < total; ++i) {
    auto port = static_cast<std::uint16_t>(o.base_port + i);
    if (port_in_use(port)) {
      error = "port " + std::to_string(port) + " on 127.0.0.1 is already in use (the cluster needs ports " +
              std::to_string(o.base_port) + ".." + std::to_string(o.base_port + total - 1) +
              "): stop what uses it (`yz cluster down`, or `ss -ltnp 'sport = :" + std::to_string(port) +
              "'` shows it), or choose another range with --base-port";
      return std::nullopt;
    }
  }

  auto add = [&](const std::string& name, const std::string& role, std::uint16_t port) {
    ClusterNode node;
    node.name = name;
    node.role = role;
    node.port = port;
    node.url = "http://127.0.0.1:" + std::to_string(port);
    node.ws_url = "ws://127.0.0.1:" + std::to_string(port) + "/";
    node.log_path = (fs::path(o.dir) / (name + ".log")).string();
    node.identity_path = (fs::path(o.dir) / (name + ".key")).string();
    node.args = cluster.node_args(name, role, port);
    cluster.nodes_.push_back(std::move(node));
  };
  std::uint16_t port = o.base_port;
  add("bootstrap", "bootstrap", port++);
  add("genesis", "genesis", port++);
  for (int i = 1; i <= o.bridges; ++i) add("bridge" + std::to_string(i), "bridge", port++);
  for (int i = 1; i <= o.nodes; ++i) add("node" + std::to_string(i), "dht", port++);

  cluster.owns_children_ = true;
  for (auto& node : cluster.nodes_) {
    if (!cluster.spawn(node, error)) {
      cluster.stop(1000ms);
      return std::nullopt;
    }
    // The bootstrap server and genesis first: the others dial them at start.
    if (node.role == "bootstrap" || node.role == "genesis") std::this_thread::sleep_for(100ms);
  }
  if (!cluster.save(error)) {
    cluster.stop(1000ms);
    return std::nullopt;
  }
  return cluster;
}

std::optional<ClusterNode> Cluster::add_node(const std::string& name, const std::string& role,
                                             const std::vector<std::string>& extra_args, std::string& error) {
  if (find(name)) {
    error = "a node named " + name + " is already in the cluster";
    return std::nullopt;
  }
  std::uint16_t port = options_.base_port;
  for (const auto& node : nodes_) port = std::max<std::uint16_t>(port, node.port);
  ++port;
  if (port_in_use(port)) {
    error = "port " + std::to_string(port) + " on 127.0.0.1 is already in use: choose another --base-port";
    return std::nullopt;
  }
  ClusterNode node;
  node.name = name;
  node.role = role;
  node.port = port;
  node.url = "http://127.0.0.1:" + std::to_string(port);
  node.ws_url = "ws://127.0.0.1:" + std::to_string(port) + "/";
  node.log_path = (fs::path(options_.dir) / (name + ".log")).string();
  node.identity_path = (fs::path(options_.dir) / (name + ".key")).string();
  node.args = node_args(name, role, port);
  node.args.insert(node.args.end(), extra_args.begin(), extra_args.end());
  if (!spawn(node, error)) return std::nullopt;
  owns_children_ = true;
  nodes_.push_back(node);
  if (!save(error)) return std::nullopt;
  return node;
}

bool Cluster::save(std::string& error) const {
  nlohmann::json j;
  j["version"] = 1;
  j["dir"] = options_.dir;
  j["bin_dir"] = options_.bin_dir;
  j["base_port"] = options_.base_port;
  j["options"] = {{"nodes", options_.nodes},
                  {"bridges", options_.bridges},
                  {"min_links", options_.min_links},
                  {"max_links", options_.max_links},
                  {"maintenance_interval_ms", options_.maintenance_interval_ms},
                  {"request_timeout_ms", options_.request_timeout_ms},
                  {"log_level", options_.log_level},
                  {"node_args", options_.node_args}};
  j["nodes"] = nlohmann::json::array();
  for (const auto& node : nodes_) {
    j["nodes"].push_back({{"name", node.name},
                          {"role", node.role},
                          {"port", node.port},
                          {"pid", node.pid},
                          {"url", node.url},
                          {"ws_url", node.ws_url},
                          {"log", node.log_path},
                          {"identity", node.identity_path},
                          {"args", node.args}});
  }
  auto path = state_path();
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) {
      error = "cannot write the cluster state file " + tmp + ": is " + options_.dir + " writable?";
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    error = "cannot write the cluster state file " + path + " (" + ec.message() + ")";
    return false;
  }
  return true;
}

std::optional<Cluster> Cluster::load(const std::string& dir, std::string& error) {
  auto path = (fs::path(dir) / kStateFile).string();
  std::ifstream in(path);
  if (!in) {
    error = "no cluster was started from " + dir + " (" + path +
            " does not exist): start one with `yz cluster up`, or name its directory with --dir";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("nodes") || !j["nodes"].is_array()) {
    error = "the cluster state file " + path + " is not valid JSON from `yz cluster up`: remove it and start again";
    return std::nullopt;
  }
  Cluster cluster;
  auto& o = cluster.options_;
  o.dir = json_string(j, "dir");
  if (o.dir.empty()) o.dir = fs::absolute(dir).string();
  o.bin_dir = json_string(j, "bin_dir");
  o.base_port = static_cast<std::uint16_t>(json_int(j, "base_port"));
  if (auto opts = j.find("options"); opts != j.end() && opts->is_object()) {
    o.nodes = json_int(*opts, "nodes");
    o.bridges = json_int(*opts, "bridges");
    o.min_links = json_int(*opts, "min_links");
    o.max_links = json_int(*opts, "max_links");
    o.maintenance_interval_ms = json_int(*opts, "maintenance_interval_ms");
    o.request_timeout_ms = json_int(*opts, "request_timeout_ms");
    o.log_level = json_string(*opts, "log_level");
  }
  for (const auto& item : j["nodes"]) {
    if (!item.is_object()) continue;
    ClusterNode node;
    node.name = json_string(item, "name");
    node.role = json_string(item, "role");
    node.port = static_cast<std::uint16_t>(json_int(item, "port"));
    node.pid = static_cast<pid_t>(json_int(item, "pid"));
    node.url = json_string(item, "url");
    node.ws_url = json_string(item, "ws_url");
    node.log_path = json_string(item, "log");
    node.identity_path = json_string(item, "identity");
    if (auto args = item.find("args"); args != item.end() && args->is_array()) {
      for (const auto& a : *args) {
        if (a.is_string()) node.args.push_back(a.get<std::string>());
      }
    }
    cluster.nodes_.push_back(std::move(node));
  }
  return cluster;
}

bool Cluster::alive(const ClusterNode& node) const {
  if (node.pid <= 0) return false;
  for (const auto& [pid, status] : reaped_) {
    if (pid == node.pid) return false;
  }
  if (owns_children_) {
    int status = 0;
    pid_t r = ::waitpid(node.pid, &status, WNOHANG);
    if (r == node.pid) {
      reaped_.emplace_back(node.pid, status);
      return false;
    }
    if (r == 0) return true;
    // Not our child (ECHILD): judge from /proc below.
  }
  return pid_running(node.pid) && pid_is_node(node.pid, node.port);
}

std::string Cluster::exit_description(const ClusterNode& node) const {
  if (alive(node)) return {};
  for (const auto& [pid, status] : reaped_) {
    if (pid == node.pid) return describe_wait_status(status);
  }
  return "is not running";
}

std::string Cluster::log_tail(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  if (!in) return {};
  std::vector<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.erase(tail.begin());
  }
  std::string out;
  for (const auto& l : tail) out += l + "\n";
  return out;
}

std::vector<NodeStatus> Cluster::status(std::chrono::milliseconds per_node_timeout) const {
  std::vector<NodeStatus> rows(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& node = nodes_[i];
    auto& row = rows[i];
    row.name = node.name;
    row.role = node.role;
    row.url = node.url;
    row.pid = node.pid;
    row.alive = alive(node);
    if (!row.alive) {
      auto how = exit_description(node);
      row.reasons.push_back("the process " + (how.empty() ? std::string("is not running") : how) + " (log: " +
                            node.log_path + ")");
    }
  }
  parallel_for(nodes_.size(), 16, [&](std::size_t i) {
    auto& row = rows[i];
    if (!row.alive) return;
    HttpRequestOptions http;
    http.timeout = per_node_timeout;
    auto response = http_request("GET", nodes_[i].url + "/health", {}, http);
    if (!response.answered()) {
      row.reasons.push_back(response.error);
      return;
    }
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      row.reasons.push_back("GET /health answered HTTP " + std::to_string(response.status) + " without JSON");
      return;
    }
    row.answered = true;
    row.health = j;
    row.healthy = response.status == 200 && j.value("healthy", false);
    row.id = json_string(j, "id");
    row.links = json_int(j, "links");
    row.query_links = json_int(j, "query_links");
    row.routing_table_size = json_int(j, "routing_table_size");
    row.stored_values = json_int(j, "stored_values");
    if (auto reasons = j.find("reasons"); reasons != j.end() && reasons->is_array()) {
      for (const auto& r : *reasons) {
        if (r.is_string()) row.reasons.push_back(r.get<std::string>());
      }
    }
    if (!row.healthy && row.reasons.empty()) {
      row.reasons.push_back("GET /health answered HTTP " + std::to_string(response.status) + " without a reason");
    }
  });
  return rows;
}

std::vector<NodeProblem> Cluster::wait_healthy(std::chrono::milliseconds timeout,
                                               const std::vector<std::string>& names) const {
  auto deadline = Clock::now() + timeout;
  auto wanted = [&](const std::string& name) {
    return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
  };
  while (true) {
    auto rows = status(std::chrono::milliseconds(1500));
    std::vector<NodeProblem> problems;
    bool someone_died = false;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      if (!wanted(row.name) || row.healthy) continue;
      NodeProblem problem{row.name, row.url, row.reasons, !row.alive};
      if (!row.alive) {
        someone_died = true;
        auto tail = log_tail(nodes_[i].log_path, 5);
        if (!tail.empty()) problem.reasons.push_back("last log lines:\n" + tail);
      }
      problems.push_back(std::move(problem));
    }
    if (problems.empty() || someone_died || Clock::now() >= deadline) return problems;
    std::this_thread::sleep_for(200ms);
  }
}

std::vector<std::string> Cluster::stop(std::chrono::milliseconds grace) {
  std::vector<const ClusterNode*> running;
  for (const auto& node : nodes_) {
    if (alive(node)) {
      ::kill(node.pid, SIGTERM);
      running.push_back(&node);
    }
  }
  auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    std::erase_if(running, [&](const ClusterNode* node) { return !alive(*node); });
    if (running.empty()) break;
    std::this_thread::sleep_for(25ms);
  }
  std::vector<std::string> killed;
  for (const auto* node : running) {
    if (alive(*node)) {
      ::kill(node->pid, SIGKILL);
      killed.push_back(node->name);
    }
  }
  // Reap the killed ones so their ports are free when we return.
  auto kill_deadline = Clock::now() + 2s;
  while (!running.empty() && Clock::now() < kill_deadline) {
    std::erase_if(running, [&](const ClusterNode* node) { return !alive(*node); });
    if (!running.empty()) std::this_thread::sleep_for(10ms);
  }
  return killed;
}

bool Cluster::kill(const std::string& name, std::string& error) {
  const auto* node = find(name);
  if (!node) {
    error = "no node named " + name + " in the cluster";
    return false;
  }
  if (!alive(*node)) {
    error = node->name + " is not running";
    return false;
  }
  ::kill(node->pid, SIGKILL);
  auto deadline = Clock::now() + 2s;
  while (alive(*node) && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return true;
}

}  // namespace yz::net
