// The native transport: one TCP port serving WebSocket peer links and plain
// HTTP, plus outbound ws:// dials. Beast lives only in transport.cpp; this
// header exposes links by id and reports events through TransportEvents, which
// NodeRuntime implements by feeding the engine (tests implement it directly).
// Events are never raised from inside a Transport method call, only from
// completion handlers on the io_context, so handlers may call back freely.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "core/protocol.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace boost::asio {
class io_context;
}

namespace yz::net {

using LinkId = std::uint64_t;

// One HTTP request that is not a WebSocket upgrade.
struct InboundHttpRequest {
  std::string method;   // "GET", "PUT", ...
  std::string target;   // path and query as sent, e.g. "/values/a%20b?ttl=60"
  std::string body;
  std::string remote;   // "ip:port" of the client
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Call once (from the io thread) to answer; later calls are ignored. Dropping
// it without calling closes the HTTP connection.
using HttpResponder = std::function<void(HttpReply)>;

class TransportEvents {
 public:
  virtual ~TransportEvents() = default;
  // A peer completed a WebSocket upgrade to us; returns the id for this link.
  virtual LinkId on_accepted(const std::string& remote) = 0;
  // A dial() succeeded (TCP connected and the upgrade answered 101).
  virtual void on_connected(LinkId link) = 0;
  // One complete binary message.
  virtual void on_frame(LinkId link, BytesView frame) = 0;
  // A message above the frame limit started arriving; it was not read further.
  // `size` is the size the peer announced for it (a lower bound when the
  // message was split into fragments). If the handler does not close the link
  // itself, the transport closes it with CloseCode::frame_too_large.
  virtual void on_frame_too_large(LinkId link, std::size_t size) = 0;
  // The link is gone (failed dial, peer close, IO error, or our own close).
  // Reported exactly once per link, with a plain-words reason.
  virtual void on_closed(LinkId link, const std::string& reason) = 0;
  // A plain HTTP request arrived on the same port.
  virtual void on_http(InboundHttpRequest request, HttpResponder respond) = 0;
  // Something went wrong that is not tied to a link (e.g. accept failed).
  virtual void on_transport_warning(const std::string& text) { (void)text; }
};

struct TransportOptions {
  std::size_t max_frame_size = kMaxFrameSize;
  std::size_t max_queued_bytes = 8 * 1024 * 1024;  // per link, frames waiting to be written
  Millis dial_timeout = 5000;                      // resolve + connect + upgrade
  Millis close_timeout = 2000;                     // flush + close handshake, then hard close
  Millis http_timeout = 30'000;                    // reading one request / writing one answer
  std::size_t http_body_limit = kMaxValueSize + 4096;
  std::size_t max_connections = 4096;              // sockets (links + HTTP); more are refused
};

class Transport {
 public:
  Transport(boost::asio::io_context& io, TransportEvents& events, TransportOptions options = {});
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds host:port (port 0 = any free port) and starts accepting.
  // Returns the bound port, or a sentence naming the problem and the fix.
  Result<std::uint16_t, std::string> listen(const std::string& host, std::uint16_t port);
  void stop_listening();

  // Opens an outbound link to a ws:// URL under the caller's id; the outcome
  // arrives as on_connected or on_closed.
  void dial(LinkId link, const std::string& address);
  // Queues one binary message. False when the link is unknown, not open yet
  // or closing (the frame is dropped).
  bool send(LinkId link, Bytes frame);
  // Flushes queued frames, then sends a WebSocket close with this code and
  // reason (truncated to 123 bytes). Cancels a dial in progress.
  void close(LinkId link, std::uint16_t code, std::string reason);
  // Closes every socket at once without a close handshake (last resort at exit).
  void close_all_now();

  // Links not yet reported closed (dialing, open or closing).
  std::size_t link_count() const;
  // Frames queued and not yet written, over all links.
  std::size_t queued_frames() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string text, std::size_t max);

}  // namespace yz::net
