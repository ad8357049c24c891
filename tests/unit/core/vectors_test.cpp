// Golden vectors (tests/vectors, shared with the WebAssembly build): every frame
// in frames.txt is the exact encoding of a message built here, and every frame
// in malformed.txt fails to decode with the DecodeErrorKind named on its line.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/codec.hpp"

#ifndef YZ_VECTORS_DIR
#error "YZ_VECTORS_DIR must name the tests/vectors directory"
#endif

namespace yz {
namespace {

struct VectorLine {
  int line_number = 0;
  std::vector<std::string> fields;  // whitespace-separated words of the line
};

// Reads a vector file; blank lines and lines starting with '#' are skipped.
// Fails the test (and returns nothing) when the file cannot be opened.
std::optional<std::vector<VectorLine>> read_vector_file(const std::string& name) {
  const std::string path = std::string(YZ_VECTORS_DIR) + "/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "vector file " << path << " is missing or unreadable";
    return std::nullopt;
  }
  std::vector<VectorLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    std::size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos || text[first] == '#') continue;
    VectorLine line{number, {}};
    std::istringstream words(text);
    std::string word;
    while (words >> word) line.fields.push_back(word);
    lines.push_back(std::move(line));
  }
  return lines;
}

std::optional<Bytes> parse_hex(const std::string& hex) {
  if (hex == "-") return Bytes{};
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]);
    int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> counting_bytes(std::uint8_t first) {
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}
NodeId id_a() { return NodeId{counting_bytes<32>(0x01)}; }
NodeId id_b() { return NodeId{counting_bytes<32>(0x21)}; }

// The message every name in frames.txt must encode.
std::map<std::string, Message> expected_frames() {
  std::map<std::string, Message> m;
  m["hello_dht"] = Hello{1, 1, Role::dht, counting_bytes<32>(0x01), {"ws://127.0.0.1:7001/"}, "0.1.0",
                         counting_bytes<32>(0x21)};
  m["hello_browser_no_addresses"] =
      Hello{1, 3, Role::browser, counting_bytes<32>(0x21), {}, "", counting_bytes<32>(0x01)};
  m["auth"] = Auth{counting_bytes<64>(0x01)};
  m["goodbye_normal"] = Goodbye{CloseCode::normal, "shutting down"};
  m["goodbye_incompatible_version"] =
      Goodbye{CloseCode::incompatible_version, "peer speaks 2..3, we speak 1..1: upgrade this node"};
  m["goodbye_future_code_empty_reason"] = Goodbye{static_cast<CloseCode>(4999), ""};
  m["goodbye_utf8_reason"] = Goodbye{CloseCode::normal, "au revoir \xe2\x9c\x93"};
  m["error_stale_value"] = Error{7, ErrorCode::stale_value, "a newer version is held"};
  m["error_unknown_type"] = Error{0x01020304, ErrorCode::unknown_type, "unknown message type 0x7f"};
  m["error_future_code"] = Error{9, static_cast<ErrorCode>(300), ""};
  m["ping"] = Ping{1};
  m["ping_max_request_id"] = Ping{0xffffffffu};
  m["pong"] = Pong{1};
  m["find_node"] = FindNode{2, id_a()};
  m["nodes_empty"] = Nodes{3, {}};
  m["nodes_two_contacts"] =
      Nodes{3,
            {Contact{id_a(), Role::dht, {"ws://10.0.0.1:7001/", "wss://example.org/node1"}},
             Contact{id_b(), Role::browser, {}}}};
  m["store"] = Store{4, id_a(), 1, 3600, to_bytes("hello")};
  m["store_empty_value"] = Store{5, id_b(), 0, 1, {}};
  m["store_ack"] = StoreAck{4, {}};
  m["store_ack_with_contacts"] = StoreAck{4, {Contact{id_b(), Role::dht, {"ws://10.0.0.1:7001/"}}}};
  m["find_value"] = FindValue{6, id_a()};
  m["value"] = Value{6, id_a(), 1, 3599, to_bytes("hello")};
  m["peers_request"] = PeersRequest{8, 16};
  Routed routed;
  routed.source = id_a();
  routed.destination = id_b();
  routed.message_id = 0x0807060504030201ULL;
  routed.hop_limit = 32;
  routed.flags = Routed::kReply;
  routed.source_key = counting_bytes<32>(0x01);
  routed.signature = counting_bytes<64>(0x01);
  routed.payload = Bytes{0x10, 5, 0, 0, 0};  // Ping{5}
  m["routed_reply_carrying_ping"] = routed;
  m["signal"] = Signal{9, "v=0"};
  m["ack"] = Ack{9};
  m["dial_request"] = DialRequest{10, {"ws://127.0.0.1:7001/"}};
  m["relay_open"] = RelayOpen{11, id_a()};
  m["relay_data"] = RelayData{id_b(), Bytes{1, 2, 3}};
  m["relay_close"] = RelayClose{id_a(), "relay full"};
  m["relay_close_no_reason"] = RelayClose{id_a(), ""};
  m["neighbours"] = Neighbours{{id_a(), id_b()}};
  m["neighbours_empty"] = Neighbours{};
  return m;
}

