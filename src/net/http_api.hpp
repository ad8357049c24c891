// The node's HTTP API (GET /health, /metrics, /peers, /find-node, /values/<key>;
// POST /ping; PUT /values/<key>), served on the WebSocket port. Requests that
// wait on the engine answer from the engine's completion callback, so the io
// thread never blocks. Contract and status codes: docs/operations.md.
#pragma once
#include "core/engine.hpp"
#include "net/transport.hpp"

namespace yz::net {

// What the API needs from the process that owns the engine.
class EngineHost {
 public:
  virtual ~EngineHost() = default;
  virtual Engine& engine() = 0;
  virtual Millis now() const = 0;
  // Called after every engine call the API makes, to execute its actions.
  virtual void engine_called() = 0;
  // True once the node is shutting down (engine stopped).
  virtual bool stopping() const = 0;
};

class HttpApi {
 public:
  explicit HttpApi(EngineHost& host) : host_(host) {}
  void handle(InboundHttpRequest request, HttpResponder respond);

 private:
  EngineHost& host_;
};

}  // namespace yz::net
