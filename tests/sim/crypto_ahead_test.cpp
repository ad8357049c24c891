// CryptoAhead: answers computed on the worker are the real ones (a forged
// signature still fails), answers never hinted or disabled are computed on
// the spot, and a network gives the same trace with and without it.
#include "sim/crypto_ahead.hpp"

#include <gtest/gtest.h>

#include "core/messages.hpp"
#include "sim/network.hpp"
#include "small_network.hpp"

namespace yz::sim {
namespace {

SodiumSigner signer_from(std::uint8_t n) {
  SodiumSigner::Seed seed{};
  seed[0] = n;
  return SodiumSigner::from_seed(seed);
}

TEST(CryptoAhead, ComputedAheadAnswersAreTheRealOnes) {
  CryptoAhead ahead(true);
  SodiumSigner alice = signer_from(1);
  Bytes message = to_bytes("the handshake payload");
  Signature real = alice.sign(message);
  Signature forged = real;
  forged[10] ^= 0x01;

  ahead.sign_ahead(alice, message);
  ahead.verify_ahead(alice.public_key(), message, real);
  ahead.verify_ahead(alice.public_key(), message, forged);
  ahead.wait_until_idle();
  EXPECT_EQ(ahead.sign(alice, message), real);
  EXPECT_TRUE(ahead.verify(alice.public_key(), message, real));
  EXPECT_FALSE(ahead.verify(alice.public_key(), message, forged));
  auto st = ahead.stats();
  EXPECT_EQ(st.hinted, 3u);
  EXPECT_EQ(st.asked, 3u);
  EXPECT_EQ(st.ready, 3u);
  EXPECT_EQ(st.missed, 0u);

  // Taken once: asking again computes on the spot, with the same answer.
  EXPECT_FALSE(ahead.verify(alice.public_key(), message, forged));
  EXPECT_EQ(ahead.stats().ready, 3u);
}

TEST(CryptoAhead, UnhintedOrDisabledIsComputedOnTheSpot) {
  SodiumSigner bob = signer_from(2);
  Bytes message = to_bytes("never hinted");
  for (bool enabled : {true, false}) {
    CryptoAhead ahead(enabled);
    Signature sig = ahead.sign(bob, message);
    EXPECT_EQ(sig, bob.sign(message));
    EXPECT_TRUE(ahead.verify(bob.public_key(), message, sig));
    sig[0] ^= 0x80;
    EXPECT_FALSE(ahead.verify(bob.public_key(), message, sig));
    ahead.sign_ahead(bob, message);  // ignored when disabled
    ahead.wait_until_idle();
    EXPECT_EQ(ahead.stats().hinted, enabled ? 1u : 0u);
  }
}

TEST(CryptoAhead, ANetworkRunsTheSameWithAndWithoutIt) {
  auto run = [](bool ahead) {
    NetworkConfig c;
    c.seed = 11;
    c.crypto_ahead = ahead;
    Network net(c);
    start_small_network(net, 12);
    net.run_until(60'000);
    auto st = net.crypto_ahead_stats();
    EXPECT_LE(st.ready + st.missed, st.hinted);
    EXPECT_LE(st.ready + st.missed, st.asked);
    if (ahead) {
      // Two signatures and two verifications per link that completed its handshake.
      EXPECT_GE(st.hinted, 4 * 12u);
    } else {
      EXPECT_EQ(st.hinted, 0u);
    }
    return std::make_pair(net.trace_hash(), net.stats().frames_delivered);
  };
  auto with = run(true);
  auto without = run(false);
  EXPECT_EQ(with, without);
  EXPECT_GT(with.second, 100u);
}

}  // namespace
}  // namespace yz::sim
