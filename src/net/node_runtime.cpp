// NodeRuntime: wires the sans-IO engine to the Beast transport, a tick timer,
// signals and spdlog. After every engine input the pending actions are drained
// and executed; the transport never calls back from inside its own methods, so
// executing an action never re-enters the engine.
#include <utility>  // before Asio (C++20 with Boost 1.74)

#include "net/node_runtime.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>
#include <variant>

#include "crypto/sodium_crypto.hpp"
#include "net/http_api.hpp"
#include "net/transport.hpp"

namespace yz::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr Millis kMaxSleep = 1000;        // tick at least this often, whatever the engine asks
constexpr Millis kShutdownPoll = 20;      // how often to check that links are closed at exit
}  // namespace

struct NodeRuntime::Impl final : TransportEvents, EngineHost {
  Impl(RuntimeOptions options_, asio::io_context& loop, std::function<void()> on_finished_)
      : options(std::move(options_)),
        io(loop),
        on_finished(std::move(on_finished_)),
        random(os_random_u64()),
        tick_timer(io),
        shutdown_timer(io),
        signals(io, SIGINT, SIGTERM),
        api(*this),
        unix_base(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()),
        steady_base(std::chrono::steady_clock::now()) {}

  // ---- EngineHost ----
  Engine& engine() override { return *engine_ptr; }
  Millis now() const override {
    auto elapsed = std::chrono::steady_clock::now() - steady_base;
    return unix_base + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  }
  void engine_called() override { pump(); }
  bool stopping() const override { return shutting_down; }

  // ---- TransportEvents ----
  LinkId on_accepted(const std::string& remote) override {
    LinkId link = engine_ptr->link_accepted(remote, now());
    // The transport registers the link when this returns: execute actions after that.
    if (!pump_posted) {
      pump_posted = true;
      asio::post(io, [this] {
        pump_posted = false;
        pump();
      });
    }
    return link;
  }
  void on_connected(LinkId link) override {
    engine_ptr->link_connected(link, now());
    pump();
  }
  void on_frame(LinkId link, BytesView frame) override {
    engine_ptr->frame_received(link, frame, now());
    pump();
  }
  void on_frame_too_large(LinkId link, std::size_t size) override {
    engine_ptr->frame_too_large(link, size, now());
    pump();
  }
  void on_closed(LinkId link, const std::string& reason) override {
    spdlog::debug("link {} closed: {}", link, reason);
    engine_ptr->link_closed(link, reason, now());
    pump();
  }
  void on_http(InboundHttpRequest request, HttpResponder respond) override {
    spdlog::debug("http {} {} from {}", request.method, request.target, request.remote);
    auto fallback = respond;
    try {
      api.handle(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("the HTTP API failed on a request: {}", e.what());
      fallback(HttpReply{500, "application/json", R"({"error":"internal error in the node; see its log"})", {}});
    }
  }
  void on_transport_warning(const std::string& text) override { spdlog::warn("{}", text); }

  // ---- action pump ----
  void pump() {
    if (pumping) return;  // the running pump drains whatever this input added
    pumping = true;
    struct Reset {  // an exception escaping an action must not leave the pump blocked
      bool& flag;
      ~Reset() { flag = false; }
    } reset{pumping};
    for (;;) {
      auto actions = engine_ptr->take_actions();
      if (actions.empty()) break;
      for (auto& action : actions) execute(action);
    }
    arm_timer();
  }

  void execute(Action& action) {
    std::visit(
        [this](auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, SendFrame>) {
            if (!transport->send(a.link, std::move(a.frame)))
              spdlog::debug("dropped a frame for link {}: the link is not open (closing or gone)", a.link);
          } else if constexpr (std::is_same_v<T, DialAddress>) {
            spdlog::debug("dialling {} as link {}", a.address, a.link);
            transport->dial(a.link, a.address);
          } else if constexpr (std::is_same_v<T, CloseLink>) {
            transport->close(a.link, static_cast<std::uint16_t>(a.code), a.reason);
          } else if constexpr (std::is_same_v<T, LogLine>) {
            switch (a.level) {
              case LogLevel::debug: spdlog::debug("{}", a.text); break;
              case LogLevel::info: spdlog::info("{}", a.text); break;
              case LogLevel::warn: spdlog::warn("{}", a.text); break;
            }
          }
        },
        action);
  }

