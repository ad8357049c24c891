// End-to-end tests of the native transport on loopback, without the engine:
// two Transports (or a Transport and a hand-written raw client/server) on one
// io_context, run until the expected event or a generous deadline.
#include <utility>  // before Asio (C++20 with Boost 1.74)

#include "net/transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace yz::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Runs `io` until `done()` or a deadline far above any expected duration.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

class Recorder : public TransportEvents {
 public:
  explicit Recorder(LinkId first_id) : next_id_(first_id) {}

  LinkId on_accepted(const std::string& remote) override {
    LinkId id = next_id_++;
    accepted.push_back(id);
    remotes[id] = remote;
    return id;
  }
  void on_connected(LinkId link) override { connected.push_back(link); }
  void on_frame(LinkId link, BytesView frame) override { frames[link].emplace_back(frame.begin(), frame.end()); }
  void on_frame_too_large(LinkId link, std::size_t size) override { too_large[link] = size; }
  void on_closed(LinkId link, const std::string& reason) override {
    EXPECT_EQ(closed.count(link), 0u) << "link " << link << " reported closed twice";
    closed[link] = reason;
  }
  void on_http(InboundHttpRequest request, HttpResponder respond) override {
    http.push_back(request);
    if (http_handler) {
      http_handler(std::move(request), std::move(respond));
    } else {
      respond(HttpReply{200, "application/json", R"({"ok":true})", {}});
    }
  }

  std::vector<LinkId> accepted;
  std::map<LinkId, std::string> remotes;
  std::vector<LinkId> connected;
  std::map<LinkId, std::vector<Bytes>> frames;
  std::map<LinkId, std::size_t> too_large;
  std::map<LinkId, std::string> closed;
  std::vector<InboundHttpRequest> http;
  std::function<void(InboundHttpRequest, HttpResponder)> http_handler;

 private:
  LinkId next_id_;
};

std::string ws_url(std::uint16_t port) { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }

// A hand-driven TCP client: writes raw bytes and collects everything it reads.
class RawClient {
 public:
  explicit RawClient(asio::io_context& io) : socket_(io) {}
  void connect(std::uint16_t port) {
    socket_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [this](error_code ec) {
      connected = !ec;
      if (!ec) read();
    });
  }
  void write(std::string bytes) {
    auto data = std::make_shared<std::string>(std::move(bytes));
    asio::async_write(socket_, asio::buffer(*data), [data](error_code, std::size_t) {});
  }
  void shutdown_send() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }
  std::string received;
  bool connected = false;
  bool ended = false;

 private:
  void read() {
    socket_.async_read_some(asio::buffer(chunk_), [this](error_code ec, std::size_t n) {
      received.append(chunk_.data(), n);
      if (ec) {
        ended = true;
        return;
      }
      read();
    });
  }
  tcp::socket socket_;
  std::array<char, 4096> chunk_{};
};

// A client-to-server WebSocket frame (masked with a zero key, which is legal,
// unless `masked` is false, which is not).
std::string client_frame(std::uint8_t opcode, const std::string& payload, bool fin = true,
                         bool masked = true) {
  std::string out;
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | opcode));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(mask_bit | static_cast<char>(payload.size())));
  } else {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  }
  if (masked) out.append(4, '\0');  // mask key 0: payload unchanged
  out += payload;
  return out;
}

const char* kUpgradeRequest =
    "GET /any/path HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

// The first server-to-client frame after the 101 answer, if complete.
struct ServerFrame {
  int opcode = 0;
  std::string payload;
};
std::optional<ServerFrame> first_frame_after_upgrade(const std::string& received) {
  auto head_end = received.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  std::string rest = received.substr(head_end + 4);
  if (rest.size() < 2) return std::nullopt;
  ServerFrame frame;
  frame.opcode = static_cast<unsigned char>(rest[0]) & 0x0f;
  std::size_t len = static_cast<unsigned char>(rest[1]) & 0x7f;
  std::size_t offset = 2;
  if (len == 126) {
    if (rest.size() < 4) return std::nullopt;
    len = (static_cast<unsigned char>(rest[2]) << 8) | static_cast<unsigned char>(rest[3]);
    offset = 4;
  }
  if (rest.size() < offset + len) return std::nullopt;
  frame.payload = rest.substr(offset, len);
  return frame;
}