std::optional<DecodeErrorKind> kind_named(const std::string& name) {
  for (int raw = 0; raw <= static_cast<int>(DecodeErrorKind::invalid_value); ++raw) {
    auto kind = static_cast<DecodeErrorKind>(raw);
    if (decode_error_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

TEST(VectorFrames, EveryVectorMatchesItsMessageBothWays) {
  auto lines = read_vector_file("frames.txt");
  ASSERT_TRUE(lines.has_value());
  const auto expected = expected_frames();
  std::set<std::string> seen;
  for (const auto& line : *lines) {
    SCOPED_TRACE("frames.txt line " + std::to_string(line.line_number));
    ASSERT_EQ(line.fields.size(), 2u) << "a frame vector is '<name> <hex>'";
    const std::string& name = line.fields[0];
    EXPECT_TRUE(seen.insert(name).second) << "vector " << name << " appears twice";
    auto frame = parse_hex(line.fields[1]);
    ASSERT_TRUE(frame.has_value()) << "vector " << name << " has malformed hex";
    auto it = expected.find(name);
    if (it == expected.end()) {
      ADD_FAILURE() << "vector " << name << " has no expected message in vectors_test.cpp";
      continue;
    }
    EXPECT_EQ(to_hex(encode(it->second)), to_hex(*frame)) << "encoding of " << name;
    auto decoded = decode(*frame);
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.error().detail;
    EXPECT_TRUE(decoded.value() == it->second) << name << " decodes to a different message";
  }
  for (const auto& [name, message] : expected) {
    EXPECT_TRUE(seen.count(name)) << "expected vector " << name << " is missing from frames.txt";
  }
}

TEST(VectorFrames, CoverEveryMessageType) {
  std::set<MessageType> covered;
  for (const auto& [name, message] : expected_frames()) covered.insert(type_of(message));
  for (std::size_t i = 0; i < kMessageTypeCount; ++i) {
    EXPECT_TRUE(covered.count(message_type_at(i))) << "no vector for " << message_type_name(message_type_at(i));
  }
}

TEST(VectorMalformed, EveryVectorFailsWithTheNamedKind) {
  auto lines = read_vector_file("malformed.txt");
  ASSERT_TRUE(lines.has_value());
  ASSERT_FALSE(lines->empty()) << "malformed.txt holds no vectors";
  std::set<std::string> seen;
  std::set<DecodeErrorKind> kinds;
  for (const auto& line : *lines) {
    SCOPED_TRACE("malformed.txt line " + std::to_string(line.line_number));
    ASSERT_EQ(line.fields.size(), 3u) << "a malformed vector is '<name> <kind> <hex>'";
    const std::string& name = line.fields[0];
    EXPECT_TRUE(seen.insert(name).second) << "vector " << name << " appears twice";
    auto kind = kind_named(line.fields[1]);
    if (!kind) {
      ADD_FAILURE() << "vector " << name << " names unknown decode error kind '" << line.fields[1] << "'";
      continue;
    }
    kinds.insert(*kind);
    auto frame = parse_hex(line.fields[2]);
    ASSERT_TRUE(frame.has_value()) << "vector " << name << " has malformed hex";
    auto decoded = decode(*frame);
    if (decoded.ok()) {
      ADD_FAILURE() << "vector " << name << " decoded although it must fail with " << line.fields[1];
      continue;
    }
    EXPECT_EQ(decode_error_kind_name(decoded.error().kind), line.fields[1])
        << name << " failed for another reason: " << decoded.error().detail;
    EXPECT_FALSE(decoded.error().detail.empty()) << name << " failed without a detail";
  }
  // too_large needs a 128 KiB frame and is covered by the unit tests instead.
  for (int raw = 0; raw <= static_cast<int>(DecodeErrorKind::invalid_value); ++raw) {
    auto kind = static_cast<DecodeErrorKind>(raw);
    if (kind == DecodeErrorKind::too_large) continue;
    EXPECT_TRUE(kinds.count(kind)) << "malformed.txt has no vector for " << decode_error_kind_name(kind);
  }
}

}  // namespace
}  // namespace yz