  void arm_timer() {
    if (shutting_down) return;
    const Millis current = now();
    Millis wake = std::min(engine_ptr->next_deadline(), current + kMaxSleep);
    if (wake <= current) wake = current + 1;  // time is in ms: a due deadline runs on the next ms
    if (timer_armed && wake >= armed_for) return;
    timer_armed = true;
    armed_for = wake;
    tick_timer.expires_after(std::chrono::milliseconds(wake - current));
    tick_timer.async_wait([this, generation = ++timer_generation](error_code ec) {
      if (ec || generation != timer_generation || shutting_down) return;
      timer_armed = false;
      engine_ptr->tick(now());
      pump();
    });
  }

  // ---- shutdown ----
  void begin_shutdown(const std::string& why) {
    if (shutting_down) {
      spdlog::warn("{}: stopping at once (second request)", why);
      transport->close_all_now();
      finish();
      return;
    }
    shutting_down = true;
    spdlog::info("{}: saying goodbye to {} links (at most {} ms)", why, transport->link_count(), options.shutdown_grace);
    tick_timer.cancel();
    transport->stop_listening();
    engine_ptr->stop(now());
    pump();
    shutdown_deadline = now() + options.shutdown_grace;
    poll_shutdown();
  }

  void poll_shutdown() {
    if (transport->link_count() == 0 || now() >= shutdown_deadline) {
      if (transport->link_count() > 0)
        spdlog::info("{} links did not finish closing in time; closing them hard", transport->link_count());
      transport->close_all_now();
      finish();
      return;
    }
    shutdown_timer.expires_after(std::chrono::milliseconds(kShutdownPoll));
    shutdown_timer.async_wait([this](error_code ec) {
      if (!ec) poll_shutdown();
    });
  }

  // The node is done; whoever runs the loop decides when it stops.
  void finish() {
    if (finished) return;
    finished = true;
    signals.cancel();
    shutdown_timer.cancel();
    if (on_finished) on_finished();
  }

  void wait_signal() {
    signals.async_wait([this](error_code ec, int signo) {
      if (ec) return;
      begin_shutdown(signo == SIGINT ? "SIGINT received" : "SIGTERM received");
      wait_signal();  // a second signal stops at once
    });
  }

  RuntimeOptions options;
  asio::io_context& io;  // the caller's: outlives everything below
  std::function<void()> on_finished;
  SodiumCrypto crypto;
  std::optional<SodiumSigner> signer;
  SeededRandom random;
  std::unique_ptr<Engine> engine_ptr;
  std::unique_ptr<Transport> transport;
  asio::steady_timer tick_timer;
  asio::steady_timer shutdown_timer;
  asio::signal_set signals;
  HttpApi api;
  const Millis unix_base;
  const std::chrono::steady_clock::time_point steady_base;
  std::uint16_t bound_port = 0;
  bool pumping = false;
  bool pump_posted = false;
  bool timer_armed = false;
  Millis armed_for = 0;
  std::uint64_t timer_generation = 0;
  bool shutting_down = false;
  bool finished = false;
  Millis shutdown_deadline = 0;
};

NodeRuntime::NodeRuntime(RuntimeOptions options, boost::asio::io_context& loop,
                         std::function<void()> on_finished)
    : impl_(std::make_unique<Impl>(std::move(options), loop, std::move(on_finished))) {}

NodeRuntime::~NodeRuntime() {
  // Sockets and timers go before the engine they report to.
  if (impl_->transport) impl_->transport->close_all_now();
  impl_->transport.reset();
}

std::optional<std::string> NodeRuntime::open() {
  auto& m = *impl_;
  if (m.options.identity_path.empty()) {
    m.signer.emplace(SodiumSigner::generate());
  } else {
    std::string error;
    m.signer = SodiumSigner::load_or_create(m.options.identity_path, error);
    if (!m.signer) return "cannot use identity file " + m.options.identity_path + ": " + error;
  }

  m.transport = std::make_unique<Transport>(m.io, m);
  auto bound = m.transport->listen(m.options.listen.host, m.options.listen.port);
  if (!bound.ok()) return bound.error();
  m.bound_port = bound.value();

  EngineConfig config = m.options.engine;
  if (config.advertised_addresses.empty() && config.role != Role::browser && config.role != Role::client) {
    ListenAddress actual{m.options.listen.host, m.bound_port};
    config.advertised_addresses.push_back("ws://" + actual.endpoint() + "/");
    if (is_wildcard_host(actual.host)) {
      spdlog::warn("--listen {} without --advertise: peers will be told {}, which they cannot dial; set --advertise "
                   "ws://<this machine's address>:{}/",
                   actual.endpoint(), config.advertised_addresses.front(), m.bound_port);
    }
  }
  m.engine_ptr = std::make_unique<Engine>(std::move(config), m.crypto, *m.signer, m.random);
  return std::nullopt;
}