struct Pair {
  asio::io_context io;
  Recorder server_events{1000};
  Recorder client_events{1};
  std::optional<Transport> server;
  std::optional<Transport> client;
  std::uint16_t port = 0;

  explicit Pair(TransportOptions server_options = {}, TransportOptions client_options = {}) {
    server.emplace(io, server_events, server_options);
    client.emplace(io, client_events, client_options);
    auto bound = server->listen("127.0.0.1", 0);
    EXPECT_TRUE(bound.ok()) << (bound.ok() ? "" : bound.error());
    if (bound.ok()) port = bound.value();
  }

  // Dials client link 1 to the server; returns the server-side link id.
  LinkId connect() {
    client->dial(1, ws_url(port));
    EXPECT_TRUE(run_until(io, [&] { return !client_events.connected.empty() && !server_events.accepted.empty(); }))
        << (client_events.closed.count(1) ? client_events.closed[1] : "no event");
    return server_events.accepted.empty() ? 0 : server_events.accepted.front();
  }
};

TEST(Transport, ExchangesBinaryFramesBothWaysInOrder) {
  Pair p;
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  EXPECT_EQ(p.client_events.connected, std::vector<LinkId>{1});
  EXPECT_TRUE(p.server_events.remotes[server_link].starts_with("127.0.0.1:"));

  EXPECT_TRUE(p.client->send(1, to_bytes("hello")));
  Bytes biggest(kMaxFrameSize, 0xab);  // exactly at the limit: accepted
  EXPECT_TRUE(p.client->send(1, biggest));
  EXPECT_TRUE(p.server->send(server_link, to_bytes("one")));
  EXPECT_TRUE(p.server->send(server_link, to_bytes("two")));
  ASSERT_TRUE(run_until(p.io, [&] {
    return p.server_events.frames[server_link].size() == 2 && p.client_events.frames[1].size() == 2;
  }));
  EXPECT_EQ(to_string(p.server_events.frames[server_link][0]), "hello");
  EXPECT_EQ(p.server_events.frames[server_link][1], biggest);
  EXPECT_EQ(to_string(p.client_events.frames[1][0]), "one");
  EXPECT_EQ(to_string(p.client_events.frames[1][1]), "two");
  EXPECT_TRUE(p.client_events.closed.empty());
  EXPECT_TRUE(p.server_events.closed.empty());
}

// Frames larger than a read chunk or the masking buffer arrive whole, and a
// long burst queued at once (the queue drops its written half as it goes)
// arrives complete and in order, both ways.
TEST(Transport, BurstOfMixedSizesArrivesWholeAndInOrderBothWays) {
  Pair p;
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  std::vector<Bytes> sent;
  for (std::size_t i = 0; i < 300; ++i) {
    std::size_t size = 1 + (i * 977) % 5000;
    if (i % 50 == 7) size = 64 * 1024 + i;
    Bytes frame(size);
    for (std::size_t j = 0; j < size; ++j) frame[j] = static_cast<std::uint8_t>(i + j);
    sent.push_back(std::move(frame));
  }
  for (const auto& frame : sent) {
    ASSERT_TRUE(p.client->send(1, frame));
    ASSERT_TRUE(p.server->send(server_link, frame));
  }
  ASSERT_TRUE(run_until(p.io, [&] {
    return p.server_events.frames[server_link].size() == sent.size() &&
           p.client_events.frames[1].size() == sent.size();
  }));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    ASSERT_EQ(p.server_events.frames[server_link][i], sent[i]) << "frame " << i << " to the server";
    ASSERT_EQ(p.client_events.frames[1][i], sent[i]) << "frame " << i << " to the client";
  }
  EXPECT_TRUE(p.client_events.closed.empty());
  EXPECT_TRUE(p.server_events.closed.empty());
}
// A 6 MiB frame fills the socket buffers: the direct write takes what the
// socket accepts and queues the rest of the frame as raw bytes. Frames queued
// while the gathered write of that rest is in flight may move the queue's
// storage; the write in flight must not depend on it (ASan builds catch a
// dangling header).
TEST(Transport, FramesQueuedDuringAPartialWriteArriveIntact) {
  TransportOptions big;
  big.max_frame_size = 8 * 1024 * 1024;
  big.max_queued_bytes = 64 * 1024 * 1024;
  Pair p(big, big);
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  auto frame_of = [](std::size_t size, std::uint8_t tag) {
    Bytes f(size);
    for (std::size_t i = 0; i < size; ++i) f[i] = static_cast<std::uint8_t>(tag + i * 7);
    return f;
  };
  std::vector<Bytes> sent{frame_of(6 << 20, 1), frame_of(6 << 20, 2), frame_of(10, 3)};
  for (const auto& f : sent) ASSERT_TRUE(p.server->send(server_link, f));
  // Once the first frame is through, the second and third are one write in flight.
  ASSERT_TRUE(run_until(p.io, [&] { return !p.client_events.frames[1].empty(); }));
  for (std::uint8_t i = 0; i < 100; ++i) {
    sent.push_back(frame_of(1 + i, static_cast<std::uint8_t>(10 + i)));
    ASSERT_TRUE(p.server->send(server_link, sent.back()));
  }
  ASSERT_TRUE(run_until(p.io, [&] { return p.client_events.frames[1].size() == sent.size(); }));
  for (std::size_t i = 0; i < sent.size(); ++i)
    ASSERT_EQ(p.client_events.frames[1][i], sent[i]) << "frame " << i;
  EXPECT_TRUE(p.client_events.closed.empty());
}

