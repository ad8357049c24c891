// Native transport: one acceptor whose connections start as HTTP (Beast) and
// become WebSocket peer links when they ask for an upgrade, outbound ws://
// dials, RFC 6455 framing on the socket (net/ws_frame.hpp), per-link write
// queues and close handshakes. Every failure is handled per connection and
// reported in plain words; nothing here throws into the io_context.
#include "net/transport.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/fifo.hpp"
#include "net/address.hpp"
#include "net/ws_frame.hpp"

namespace yz::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
// Every IO object names the io_context's own executor type instead of the
// type-erased any_io_executor: each pending operation (one read per link,
// always) is a few hundred bytes smaller and dispatches without indirection.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using TcpStream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using boost::system::error_code;

std::string truncate_utf8(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t cut = max;
  // Step back over continuation bytes (10xxxxxx) so no sequence is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

namespace {

constexpr std::size_t kMaxCloseReason = 123;  // RFC 6455: 125-byte payload minus the code

// Bytes one read takes from a socket, into a buffer each event-loop thread
// shares among its links; a frame not complete yet is kept by its link.
constexpr std::size_t kReadBuffer = 64 * 1024;
// Frames handed to the socket in one gathered write.
constexpr std::size_t kMaxFramesPerWrite = 64;

std::string endpoint_text(const tcp::endpoint& ep) {
  auto address = ep.address().to_string();
  if (ep.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(ep.port());
}

std::string remote_of(const Socket& socket) {
  error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("unknown peer") : endpoint_text(ep);
}

std::chrono::milliseconds ms(Millis value) { return std::chrono::milliseconds(value); }

std::string duration_text(Millis value) {
  if (value >= 1000 && value % 1000 == 0) return std::to_string(value / 1000) + " s";
  return std::to_string(value) + " ms";
}

std::string size_text(std::size_t bytes) {
  constexpr std::size_t kMiB = 1024 * 1024;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string describe_upgrade_status(const std::string& url, const http::response<http::string_body>& res) {
  int status = res.result_int();
  std::string head = "peer " + url + " answered HTTP " + std::to_string(status) + " to the WebSocket upgrade";
  if (status == 200) return head + ": a proxy in between is not forwarding the Upgrade and Connection headers";
  if (status == 301 || status == 302 || status == 307 || status == 308) {
    std::string location(res[http::field::location]);
    return head + " (a redirect to '" + location + "'): dial the address it redirects to instead";
  }
  if (status == 400)
    return head + ": the server refused the upgrade request; it may not be a yz node, or a proxy altered the headers";
  if (status == 401 || status == 403) return head + ": access to this path is denied; check the proxy's access rules";
  if (status == 404)
    return head + ": nothing serves WebSocket at this path; check the path in the address (behind a proxy, e.g. /node3)";
  if (status == 426) return head + ": the server wants another protocol version; it is probably not a yz node";
  if (status == 502 || status == 503 || status == 504)
    return head + ": the proxy in front of the node cannot reach it; is the node behind the proxy running?";
  return head + " instead of 101 Switching Protocols: it is probably not a yz node, or a proxy answers for it";
}

std::string describe_dial_error(const error_code& ec, const std::string& stage, const WsUrl& url,
                                const std::string& address) {
  if (stage == "resolve") {
    return "cannot resolve host '" + url.host + "' of " + address + " (" + ec.message() +
           "): check the host name in the address, or this machine's DNS";
  }
  if (stage == "connect") {
    if (ec == asio::error::connection_refused)
      return "nothing listens at " + url.endpoint() + " (connection refused): is the node running and is the port right?";
    if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable)
      return "cannot reach " + url.endpoint() + " (" + ec.message() +
             "): check the network path and firewalls between the two machines";
    if (ec == asio::error::timed_out)
      return "connecting to " + url.endpoint() + " timed out (" + ec.message() +
             "): the host may be down or a firewall drops the packets";
    return "cannot connect to " + url.endpoint() + " (" + ec.message() + ")";
  }
  // stage == "upgrade"
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
    return "peer " + address + " closed the connection during the WebSocket upgrade (" + ec.message() +
           "): the port may belong to a program that is not a yz node, or a proxy dropped the request";
  if (ec.category() == error_code(http::error::end_of_stream).category())
    return "peer " + address + " answered the WebSocket upgrade with something that is not valid HTTP (" +
           ec.message() + "): the port may belong to a program that is not a yz node";
  return "peer " + address + " answered the upgrade but the handshake failed (" + ec.message() +
         "): a proxy in between may be rewriting the WebSocket headers";
}

}  // namespace

// ---------------------------------------------------------------------------

class WsLink;

struct Transport::Impl : std::enable_shared_from_this<Transport::Impl> {
  Impl(asio::io_context& io_, TransportEvents& events_, TransportOptions options_)
      : io(io_),
        events(events_),
        opt(std::make_shared<const TransportOptions>(std::move(options_))),
        accept_retry(io_) {}

  void do_accept();
  void on_accept(error_code ec, Socket socket);

  asio::io_context& io;
  TransportEvents& events;
  std::shared_ptr<const TransportOptions> opt;  // shared by every link and session
  std::optional<Acceptor> acceptor;
  Timer accept_retry;
  std::unordered_map<LinkId, std::shared_ptr<WsLink>> links;
  std::size_t inbound_connections = 0;
};

namespace {

// Counts one inbound socket against TransportOptions::max_connections.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(const std::shared_ptr<Transport::Impl>& owner) : owner_(owner) {
    ++owner->inbound_connections;
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept : owner_(std::move(other.owner_)) { other.owner_.reset(); }
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ~ConnectionSlot() {
    if (auto owner = owner_.lock()) --owner->inbound_connections;
  }

 private:
  std::weak_ptr<Transport::Impl> owner_;
};

}  // namespace

// One WebSocket link, inbound or outbound: RFC 6455 framing (net/ws_frame.hpp)
// straight on the TCP socket. An open link waits for readability instead of
// holding a read buffer, and reads into a buffer its event loop shares, so an
// idle link is its socket, one pending wait and this object
// (docs/architecture.md, "What a link costs").
class WsLink : public std::enable_shared_from_this<WsLink> {
 public:
  enum class Phase : std::uint8_t { accepting, dialing, open, closing, done };

  // Inbound: the HTTP session hands over its socket after reading an upgrade
  // request, with any bytes it read past the request.
  WsLink(std::weak_ptr<Transport::Impl> owner, std::shared_ptr<const TransportOptions> opt, Socket socket,
         std::string remote, ConnectionSlot slot, Bytes early)
      : owner_(std::move(owner)),
        opt_(std::move(opt)),
        socket_(std::move(socket)),
        label_(std::move(remote)),
        slot_(std::move(slot)),
        phase_(Phase::accepting),
        client_(false),
        in_(std::move(early)) {}

  // Outbound.
  WsLink(std::weak_ptr<Transport::Impl> owner, std::shared_ptr<const TransportOptions> opt,
         asio::io_context& io, LinkId id, std::string address)
      : owner_(std::move(owner)),
        opt_(std::move(opt)),
        socket_(io),
        label_(std::move(address)),
        id_(id),
        phase_(Phase::dialing),
        client_(true) {}

  LinkId id() const { return id_; }
  std::size_t queued() const { return queue_.size(); }

  void accept(const http::request<http::string_body>& request) {
    std::string refusal;
    unsigned status = 400;
    auto version = request[http::field::sec_websocket_version];
    auto key = request[http::field::sec_websocket_key];
    if (request.method() != http::verb::get) {
      refusal = "a WebSocket upgrade must be a GET request";
    } else if (version != "13") {
      status = 426;
      refusal = "this node speaks WebSocket version 13 only (Sec-WebSocket-Version: 13)";
    } else if (!ws::valid_client_key(std::string_view(key.data(), key.size()))) {
      refusal = "the upgrade request has no valid Sec-WebSocket-Key (24 base64 characters)";
    }
    arm_timer(opt_->dial_timeout, [](WsLink& self) {
      self.phase_ = Phase::done;
      self.teardown();
    });
    if (!refusal.empty()) {
      hs_->out_text = "HTTP/1.1 " + std::to_string(status) +
                      (status == 426 ? " Upgrade Required" : " Bad Request") +
                      "\r\nServer: yz/" YZ_BUILD_ID
                      "\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain\r\n"
                      "Content-Length: " +
                      std::to_string(refusal.size() + 1) + "\r\nConnection: close\r\n\r\n" + refusal + "\n";
      asio::async_write(socket_, asio::buffer(hs_->out_text),
                        [self = shared_from_this()](error_code, std::size_t) {
                          self->phase_ = Phase::done;
                          self->cancel_timer();
                          self->teardown();
                        });
      return;
    }
    hs_->out_text =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
        "Upgrade\r\nSec-WebSocket-Accept: " +
        ws::accept_key(std::string_view(key.data(), key.size())) + "\r\nServer: yz/" YZ_BUILD_ID "\r\n\r\n";
    asio::async_write(socket_, asio::buffer(hs_->out_text),
                      [self = shared_from_this()](error_code ec, std::size_t) { self->on_accepted(ec); });
  }

  // Starts the dial; `error` non-empty means the address is unusable (reported async).
  void dial() {
    std::string error;
    bool usable = false;
    if (auto parsed = parse_ws_url(label_, error)) {
      hs_->url = std::move(*parsed);
      usable = !hs_->url.secure;
      if (hs_->url.secure)
        error = "cannot dial " + label_ +
                ": wss:// is not supported yet for outgoing links; give the node's plain ws:// address";
    }
    if (!usable) {
      asio::post(socket_.get_executor(), [self = shared_from_this(), error] { self->finish(error); });
      return;
    }
    arm_timer(opt_->dial_timeout, [](WsLink& self) {
      if (self.phase_ != Phase::dialing || !self.hs_) return;
      self.hs_->timed_out = true;
      self.abort_dial();
    });
    // A numeric host (the usual case between nodes) needs no resolver: asio
    // would run getaddrinfo on its resolver thread and hand the result back.
    error_code numeric;
    const auto ip = asio::ip::make_address(hs_->url.host, numeric);
    if (!numeric) {
      hs_->stage = "connect";
      socket_.async_connect(tcp::endpoint(ip, hs_->url.port),
                            [self = shared_from_this()](error_code ec) { self->on_tcp_connected(ec); });
      return;
    }
    hs_->stage = "resolve";
    hs_->resolver.emplace(socket_.get_executor());
    hs_->resolver->async_resolve(hs_->url.host, std::to_string(hs_->url.port),
                                 [self = shared_from_this()](error_code ec, Resolver::results_type results) {
                                   self->on_resolved(ec, std::move(results));
                                 });
  }

  bool send(Bytes frame) {
    if (phase_ != Phase::open) return false;
    if (queued_bytes_ + frame.size() > opt_->max_queued_bytes) {
      std::string limit = size_text(opt_->max_queued_bytes);
      request_close(static_cast<std::uint16_t>(CloseCode::normal),
                    "send queue above " + limit + ": you are not reading your frames",
                    "this node closed the link: its send queue to " + label_ + " passed " + limit +
                        " (the peer does not read its frames fast enough)");
      return false;
    }
    queued_bytes_ += frame.size();
    enqueue(ws::Opcode::binary, std::move(frame));
    return true;
  }

  void request_close(std::uint16_t code, std::string reason, std::string note) {
    if (phase_ == Phase::done || phase_ == Phase::closing) return;
    if (phase_ == Phase::dialing || phase_ == Phase::accepting) {
      note_ = std::move(note);
      abort_dial();
      return;
    }
    phase_ = Phase::closing;
    note_ = std::move(note);
    arm_timer(opt_->close_timeout, [](WsLink& self) {
      self.teardown();
      self.finish(self.note_);
    });
    enqueue(ws::Opcode::close, close_payload(code, truncate_utf8(std::move(reason), kMaxCloseReason)));
  }

  void teardown() {
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (hs_ && hs_->resolver) hs_->resolver->cancel();
  }

 private:
  // A frame waiting to be written: its payload (masked in place when this side
  // dialled) and what its header needs; headers are encoded per write.
  struct OutFrame {
    ws::Opcode opcode = ws::Opcode::binary;
    ws::MaskKey mask{};  // the dialling side's key, already applied to payload
    bool close = false;
    bool counted = false;  // a data frame, counted in queued_bytes_
    bool raw = false;      // payload is the unsent end of a frame, header included (see write_now)
    Bytes payload;
  };

  static Bytes close_payload(std::uint16_t code, const std::string& reason) {
    Bytes payload;
    payload.reserve(2 + reason.size());
    payload.push_back(static_cast<std::uint8_t>(code >> 8));
    payload.push_back(static_cast<std::uint8_t>(code));
    payload.insert(payload.end(), reason.begin(), reason.end());
    return payload;
  }

  void cancel_timer() {
    if (timer_) timer_->cancel();
  }

  template <class OnExpiry>
  void arm_timer(Millis after, OnExpiry on_expiry) {
    if (!timer_) timer_ = std::make_unique<Timer>(socket_.get_executor());
    timer_->expires_after(ms(after));
    timer_->async_wait([self = shared_from_this(), on_expiry](error_code ec) {
      if (ec || self->phase_ == Phase::done) return;
      on_expiry(*self);
    });
  }

  // ---- inbound ----
  void on_accepted(error_code ec) {
    hs_.reset();
    auto owner = owner_.lock();
    if (!owner || phase_ != Phase::accepting) return;
    if (ec) {
      phase_ = Phase::done;
      teardown();
      return;  // not a link yet: nothing to report
    }
    timer_.reset();  // an open link has no deadline (a pending wait ends as aborted)
    id_ = owner->events.on_accepted(label_);
    if (owner->links.count(id_)) {
      owner->events.on_transport_warning("accepted link from " + label_ + " got id " + std::to_string(id_) +
                                         ", which is already in use (an engine bug); dropping the connection");
      teardown();
      phase_ = Phase::done;
      return;
    }
    owner->links[id_] = shared_from_this();
    opened();
  }

  // ---- outbound ----
  void abort_dial() {
    error_code ignored;
    if (hs_ && hs_->resolver) hs_->resolver->cancel();
    socket_.close(ignored);
  }

  void on_resolved(error_code ec, const Resolver::results_type& results) {
    if (ec) return dial_failed(ec);
    if (!note_.empty() || hs_->timed_out) return dial_failed(asio::error::operation_aborted);
    hs_->stage = "connect";
    asio::async_connect(socket_, results, [self = shared_from_this()](error_code ec2, const tcp::endpoint&) {
      self->on_tcp_connected(ec2);
    });
  }

  void on_tcp_connected(error_code ec) {
    if (ec) return dial_failed(ec);
    if (!note_.empty() || hs_->timed_out) return dial_failed(asio::error::operation_aborted);
    // Small request/response frames: send at once, never wait for Nagle's coalescing.
    error_code nodelay_ec;
    socket_.set_option(tcp::no_delay(true), nodelay_ec);
    hs_->stage = "upgrade";
    hs_->key = ws::make_client_key();
    hs_->out_text = "GET " + hs_->url.path + " HTTP/1.1\r\nHost: " + hs_->url.endpoint() +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + hs_->key +
                    "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: yz/" YZ_BUILD_ID "\r\n\r\n";
    asio::async_write(
        socket_, asio::buffer(hs_->out_text), [self = shared_from_this()](error_code ec2, std::size_t) {
          if (ec2) return self->dial_failed(ec2);
          self->hs_->parser.emplace();
          self->hs_->parser->header_limit(16 * 1024);
          http::async_read_header(self->socket_, self->hs_->buffer, *self->hs_->parser,
                                  [self](error_code ec3, std::size_t) { self->on_upgrade_answer(ec3); });
        });
  }

  void on_upgrade_answer(error_code ec) {
    if (ec) return dial_failed(ec);
    if (!note_.empty() || hs_->timed_out) return dial_failed(asio::error::operation_aborted);
    const auto& res = hs_->parser->get();
    std::string refusal;
    if (res.result() != http::status::switching_protocols) {
      refusal = describe_upgrade_status(label_, res);
    } else if (!beast::iequals(res[http::field::upgrade], "websocket") ||
               std::string(res[http::field::sec_websocket_accept]) != ws::accept_key(hs_->key)) {
      refusal = "peer " + label_ +
                " answered the upgrade but the handshake failed (missing Upgrade header or wrong "
                "Sec-WebSocket-Accept): a proxy in between may be rewriting the WebSocket headers";
    }
    if (!refusal.empty()) {
      teardown();
      return finish(refusal);
    }
    // Frames the peer sent right behind its answer are the first input.
    auto data = hs_->buffer.data();
    const auto* bytes = static_cast<const std::uint8_t*>(data.data());
    in_.assign(bytes, bytes + data.size());
    hs_.reset();     // an open link keeps no handshake state...
    timer_.reset();  // ...and has no deadline (a pending wait ends as aborted)
    auto owner = owner_.lock();
    if (!owner) return;
    phase_ = Phase::open;
    owner->events.on_connected(id_);
    if (phase_ == Phase::open) opened();
  }

  void dial_failed(error_code ec) {
    if (phase_ == Phase::done || !hs_) return;
    std::string reason;
    if (!note_.empty()) {
      reason = note_;
    } else if (hs_->timed_out) {
      std::string step = hs_->stage == "resolve"   ? "resolving the host"
                         : hs_->stage == "connect" ? "connecting"
                                                   : "the upgrade";
      reason = "no WebSocket link to " + label_ + " within " + duration_text(opt_->dial_timeout) +
               " (stuck at " + step +
               "): the host may be down or firewalled, or the port belongs to a program that does not answer";
    } else {
      reason = describe_dial_error(ec, hs_->stage, hs_->url, label_);
    }
    teardown();
    finish(reason);
  }

  // ---- reading ----
  void opened() {
    if (phase_ == Phase::accepting) phase_ = Phase::open;
    error_code ignored;
    socket_.non_blocking(true, ignored);
    if (!in_.empty()) take_with_buffered(nullptr, 0);  // bytes that came with the handshake
    if (phase_ == Phase::open || phase_ == Phase::closing) wait_readable();
  }

  void wait_readable() {
    socket_.async_wait(Socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
  }

  void on_readable(error_code ec) {
    auto owner = owner_.lock();
    if (!owner || phase_ == Phase::done) return;
    if (ec) return read_failed(ec);
    thread_local std::vector<std::uint8_t> scratch(kReadBuffer);
    for (int round = 0; round < 16; ++round) {
      std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) return read_failed(ec);
      take_with_buffered(scratch.data(), n);
      if (phase_ != Phase::open && phase_ != Phase::closing) return;
      if (n < scratch.size()) break;
    }
    wait_readable();
  }

  // The bytes kept in in_ followed by more[0..n), through take_input.
  void take_with_buffered(std::uint8_t* more, std::size_t n) {
    if (in_.empty()) return take_input(more, n);
    in_.insert(in_.end(), more, more + n);
    Bytes pending = std::exchange(in_, {});
    take_input(pending.data(), pending.size());
  }

  // Frames in data[0..size): handles every complete one, keeps the rest in in_.
  void take_input(std::uint8_t* data, std::size_t size) {
    std::size_t at = 0;
    while (phase_ == Phase::open || phase_ == Phase::closing) {
      if (skip_ > 0) {  // the rest of a refused frame
        auto drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, size - at));
        at += drop;
        skip_ -= drop;
        if (skip_ > 0) return;
      }
      auto parsed = ws::parse_header(data + at, size - at);
      if (parsed.status == ws::ParseStatus::need_more) break;
      if (parsed.status == ws::ParseStatus::bad) return protocol_error(parsed.error);
      const auto& h = parsed.header;
      if (h.masked == client_) {
        return protocol_error(client_
                                  ? "a frame from the server is masked (servers must not mask)"
                                  : "a frame from the client is not masked (clients must mask every frame)");
      }
      bool data_frame = h.opcode == ws::Opcode::binary || h.opcode == ws::Opcode::continuation;
      // Too large: its payload is dropped as it arrives, never buffered (while
      // closing too), and only an open link reports it.
      if (data_frame && fragment_.size() + h.length > opt_->max_frame_size) {
        at += h.header_size;
        skip_ = h.length;
        if (phase_ == Phase::open) frame_too_large(static_cast<std::size_t>(fragment_.size() + h.length));
        continue;
      }
      if (size - at < h.header_size + h.length) break;
      std::uint8_t* payload = data + at + h.header_size;
      auto length = static_cast<std::size_t>(h.length);
      at += h.header_size + length;
      if (h.masked) ws::apply_mask(payload, length, h.mask);
      on_frame(h, payload, length);
    }
    if (at < size && (phase_ == Phase::open || phase_ == Phase::closing)) in_.assign(data + at, data + size);
  }

  void on_frame(const ws::FrameHeader& h, std::uint8_t* payload, std::size_t length) {
    switch (h.opcode) {
      case ws::Opcode::text:
        if (phase_ != Phase::open) return;
        request_close(
            static_cast<std::uint16_t>(CloseCode::protocol_violation),
            "text frames are not part of the yz protocol: send binary frames",
            "this node closed the link: " + label_ +
                " sent a text frame; text frames are not part of the yz protocol (send binary frames)");
        return;
      case ws::Opcode::binary:
      case ws::Opcode::continuation: {
        if ((h.opcode == ws::Opcode::continuation) != fragmented_) {
          return protocol_error(fragmented_ ? "a new message began before the previous one ended"
                                            : "a continuation frame arrived outside a message");
        }
        if (phase_ != Phase::open) return;  // closing: the close handshake drains the rest
        if (h.fin && !fragmented_) return deliver(payload, length);
        fragment_.insert(fragment_.end(), payload, payload + length);
        fragmented_ = !h.fin;
        if (h.fin) {
          Bytes message = std::move(fragment_);
          fragment_ = {};
          deliver(message.data(), message.size());
        }
        return;
      }
      case ws::Opcode::ping:
        if (phase_ == Phase::open) enqueue(ws::Opcode::pong, Bytes(payload, payload + length));
        return;
      case ws::Opcode::pong:
        return;
      case ws::Opcode::close:
        return on_close_frame(payload, length);
    }
  }

  void deliver(const std::uint8_t* payload, std::size_t length) {
    auto owner = owner_.lock();
    if (!owner) return;
    owner->events.on_frame(id_, BytesView(payload, length));
  }

  void on_close_frame(const std::uint8_t* payload, std::size_t length) {
    if (phase_ == Phase::closing) {  // the answer to our own close
      teardown();
      return finish(note_);
    }
    std::string text;
    std::uint16_t code = 1005;  // no status code present
    if (length >= 2) {
      code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
      text.assign(reinterpret_cast<const char*>(payload + 2), length - 2);
    }
    phase_ = Phase::closing;
    note_ = "peer closed: " + std::to_string(code) + " " + (text.empty() ? "(no reason given)" : text);
    peer_closed_ = true;
    arm_timer(opt_->close_timeout, [](WsLink& self) {
      self.teardown();
      self.finish(self.note_);
    });
    // Echo the code (RFC 6455 5.5.1), after the frames already queued.
    enqueue(ws::Opcode::close, length >= 2 ? close_payload(code, "") : Bytes{});
  }

  void protocol_error(const std::string& what) {
    if (phase_ == Phase::closing) {
      teardown();
      return finish(note_);
    }
    request_close(static_cast<std::uint16_t>(CloseCode::protocol_violation), what,
                  "this node closed the link: " + label_ + " broke the WebSocket framing rules: " + what);
  }

  void frame_too_large(std::size_t announced) {
    fragment_ = {};
    fragmented_ = false;
    if (auto owner = owner_.lock()) owner->events.on_frame_too_large(id_, announced);
    if (phase_ != Phase::open) return;
    std::string text = "frame of " + std::to_string(announced) + " bytes is above the " +
                       std::to_string(opt_->max_frame_size) + "-byte limit";
    request_close(static_cast<std::uint16_t>(CloseCode::frame_too_large), text,
                  "this node closed the link: " + label_ + " sent a " + text);
  }

  void read_failed(error_code ec) {
    if (phase_ == Phase::closing) {
      // We are closing (or answering the peer's close); that reason stands.
      teardown();
      return finish(note_);
    }
    std::string reason;
    if (ec == asio::error::operation_aborted) {
      reason = "link to " + label_ + " was closed by this node";
    } else if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      reason = "connection to " + label_ + " lost (" + ec.message() +
               ") without a WebSocket close: the peer process stopped or the network dropped";
    } else {
      reason = "connection to " + label_ + " failed (" + ec.message() + ")";
    }
    teardown();
    finish(reason);
  }

  // ---- writing and closing ----
  void enqueue(ws::Opcode opcode, Bytes payload) {
    OutFrame frame;
    frame.opcode = opcode;
    frame.close = opcode == ws::Opcode::close;
    frame.counted = opcode == ws::Opcode::binary;
    if (client_) {
      frame.mask = ws::make_mask();
      ws::apply_mask(payload.data(), payload.size(), frame.mask);
    }
    frame.payload = std::move(payload);
    if (!writing_ && queue_.empty() && !frame.close && write_now(frame)) return;
    queue_.push_back(std::move(frame));
    if (!writing_) write_next();
  }

  // A frame with nothing queued before it (the usual case: one request or
  // reply on an idle link) goes straight to the socket, so it costs one
  // send() and no queue entry, write operation or completion handler. What
  // the socket does not take now stays in `frame` as raw bytes (header
  // included) for the queue. False: queue the frame (whole or the rest).
  bool write_now(OutFrame& frame) {
    if (phase_ != Phase::open || !socket_.non_blocking()) return false;
    std::array<std::uint8_t, ws::kMaxHeaderSize> head{};
    const std::size_t head_size = ws::encode_header(head.data(), frame.opcode, true, frame.payload.size(),
                                                    client_ ? &frame.mask : nullptr);
    const std::array<asio::const_buffer, 2> parts{asio::buffer(head.data(), head_size),
                                                  asio::buffer(frame.payload)};
    error_code ec;
    const std::size_t written = socket_.write_some(parts, ec);
    if (ec) return false;  // would block, or an error the queued write will report
    const std::size_t total = head_size + frame.payload.size();
    if (frame.counted) queued_bytes_ -= frame.payload.size();
    if (written == total) return true;
    Bytes rest;
    rest.reserve(total - written);
    if (written < head_size)
      rest.insert(rest.end(), head.begin() + static_cast<std::ptrdiff_t>(written),
                  head.begin() + static_cast<std::ptrdiff_t>(head_size));
    const std::size_t from = written > head_size ? written - head_size : 0;
    rest.insert(rest.end(), frame.payload.begin() + static_cast<std::ptrdiff_t>(from), frame.payload.end());
    frame.payload = std::move(rest);
    frame.raw = true;
    if (frame.counted) queued_bytes_ += frame.payload.size();
    return false;
  }

  // Writes every queued frame up to and including a close frame in one call.
  void write_next() {
    if (queue_.empty() || close_sent_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    // The headers live in a buffer owned by the write itself: frames queued
    // meanwhile may move the queue's storage, but not this buffer or the
    // payloads' own heap bytes.
    std::size_t frames = std::min(queue_.size(), kMaxFramesPerWrite);
    Bytes heads(frames * ws::kMaxHeaderSize);
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(2 * frames);
    bool close = false;
    std::size_t used = 0;
    for (std::size_t i = 0; i < frames; ++i) {
      auto& f = queue_.at(i);
      if (f.raw) {
        buffers.emplace_back(f.payload.data(), f.payload.size());
        continue;
      }
      std::uint8_t* head = heads.data() + used;
      std::size_t size =
          ws::encode_header(head, f.opcode, true, f.payload.size(), client_ ? &f.mask : nullptr);
      used += size;
      buffers.emplace_back(head, size);
      if (!f.payload.empty()) buffers.emplace_back(f.payload.data(), f.payload.size());
      if (f.close) {
        close = true;
        frames = i + 1;
        break;
      }
    }
    asio::async_write(socket_, buffers,
                      [self = shared_from_this(), heads = std::move(heads), frames, close](
                          error_code ec, std::size_t) { self->on_written(ec, frames, close); });
  }

  void on_written(error_code ec, std::size_t frames, bool close) {
    for (std::size_t i = 0; i < frames && !queue_.empty(); ++i) {
      if (queue_.front().counted) queued_bytes_ -= queue_.front().payload.size();
      queue_.pop_front();
    }
    if (phase_ == Phase::done) return;
    if (ec) {
      writing_ = false;
      queue_.clear();
      queued_bytes_ = 0;
      std::string reason = phase_ == Phase::closing
                               ? note_
                               : "connection to " + label_ + " lost while sending (" + ec.message() + ")";
      teardown();
      return finish(reason);
    }
    if (close) {
      close_sent_ = true;
      writing_ = false;
      queue_.clear();
      if (peer_closed_) {  // our echo is out: the handshake is complete
        teardown();
        return finish(note_);
      }
      return;  // wait for the peer's close (or the close timer)
    }
    write_next();
  }

  void finish(const std::string& reason) {
    if (phase_ == Phase::done) return;
    bool registered = phase_ != Phase::accepting;
    phase_ = Phase::done;
    cancel_timer();
    auto owner = owner_.lock();
    if (!owner || !registered) return;
    auto self = shared_from_this();  // keep alive while the map entry goes
    owner->links.erase(id_);
    owner->events.on_closed(id_, reason);
  }

  std::weak_ptr<Transport::Impl> owner_;
  std::shared_ptr<const TransportOptions> opt_;  // shared with the Transport: handlers may outlive it
  Socket socket_;
  // Only while dialling, accepting or closing (an open link has no deadline).
  std::unique_ptr<Timer> timer_;
  std::string label_;  // remote endpoint (inbound) or dialled URL (outbound)
  ConnectionSlot slot_;
  LinkId id_ = 0;
  Phase phase_;
  bool client_;  // this side dialled: it masks what it sends
  // Flags of the reading and writing state below, kept here so the object packs.
  bool fragmented_ = false;  // fragment_ holds the start of a message
  bool writing_ = false;
  bool close_sent_ = false;
  bool peer_closed_ = false;

  // The opening handshake's state, on the heap and released once the link is
  // open (an open link keeps none of it).
  struct Handshake {
    WsUrl url;
    std::optional<Resolver> resolver;
    std::optional<http::response_parser<http::string_body>> parser;
    beast::flat_buffer buffer;
    std::string key;
    std::string out_text;  // the upgrade request or answer being written
    std::string stage;
    bool timed_out = false;
  };
  std::unique_ptr<Handshake> hs_ = std::make_unique<Handshake>();

  // reading
  Bytes in_;        // the start of a frame not complete yet
  Bytes fragment_;  // a fragmented message being put together
  std::uint64_t skip_ = 0;  // payload bytes of a refused (too large) frame still to drop

  // writing and closing
  Fifo<OutFrame> queue_;  // frames waiting to be written, oldest first
  std::size_t queued_bytes_ = 0;
  // Why the link ends: a dial cancelled before it opened, or the close under way.
  std::string note_;
};

