// Cluster tests of bad input over a real socket: a small raw WebSocket peer
// (Beast client, frames built with the core codec) sends garbage, an oversized
// frame, a forged Auth and an incompatible protocol version. The peer must get
// the right close code and reason, the node must keep serving everyone else,
// and /health refusals and /metrics must show what happened. A yz-node started
// with protocol 2..2 must be refused on both sides.
#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "cluster_fixture.hpp"
#include "core/codec.hpp"
#include "core/messages.hpp"
#include "core/protocol.hpp"
#include "crypto/sodium_crypto.hpp"

namespace yz::cluster_test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// What a raw peer saw next: a frame, or the end of the link.
struct PeerEvent {
  bool closed = false;
  Bytes frame;
  std::uint16_t close_code = 0;  // WebSocket close code (0 when the TCP connection just ended)
  std::string close_reason;
  std::string error;             // how the read ended, when closed without a close frame
};

// A WebSocket client speaking raw frames to one node.
class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port) : ws_(io_) {
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve("127.0.0.1", std::to_string(port), ec);
    if (!ec) asio::connect(ws_.next_layer(), endpoints, ec);
    if (ec) {
      error_ = "cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + ec.message();
      return;
    }
    ws_.binary(true);
    ws_.read_message_max(64 * 1024 * 1024);
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/", ec);
    if (ec) error_ = "WebSocket upgrade to 127.0.0.1:" + std::to_string(port) + " failed: " + ec.message();
  }

  const std::string& error() const { return error_; }

  bool send(const Bytes& frame) {
    boost::system::error_code ec;
    ws_.write(asio::buffer(frame), ec);
    return !ec;
  }
  bool send(const Message& message) { return send(encode(message)); }

  // Bytes written straight to the TCP stream, bypassing WebSocket framing.
  bool write_raw(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(ws_.next_layer(), asio::buffer(bytes), ec);
    return !ec;
  }

  PeerEvent next(std::chrono::milliseconds timeout = 10s) {
    PeerEvent event;
    beast::flat_buffer buffer;
    bool done = false;
    boost::system::error_code result;
    ws_.async_read(buffer, [&](const boost::system::error_code& ec, std::size_t) {
      done = true;
      result = ec;
    });
    io_.restart();
    io_.run_for(timeout);
    if (!done) {
      boost::system::error_code ignored;
      ws_.next_layer().cancel(ignored);
      ws_.next_layer().close(ignored);
      io_.restart();
      io_.run();
      event.closed = true;
      event.error = "no frame and no close within " + std::to_string(timeout.count()) + " ms";
      return event;
    }
    if (result) {
      event.closed = true;
      event.error = result.message();
      if (result == websocket::error::closed) {
        event.close_code = static_cast<std::uint16_t>(ws_.reason().code);
        event.close_reason = std::string(ws_.reason().reason.c_str());
      }
      return event;
    }
    auto data = buffer.data();
    const auto* bytes = static_cast<const std::uint8_t*>(data.data());
    event.frame.assign(bytes, bytes + data.size());
    return event;
  }

  // Reads until the link ends; returns the close event and any Goodbye seen.
  PeerEvent until_closed(std::optional<Goodbye>& goodbye, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto event = next(std::max(left, std::chrono::milliseconds(1)));
      if (event.closed) return event;
      auto decoded = decode(event.frame);
      if (decoded && std::holds_alternative<Goodbye>(decoded.value())) goodbye = std::get<Goodbye>(decoded.value());
    }
  }

  // Reads until a frame decodes to message type T (other frames are skipped).
  template <typename T>
  std::optional<T> until(std::chrono::milliseconds timeout = 10s, std::string* why = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto event = next(std::max(left, std::chrono::milliseconds(1)));
      if (event.closed) {
        if (why) *why = "link closed (code " + std::to_string(event.close_code) + ", " + event.close_reason + "; " + event.error + ")";
        return std::nullopt;
      }
      auto decoded = decode(event.frame);
      if (!decoded) continue;
      if (auto* m = std::get_if<T>(&decoded.value())) return *m;
    }
  }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
  std::string error_;
};

