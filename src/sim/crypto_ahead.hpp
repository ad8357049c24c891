// Handshake crypto computed ahead, on a second core. Every link costs each end
// one Ed25519 signature and one verification (docs/protocol.md section 8), half
// the CPU of a large simulation. The simulator sees both Hello frames and the
// Auth frames as they are sent, at least one link latency before the engines
// sign and verify, so it hands those exact computations to a worker thread;
// when an engine asks, the answer is usually waiting. The engines still call
// real libsodium through Crypto and Signer, and a result is the same whoever
// computed it (Ed25519 signing is deterministic), so the event trace does not
// depend on the worker: an answer not ready yet is computed on the spot.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/crypto.hpp"
#include "crypto/sodium_crypto.hpp"

namespace yz::sim {

class CryptoAhead {
 public:
  explicit CryptoAhead(bool enabled);
  ~CryptoAhead();
  CryptoAhead(const CryptoAhead&) = delete;
  CryptoAhead& operator=(const CryptoAhead&) = delete;

  // Hints: computations an engine is about to ask for.
  void sign_ahead(const SodiumSigner& signer, Bytes message);
  void verify_ahead(const PublicKey& key, Bytes message, const Signature& signature);

  // What the engines call (through AheadCrypto / AheadSigner).
  Signature sign(const SodiumSigner& signer, BytesView message);
  bool verify(const PublicKey& key, BytesView message, const Signature& signature);

  struct Stats {
    std::uint64_t hinted = 0;  // computations handed to the worker
    std::uint64_t asked = 0;   // computations the engines asked for
    std::uint64_t ready = 0;   // asked for and found computed
    std::uint64_t missed = 0;  // asked for, not (yet) computed: done on the spot
  };
  Stats stats() const;
  // Blocks until the worker has nothing queued or running (for tests).
  void wait_until_idle();

 private:
  struct Job {
    std::string key;
    std::optional<SodiumSigner> signer;  // set: a signature; else a verification
    PublicKey public_key{};
    Bytes message;
    Signature signature{};
  };
  struct Result {
    bool done = false;
    bool ok = false;
    Signature signature{};
  };
  static std::string sign_key(const PublicKey& signer, BytesView message);
  static std::string verify_key(const PublicKey& key, BytesView message, const Signature& signature);
  void submit(Job job);
  // The result for `key` if computed (and forgets it); false otherwise.
  bool take(const std::string& key, Result& out);
  void work();

  bool enabled_;
  SodiumCrypto crypto_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool busy_ = false;  // the worker is computing a job
  std::deque<Job> jobs_;
  std::unordered_map<std::string, Result> results_;
  std::deque<std::string> order_;  // result keys in submission order, to bound memory
  bool stopping_ = false;
  Stats stats_;
  std::thread worker_;
};

// The Crypto engines get: libsodium, with verification taken from CryptoAhead.
class AheadCrypto final : public Crypto {
 public:
  explicit AheadCrypto(CryptoAhead& ahead) : ahead_(ahead) {}
  Hash256 sha256(BytesView data) const override { return inner_.sha256(data); }
  bool verify(const PublicKey& key, BytesView message, const Signature& signature) const override {
    return ahead_.verify(key, message, signature);
  }
  Bytes seal(const SymmetricKey& key, const AeadNonce& nonce, BytesView plaintext) const override {
    return inner_.seal(key, nonce, plaintext);
  }
  std::optional<Bytes> open(const SymmetricKey& key, const AeadNonce& nonce,
                            BytesView ciphertext) const override {
    return inner_.open(key, nonce, ciphertext);
  }

 private:
  CryptoAhead& ahead_;
  SodiumCrypto inner_;
};

// A node's identity: a SodiumSigner whose signatures may come from CryptoAhead.
class AheadSigner final : public Signer {
 public:
  AheadSigner(SodiumSigner inner, CryptoAhead& ahead) : inner_(std::move(inner)), ahead_(ahead) {}
  const PublicKey& public_key() const override { return inner_.public_key(); }
  Signature sign(BytesView message) const override { return ahead_.sign(inner_, message); }
  std::optional<Hash256> agree(const PublicKey& peer) const override { return inner_.agree(peer); }
  const SodiumSigner& inner() const { return inner_; }

 private:
  SodiumSigner inner_;
  CryptoAhead& ahead_;
};

}  // namespace yz::sim