// One accepted connection while it speaks HTTP; hands itself over to a WsLink
// when the request is a WebSocket upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::weak_ptr<Transport::Impl> owner, std::shared_ptr<const TransportOptions> opt,
              Socket socket, ConnectionSlot slot)
      : owner_(std::move(owner)),
        opt_(std::move(opt)),
        remote_(remote_of(socket)),
        stream_(std::move(socket)),
        slot_(std::move(slot)) {}

  void read_request() {
    parser_.emplace();
    parser_->body_limit(opt_->http_body_limit);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(ms(opt_->http_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

 private:
  void on_header(error_code ec) {
    if (ec || parser_->is_done()) return on_request(ec);
    auto read_body = [self = shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](error_code ec2, std::size_t) { self->on_request(ec2); });
    };
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body above 1 KiB.
      auto res = std::make_shared<http::response<http::empty_body>>(http::status::continue_, parser_->get().version());
      http::async_write(stream_, *res, [self = shared_from_this(), res, read_body](error_code ec2, std::size_t) {
        if (ec2) return self->close();
        read_body();
      });
      return;
    }
    read_body();
  }

  void on_request(error_code ec) {
    auto owner = owner_.lock();
    if (!owner) return;
    if (ec == http::error::body_limit) {
      HttpReply reply;
      reply.status = 413;
      reply.body = R"({"error":"request body is larger than this node accepts ()" +
                   std::to_string(opt_->http_body_limit) + R"( bytes); values are limited to )" +
                   std::to_string(kMaxValueSize) + R"( bytes"})";
      keep_alive_ = false;
      version_ = 11;
      return write(std::move(reply));
    }
    if (ec) {
      close();
      return;
    }
    auto request = parser_->release();
    if (websocket::is_upgrade(request)) {
      stream_.expires_never();
      auto early = buffer_.data();
      const auto* bytes = static_cast<const std::uint8_t*>(early.data());
      auto link = std::make_shared<WsLink>(owner_, opt_, stream_.release_socket(), remote_, std::move(slot_),
                                           Bytes(bytes, bytes + early.size()));
      link->accept(request);
      return;
    }
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    stream_.expires_never();  // the answer may wait on the engine; no read is pending meanwhile
    InboundHttpRequest in;
    in.method = std::string(request.method_string());
    in.target = std::string(request.target());
    in.body = std::move(request.body());
    in.remote = remote_;
    auto used = std::make_shared<bool>(false);
    HttpResponder respond = [self = shared_from_this(), used](HttpReply reply) {
      if (*used) return;
      *used = true;
      self->write(std::move(reply));
    };
    owner->events.on_http(std::move(in), std::move(respond));
  }

  void write(HttpReply reply) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(reply.status));
    res->set(http::field::server, "yz/" YZ_BUILD_ID);
    res->set(http::field::content_type, reply.content_type);
    res->set(http::field::access_control_allow_origin, "*");
    for (auto& [name, value] : reply.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    stream_.expires_after(ms(opt_->http_timeout));
    http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read_request();
    });
  }

  void close() {
    error_code ignored;
    stream_.socket().shutdown(Socket::shutdown_send, ignored);
    stream_.close();
  }

  std::weak_ptr<Transport::Impl> owner_;
  std::shared_ptr<const TransportOptions> opt_;
  std::string remote_;
  TcpStream stream_;
  ConnectionSlot slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

