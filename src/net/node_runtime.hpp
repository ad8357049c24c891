// The native runtime of one node: owns the engine (with libsodium crypto, the
// node identity and OS-seeded randomness), the transport and the HTTP API on
// an event loop it is given (one thread; several nodes may share it), and
// pumps engine actions into real IO. Engine inputs happen in io handlers;
// tick() runs on a timer re-armed to engine.next_deadline(). SIGINT/SIGTERM
// stop it gracefully.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/engine.hpp"
#include "net/address.hpp"

namespace boost::asio {
class io_context;
}

namespace yz::net {

struct RuntimeOptions {
  EngineConfig engine;              // advertised_addresses empty = ws://<listen host>:<bound port>/
  ListenAddress listen{"127.0.0.1", 9000};
  std::string identity_path;        // empty = a fresh in-memory identity
  std::string program = "yz-node";  // for log lines
  Millis shutdown_grace = 1000;     // time to flush goodbyes and closes at exit
};

class NodeRuntime {
 public:
  // A node on `loop`, which the caller runs on one thread (several nodes may
  // share it); `on_finished` runs on that thread once the node has stopped.
  NodeRuntime(RuntimeOptions options, boost::asio::io_context& loop, std::function<void()> on_finished);
  ~NodeRuntime();
  NodeRuntime(const NodeRuntime&) = delete;
  NodeRuntime& operator=(const NodeRuntime&) = delete;

  // Loads (or creates) the identity, binds the port and builds the engine.
  // Returns a sentence naming the problem when the node cannot start.
  std::optional<std::string> open();

  // After open(): the node's id, the bound port and the URL it listens on.
  const NodeId& id() const;
  std::uint16_t port() const;
  std::string listen_url() const;
  const EngineConfig& config() const;

  // Starts the engine on the loop (call before the loop runs); the node then
  // serves until SIGINT/SIGTERM or request_stop(), says goodbye on every link
  // and calls on_finished.
  void start();
  // Asks the node to stop gracefully; safe from any thread.
  void request_stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sets spdlog's level ("debug", "info" or "warn") and a timestamped format on stderr.
void configure_logging(const std::string& level);

// The body of yz-node and yz-bootstrap after flag parsing: logs `warnings`,
// opens the runtime, prints one startup line on stdout, then runs.
// Returns the exit code (1 when the node cannot start).
int run_program(RuntimeOptions options, const std::vector<std::string>& warnings);
// The same for several nodes in one process (yz-node --instances N): each has
// its own port, identity and HTTP API; they share `threads` event loops of one
// thread each (node i on loop i mod threads).
int run_programs(std::vector<RuntimeOptions> nodes, std::size_t threads,
                 const std::vector<std::string>& warnings);

}  // namespace yz::net
