// libsodium Crypto/Signer: the X25519 agreement is symmetric and bound to both
// identities, and sealed frames open only with the right key and nonce.
#include "crypto/sodium_crypto.hpp"

#include <gtest/gtest.h>

namespace yz {
namespace {

SodiumSigner signer(std::uint8_t fill) {
  SodiumSigner::Seed seed{};
  seed.fill(fill);
  return SodiumSigner::from_seed(seed);
}

TEST(SodiumCrypto, AgreementIsSymmetricAndDiffersPerPair) {
  auto a = signer(1), b = signer(2), c = signer(3);
  auto ab = a.agree(b.public_key()), ba = b.agree(a.public_key()), ac = a.agree(c.public_key());
  ASSERT_TRUE(ab && ba && ac);
  EXPECT_EQ(*ab, *ba);
  EXPECT_NE(*ab, *ac);
  PublicKey not_a_point{};
  not_a_point.fill(0xff);
  EXPECT_FALSE(a.agree(not_a_point).has_value());
}

TEST(SodiumCrypto, SealedFramesOpenOnlyUnchangedWithTheirKeyAndNonce) {
  SodiumCrypto crypto;
  SymmetricKey key{};
  key.fill(7);
  AeadNonce nonce{};
  nonce[0] = 1;
  Bytes frame{0x10, 1, 0, 0, 0};
  Bytes sealed = crypto.seal(key, nonce, frame);
  ASSERT_EQ(sealed.size(), frame.size() + kAeadTagSize);
  EXPECT_EQ(crypto.open(key, nonce, sealed), frame);
  Bytes altered = sealed;
  altered[0] ^= 1;
  EXPECT_FALSE(crypto.open(key, nonce, altered).has_value());
  AeadNonce next = nonce;
  next[0] = 2;
  EXPECT_FALSE(crypto.open(key, next, sealed).has_value());  // replayed or reordered
  SymmetricKey other = key;
  other[31] ^= 1;
  EXPECT_FALSE(crypto.open(other, nonce, sealed).has_value());
  EXPECT_FALSE(crypto.open(key, nonce, Bytes(5, 0)).has_value());  // shorter than a tag
}

}  // namespace
}  // namespace yz
