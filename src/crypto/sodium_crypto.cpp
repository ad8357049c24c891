// libsodium-backed hashing, Ed25519 signing and identity files.
#include "crypto/sodium_crypto.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/node_id.hpp"

namespace yz {

namespace {
void init_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium failed to initialise: the system has no usable random source");
}
}  // namespace

SodiumCrypto::SodiumCrypto() { init_sodium(); }

Hash256 SodiumCrypto::sha256(BytesView data) const {
  Hash256 out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

bool SodiumCrypto::verify(const PublicKey& key, BytesView message, const Signature& signature) const {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

Bytes SodiumCrypto::seal(const SymmetricKey& key, const AeadNonce& nonce, BytesView plaintext) const {
  Bytes out(plaintext.size() + kAeadTagSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &written, plaintext.data(), plaintext.size(), nullptr, 0,
                                             nullptr, nonce.data(), key.data());
  out.resize(written);
  return out;
}

std::optional<Bytes> SodiumCrypto::open(const SymmetricKey& key, const AeadNonce& nonce, BytesView ciphertext) const {
  if (ciphertext.size() < kAeadTagSize) return std::nullopt;
  Bytes out(ciphertext.size() - kAeadTagSize);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, ciphertext.data(), ciphertext.size(),
                                                 nullptr, 0, nonce.data(), key.data()) != 0) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

std::optional<Hash256> SodiumSigner::agree(const PublicKey& peer) const {
  std::array<std::uint8_t, 32> my_curve{}, peer_curve{};
  Hash256 shared{};
  if (crypto_sign_ed25519_sk_to_curve25519(my_curve.data(), secret_key_.data()) != 0 ||
      crypto_sign_ed25519_pk_to_curve25519(peer_curve.data(), peer.data()) != 0 ||
      crypto_scalarmult(shared.data(), my_curve.data(), peer_curve.data()) != 0) {
    sodium_memzero(my_curve.data(), my_curve.size());
    return std::nullopt;
  }
  sodium_memzero(my_curve.data(), my_curve.size());
  return shared;
}

SodiumSigner::SodiumSigner(const Seed& seed) : seed_(seed) {
  init_sodium();
  crypto_sign_seed_keypair(public_key_.data(), secret_key_.data(), seed_.data());
}

SodiumSigner SodiumSigner::generate() {
  init_sodium();
  Seed seed{};
  randombytes_buf(seed.data(), seed.size());
  return SodiumSigner(seed);
}

SodiumSigner SodiumSigner::from_seed(const Seed& seed) { return SodiumSigner(seed); }

std::optional<SodiumSigner> SodiumSigner::load_or_create(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (in) {
    std::string hex;
    in >> hex;
    auto parsed = NodeId::from_hex(hex);  // 32 bytes of hex, same shape as an id
    if (!parsed) {
      error = "identity file " + path + " does not hold 64 hex digits: delete it to create a new identity";
      return std::nullopt;
    }
    return SodiumSigner(parsed->bytes);
  }
  auto signer = generate();
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    error = "cannot write identity file " + path + ": check that its directory exists and is writable";
    return std::nullopt;
  }
  out << to_hex(signer.seed_) << "\n";
  out.close();
  ::chmod(path.c_str(), 0600);
  return signer;
}

Signature SodiumSigner::sign(BytesView message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

std::uint64_t os_random_u64() {
  init_sodium();
  std::uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

}  // namespace yz
