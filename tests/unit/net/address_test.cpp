// Parsing of ws:// URLs and --listen addresses (net/address).
#include "net/address.hpp"

#include <gtest/gtest.h>

namespace yz::net {
namespace {

TEST(WsUrl, ParsesHostPortAndPath) {
  std::string error;
  auto url = parse_ws_url("ws://127.0.0.1:9001/node3?x=1", error);
  ASSERT_TRUE(url) << error;
  EXPECT_FALSE(url->secure);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 9001);
  EXPECT_EQ(url->path, "/node3?x=1");
  EXPECT_EQ(url->endpoint(), "127.0.0.1:9001");
}

TEST(WsUrl, DefaultsPortAndPath) {
  std::string error;
  auto plain = parse_ws_url("ws://example.org", error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path, "/");
  auto secure = parse_ws_url("wss://example.org/ws", error);
  ASSERT_TRUE(secure) << error;
  EXPECT_TRUE(secure->secure);
  EXPECT_EQ(secure->port, 443);
}

TEST(WsUrl, AcceptsBracketedIpv6) {
  std::string error;
  auto url = parse_ws_url("ws://[::1]:9000/", error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->endpoint(), "[::1]:9000");
}

TEST(WsUrl, RejectsOtherSchemesAndBadPortsInPlainWords) {
  std::string error;
  EXPECT_FALSE(parse_ws_url("http://127.0.0.1:9000/", error));
  EXPECT_EQ(error, "address 'http://127.0.0.1:9000/' is not a WebSocket URL: expected ws://host:port/path");
  EXPECT_FALSE(parse_ws_url("ws://host:99999/", error));
  EXPECT_EQ(error, "address 'ws://host:99999/' is malformed: port '99999' is not a number from 0 to 65535");
  EXPECT_FALSE(parse_ws_url("ws://:9000/", error));
  EXPECT_EQ(error, "address 'ws://:9000/' has no valid host: expected ws://host:port/path");
  EXPECT_FALSE(parse_ws_url("ws://host:0/", error));
  EXPECT_FALSE(parse_ws_url("ws://::1:9000/", error));
  EXPECT_NE(error.find("brackets"), std::string::npos);
}

TEST(ListenAddress, ParsesAndRequiresAPort) {
  std::string error;
  auto listen = parse_listen_address("0.0.0.0:9000", error);
  ASSERT_TRUE(listen) << error;
  EXPECT_EQ(listen->host, "0.0.0.0");
  EXPECT_EQ(listen->port, 9000);
  auto any_port = parse_listen_address("127.0.0.1:0", error);
  ASSERT_TRUE(any_port) << error;
  EXPECT_EQ(any_port->port, 0);
  EXPECT_FALSE(parse_listen_address("127.0.0.1", error));
  EXPECT_EQ(error, "listen address '127.0.0.1' has no port: expected host:port, e.g. 127.0.0.1:9000");
  EXPECT_FALSE(parse_listen_address("ws://127.0.0.1:9000/", error));
  EXPECT_NE(error.find("without a scheme"), std::string::npos);
  EXPECT_FALSE(parse_listen_address("127.0.0.1:port", error));
  EXPECT_EQ(error, "listen address '127.0.0.1:port' is malformed: port 'port' is not a number from 0 to 65535");
}

TEST(ListenAddress, WildcardHostsAreRecognised) {
  EXPECT_TRUE(is_wildcard_host("0.0.0.0"));
  EXPECT_TRUE(is_wildcard_host("::"));
  EXPECT_FALSE(is_wildcard_host("127.0.0.1"));
}

}  // namespace
}  // namespace yz::net
