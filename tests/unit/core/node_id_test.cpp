// NodeId: hex round trip, XOR metric, prefix lengths, ordering by distance.
#include "core/node_id.hpp"

#include <gtest/gtest.h>

#include "crypto/sodium_crypto.hpp"

namespace yz {
namespace {

NodeId id_with_first_byte(std::uint8_t b) {
  NodeId id;
  id.bytes[0] = b;
  return id;
}

TEST(NodeId, HexRoundTrip) {
  NodeId id;
  for (std::size_t i = 0; i < NodeId::kSize; ++i) id.bytes[i] = static_cast<std::uint8_t>(i * 7);
  auto back = NodeId::from_hex(id.hex());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, id);
  EXPECT_EQ(id.short_hex(), id.hex().substr(0, 8));
}

TEST(NodeId, FromHexRejectsBadInput) {
  EXPECT_FALSE(NodeId::from_hex("abc").has_value());
  EXPECT_FALSE(NodeId::from_hex(std::string(64, 'g')).has_value());
  EXPECT_TRUE(NodeId::from_hex(std::string(64, 'F')).has_value());
}

TEST(NodeId, XorDistanceIsSymmetricAndZeroOnSelf) {
  auto a = id_with_first_byte(0x80);
  auto b = id_with_first_byte(0x01);
  EXPECT_EQ(xor_distance(a, b), xor_distance(b, a));
  EXPECT_EQ(xor_distance(a, a), NodeId{});
  EXPECT_EQ(xor_distance(a, b).bytes[0], 0x81);
}

TEST(NodeId, CommonPrefixLength) {
  EXPECT_EQ(common_prefix_length(id_with_first_byte(0x80), id_with_first_byte(0x00)), 0);
  EXPECT_EQ(common_prefix_length(id_with_first_byte(0x01), id_with_first_byte(0x00)), 7);
  EXPECT_EQ(common_prefix_length(NodeId{}, NodeId{}), 256);
  NodeId last_bit;
  last_bit.bytes[31] = 1;
  EXPECT_EQ(common_prefix_length(last_bit, NodeId{}), 255);
}

TEST(NodeId, CloserOrdersByXorNotNumerically) {
  auto target = id_with_first_byte(0x0f);
  auto a = id_with_first_byte(0x0e);  // distance 0x01
  auto b = id_with_first_byte(0x10);  // distance 0x1f, numerically nearer than... but XOR-farther
  EXPECT_TRUE(closer(target, a, b));
  EXPECT_FALSE(closer(target, b, a));
  EXPECT_FALSE(closer(target, a, a));
}

TEST(NodeId, IdIsSha256OfPublicKey) {
  SodiumCrypto crypto;
  auto signer = SodiumSigner::from_seed(SodiumSigner::Seed{});
  auto id = node_id_of(crypto, signer.public_key());
  EXPECT_EQ(id, NodeId{crypto.sha256(signer.public_key())});
  auto other = SodiumSigner::generate();
  EXPECT_NE(node_id_of(crypto, other.public_key()), id);
}

TEST(Crypto, SignAndVerify) {
  SodiumCrypto crypto;
  auto signer = SodiumSigner::generate();
  auto msg = to_bytes("hello");
  auto sig = signer.sign(msg);
  EXPECT_TRUE(crypto.verify(signer.public_key(), msg, sig));
  sig[0] ^= 1;
  EXPECT_FALSE(crypto.verify(signer.public_key(), msg, sig));
}

}  // namespace
}  // namespace yz
