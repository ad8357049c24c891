// Addresses the native shell understands: ws:// URLs that peers dial, and the
// host:port a node listens on. Parsing only (no IO), with plain-words errors.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace yz::net {

// A parsed ws:// (or wss://) URL.
struct WsUrl {
  bool secure = false;       // wss://
  std::string host;          // without IPv6 brackets
  std::uint16_t port = 80;
  std::string path = "/";    // path and query, always starting with '/'
  // "host:port" with IPv6 hosts in brackets: how messages name the endpoint.
  std::string endpoint() const;
};

// Parses `url`; on failure returns nullopt and sets `error` to a sentence that
// names the URL and the expected form.
std::optional<WsUrl> parse_ws_url(std::string_view url, std::string& error);

// "host:port" as given to --listen. Port 0 means "any free port".
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string endpoint() const;  // "host:port" (IPv6 in brackets)
};
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& error);

// True for hosts that mean "every interface" (0.0.0.0, ::, empty): peers
// cannot dial such an address, so it must not be advertised.
bool is_wildcard_host(std::string_view host);

}  // namespace yz::net
