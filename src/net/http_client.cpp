// Synchronous HTTP/1.1 client over plain Boost.Asio (no Beast: it is used by
// small tools and tests, and must stay cheap to compile). Each request runs on
// its own io_context with run_for(deadline), so a stuck peer cannot hang us.
#include <utility>  // before Asio (Boost 1.74 needs std::exchange declared)

#include "net/http_client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace yz::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// Incremental parse state of one response.
enum class ParseState { need_more, complete, error };

struct Parser {
  std::string raw;           // everything received so far
  std::size_t header_end = std::string::npos;  // offset of the body
  HttpResponse* out = nullptr;
  std::optional<std::size_t> content_length;
  bool chunked = false;
  std::string error;

  ParseState parse_head() {
    auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (raw.size() > 64 * 1024) {
        error = "the header block is larger than 64 KiB";
        return ParseState::error;
      }
      return ParseState::need_more;
    }
    header_end = end + 4;
    std::string_view head(raw.data(), end);
    auto line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
      error = "the status line is '" + std::string(status_line.substr(0, 80)) + "', not 'HTTP/1.x <code> <reason>'";
      return ParseState::error;
    }
    int status = 0;
    auto code = status_line.substr(9, 3);
    auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
    if (ec != std::errc{} || ptr != code.data() + 3 || status < 100 || status > 599) {
      error = "the status code '" + std::string(code) + "' is not a number between 100 and 599";
      return ParseState::error;
    }
    out->status = status;
    out->reason = status_line.size() > 13 ? std::string(trim(status_line.substr(13))) : "";
    std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
      auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        error = "a header line has no name: '" + std::string(line.substr(0, 80)) + "'";
        return ParseState::error;
      }
      out->headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    }
    auto te = out->header("Transfer-Encoding");
    if (!te.empty() && lower(te).find("chunked") != std::string::npos) {
      chunked = true;
    } else if (auto cl = out->header("Content-Length"); !cl.empty()) {
      std::size_t length = 0;
      auto [p, e] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
      if (e != std::errc{} || p != cl.data() + cl.size()) {
        error = "the Content-Length '" + cl + "' is not a number";
        return ParseState::error;
      }
      content_length = length;
    } else if (status == 204 || status == 304 || status / 100 == 1) {
      content_length = 0;
    }
    return ParseState::need_more;
  }

  // Decodes a chunked body from raw[header_end..]; complete when the last chunk arrived.
  ParseState parse_chunked() {
    std::string body;
    std::size_t pos = header_end;
    while (true) {
      auto eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) return ParseState::need_more;
      std::string_view size_line(raw.data() + pos, eol - pos);
      if (auto semi = size_line.find(';'); semi != std::string_view::npos) size_line = size_line.substr(0, semi);
      size_line = trim(size_line);
      std::size_t size = 0;
      auto [p, e] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
      if (e != std::errc{} || p != size_line.data() + size_line.size()) {
        error = "a chunk size '" + std::string(size_line.substr(0, 20)) + "' is not hexadecimal";
        return ParseState::error;
      }
      pos = eol + 2;
      if (size == 0) {
        // Trailers end with an empty line.
        auto trailer_end = raw.find("\r\n", pos);
        while (trailer_end != std::string::npos && trailer_end != pos) {
          pos = trailer_end + 2;
          trailer_end = raw.find("\r\n", pos);
        }
        if (trailer_end == std::string::npos) return ParseState::need_more;
        out->body = std::move(body);
        return ParseState::complete;
      }
      if (raw.size() < pos + size + 2) return ParseState::need_more;
      body.append(raw, pos, size);
      pos += size + 2;
    }
  }

  // Called after each read; `eof` when the peer closed the connection.
  ParseState step(bool eof) {
    if (header_end == std::string::npos) {
      auto state = parse_head();
      if (state == ParseState::error) return state;
      if (header_end == std::string::npos) {
        if (eof) {
          error = raw.empty() ? "the server closed the connection without answering"
                              : "the server closed the connection inside the header block";
          return ParseState::error;
        }
        return ParseState::need_more;
      }
    }
    if (chunked) {
      auto state = parse_chunked();
      if (state == ParseState::need_more && eof) {
        error = "the server closed the connection inside a chunked body";
        return ParseState::error;
      }
      return state;
    }
    std::size_t have = raw.size() - header_end;
    if (content_length) {
      if (have >= *content_length) {
        out->body = raw.substr(header_end, *content_length);
        return ParseState::complete;
      }
      if (eof) {
        error = "the body ended after " + std::to_string(have) + " of " + std::to_string(*content_length) +
                " bytes announced by Content-Length";
        return ParseState::error;
      }
      return ParseState::need_more;
    }
    if (eof) {
      out->body = raw.substr(header_end);
      return ParseState::complete;
    }
    return ParseState::need_more;
  }
};

