// A small synchronous HTTP/1.1 client over plain Boost.Asio, for the yz CLI,
// the cluster launcher, the cluster tests and the benchmark: one request per
// connection (Connection: close), a hard deadline, and failures reported as
// plain-words sentences with a kind callers can turn into hints.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace yz::net {

// An http:// URL split into parts. ws:// is accepted and read as http:// (a
// node serves WebSocket peers and its HTTP API on one port).
struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, always starting with '/'
  // "http://host:port" (no path): how messages name the node.
  std::string origin() const;
};

// Parses `url`; on failure returns nullopt and sets `error` to a sentence.
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& error);

// A node's base URL as the user typed it ("127.0.0.1:7404", "ws://host:port/",
// "http://host:port") normalised to "http://host:port". Empty + error on failure.
std::string normalize_node_url(std::string_view url, std::string& error);

// Percent-encodes every byte outside RFC 3986 unreserved characters.
std::string percent_encode(std::string_view text);

enum class HttpErrorKind {
  none,
  bad_url,    // the URL could not be parsed
  resolve,    // the host name did not resolve
  refused,    // nothing listens on the port
  timeout,    // no complete answer before the deadline
  io,         // the connection broke (reset, closed early)
  malformed,  // the answer is not valid HTTP/1.x
};

struct HttpResponse {
  HttpErrorKind error_kind = HttpErrorKind::none;
  std::string error;  // plain words when error_kind != none
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // True when an HTTP answer arrived (any status).
  bool answered() const { return error_kind == HttpErrorKind::none; }
  // Value of the first header named `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct HttpRequestOptions {
  std::chrono::milliseconds timeout{10'000};
  std::string content_type = "application/octet-stream";  // used when a body is sent
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

// Sends one request and waits for the whole answer or the deadline.
HttpResponse http_request(std::string_view method, std::string_view url, std::string_view body = {},
                          const HttpRequestOptions& options = {});

// Human text for a duration in milliseconds ("850 ms", "2.4 s").
std::string describe_timeout(std::chrono::milliseconds timeout);

}  // namespace yz::net
