// The core's view of cryptography: hashing, signing with the node's own key,
// verifying others'. Implementations are injected (libsodium natively, see
// src/crypto; libsodium.js in the browser build) so the core does no IO.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "core/bytes.hpp"
#include "core/node_id.hpp"

namespace yz {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using Hash256 = std::array<std::uint8_t, 32>;
using SymmetricKey = std::array<std::uint8_t, 32>;
using AeadNonce = std::array<std::uint8_t, 24>;
inline constexpr std::size_t kAeadTagSize = 16;

class Crypto {
 public:
  virtual ~Crypto() = default;
  virtual Hash256 sha256(BytesView data) const = 0;
  virtual bool verify(const PublicKey& key, BytesView message, const Signature& signature) const = 0;
  // XChaCha20-Poly1305 (IETF): ciphertext = encrypted plaintext + 16-byte tag.
  virtual Bytes seal(const SymmetricKey& key, const AeadNonce& nonce, BytesView plaintext) const = 0;
  // nullopt when the tag does not verify (altered, wrong key or wrong nonce).
  virtual std::optional<Bytes> open(const SymmetricKey& key, const AeadNonce& nonce, BytesView ciphertext) const = 0;
};

// The node's own Ed25519 identity.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual const PublicKey& public_key() const = 0;
  virtual Signature sign(BytesView message) const = 0;
  // X25519 shared secret between this identity and a peer's Ed25519 key (both
  // converted to Curve25519): the same value on both sides, bound to both
  // node ids. nullopt when the peer key is not a valid point.
  virtual std::optional<Hash256> agree(const PublicKey& peer) const = 0;
};

inline NodeId node_id_of(const Crypto& crypto, const PublicKey& key) {
  return NodeId{crypto.sha256(key)};
}

}  // namespace yz
