// libsodium implementations of the core's Crypto and Signer interfaces,
// plus loading/saving a node identity (Ed25519 seed) from a file.
#pragma once
#include <array>
#include <optional>
#include <string>

#include "core/crypto.hpp"

namespace yz {

class SodiumCrypto final : public Crypto {
 public:
  SodiumCrypto();  // initialises libsodium (safe to call repeatedly)
  Hash256 sha256(BytesView data) const override;
  bool verify(const PublicKey& key, BytesView message, const Signature& signature) const override;
  Bytes seal(const SymmetricKey& key, const AeadNonce& nonce, BytesView plaintext) const override;
  std::optional<Bytes> open(const SymmetricKey& key, const AeadNonce& nonce, BytesView ciphertext) const override;
};

class SodiumSigner final : public Signer {
 public:
  using Seed = std::array<std::uint8_t, 32>;
  static SodiumSigner generate();
  static SodiumSigner from_seed(const Seed& seed);
  // Loads the 32-byte seed from `path` (hex), creating it (mode 0600) when missing.
  // Returns an error sentence when the file exists but is unreadable or invalid.
  static std::optional<SodiumSigner> load_or_create(const std::string& path, std::string& error);

  const PublicKey& public_key() const override { return public_key_; }
  Signature sign(BytesView message) const override;
  std::optional<Hash256> agree(const PublicKey& peer) const override;
  const Seed& seed() const { return seed_; }

 private:
  explicit SodiumSigner(const Seed& seed);
  Seed seed_{};
  PublicKey public_key_{};
  std::array<std::uint8_t, 64> secret_key_{};
};

// Random bytes from the OS (for seeding the engine's Random in native shells).
std::uint64_t os_random_u64();

}  // namespace yz
