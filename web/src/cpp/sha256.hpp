// SHA-256 (FIPS 180-4) for the wasm build. The core hashes public keys, Hello
// frames and user keys; the standard libsodium.js build the browser uses for
// Ed25519 does not export SHA-256, and WebCrypto's digest is asynchronous,
// while the engine needs the hash synchronously. Checked against the FIPS
// examples and node:crypto in web/test/vectors.test.mjs.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace yzweb {

std::array<std::uint8_t, 32> sha256(const std::uint8_t* data, std::size_t len);

}  // namespace yzweb