TEST(Transport, CloseCodeAndReasonReachTheOtherSideAfterQueuedFrames) {
  Pair p;
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  EXPECT_TRUE(p.server->send(server_link, to_bytes("goodbye frame")));
  p.server->close(server_link, 4001, "versions 1-1 and 2-3 do not overlap");
  EXPECT_FALSE(p.server->send(server_link, to_bytes("too late")));
  ASSERT_TRUE(run_until(p.io, [&] { return p.client_events.closed.count(1) && p.server_events.closed.count(server_link); }));
  ASSERT_EQ(p.client_events.frames[1].size(), 1u);
  EXPECT_EQ(to_string(p.client_events.frames[1][0]), "goodbye frame");
  EXPECT_EQ(p.client_events.closed[1], "peer closed: 4001 versions 1-1 and 2-3 do not overlap");
  EXPECT_EQ(p.server_events.closed[server_link], "closed by this node: 4001 versions 1-1 and 2-3 do not overlap");
  EXPECT_EQ(p.server->link_count(), 0u);
  EXPECT_EQ(p.client->link_count(), 0u);
}

TEST(Transport, LongCloseReasonIsTruncatedToFitTheCloseFrame) {
  Pair p;
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  p.server->close(server_link, 4000, std::string(300, 'x'));
  ASSERT_TRUE(run_until(p.io, [&] { return p.client_events.closed.count(1) > 0; }));
  EXPECT_EQ(p.client_events.closed[1], "peer closed: 4000 " + std::string(123, 'x'));
}

TEST(Transport, OversizedFrameIsRefusedReportedWithItsSizeAndClosed) {
  TransportOptions client_options;
  client_options.max_frame_size = 1024 * 1024;  // the sender does not check its own frames
  Pair p({}, client_options);
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  EXPECT_TRUE(p.client->send(1, Bytes(200 * 1024, 7)));
  ASSERT_TRUE(run_until(p.io, [&] { return p.client_events.closed.count(1) && p.server_events.closed.count(server_link); }));
  ASSERT_EQ(p.server_events.too_large.count(server_link), 1u);
  EXPECT_EQ(p.server_events.too_large[server_link], 200u * 1024);
  EXPECT_TRUE(p.server_events.frames[server_link].empty());
  EXPECT_EQ(p.client_events.closed[1], "peer closed: 4008 frame of 204800 bytes is above the 131072-byte limit");
}

// A Transport server and a raw TCP client connected to it.
struct RawPeer {
  asio::io_context io;
  Recorder events{1000};
  Transport server{io, events};
  RawClient raw{io};

  RawPeer() {
    auto bound = server.listen("127.0.0.1", 0);
    EXPECT_TRUE(bound.ok());
    raw.connect(bound.ok() ? bound.value() : 0);
    EXPECT_TRUE(run_until(io, [&] { return raw.connected; }));
  }
};

// ... that completed the WebSocket upgrade.
struct RawLink : RawPeer {
  LinkId link = 0;

