// Parsing of ws:// URLs and listen addresses for the native shell.
#include "net/address.hpp"

#include <charconv>

namespace yz::net {

namespace {

std::string bracket(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Splits "host[:port]" (IPv6 hosts in brackets). Returns false with `error` set.
bool split_host_port(std::string_view text, std::string& host, std::optional<std::uint16_t>& port,
                     std::string& error) {
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "the IPv6 host has no closing ']'";
      return false;
    }
    host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "expected ':' and a port after the IPv6 host";
        return false;
      }
      port_text = rest.substr(1);
      if (port_text.empty()) {
        error = "the port after ':' is empty";
        return false;
      }
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      if (text.find(':') != colon) {
        error = "an IPv6 host must be written in brackets, e.g. [::1]:9000";
        return false;
      }
      host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (port_text.empty()) {
        error = "the port after ':' is empty";
        return false;
      }
    } else {
      host = std::string(text);
    }
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value > 65535) {
      error = "port '" + std::string(port_text) + "' is not a number from 0 to 65535";
      return false;
    }
    port = static_cast<std::uint16_t>(value);
  }
  return true;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == ':' || c == '_' || c == '%';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string WsUrl::endpoint() const { return bracket(host) + ":" + std::to_string(port); }

std::string ListenAddress::endpoint() const { return bracket(host) + ":" + std::to_string(port); }

std::optional<WsUrl> parse_ws_url(std::string_view url, std::string& error) {
  WsUrl out;
  std::string_view rest;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    out.secure = true;
    out.port = 443;
    rest = url.substr(6);
  } else {
    error = "address '" + std::string(url) + "' is not a WebSocket URL: expected ws://host:port/path";
    return std::nullopt;
  }
  auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.path = std::string(rest.substr(slash));
    if (out.path.front() == '?') out.path = "/" + out.path;
  }
  if (authority.find('@') != std::string_view::npos) {
    error = "address '" + std::string(url) + "' has user credentials, which yz does not use: remove the 'user@' part";
    return std::nullopt;
  }
  std::optional<std::uint16_t> port;
  std::string why;
  if (!split_host_port(authority, out.host, port, why)) {
    error = "address '" + std::string(url) + "' is malformed: " + why;
    return std::nullopt;
  }
  if (!valid_host(out.host)) {
    error = "address '" + std::string(url) + "' has no valid host: expected ws://host:port/path";
    return std::nullopt;
  }
  if (port) {
    if (*port == 0) {
      error = "address '" + std::string(url) + "' has port 0, which cannot be dialled";
      return std::nullopt;
    }
    out.port = *port;
  }
  return out;
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& error) {
  ListenAddress out;
  std::optional<std::uint16_t> port;
  std::string why;
  if (text.find("://") != std::string_view::npos) {
    error = "listen address '" + std::string(text) + "' must be host:port without a scheme, e.g. 127.0.0.1:9000";
    return std::nullopt;
  }
  if (!split_host_port(text, out.host, port, why)) {
    error = "listen address '" + std::string(text) + "' is malformed: " + why;
    return std::nullopt;
  }
  if (!port) {
    error = "listen address '" + std::string(text) + "' has no port: expected host:port, e.g. 127.0.0.1:9000";
    return std::nullopt;
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  if (!valid_host(out.host)) {
    error = "listen address '" + std::string(text) + "' has no valid host: expected host:port, e.g. 127.0.0.1:9000";
    return std::nullopt;
  }
  out.port = *port;
  return out;
}

bool is_wildcard_host(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace yz::net