// ---------------------------------------------------------------------------

void Transport::Impl::do_accept() {
  if (!acceptor || !acceptor->is_open()) return;
  acceptor->async_accept(
      [self = shared_from_this()](error_code ec, Socket socket) { self->on_accept(ec, std::move(socket)); });
}

void Transport::Impl::on_accept(error_code ec, Socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor || !acceptor->is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: keep the node alive and try again shortly.
    events.on_transport_warning("accepting a connection failed (" + ec.message() +
                                "); retrying in 100 ms. If this repeats, raise the open-file limit (ulimit -n)");
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }
  if (inbound_connections >= opt->max_connections) {
    events.on_transport_warning("refused a connection from " + remote_of(socket) + ": already " +
                                std::to_string(inbound_connections) + " open connections (the limit)");
    error_code ignored;
    socket.close(ignored);
  } else {
    error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);  // see on_tcp_connected
    auto session = std::make_shared<HttpSession>(weak_from_this(), opt, std::move(socket),
                                                 ConnectionSlot(shared_from_this()));
    session->read_request();
  }
  do_accept();
}

Transport::Transport(asio::io_context& io, TransportEvents& events, TransportOptions options)
    : impl_(std::make_shared<Impl>(io, events, std::move(options))) {}

Transport::~Transport() {
  stop_listening();
  close_all_now();
}

