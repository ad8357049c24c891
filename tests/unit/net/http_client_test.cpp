// Unit tests of the small HTTP client (net/http_client): URL parsing, request
// framing, the three body framings, and every failure kind, against a one-shot
// loopback server that answers with canned bytes.
#include <utility>  // before Asio (Boost 1.74)

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "net/http_client.hpp"

namespace yz::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts one connection, reads the request (headers + Content-Length body),
// writes `answer`, then closes (or holds the connection open when `hang`).
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer, bool hang = false)
      : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, answer = std::move(answer), hang] {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      asio::streambuf buffer;
      auto n = asio::read_until(socket, buffer, "\r\n\r\n", ec);
      std::string data(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
      std::string head = data.substr(0, n);
      std::size_t length = 0;
      if (auto at = head.find("Content-Length: "); at != std::string::npos) length = std::stoul(head.substr(at + 16));
      std::string body = data.substr(n);
      while (body.size() < length && !ec) {
        char chunk[4096];
        auto got = socket.read_some(asio::buffer(chunk), ec);
        body.append(chunk, got);
      }
      request_.set_value(head + body);
      if (hang) {
        char byte;
        socket.read_some(asio::buffer(&byte, 1), ec);  // until the client gives up
        return;
      }
      asio::write(socket, asio::buffer(answer), ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    });
  }
  ~OneShotServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    thread_.join();
  }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string request() { return request_.get_future().get(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::promise<std::string> request_;
  std::thread thread_;
};

// A port nothing listens on: bind an ephemeral port, then release it.
std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return acceptor.local_endpoint().port();
}

TEST(HttpUrl, ParsesHostPortAndTarget) {
  std::string error;
  auto url = parse_http_url("http://127.0.0.1:7404/values/a%20b?ttl=5", error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 7404);
  EXPECT_EQ(url->target, "/values/a%20b?ttl=5");
  EXPECT_EQ(url->origin(), "http://127.0.0.1:7404");
}

TEST(HttpUrl, AcceptsWsAndBareHostPort) {
  std::string error;
  EXPECT_EQ(normalize_node_url("ws://127.0.0.1:7400/", error), "http://127.0.0.1:7400");
  EXPECT_EQ(normalize_node_url("127.0.0.1:7401", error), "http://127.0.0.1:7401");
  EXPECT_EQ(normalize_node_url("http://localhost", error), "http://localhost:80");
  EXPECT_EQ(normalize_node_url("http://[::1]:9000/x", error), "http://[::1]:9000");
}

TEST(HttpUrl, RejectsWithPlainWords) {
  std::string error;
  EXPECT_FALSE(parse_http_url("https://example.org", error));
  EXPECT_NE(error.find("TLS"), std::string::npos) << error;
  EXPECT_FALSE(parse_http_url("ftp://host:1", error));
  EXPECT_NE(error.find("ftp"), std::string::npos) << error;
  EXPECT_FALSE(parse_http_url("http://host:99999/", error));
  EXPECT_NE(error.find("99999"), std::string::npos) << error;
  EXPECT_FALSE(parse_http_url("http://:80/", error));
  EXPECT_NE(error.find("no host"), std::string::npos) << error;
  EXPECT_FALSE(parse_http_url("http://host/a b", error));
}

TEST(HttpUrl, PercentEncodesEverythingButUnreserved) {
  EXPECT_EQ(percent_encode("abc-._~XYZ019"), "abc-._~XYZ019");
  EXPECT_EQ(percent_encode("a b/c?d&e=\xff"), "a%20b%2Fc%3Fd%26e%3D%FF");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(HttpClient, SendsRequestAndReadsContentLengthBody) {
  OneShotServer server("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}");
  auto response = http_request("PUT", server.url("/values/k?ttl=9"), "hello");
  ASSERT_TRUE(response.answered()) << response.error;
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.reason, "Created");
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(response.body, "{\"ok\":true}");
  auto request = server.request();
  EXPECT_EQ(request.rfind("PUT /values/k?ttl=9 HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(request.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(request.substr(request.size() - 5), "hello");
}

TEST(HttpClient, ReadsChunkedBody) {
  OneShotServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n");
  auto response = http_request("GET", server.url());
  ASSERT_TRUE(response.answered()) << response.error;
  EXPECT_EQ(response.body, "hello, world");
}

TEST(HttpClient, ReadsBodyUntilClose) {
  OneShotServer server("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of it");
  auto response = http_request("GET", server.url());
  ASSERT_TRUE(response.answered()) << response.error;
  EXPECT_EQ(response.body, "all of it");
}

TEST(HttpClient, ConnectionRefusedNamesTheNode) {
  auto port = free_port();
  auto response = http_request("GET", "http://127.0.0.1:" + std::to_string(port) + "/health");
  EXPECT_EQ(response.error_kind, HttpErrorKind::refused);
  EXPECT_NE(response.error.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << response.error;
  EXPECT_NE(response.error.find("connection refused"), std::string::npos) << response.error;
}

TEST(HttpClient, DeadlineEndsAStuckRequest) {
  OneShotServer server("", /*hang=*/true);
  HttpRequestOptions options;
  options.timeout = 300ms;
  auto response = http_request("GET", server.url("/slow"), {}, options);
  EXPECT_EQ(response.error_kind, HttpErrorKind::timeout);
  EXPECT_NE(response.error.find("within 300 ms"), std::string::npos) << response.error;
}

TEST(HttpClient, MalformedAnswerIsReported) {
  OneShotServer server("SSH-2.0-OpenSSH\r\n\r\n");
  auto response = http_request("GET", server.url());
  EXPECT_EQ(response.error_kind, HttpErrorKind::malformed);
  EXPECT_NE(response.error.find("status line"), std::string::npos) << response.error;
}

TEST(HttpClient, ShortBodyIsReported) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  auto response = http_request("GET", server.url());
  EXPECT_EQ(response.error_kind, HttpErrorKind::malformed);
  EXPECT_NE(response.error.find("3 of 10"), std::string::npos) << response.error;
}

TEST(HttpClient, BadUrlIsNotSent) {
  auto response = http_request("GET", "gopher://x");
  EXPECT_EQ(response.error_kind, HttpErrorKind::bad_url);
}

}  // namespace
}  // namespace yz::net