  RawLink() {
    raw.write(kUpgradeRequest);
    EXPECT_TRUE(run_until(
        io, [&] { return !events.accepted.empty() && raw.received.find("\r\n\r\n") != std::string::npos; }));
    EXPECT_TRUE(raw.received.starts_with("HTTP/1.1 101")) << raw.received;
    // RFC 6455's example key and answer.
    EXPECT_NE(raw.received.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
    link = events.accepted.empty() ? 0 : events.accepted.front();
  }
  std::optional<ServerFrame> first_frame() { return first_frame_after_upgrade(raw.received); }
};

TEST(Transport, TextFrameIsRefusedWithProtocolViolationAndReason) {
  RawLink r;
  r.raw.write(client_frame(0x1, "{\"type\":\"ping\"}"));
  ASSERT_TRUE(run_until(r.io, [&] { return r.first_frame().has_value(); }));
  auto frame = *r.first_frame();
  EXPECT_EQ(frame.opcode, 0x8);  // close
  ASSERT_GE(frame.payload.size(), 2u);
  int code =
      (static_cast<unsigned char>(frame.payload[0]) << 8) | static_cast<unsigned char>(frame.payload[1]);
  EXPECT_EQ(code, 4007);
  EXPECT_EQ(frame.payload.substr(2), "text frames are not part of the yz protocol: send binary frames");
  r.raw.write(client_frame(0x8, frame.payload));  // answer the close...
  r.raw.shutdown_send();                          // ...and end the TCP stream, as a browser would
  ASSERT_TRUE(run_until(r.io, [&] { return r.events.closed.count(r.link) > 0; }));
  EXPECT_NE(r.events.closed[r.link].find("text frame"), std::string::npos) << r.events.closed[r.link];
  EXPECT_TRUE(r.events.frames[r.link].empty());
}

TEST(Transport, PingIsAnsweredWithAPongCarryingItsPayload) {
  RawLink r;
  r.raw.write(client_frame(0x9, "are you there"));
  ASSERT_TRUE(run_until(r.io, [&] { return r.first_frame().has_value(); }));
  EXPECT_EQ(r.first_frame()->opcode, 0xA);
  EXPECT_EQ(r.first_frame()->payload, "are you there");
  EXPECT_TRUE(r.events.closed.empty());
}

TEST(Transport, FragmentedMessageArrivesAsOneFrame) {
  RawLink r;
  // A ping between the fragments is allowed and answered.
  r.raw.write(client_frame(0x2, "hel", false) + client_frame(0x9, "") + client_frame(0x0, "lo", false) +
              client_frame(0x0, " world", true) + client_frame(0x2, "next"));
  ASSERT_TRUE(run_until(r.io, [&] { return r.events.frames[r.link].size() == 2; }));
  EXPECT_EQ(to_string(r.events.frames[r.link][0]), "hello world");
  EXPECT_EQ(to_string(r.events.frames[r.link][1]), "next");
  EXPECT_TRUE(r.events.closed.empty());
}

TEST(Transport, FragmentsAddingUpAboveTheLimitAreRefusedWithTheMessageSize) {
  RawLink r;
  std::string piece(60'000, 'x');
  r.raw.write(client_frame(0x2, piece, false) + client_frame(0x0, piece, false) +
              client_frame(0x0, piece, true));
  ASSERT_TRUE(run_until(r.io, [&] { return r.first_frame().has_value(); }));
  auto close = *r.first_frame();
  EXPECT_EQ(close.opcode, 0x8);
  EXPECT_EQ(close.payload.substr(2), "frame of 180000 bytes is above the 131072-byte limit");
  ASSERT_EQ(r.events.too_large.count(r.link), 1u);
  EXPECT_EQ(r.events.too_large[r.link], 180'000u);
  EXPECT_TRUE(r.events.frames[r.link].empty());
}

TEST(Transport, UnmaskedOrReservedBitFramesAreRefusedAsProtocolViolations) {
  for (bool unmasked : {true, false}) {
    RawLink r;
    std::string frame = client_frame(0x2, "payload", true, !unmasked);
    if (!unmasked) frame[0] = static_cast<char>(frame[0] | 0x40);  // RSV1 without an extension
    r.raw.write(frame);
    ASSERT_TRUE(run_until(r.io, [&] { return r.first_frame().has_value(); }));
    auto close = *r.first_frame();
    EXPECT_EQ(close.opcode, 0x8);
    ASSERT_GE(close.payload.size(), 2u);
    int code =
        (static_cast<unsigned char>(close.payload[0]) << 8) | static_cast<unsigned char>(close.payload[1]);
    EXPECT_EQ(code, 4007);
    EXPECT_NE(close.payload.find(unmasked ? "not masked" : "reserved bits"), std::string::npos)
        << close.payload;
    EXPECT_TRUE(r.events.frames[r.link].empty());
    r.raw.write(client_frame(0x8, close.payload));
    ASSERT_TRUE(run_until(r.io, [&] { return r.events.closed.count(r.link) > 0; }));
    EXPECT_NE(r.events.closed[r.link].find("broke the WebSocket framing rules"), std::string::npos)
        << r.events.closed[r.link];
  }
}

TEST(Transport, PeerCloseIsEchoedAndReportedWithItsCodeAndReason) {
  RawLink r;
  r.raw.write(client_frame(0x2, "last words") + client_frame(0x8, std::string("\x0f\xa0", 2) + "bye"));
  ASSERT_TRUE(run_until(r.io, [&] { return r.events.closed.count(r.link) > 0; }));
  EXPECT_EQ(r.events.closed[r.link], "peer closed: 4000 bye");
  ASSERT_EQ(r.events.frames[r.link].size(), 1u);
  EXPECT_EQ(to_string(r.events.frames[r.link][0]), "last words");
  ASSERT_TRUE(run_until(r.io, [&] { return r.raw.ended; }));
  auto echo = r.first_frame();
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->opcode, 0x8);
  EXPECT_EQ(echo->payload, std::string("\x0f\xa0", 2));
}

TEST(Transport, UpgradeWithAnotherVersionOrNoKeyIsRefusedInPlainWords) {
  const std::string good = kUpgradeRequest;
  struct Case {
    std::string request;
    std::string status;
    std::string words;
  };
  std::string old_version = good;
  old_version.replace(old_version.find("Version: 13"), 11, "Version: 8");
  std::string bad_key = good;
  bad_key.replace(bad_key.find("dGhlIHNhbXBsZSBub25jZQ=="), 24, "short");
  for (const auto& c : {Case{old_version, "HTTP/1.1 426", "version 13"},
                        Case{bad_key, "HTTP/1.1 400", "Sec-WebSocket-Key"}}) {
    RawPeer r;
    r.raw.write(c.request);
    ASSERT_TRUE(run_until(r.io, [&] { return r.raw.ended; }));
    EXPECT_TRUE(r.raw.received.starts_with(c.status)) << r.raw.received;
    EXPECT_NE(r.raw.received.find(c.words), std::string::npos) << r.raw.received;
    EXPECT_TRUE(r.events.accepted.empty());
  }
}

TEST(Transport, DialToClosedPortSaysNothingListens) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed again: nothing listens there now
  Recorder events(1);
  Transport client(io, events);
  client.dial(5, ws_url(port));
  ASSERT_TRUE(run_until(io, [&] { return events.closed.count(5) > 0; }));
  EXPECT_EQ(events.closed[5], "nothing listens at 127.0.0.1:" + std::to_string(port) +
                                  " (connection refused): is the node running and is the port right?");
  EXPECT_TRUE(events.connected.empty());
  EXPECT_EQ(client.link_count(), 0u);
}

// A server that answers every request with HTTP 200, like a proxy that drops
// the Upgrade header.
class PlainHttpServer {
 public:
  explicit PlainHttpServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), socket_(io) {
    acceptor_.async_accept(socket_, [this](error_code ec) {
      if (ec) return;
      asio::async_read_until(socket_, request_, "\r\n\r\n", [this](error_code ec2, std::size_t) {
        if (ec2) return;
        static const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        asio::async_write(socket_, asio::buffer(answer), [](error_code, std::size_t) {});
      });
    });
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  asio::streambuf request_;
};

TEST(Transport, DialAnsweredWithHttp200BlamesTheProxy) {
  asio::io_context io;
  PlainHttpServer http(io);
  Recorder events(1);
  Transport client(io, events);
  client.dial(9, ws_url(http.port()));
  ASSERT_TRUE(run_until(io, [&] { return events.closed.count(9) > 0; }));
  EXPECT_EQ(events.closed[9], "peer " + ws_url(http.port()) +
                                  " answered HTTP 200 to the WebSocket upgrade: a proxy in between is not "
                                  "forwarding the Upgrade and Connection headers");
}

TEST(Transport, DialThatNeverUpgradesTimesOut) {
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // accepts via backlog, never answers
  Recorder events(1);
  TransportOptions options;
  options.dial_timeout = 300;
  Transport client(io, events, options);
  std::string url = ws_url(silent.local_endpoint().port());
  client.dial(3, url);
  ASSERT_TRUE(run_until(io, [&] { return events.closed.count(3) > 0; }));
  EXPECT_EQ(events.closed[3], "no WebSocket link to " + url +
                                  " within 300 ms (stuck at the upgrade): the host may be down or firewalled, or the "
                                  "port belongs to a program that does not answer");
}

TEST(Transport, DialRefusesWssAndMalformedAddressesInPlainWords) {
  asio::io_context io;
  Recorder events(1);
  Transport client(io, events);
  client.dial(1, "wss://example.org/node3");
  client.dial(2, "http://127.0.0.1:9000/");
  ASSERT_TRUE(run_until(io, [&] { return events.closed.size() == 2; }));
  EXPECT_EQ(events.closed[1],
            "cannot dial wss://example.org/node3: wss:// is not supported yet for outgoing links; give the node's "
            "plain ws:// address");
  EXPECT_EQ(events.closed[2], "address 'http://127.0.0.1:9000/' is not a WebSocket URL: expected ws://host:port/path");
}

TEST(Transport, CloseDuringDialReportsOnce) {
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Recorder events(1);
  Transport client(io, events);
  client.dial(4, ws_url(silent.local_endpoint().port()));
  client.close(4, 4000, "node shutting down");
  ASSERT_TRUE(run_until(io, [&] { return events.closed.count(4) > 0; }));
  EXPECT_EQ(events.closed[4], "closed by this node: 4000 node shutting down");
  EXPECT_TRUE(events.connected.empty());
}

TEST(Transport, SendQueueAboveItsBoundClosesTheLink) {
  TransportOptions server_options;
  server_options.max_queued_bytes = 1000;
  Pair p(server_options);
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  // Frames go straight to the socket while it takes them; the client reads
  // nothing until the loop runs, so once the kernel's socket buffers are full
  // frames queue, and the one that takes the queue above 1000 bytes is refused.
  int accepted = 0;
  while (accepted < 1'000'000 && p.server->send(server_link, Bytes(600, 1))) ++accepted;
  ASSERT_LT(accepted, 1'000'000);
  EXPECT_GT(accepted, 1);  // at least the kernel's buffers and one queued frame
  ASSERT_TRUE(run_until(p.io, [&] { return p.client_events.closed.count(1) && p.server_events.closed.count(server_link); }));
  EXPECT_EQ(p.client_events.closed[1], "peer closed: 4000 send queue above 1000 bytes: you are not reading your frames");
  EXPECT_NE(p.server_events.closed[server_link].find("passed 1000 bytes"), std::string::npos);
}

TEST(Transport, PeerDisappearingIsReported) {
  Pair p;
  LinkId server_link = p.connect();
  ASSERT_NE(server_link, 0u);
  p.client.reset();  // the client process "dies": sockets close without a close frame
  ASSERT_TRUE(run_until(p.io, [&] { return p.server_events.closed.count(server_link) > 0; }));
  EXPECT_NE(p.server_events.closed[server_link].find("lost"), std::string::npos) << p.server_events.closed[server_link];
}

TEST(Transport, PlainHttpOnTheWebSocketPortReachesTheHttpHandler) {
  asio::io_context io;
  Recorder events(1000);
  Transport server(io, events);
  auto bound = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  RawClient raw(io);
  raw.connect(bound.value());
  ASSERT_TRUE(run_until(io, [&] { return raw.connected; }));
  raw.write("GET /health?verbose=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(run_until(io, [&] { return raw.ended; }));
  ASSERT_EQ(events.http.size(), 1u);
  EXPECT_EQ(events.http[0].method, "GET");
  EXPECT_EQ(events.http[0].target, "/health?verbose=1");
  EXPECT_TRUE(raw.received.starts_with("HTTP/1.1 200 OK\r\n")) << raw.received;
  EXPECT_NE(raw.received.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos) << raw.received;
  EXPECT_NE(raw.received.find("Content-Type: application/json\r\n"), std::string::npos) << raw.received;
  EXPECT_TRUE(raw.received.ends_with("\r\n\r\n{\"ok\":true}")) << raw.received;
  EXPECT_TRUE(events.accepted.empty());
}

TEST(Transport, HttpAnswersMayComeLaterAndConnectionsStayAlive) {
  asio::io_context io;
  Recorder events(1000);
  events.http_handler = [&](InboundHttpRequest request, HttpResponder respond) {
    // Answer from a later handler, as the API does when it waits on the engine.
    asio::post(io, [request, respond] {
      respond(HttpReply{201, "text/plain", request.method + " " + request.target + " " + request.body, {{"X-Test", "1"}}});
    });
  };
  Transport server(io, events);
  auto bound = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  RawClient raw(io);
  raw.connect(bound.value());
  ASSERT_TRUE(run_until(io, [&] { return raw.connected; }));
  raw.write("PUT /values/a%20b?ttl=5 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nvalue");
  ASSERT_TRUE(run_until(io, [&] { return raw.received.find("value") != std::string::npos; }));
  EXPECT_TRUE(raw.received.starts_with("HTTP/1.1 201 Created\r\n")) << raw.received;
  EXPECT_NE(raw.received.find("X-Test: 1\r\n"), std::string::npos);
  EXPECT_TRUE(raw.received.ends_with("PUT /values/a%20b?ttl=5 value"));
  raw.write("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");  // same connection (keep-alive)
  ASSERT_TRUE(run_until(io, [&] { return events.http.size() == 2 && raw.received.ends_with("GET /second "); }));
}

TEST(Transport, HttpExpectContinueIsAnsweredBeforeTheBody) {
  asio::io_context io;
  Recorder events(1000);
  Transport server(io, events);
  auto bound = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  RawClient raw(io);
  raw.connect(bound.value());
  ASSERT_TRUE(run_until(io, [&] { return raw.connected; }));
  raw.write("PUT /values/k HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(run_until(io, [&] { return raw.received.starts_with("HTTP/1.1 100 Continue\r\n\r\n"); })) << raw.received;
  EXPECT_TRUE(events.http.empty());
  raw.write("body");
  ASSERT_TRUE(run_until(io, [&] { return events.http.size() == 1 && raw.received.ends_with("{\"ok\":true}"); }));
  EXPECT_EQ(events.http[0].body, "body");
}

TEST(Transport, HttpBodyAboveTheLimitGets413) {
  asio::io_context io;
  Recorder events(1000);
  TransportOptions options;
  options.http_body_limit = 100;
  Transport server(io, events, options);
  auto bound = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  RawClient raw(io);
  raw.connect(bound.value());
  ASSERT_TRUE(run_until(io, [&] { return raw.connected; }));
  raw.write("PUT /values/k HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + std::string(500, 'v'));
  ASSERT_TRUE(run_until(io, [&] { return raw.ended; }));
  EXPECT_TRUE(raw.received.starts_with("HTTP/1.1 413")) << raw.received;
  EXPECT_NE(raw.received.find("{\"error\":\"request body is larger than this node accepts"), std::string::npos);
  EXPECT_TRUE(events.http.empty());
}

TEST(Transport, ListenOnABusyPortNamesTheProblem) {
  asio::io_context io;
  Recorder events(1);
  Transport first(io, events);
  auto bound = first.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  Transport second(io, events);
  auto again = second.listen("127.0.0.1", bound.value());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "cannot listen on 127.0.0.1:" + std::to_string(bound.value()) +
                               ": the port is already in use (another yz-node?); stop that process or choose "
                               "another --listen port");
}

TEST(Transport, TruncateUtf8NeverSplitsACharacter) {
  EXPECT_EQ(truncate_utf8("abc", 5), "abc");
  EXPECT_EQ(truncate_utf8("abcdef", 3), "abc");
  EXPECT_EQ(truncate_utf8("ab\xc3\xa9", 3), "ab");         // é is 2 bytes
  EXPECT_EQ(truncate_utf8("a\xe2\x82\xac" "b", 3), "a");   // € is 3 bytes
  EXPECT_EQ(truncate_utf8("a\xe2\x82\xac" "b", 4), "a\xe2\x82\xac");
}

}  // namespace
}  // namespace yz::net
