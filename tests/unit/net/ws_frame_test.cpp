// RFC 6455 frame headers, masking and handshake keys (net/ws_frame.hpp).
#include "net/ws_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace yz::net::ws {
namespace {

std::vector<std::uint8_t> header(Opcode op, bool fin, std::uint64_t length, const MaskKey* mask) {
  std::vector<std::uint8_t> out(kMaxHeaderSize);
  out.resize(encode_header(out.data(), op, fin, length, mask));
  return out;
}

TEST(WsFrame, HeadersRoundTripAtEveryLengthEncoding) {
  const MaskKey mask{1, 2, 3, 4};
  for (std::uint64_t length : {0ull, 1ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 20, 1ull << 40}) {
    for (const MaskKey* m : {static_cast<const MaskKey*>(nullptr), &mask}) {
      auto h = header(Opcode::binary, length % 2 == 0, length, m);
      std::size_t expected = (length < 126 ? 2 : length <= 65535 ? 4 : 10) + (m ? 4 : 0);
      ASSERT_EQ(h.size(), expected) << length;
      auto parsed = parse_header(h.data(), h.size());
      ASSERT_EQ(parsed.status, ParseStatus::ok) << parsed.error;
      EXPECT_EQ(parsed.header.length, length);
      EXPECT_EQ(parsed.header.fin, length % 2 == 0);
      EXPECT_EQ(parsed.header.opcode, Opcode::binary);
      EXPECT_EQ(parsed.header.masked, m != nullptr);
      if (m) {
        EXPECT_EQ(parsed.header.mask, mask);
      }
      EXPECT_EQ(parsed.header.header_size, h.size());
      for (std::size_t cut = 0; cut < h.size(); ++cut) {
        EXPECT_EQ(parse_header(h.data(), cut).status, ParseStatus::need_more) << length << " cut at " << cut;
      }
    }
  }
}

TEST(WsFrame, BadHeadersAreNamed) {
  std::uint8_t rsv[] = {0xC2, 0x00};  // RSV1 set
  EXPECT_NE(parse_header(rsv, 2).error.find("reserved bits"), std::string::npos);
  std::uint8_t opcode[] = {0x83, 0x00};  // opcode 3 is reserved
  EXPECT_NE(parse_header(opcode, 2).error.find("unknown opcode 3"), std::string::npos);
  std::uint8_t fragmented_ping[] = {0x09, 0x00};
  EXPECT_EQ(parse_header(fragmented_ping, 2).status, ParseStatus::bad);
  std::uint8_t long_close[] = {0x88, 126, 0x00, 0x80};
  EXPECT_NE(parse_header(long_close, 4).error.find("control frame"), std::string::npos);
  std::uint8_t huge[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(parse_header(huge, sizeof huge).status, ParseStatus::bad);
}

TEST(WsFrame, MaskingTwiceRestoresAndOffsetsContinue) {
  const MaskKey key{0x11, 0x22, 0x33, 0x44};
  std::vector<std::uint8_t> data{1, 2, 3, 4, 5, 6, 7};
  auto original = data;
  apply_mask(data.data(), data.size(), key);
  EXPECT_NE(data, original);
  EXPECT_EQ(data[4], 5 ^ 0x11);
  // Unmasking in two pieces with the right offset gives the same as in one.
  apply_mask(data.data(), 3, key, 0);
  apply_mask(data.data() + 3, 4, key, 3);
  EXPECT_EQ(data, original);
}

TEST(WsFrame, HandshakeKeys) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 section 1.3
  EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZ!=="));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQQQ"));
  EXPECT_EQ(accept_key(std::string(100, 'a')), "");  // never reaches Beast's assertion
  auto a = make_client_key();
  auto b = make_client_key();
  EXPECT_TRUE(valid_client_key(a)) << a;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace yz::net::ws