const NodeId& NodeRuntime::id() const { return impl_->engine_ptr->id(); }
std::uint16_t NodeRuntime::port() const { return impl_->bound_port; }
std::string NodeRuntime::listen_url() const {
  ListenAddress actual{impl_->options.listen.host, impl_->bound_port};
  return "ws://" + actual.endpoint() + "/";
}
const EngineConfig& NodeRuntime::config() const { return impl_->engine_ptr->config(); }

void NodeRuntime::start() {
  auto& m = *impl_;
  m.wait_signal();
  m.engine_ptr->start(m.now());
  m.pump();
}

namespace {
// Runs `loop` until it is stopped or out of work. A bug that escapes a handler
// does not stop the nodes on it (one bad input must not), but is logged loudly.
void serve(asio::io_context& loop, const std::string& program) {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (const std::exception& e) {
      spdlog::critical("unexpected error in {} (please report it): {}", program, e.what());
    }
  }
}
}  // namespace

void NodeRuntime::request_stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->begin_shutdown("stop requested"); });
}

void configure_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("yz");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_level(level == "debug" ? spdlog::level::debug : level == "warn" ? spdlog::level::warn
                                                                               : spdlog::level::info);
}

namespace {
// One stable line on stdout per node: launchers and people read it.
void print_started(const NodeRuntime& runtime, const std::string& program) {
  const auto& config = runtime.config();
  std::string advertised;
  for (const auto& a : config.advertised_addresses) advertised += (advertised.empty() ? "" : ",") + a;
  std::fprintf(stdout, "%s started: role=%s id=%s listen=%s advertise=%s build=%s\n", program.c_str(),
               std::string(role_name(config.role)).c_str(), runtime.id().hex().c_str(), runtime.listen_url().c_str(),
               advertised.c_str(), config.build_id.c_str());
  std::fflush(stdout);
  spdlog::info("{} {} listening on {} (HTTP API on the same port: {}health)", program, runtime.id().short_hex(),
               runtime.listen_url(), "http" + runtime.listen_url().substr(2));
}
}  // namespace

int run_program(RuntimeOptions options, const std::vector<std::string>& warnings) {
  std::vector<RuntimeOptions> one;
  one.push_back(std::move(options));
  return run_programs(std::move(one), 1, warnings);
}

int run_programs(std::vector<RuntimeOptions> nodes, std::size_t threads,
                 const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) spdlog::warn("{}", w);
  // Node i runs on loop i mod threads; each loop has one thread, so a node's
  // handlers never run concurrently. A loop stops when all its nodes finished.
  threads = std::clamp<std::size_t>(threads, 1, nodes.size());
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<std::size_t> running(threads, 0);
  for (std::size_t t = 0; t < threads; ++t) loops.push_back(std::make_unique<asio::io_context>());
  std::vector<std::unique_ptr<NodeRuntime>> runtimes;
  std::vector<std::string> programs;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::size_t t = i % threads;
    programs.push_back(nodes[i].program);
    ++running[t];
    runtimes.push_back(std::make_unique<NodeRuntime>(std::move(nodes[i]), *loops[t], [&running, &loops, t] {
      if (--running[t] == 0) loops[t]->stop();
    }));
    if (auto error = runtimes.back()->open()) {
      spdlog::error("{} cannot start: {}", programs.back(), *error);
      return 1;
    }
  }
  for (std::size_t i = 0; i < runtimes.size(); ++i) print_started(*runtimes[i], programs[i]);
  for (auto& runtime : runtimes) runtime->start();  // before the loops run: no handler is concurrent
  std::vector<std::thread> workers;
  for (std::size_t t = 1; t < threads; ++t) workers.emplace_back([&, t] { serve(*loops[t], programs[t]); });
  serve(*loops[0], programs[0]);
  for (auto& w : workers) w.join();
  if (runtimes.size() == 1) {
    spdlog::info("{} stopped", programs[0]);
  } else {
    spdlog::info("{} nodes stopped", runtimes.size());
  }
  return 0;
}

}  // namespace yz::net
