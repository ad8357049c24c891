// Beast implementation of the native transport: one acceptor whose connections
// start as HTTP and become WebSocket peer links when they ask for an upgrade,
// outbound ws:// dials, per-link write queues and close handshakes. Every
// failure is handled per connection and reported in plain words; nothing here
// throws into the io_context.
#include "net/transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>  // before Asio (C++20 with Boost 1.74)
#include <vector>

#include "net/address.hpp"

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
using WsStream = websocket::stream<TcpStream>;
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

// Per-link memory (an idle link is mostly buffers: docs/architecture.md,
// "What a link costs"). A read prepares at most kReadChunk bytes, so an idle
// link holds 512 bytes instead of Beast's 1,536-byte default; bigger frames
// arrive in several chunks and the buffer is released after each of them.
// Masked writes (the dialling side) copy through a kWriteBuffer-byte buffer
// that Beast keeps for the life of the link (default 4,096).
constexpr std::size_t kReadChunk = 512;
constexpr std::size_t kWriteBuffer = 1024;

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

// Frames waiting to be written on one link, oldest first. A vector with a read
// index: an empty queue owns no memory (std::deque allocates ~600 bytes up
// front, for every link, also the idle ones).
class FrameQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  Bytes& front() { return items_[head_]; }
  void push_back(Bytes frame) { items_.push_back(std::move(frame)); }
  void pop_front() {
    items_[head_++] = Bytes{};
    if (empty()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {  // drop the written half
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    items_ = {};
    head_ = 0;
  }

 private:
  std::vector<Bytes> items_;
  std::size_t head_ = 0;
};

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

websocket::stream_base::timeout ws_timeouts(Millis handshake) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = ms(handshake);
  t.idle_timeout = websocket::stream_base::none();  // the engine runs keep-alives
  t.keep_alive_pings = false;
  return t;
}

