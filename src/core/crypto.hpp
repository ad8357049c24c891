// The core's view of cryptography: hashing, signing with the node's own key,
// verifying others'. Implementations are injected (libsodium natively, see
// src/crypto; libsodium.js in the browser build) so the core does no IO.
#pragma once
#include <array>
#include <cstdint>

#include "core/bytes.hpp"
#include "core/node_id.hpp"

namespace yz {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using Hash256 = std::array<std::uint8_t, 32>;

class Crypto {
 public:
  virtual ~Crypto() = default;
  virtual Hash256 sha256(BytesView data) const = 0;
  virtual bool verify(const PublicKey& key, BytesView message, const Signature& signature) const = 0;
};

// The node's own Ed25519 identity.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual const PublicKey& public_key() const = 0;
  virtual Signature sign(BytesView message) const = 0;
};

inline NodeId node_id_of(const Crypto& crypto, const PublicKey& key) {
  return NodeId{crypto.sha256(key)};
}

}  // namespace yz