Bytes auth_payload(const Nonce& nonce, const Hash256& hello_hash) {
  std::string context = "yz-auth-v1";
  Bytes payload(context.begin(), context.end());
  payload.insert(payload.end(), nonce.begin(), nonce.end());
  payload.insert(payload.end(), hello_hash.begin(), hello_hash.end());
  return payload;
}

Hello make_hello(const Signer& signer, std::uint16_t version_min = kProtocolVersionMin,
                 std::uint16_t version_max = kProtocolVersionMax) {
  Hello hello;
  hello.version_min = version_min;
  hello.version_max = version_max;
  hello.role = Role::client;
  hello.public_key = signer.public_key();
  hello.build_id = "cluster-test";
  for (std::size_t i = 0; i < hello.nonce.size(); i += 8) {
    auto v = os_random_u64();
    for (std::size_t j = 0; j < 8; ++j) hello.nonce[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  return hello;
}

class BadInput : public ClusterTest {
 protected:
  void start_network(std::uint16_t base_port) {
    net::ClusterOptions options;
    options.nodes = 3;
    options.bridges = 0;
    start(options, base_port);
    if (HasFatalFailure()) return;
    expect_healthy(90s);
  }

  // The node still answers /health with 200 and serves a put/get for others.
  void expect_still_serving(const net::ClusterNode& target, const std::string& key) {
    auto h = call("GET", target.url + "/health");
    EXPECT_EQ(h.status, 200) << target.name << " after bad input: " << h.raw;
    expect_roundtrip(target, node("node3"), key);
    expect_roundtrip(node("node2"), target, key + " (reverse)");
  }

  // A refusal with `code` is listed in the node's /health.
  bool has_refusal(const net::ClusterNode& n, int code, std::string* reason = nullptr) {
    auto h = health(n);
    for (const auto& r : h.value("refusals", json::array())) {
      if (r.value("code", 0) == code) {
        if (reason) *reason = r.value("reason", std::string());
        return true;
      }
    }
    return false;
  }

  SodiumCrypto crypto_;
  SodiumSigner signer_ = SodiumSigner::generate();
};

TEST_F(BadInput, CorrectHandshakeWorksAndUnknownTypesGetAnError) {
  // Control case: the raw peer speaks the protocol correctly.
  start_network(kPortBlock + 600);
  if (HasFailure()) return;
  const auto& target = node("node1");
  RawPeer peer(target.port);
  ASSERT_EQ(peer.error(), "");
  auto hello = make_hello(signer_);
  Bytes hello_frame = encode(hello);
  ASSERT_TRUE(peer.send(hello_frame));
  std::string why;
  auto node_hello = peer.until<Hello>(10s, &why);
  ASSERT_TRUE(node_hello) << "no Hello from the node: " << why;
  ASSERT_TRUE(peer.send(Auth{signer_.sign(auth_payload(node_hello->nonce, crypto_.sha256(hello_frame)))}));
  auto node_auth = peer.until<Auth>(10s, &why);
  ASSERT_TRUE(node_auth) << "no Auth from the node: " << why;

  // An unknown message type is answered with an Error, and the link lives on.
  Bytes unknown = {0x7f, 9, 0, 0, 0, 1, 2, 3};
  ASSERT_TRUE(peer.send(unknown));
  auto error = peer.until<Error>(10s, &why);
  ASSERT_TRUE(error) << "no Error reply to an unknown type: " << why;
  EXPECT_EQ(error->code, ErrorCode::unknown_type);
  EXPECT_EQ(error->request_id, 9u);

  ASSERT_TRUE(peer.send(Ping{77}));
  auto pong = peer.until<Pong>(10s, &why);
  ASSERT_TRUE(pong) << "no Pong after the unknown type: " << why;
  EXPECT_EQ(pong->request_id, 77u);
}

TEST_F(BadInput, GarbageFrameIsClosedAsMalformed) {
  start_network(kPortBlock + 700);
  if (HasFailure()) return;
  const auto& target = node("node1");
  double decode_errors_before = metric_sum(metrics(target), "yz_decode_errors_total");
  {
    RawPeer peer(target.port);
    ASSERT_EQ(peer.error(), "");
    Bytes garbage(200, 0xff);
    garbage[0] = static_cast<std::uint8_t>(MessageType::hello);  // a Hello whose fields are nonsense
    ASSERT_TRUE(peer.send(garbage));
    std::optional<Goodbye> goodbye;
    auto end = peer.until_closed(goodbye);
    EXPECT_EQ(end.close_code, static_cast<std::uint16_t>(CloseCode::malformed_frame))
        << "reason: " << end.close_reason << "; " << end.error;
    EXPECT_NE(end.close_reason, "");
    ASSERT_TRUE(goodbye) << "no Goodbye frame before the close";
    EXPECT_EQ(goodbye->code, CloseCode::malformed_frame);
  }
  {
    // An empty binary message is malformed too.
    RawPeer peer(target.port);
    ASSERT_EQ(peer.error(), "");
    ASSERT_TRUE(peer.send(Bytes{}));
    std::optional<Goodbye> goodbye;
    auto end = peer.until_closed(goodbye);
    EXPECT_EQ(end.close_code, static_cast<std::uint16_t>(CloseCode::malformed_frame)) << end.close_reason;
  }
  expect_still_serving(target, "after garbage");
  std::string reason;
  EXPECT_TRUE(has_refusal(target, static_cast<int>(CloseCode::malformed_frame), &reason)) << health(target).dump();
  EXPECT_NE(reason.find("malformed"), std::string::npos) << reason;
  auto text = metrics(target);
  EXPECT_GE(metric_sum(text, "yz_decode_errors_total"), decode_errors_before + 2) << text;
  EXPECT_GE(metric_sum(text, "yz_closes_total", {{"code", "4003"}}), 2) << text;
}

TEST_F(BadInput, SixtyFourMebibyteFrameIsRefusedUnread) {
  start_network(kPortBlock + 800);
  if (HasFailure()) return;
  const auto& target = node("node1");
  {
    RawPeer peer(target.port);
    ASSERT_EQ(peer.error(), "");
    // A masked binary frame header announcing 64 MiB, then the first 256 KiB of it.
    const std::uint64_t size = 64ull * 1024 * 1024;
    std::string header = {static_cast<char>(0x82), static_cast<char>(0x80 | 127)};
    for (int shift = 56; shift >= 0; shift -= 8) header += static_cast<char>((size >> shift) & 0xff);
    header += std::string("\x11\x22\x33\x44", 4);
    ASSERT_TRUE(peer.write_raw(header));
    peer.write_raw(std::string(256 * 1024, 'z'));  // may fail once the node has closed: fine
    std::optional<Goodbye> goodbye;
    auto end = peer.until_closed(goodbye);
    EXPECT_EQ(end.close_code, static_cast<std::uint16_t>(CloseCode::frame_too_large))
        << "reason: " << end.close_reason << "; " << end.error;
    // The reason names the limit (kMaxFrameSize), so the sender knows what to fix.
    EXPECT_NE(end.close_reason.find(std::to_string(kMaxFrameSize)), std::string::npos) << end.close_reason;
  }
  expect_still_serving(target, "after a huge frame");
  EXPECT_TRUE(has_refusal(target, static_cast<int>(CloseCode::frame_too_large))) << health(target).dump();
  auto text = metrics(target);
  EXPECT_GE(metric_sum(text, "yz_closes_total", {{"code", "4008"}}), 1) << text;
}

TEST_F(BadInput, ForgedAuthIsClosedAsAuthFailed) {
  start_network(kPortBlock + 900);
  if (HasFailure()) return;
  const auto& target = node("node1");
  {
    RawPeer peer(target.port);
    ASSERT_EQ(peer.error(), "");
    auto hello = make_hello(signer_);
    Bytes hello_frame = encode(hello);
    ASSERT_TRUE(peer.send(hello_frame));
    std::string why;
    auto node_hello = peer.until<Hello>(10s, &why);
    ASSERT_TRUE(node_hello) << why;
    // Signed by another key than the one in our Hello: the identity is forged.
    auto impostor = SodiumSigner::generate();
    ASSERT_TRUE(peer.send(Auth{impostor.sign(auth_payload(node_hello->nonce, crypto_.sha256(hello_frame)))}));
    std::optional<Goodbye> goodbye;
    auto end = peer.until_closed(goodbye);
    EXPECT_EQ(end.close_code, static_cast<std::uint16_t>(CloseCode::auth_failed))
        << "reason: " << end.close_reason << "; " << end.error;
    ASSERT_TRUE(goodbye);
    EXPECT_EQ(goodbye->code, CloseCode::auth_failed);
    EXPECT_NE(goodbye->reason.find("verify"), std::string::npos) << goodbye->reason;
  }
  expect_still_serving(target, "after a forged auth");
  EXPECT_TRUE(has_refusal(target, static_cast<int>(CloseCode::auth_failed))) << health(target).dump();
  auto text = metrics(target);
  EXPECT_GE(metric_sum(text, "yz_closes_total", {{"code", "4002"}}), 1) << text;
  EXPECT_GE(metric_sum(text, "yz_handshakes_total", {{"result", "failed"}}), 1) << text;
}

TEST_F(BadInput, IncompatibleVersionIsRefusedOnBothSides) {
  start_network(kPortBlock + 1000);
  if (HasFailure()) return;
  const auto& target = node("node1");
  const std::uint16_t future = kProtocolVersionMax + 1;
  {
    // A raw peer that speaks only a future version.
    RawPeer peer(target.port);
    ASSERT_EQ(peer.error(), "");
    ASSERT_TRUE(peer.send(make_hello(signer_, future, future)));
    std::optional<Goodbye> goodbye;
    auto end = peer.until_closed(goodbye);
    EXPECT_EQ(end.close_code, static_cast<std::uint16_t>(CloseCode::incompatible_version))
        << "reason: " << end.close_reason << "; " << end.error;
    ASSERT_TRUE(goodbye);
    EXPECT_NE(goodbye->reason.find(std::to_string(future)), std::string::npos) << goodbye->reason;
  }
  expect_still_serving(target, "after a version mismatch");
  EXPECT_TRUE(has_refusal(target, static_cast<int>(CloseCode::incompatible_version))) << health(target).dump();

  // A real node built to speak only version `future` dials the network: both
  // sides refuse the link and name the reason in /health.
  std::string error;
  auto v = std::to_string(future);
  auto old = cluster().add_node("future", "dht", {"--protocol-min", v, "--protocol-max", v}, error);
  ASSERT_TRUE(old) << error;
  const auto& genesis = node("genesis");
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool genesis_refused = false, future_refused = false;
  std::string future_reason;
  while (std::chrono::steady_clock::now() < deadline && !(genesis_refused && future_refused)) {
    std::this_thread::sleep_for(250ms);
    genesis_refused = genesis_refused || has_refusal(genesis, static_cast<int>(CloseCode::incompatible_version));
    auto a = call("GET", old->url + "/health");
    if (!a.error.empty() || !a.body.is_object()) continue;
    for (const auto& r : a.body.value("refusals", json::array())) {
      if (r.value("code", 0) == static_cast<int>(CloseCode::incompatible_version)) {
        future_refused = true;
        future_reason = r.value("reason", std::string());
      }
    }
  }
  EXPECT_TRUE(genesis_refused) << "genesis does not list the refused future node: " << health(genesis).dump();
  EXPECT_TRUE(future_refused) << "the future node does not list its refusal: " << call("GET", old->url + "/health").raw;
  EXPECT_NE(future_reason.find("protocol"), std::string::npos) << future_reason;
  auto f = call("GET", old->url + "/health");
  EXPECT_EQ(f.status, 503) << "a node that no peer accepts cannot be healthy: " << f.raw;
  EXPECT_EQ(f.body.value("links", -1), 0) << f.raw;
  EXPECT_GE(metric_sum(metrics(genesis), "yz_closes_total", {{"code", "4001"}}), 1);
  expect_healthy(20s, {"bootstrap", "genesis", "node1", "node2", "node3"});
}

}  // namespace
}  // namespace yz::cluster_test
