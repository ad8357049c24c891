// Handshake crypto computed ahead on a worker thread (see crypto_ahead.hpp).
#include "sim/crypto_ahead.hpp"

#include <utility>

namespace yz::sim {

namespace {
// Results nobody asked for (the link closed before its Auth arrived) are
// dropped oldest first beyond this many; hints beyond it are ignored.
constexpr std::size_t kMaxResults = 1 << 16;
}  // namespace

CryptoAhead::CryptoAhead(bool enabled) : enabled_(enabled) {
  if (enabled_) worker_ = std::thread([this] { work(); });
}

CryptoAhead::~CryptoAhead() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::string CryptoAhead::sign_key(const PublicKey& signer, BytesView message) {
  std::string key(1, 's');
  key.append(signer.begin(), signer.end());
  key.append(message.begin(), message.end());
  return key;
}

std::string CryptoAhead::verify_key(const PublicKey& public_key, BytesView message,
                                    const Signature& signature) {
  std::string key(1, 'v');
  key.append(public_key.begin(), public_key.end());
  key.append(signature.begin(), signature.end());
  key.append(message.begin(), message.end());
  return key;
}

void CryptoAhead::sign_ahead(const SodiumSigner& signer, Bytes message) {
  if (!enabled_) return;
  Job job;
  job.key = sign_key(signer.public_key(), message);
  job.signer = signer;
  job.message = std::move(message);
  submit(std::move(job));
}

void CryptoAhead::verify_ahead(const PublicKey& public_key, Bytes message, const Signature& signature) {
  if (!enabled_) return;
  Job job;
  job.key = verify_key(public_key, message, signature);
  job.public_key = public_key;
  job.message = std::move(message);
  job.signature = signature;
  submit(std::move(job));
}

void CryptoAhead::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (jobs_.size() >= kMaxResults || !results_.try_emplace(job.key).second) return;
    order_.push_back(job.key);
    while (order_.size() > kMaxResults) {
      results_.erase(order_.front());
      order_.pop_front();
    }
    ++stats_.hinted;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

bool CryptoAhead::take(const std::string& key, Result& out) {
  std::lock_guard lock(mutex_);
  ++stats_.asked;
  auto it = results_.find(key);
  if (it == results_.end()) return false;
  bool done = it->second.done;
  if (done) out = it->second;
  results_.erase(it);  // a pending job finds its entry gone and is skipped
  ++(done ? stats_.ready : stats_.missed);
  return done;
}

Signature CryptoAhead::sign(const SodiumSigner& signer, BytesView message) {
  Result result;
  if (enabled_ && take(sign_key(signer.public_key(), message), result)) return result.signature;
  return signer.sign(message);
}

bool CryptoAhead::verify(const PublicKey& public_key, BytesView message, const Signature& signature) {
  Result result;
  if (enabled_ && take(verify_key(public_key, message, signature), result)) return result.ok;
  return crypto_.verify(public_key, message, signature);
}

void CryptoAhead::wait_until_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return jobs_.empty() && !busy_; });
}

CryptoAhead::Stats CryptoAhead::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CryptoAhead::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    if (!results_.count(job.key)) {  // asked for already, or dropped
      if (jobs_.empty()) idle_.notify_all();
      continue;
    }
    busy_ = true;
    lock.unlock();
    Result result;
    result.done = true;
    if (job.signer) {
      result.signature = job.signer->sign(job.message);
    } else {
      result.ok = crypto_.verify(job.public_key, job.message, job.signature);
    }
    lock.lock();
    busy_ = false;
    if (auto it = results_.find(job.key); it != results_.end()) it->second = result;
    if (jobs_.empty()) idle_.notify_all();
  }
}

}  // namespace yz::sim