std::string describe_upgrade_status(const std::string& url, const websocket::response_type& res) {
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
                                const std::string& address, const websocket::response_type& res) {
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
  if (ec == websocket::error::upgrade_declined) return describe_upgrade_status(address, res);
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
    return "peer " + address + " closed the connection during the WebSocket upgrade (" + ec.message() +
           "): the port may belong to a program that is not a yz node, or a proxy dropped the request";
  if (ec.category() == error_code(http::error::end_of_stream).category() || ec == websocket::error::bad_http_version)
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
      : io(io_), events(events_), opt(std::move(options_)), accept_retry(io_) {}

  void do_accept();
  void on_accept(error_code ec, Socket socket);

  asio::io_context& io;
  TransportEvents& events;
  TransportOptions opt;
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

// One WebSocket link, inbound or outbound.
class WsLink : public std::enable_shared_from_this<WsLink> {
 public:
  enum class Phase { accepting, dialing, open, closing, done };

  // Inbound: the HTTP session hands over its stream after reading an upgrade request.
  WsLink(std::weak_ptr<Transport::Impl> owner, const TransportOptions& opt, TcpStream stream,
         std::string remote, ConnectionSlot slot)
      : owner_(std::move(owner)),
        opt_(opt),
        ws_(std::move(stream)),
        timer_(ws_.get_executor()),
        label_(std::move(remote)),
        slot_(std::move(slot)),
        phase_(Phase::accepting) {}

  // Outbound.
  WsLink(std::weak_ptr<Transport::Impl> owner, const TransportOptions& opt, asio::io_context& io, LinkId id,
         std::string address)
      : owner_(std::move(owner)),
        opt_(opt),
        ws_(io),
        timer_(io),
        label_(std::move(address)),
        id_(id),
        phase_(Phase::dialing) {}

  LinkId id() const { return id_; }
  std::size_t queued() const { return queue_.size(); }

  void accept(http::request<http::string_body> request) {
    configure();
    ws_.async_accept(request, [self = shared_from_this()](error_code ec) { self->on_accepted(ec); });
  }

  // Starts the dial; `error` non-empty means the address is unusable (reported async).
  void dial() {
    std::string error;
    bool usable = false;
    if (auto parsed = parse_ws_url(label_, error)) {
      url_ = std::move(*parsed);
      usable = !url_.secure;
      if (url_.secure)
        error = "cannot dial " + label_ +
                ": wss:// is not supported yet for outgoing links; give the node's plain ws:// address";
    }
    if (!usable) {
      asio::post(ws_.get_executor(), [self = shared_from_this(), error] { self->finish(error); });
      return;
    }
    resolver_.emplace(ws_.get_executor());
    timer_.expires_after(ms(opt_.dial_timeout));
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->phase_ != Phase::dialing) return;
      self->dial_timed_out_ = true;
      self->abort_dial();
    });
    stage_ = "resolve";
    resolver_->async_resolve(url_.host, std::to_string(url_.port),
                             [self = shared_from_this()](error_code ec, Resolver::results_type results) {
                               self->on_resolved(ec, std::move(results));
                             });
  }

  bool send(Bytes frame) {
    if (phase_ != Phase::open) return false;
    if (queued_bytes_ + frame.size() > opt_.max_queued_bytes) {
      std::string limit = size_text(opt_.max_queued_bytes);
      request_close(static_cast<std::uint16_t>(CloseCode::normal),
                    "send queue above " + limit + ": you are not reading your frames",
                    "this node closed the link: its send queue to " + label_ + " passed " + limit +
                        " (the peer does not read its frames fast enough)");
      return false;
    }
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    if (!writing_) write_next();
    return true;
  }

  void request_close(std::uint16_t code, std::string reason, std::string note) {
    if (phase_ == Phase::done || phase_ == Phase::closing) return;
    if (phase_ == Phase::dialing || phase_ == Phase::accepting) {
      cancel_note_ = std::move(note);
      abort_dial();
      return;
    }
    phase_ = Phase::closing;
    std::string text = truncate_utf8(std::move(reason), kMaxCloseReason);
    close_reason_.emplace(static_cast<websocket::close_code>(code), beast::string_view(text));
    close_note_ = std::move(note);
    timer_.expires_after(ms(opt_.close_timeout));
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->phase_ == Phase::done) return;
      self->teardown();
      self->finish(self->close_note_);
    });
    if (!writing_) start_close();
  }

  void teardown() {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(Socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    if (resolver_) resolver_->cancel();
  }

 private:
  void configure() {
    ws_.set_option(ws_timeouts(opt_.dial_timeout));
    // The frame limit is enforced in on_read, so the engine can send its Goodbye
    // and close code itself; Beast must not fail the link on its own first.
    ws_.read_message_max(std::numeric_limits<std::size_t>::max());
    ws_.auto_fragment(false);
    ws_.binary(true);
    ws_.write_buffer_bytes(kWriteBuffer);
  }

  // ---- inbound ----
  void on_accepted(error_code ec) {
    auto owner = owner_.lock();
    if (!owner) return;
    if (ec) {
      phase_ = Phase::done;
      teardown();
      return;  // not a link yet: nothing to report
    }
    id_ = owner->events.on_accepted(label_);
    if (owner->links.count(id_)) {
      owner->events.on_transport_warning("accepted link from " + label_ + " got id " + std::to_string(id_) +
                                         ", which is already in use (an engine bug); dropping the connection");
      teardown();
      phase_ = Phase::done;
      return;
    }
    owner->links[id_] = shared_from_this();
    phase_ = Phase::open;
    read();
  }

  // ---- outbound ----
  void abort_dial() {
    error_code ignored;
    if (resolver_) resolver_->cancel();
    beast::get_lowest_layer(ws_).close();
  }

  void on_resolved(error_code ec, Resolver::results_type results) {
    if (ec) return dial_failed(ec);
    if (!cancel_note_.empty() || dial_timed_out_) return dial_failed(asio::error::operation_aborted);
    stage_ = "connect";
    beast::get_lowest_layer(ws_).async_connect(
        results, [self = shared_from_this()](error_code ec2, const tcp::endpoint&) { self->on_tcp_connected(ec2); });
  }

  void on_tcp_connected(error_code ec) {
    if (ec) return dial_failed(ec);
    // Small request/response frames: send at once, never wait for Nagle's coalescing.
    error_code nodelay_ec;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), nodelay_ec);
    stage_ = "upgrade";
    configure();
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::user_agent, "yz/" YZ_BUILD_ID);
    }));
    ws_.async_handshake(upgrade_response_, url_.endpoint(), url_.path,
                        [self = shared_from_this()](error_code ec2) { self->on_upgraded(ec2); });
  }

  void on_upgraded(error_code ec) {
    if (ec) return dial_failed(ec);
    if (!cancel_note_.empty() || dial_timed_out_) return dial_failed(asio::error::operation_aborted);
    timer_.cancel();
    resolver_.reset();  // dial state is not needed once the link is open
    upgrade_response_ = {};
    auto owner = owner_.lock();
    if (!owner) return;
    phase_ = Phase::open;
    owner->events.on_connected(id_);
    if (phase_ == Phase::open) read();
  }

  void dial_failed(error_code ec) {
    if (phase_ == Phase::done) return;
    std::string reason;
    if (!cancel_note_.empty()) {
      reason = cancel_note_;
    } else if (dial_timed_out_) {
      std::string step = stage_ == "resolve" ? "resolving the host" : stage_ == "connect" ? "connecting" : "the upgrade";
      reason = "no WebSocket link to " + label_ +  " within " + duration_text(opt_.dial_timeout) +
               " (stuck at " + step +
               "): the host may be down or firewalled, or the port belongs to a program that does not answer";
    } else {
      reason = describe_dial_error(ec, stage_, url_, label_, upgrade_response_);
    }
    teardown();
    finish(reason);
  }

  // ---- reading ----
  void read() {
    std::size_t limit = std::min(kReadChunk, opt_.max_frame_size + 1 - message_.size());
    ws_.async_read_some(message_, limit,
                        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    auto owner = owner_.lock();
    if (!owner || phase_ == Phase::done) return;
    if (ec) return read_failed(ec);
    if (phase_ != Phase::open) return;  // closing: the close handshake drains the rest
    if (ws_.got_text()) {
      message_.consume(message_.size());
      request_close(static_cast<std::uint16_t>(CloseCode::protocol_violation),
                    "text frames are not part of the yz protocol: send binary frames",
                    "this node closed the link: " + label_ +
                        " sent a text frame; text frames are not part of the yz protocol (send binary frames)");
      return;
    }
    std::size_t have = message_.size();
    std::size_t announced = have;
    if (!ws_.is_message_done()) announced = have + ws_.read_size_hint(1);
    if (announced > opt_.max_frame_size) {
      message_.consume(message_.size());
      owner->events.on_frame_too_large(id_, announced);
      if (phase_ == Phase::open) {
        std::string text = "frame of " + std::to_string(announced) + " bytes is above the " +
                           std::to_string(opt_.max_frame_size) + "-byte limit";
        request_close(static_cast<std::uint16_t>(CloseCode::frame_too_large), text,
                      "this node closed the link: " + label_ + " sent a " + text);
      }
      return;
    }
    if (!ws_.is_message_done()) return read();
    auto data = message_.data();
    BytesView view(static_cast<const std::uint8_t*>(data.data()), data.size());
    owner->events.on_frame(id_, view);
    message_.consume(message_.size());
    if (message_.capacity() > kReadChunk) message_.shrink_to_fit();
    if (phase_ == Phase::open) read();
  }

  void read_failed(error_code ec) {
    if (phase_ == Phase::closing) {
      // We are closing; our own reason is the one to report.
      teardown();
      return finish(close_note_);
    }
    std::string reason;
    if (ec == websocket::error::closed) {
      auto why = ws_.reason();
      std::string text(why.reason.data(), why.reason.size());
      reason = "peer closed: " + std::to_string(why.code) + " " + (text.empty() ? "(no reason given)" : text);
    } else if (ec == asio::error::operation_aborted) {
      reason = "link to " + label_ + " was closed by this node";
    } else if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == beast::error::timeout) {
      reason = "connection to " + label_ + " lost (" + ec.message() +
               ") without a WebSocket close: the peer process stopped or the network dropped";
    } else {
      reason = "connection to " + label_ + " failed (" + ec.message() + ")";
    }
    teardown();
    finish(reason);
  }

  // ---- writing and closing ----
  void write_next() {
    if (queue_.empty()) {
      writing_ = false;
      if (phase_ == Phase::closing && !close_started_) start_close();
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(error_code ec) {
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front().size();
      queue_.pop_front();
    }
    if (phase_ == Phase::done) return;
    if (ec) {
      writing_ = false;
      queue_.clear();
      queued_bytes_ = 0;
      std::string reason = phase_ == Phase::closing
                               ? close_note_
                               : "connection to " + label_ + " lost while sending (" + ec.message() + ")";
      teardown();
      return finish(reason);
    }
    write_next();
  }

  void start_close() {
    close_started_ = true;
    ws_.async_close(*close_reason_, [self = shared_from_this()](error_code) {
      self->teardown();
      self->finish(self->close_note_);
    });
  }

  void finish(const std::string& reason) {
    if (phase_ == Phase::done) return;
    bool registered = phase_ != Phase::accepting;
    phase_ = Phase::done;
    timer_.cancel();
    auto owner = owner_.lock();
    if (!owner || !registered) return;
    auto self = shared_from_this();  // keep alive while the map entry goes
    owner->links.erase(id_);
    owner->events.on_closed(id_, reason);
  }

  std::weak_ptr<Transport::Impl> owner_;
  TransportOptions opt_;  // a copy: handlers may outlive the Transport
  WsStream ws_;
  Timer timer_;
  std::string label_;  // remote endpoint (inbound) or dialled URL (outbound)
  ConnectionSlot slot_;
  LinkId id_ = 0;
  Phase phase_;

  // dialing
  WsUrl url_;
  std::optional<Resolver> resolver_;
  websocket::response_type upgrade_response_;
  std::string stage_;
  bool dial_timed_out_ = false;
  std::string cancel_note_;

  // reading
  beast::flat_buffer message_;

  // writing and closing
  FrameQueue queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::optional<websocket::close_reason> close_reason_;
  std::string close_note_;
  bool close_started_ = false;
};

// One accepted connection while it speaks HTTP; hands itself over to a WsLink
// when the request is a WebSocket upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::weak_ptr<Transport::Impl> owner, const TransportOptions& opt, Socket socket,
              ConnectionSlot slot)
      : owner_(std::move(owner)),
        opt_(opt),
        remote_(remote_of(socket)),
        stream_(std::move(socket)),
        slot_(std::move(slot)) {}

  void read_request() {
    parser_.emplace();
    parser_->body_limit(opt_.http_body_limit);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(ms(opt_.http_timeout));
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
                   std::to_string(opt_.http_body_limit) + R"( bytes); values are limited to )" +
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
      auto link = std::make_shared<WsLink>(owner_, opt_, std::move(stream_), remote_, std::move(slot_));
      link->accept(std::move(request));
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
    stream_.expires_after(ms(opt_.http_timeout));
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
  TransportOptions opt_;
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
  if (inbound_connections >= opt.max_connections) {
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
