// Byte helpers: hex and UTF-8-safe truncation.
#include "core/bytes.hpp"

#include <gtest/gtest.h>

namespace yz {
namespace {

TEST(Bytes, Hex) { EXPECT_EQ(to_hex(Bytes{0x00, 0xab, 0x7f}), "00ab7f"); }

TEST(Bytes, TruncateUtf8KeepsWholeCharacters) {
  EXPECT_EQ(truncate_utf8("hello", 10), "hello");
  EXPECT_EQ(truncate_utf8("hello", 3), "hel");
  std::string euro = "a\xE2\x82\xAC";  // "a€": the euro sign is 3 bytes
  EXPECT_EQ(truncate_utf8(euro, 3), "a");
  EXPECT_EQ(truncate_utf8(euro, 2), "a");
  EXPECT_EQ(truncate_utf8(euro, 4), euro);
  EXPECT_EQ(truncate_utf8("\xC3\xA9", 1), "");  // "é" does not fit in one byte
}

}  // namespace
}  // namespace yz