// One request in flight: resolve, connect, write, read until complete.
class Exchange {
 public:
  Exchange(asio::io_context& io, const HttpUrl& url, std::string request, HttpResponse& out,
           std::size_t max_bytes)
      : resolver_(io), socket_(io), url_(url), request_(std::move(request)), out_(out),
        max_bytes_(max_bytes) {
    parser_.out = &out_;
  }

  void start() {
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            [this](const boost::system::error_code& ec, tcp::resolver::results_type results) {
                              if (ec) return fail_resolve(ec);
                              asio::async_connect(socket_, results,
                                                  [this](const boost::system::error_code& ec2, const tcp::endpoint&) {
                                                    if (ec2) return fail_connect(ec2);
                                                    boost::system::error_code ignored;
                                                    socket_.set_option(tcp::no_delay(true), ignored);
                                                    write();
                                                  });
                            });
  }

  bool finished() const { return finished_; }

  void abort() {
    boost::system::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
  }

 private:
  void write() {
    asio::async_write(socket_, asio::buffer(request_), [this](const boost::system::error_code& ec, std::size_t) {
      // A server may answer (e.g. 413) and close before reading the whole body:
      // keep reading, the answer matters more than our write error.
      if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
        return fail_io("sending the request failed", ec);
      }
      read();
    });
    if (!reading_) read();
  }

  void read() {
    if (reading_) return;
    reading_ = true;
    socket_.async_read_some(asio::buffer(buffer_), [this](const boost::system::error_code& ec, std::size_t n) {
      reading_ = false;
      if (finished_) return;
      bool eof = false;
      if (ec == asio::error::eof) {
        eof = true;
      } else if (ec == asio::error::connection_reset && !parser_.raw.empty()) {
        eof = true;  // closed hard after answering; judge what arrived
      } else if (ec) {
        return fail_io("reading the answer failed", ec);
      }
      parser_.raw.append(buffer_.data(), n);
      if (parser_.raw.size() > max_bytes_) {
        return fail(HttpErrorKind::malformed, "the answer from " + url_.origin() + " is larger than " +
                                                  std::to_string(max_bytes_ / (1024 * 1024)) + " MiB");
      }
      switch (parser_.step(eof)) {
        case ParseState::complete:
          finished_ = true;
          abort();
          return;
        case ParseState::error:
          return fail(HttpErrorKind::malformed, "malformed HTTP answer from " + url_.origin() + ": " + parser_.error);
        case ParseState::need_more:
          read();
          return;
      }
    });
  }

  void fail_resolve(const boost::system::error_code& ec) {
    fail(HttpErrorKind::resolve, "cannot resolve host '" + url_.host + "' (" + ec.message() +
                                     "): check the spelling, or use an IP address such as 127.0.0.1");
  }

  void fail_connect(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) {
      return fail(HttpErrorKind::refused, "no node answers at " + url_.origin() + " (connection refused)");
    }
    fail(HttpErrorKind::io, "cannot connect to " + url_.origin() + " (" + ec.message() + ")");
  }

  void fail_io(const std::string& what, const boost::system::error_code& ec) {
    fail(HttpErrorKind::io, what + " on the connection to " + url_.origin() + " (" + ec.message() + ")");
  }

  void fail(HttpErrorKind kind, std::string text) {
    if (finished_) return;
    finished_ = true;
    out_.error_kind = kind;
    out_.error = std::move(text);
    abort();
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  HttpUrl url_;
  std::string request_;
  HttpResponse& out_;
  std::size_t max_bytes_;
  Parser parser_;
  std::array<char, 16 * 1024> buffer_{};
  bool reading_ = false;
  bool finished_ = false;
};