Result<std::uint16_t, std::string> Transport::listen(const std::string& host, std::uint16_t port) {
  std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  error_code ec;
  Resolver resolver(impl_->io);
  auto results =
      resolver.resolve(host, std::to_string(port), Resolver::passive | Resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return "cannot listen on " + where + ": the host does not resolve (" + ec.message() +
           "); use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0";
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  Acceptor acceptor(impl_->io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (ec) {
    if (ec == asio::error::address_in_use)
      return "cannot listen on " + where +
             ": the port is already in use (another yz-node?); stop that process or choose another --listen port";
    if (ec == asio::error::access_denied)
      return "cannot listen on " + where + ": permission denied (ports below 1024 need privileges); choose a port above 1024";
    if (ec == boost::system::errc::address_not_available)
      return "cannot listen on " + where + ": this machine has no such address; use 127.0.0.1, 0.0.0.0 or one of its own IPs";
    return "cannot listen on " + where + ": " + ec.message();
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + where + ": " + ec.message();
  auto bound = acceptor.local_endpoint(ec).port();
  impl_->acceptor.emplace(std::move(acceptor));
  impl_->do_accept();
  return bound;
}

void Transport::stop_listening() {
  if (impl_->acceptor) {
    error_code ignored;
    impl_->acceptor->close(ignored);
  }
  impl_->accept_retry.cancel();
}

void Transport::dial(LinkId link, const std::string& address) {
  if (impl_->links.count(link)) {
    impl_->events.on_transport_warning("dial to " + address + " ignored: link id " + std::to_string(link) +
                                       " is already in use (an engine bug)");
    return;
  }
  auto ws = std::make_shared<WsLink>(impl_, impl_->opt, impl_->io, link, address);
  impl_->links[link] = ws;
  ws->dial();
}

bool Transport::send(LinkId link, Bytes frame) {
  auto it = impl_->links.find(link);
  if (it == impl_->links.end()) return false;
  auto ws = it->second;  // send may close the link on queue overflow
  return ws->send(std::move(frame));
}

void Transport::close(LinkId link, std::uint16_t code, std::string reason) {
  auto it = impl_->links.find(link);
  if (it == impl_->links.end()) return;
  auto ws = it->second;
  std::string note = "closed by this node: " + std::to_string(code) + " " + reason;
  ws->request_close(code, std::move(reason), std::move(note));
}

void Transport::close_all_now() {
  auto links = impl_->links;  // teardown does not report synchronously, but be safe
  for (auto& [id, ws] : links) ws->teardown();
}

std::size_t Transport::link_count() const { return impl_->links.size(); }

std::size_t Transport::queued_frames() const {
  std::size_t total = 0;
  for (const auto& [id, ws] : impl_->links) total += ws->queued();
  return total;
}

}  // namespace yz::net