bool valid_method(std::string_view method) {
  if (method.empty() || method.size() > 16) return false;
  return std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::string HttpUrl::origin() const {
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& error) {
  std::string original(url);
  HttpUrl out;
  auto scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme = lower(url.substr(0, scheme_end));
    if (scheme == "https" || scheme == "wss") {
      error = "bad URL '" + original + "': " + scheme +
              ":// (TLS) is not supported by this client; use the node's plain http://host:port "
              "(behind a reverse proxy, use the node's own address)";
      return std::nullopt;
    }
    if (scheme != "http" && scheme != "ws") {
      error = "bad URL '" + original + "': the scheme '" + scheme + "' is not http:// (or ws://)";
      return std::nullopt;
    }
    url.remove_prefix(scheme_end + 3);
  }
  auto path_start = url.find_first_of("/?");
  std::string_view authority = url.substr(0, path_start);
  std::string_view target = path_start == std::string_view::npos ? std::string_view{} : url.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    error = "bad URL '" + original + "': user names in URLs are not supported";
    return std::nullopt;
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "bad URL '" + original + "': an IPv6 address opened with '[' has no closing ']'";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "bad URL '" + original + "': unexpected text after the IPv6 address";
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      out.host = std::string(authority.substr(0, colon));
      port_text = authority.substr(colon + 1);
    } else {
      out.host = std::string(authority);
    }
  }
  if (out.host.empty()) {
    error = "bad URL '" + original + "': no host name (expected http://host:port)";
    return std::nullopt;
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, e] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (e != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      error = "bad URL '" + original + "': the port '" + std::string(port_text) + "' is not a number from 1 to 65535";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "bad URL '" + original + "': the path contains a space or control character (percent-encode it)";
      return std::nullopt;
    }
  }
  return out;
}

std::string normalize_node_url(std::string_view url, std::string& error) {
  auto parsed = parse_http_url(url, error);
  if (!parsed) return {};
  return parsed->origin();
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::string describe_timeout(std::chrono::milliseconds timeout) {
  auto ms = timeout.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  char text[32];
  if (ms % 1000 == 0) {
    std::snprintf(text, sizeof text, "%lld s", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  }
  return text;
}

HttpResponse http_request(std::string_view method, std::string_view url, std::string_view body,
                          const HttpRequestOptions& options) {
  HttpResponse response;
  std::string error;
  auto parsed = parse_http_url(url, error);
  if (!parsed) {
    response.error_kind = HttpErrorKind::bad_url;
    response.error = error;
    return response;
  }
  if (!valid_method(method)) {
    response.error_kind = HttpErrorKind::bad_url;
    response.error = "bad HTTP method '" + std::string(method) + "' (expected an upper-case word such as GET)";
    return response;
  }
  bool v6 = parsed->host.find(':') != std::string::npos;
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(parsed->target).append(" HTTP/1.1\r\n");
  request.append("Host: ").append(v6 ? "[" + parsed->host + "]" : parsed->host);
  request.append(":").append(std::to_string(parsed->port)).append("\r\n");
  request.append("User-Agent: yz-http-client\r\n");
  request.append("Accept: */*\r\n");
  request.append("Connection: close\r\n");
  bool has_body = !body.empty() || method == "PUT" || method == "POST";
  if (has_body) {
    if (!body.empty()) request.append("Content-Type: ").append(options.content_type).append("\r\n");
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n");
  request.append(body);

  asio::io_context io;
  Exchange exchange(io, *parsed, std::move(request), response, options.max_response_bytes);
  exchange.start();
  io.run_for(options.timeout);
  if (!exchange.finished()) {
    exchange.abort();
    io.restart();
    io.run();  // let the aborted handlers finish (they see operation_aborted)
    response = HttpResponse{};
    response.error_kind = HttpErrorKind::timeout;
    response.error =
        "no answer from " + parsed->origin() + " within " + describe_timeout(options.timeout) + " (" +
        std::string(method) + " " + parsed->target.substr(0, 80) + ")";
    return response;
  }
  io.restart();
  io.run();  // drain: handlers of the closed socket complete with operation_aborted
  return response;
}

}  // namespace yz::net
