// Iterative Kademlia lookup as a pure state machine (see lookup.hpp).
// Invariant: candidates_ is sorted by XOR distance to the target, one per id.
// The "window" is the k nearest candidates that have not failed; only fresh
// candidates inside it are queried, and the lookup is done once none is left
// there and nothing is in flight.
#include "core/lookup.hpp"

#include <algorithm>
#include <iterator>

namespace yz {

namespace {
// Fresh candidates are kept only among the nearest kFreshWindow * k non-failed
// ones: farther ones could only be queried after that many failures, and
// dropping a fresh candidate loses nothing but its address.
constexpr std::size_t kFreshWindow = 3;
// Hard bound on remembered candidates (failed ones are the only kind that can
// otherwise pile up); beyond it the farthest failed ones are forgotten.
constexpr std::size_t kMaxCandidatesPerK = 8;
// Position of id in a list sorted by distance to target (where it is or would go).
template <typename List>
auto position(List& list, const NodeId& target, const NodeId& id) {
  return std::lower_bound(list.begin(), list.end(), id,
                          [&](const auto& c, const NodeId& x) { return closer(target, c.contact.id, x); });
}
}  // namespace

Lookup::Lookup(const NodeId& target, const NodeId& self, std::size_t k, std::size_t alpha)
    : target_(target), self_(self), k_(std::max<std::size_t>(k, 1)), alpha_(std::max<std::size_t>(alpha, 1)) {}

Lookup::Candidate* Lookup::find(const NodeId& id) {
  auto pos = position(candidates_, target_, id);
  return pos != candidates_.end() && pos->contact.id == id ? &*pos : nullptr;
}

void Lookup::add(const Contact& contact, int depth) {
  if (contact.id == self_) return;
  // XOR distance to a fixed target is unique per id, so the sorted position
  // of an id also tells whether it is already known.
  auto pos = position(candidates_, target_, contact.id);
  if (pos != candidates_.end() && pos->contact.id == contact.id) {
    if (pos->state == State::fresh) pos->depth = std::min(pos->depth, depth);
    return;
  }
  candidates_.insert(pos, Candidate{contact, State::fresh, depth});
}

void Lookup::prune() {
  // 1. Beyond the k-th nearest answered candidate nothing can enter the window
  //    or the result again: drop everything there that is not in flight.
  std::size_t answered = 0;
  std::size_t cut = candidates_.size();
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    if (candidates_[i].state == State::answered && ++answered == k_) {
      cut = i + 1;
      break;
    }
  }
  auto tail = std::remove_if(candidates_.begin() + static_cast<std::ptrdiff_t>(cut), candidates_.end(),
                             [](const Candidate& c) { return c.state != State::in_flight; });
  candidates_.erase(tail, candidates_.end());

  // 2. Fresh candidates beyond the nearest kFreshWindow * k non-failed ones.
  std::size_t non_failed = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    const bool counts = candidates_[i].state != State::failed;
    const bool drop = counts && non_failed >= kFreshWindow * k_ && candidates_[i].state == State::fresh;
    if (counts) ++non_failed;
    if (drop) continue;
    if (kept != i) candidates_[kept] = std::move(candidates_[i]);
    ++kept;
  }
  candidates_.resize(kept);

  // 3. Hard bound: forget the farthest failed candidates.
  const std::size_t max_candidates = kMaxCandidatesPerK * k_ + alpha_;
  for (std::size_t i = candidates_.size(); i > 0 && candidates_.size() > max_candidates; --i) {
    if (candidates_[i - 1].state == State::failed) {
      candidates_.erase(candidates_.begin() + static_cast<std::ptrdiff_t>(i - 1));
    }
  }
}

void Lookup::seed(const std::vector<Contact>& contacts) {
  for (const auto& c : contacts) add(c, 1);
  prune();
}

std::vector<Contact> Lookup::next_queries(const std::function<bool(const NodeId&)>& preferred) {
  std::vector<Contact> out;
  // alpha in flight while replies bring closer nodes; once alpha replies in a
  // row brought nothing closer, the rest of the k nearest are asked at once
  // (Kademlia's final round), instead of k/alpha more sequential round trips.
  const std::size_t limit = stalled_replies_ >= alpha_ ? k_ : alpha_;
  auto pick = [&](bool only_preferred) {
    std::size_t window = 0;
    for (auto& c : candidates_) {
      if (in_flight_ >= limit) break;
      if (c.state == State::failed) continue;
      if (window++ >= k_) break;
      if (c.state != State::fresh || (only_preferred && !preferred(c.contact.id))) continue;
      c.state = State::in_flight;
      ++in_flight_;
      ++requests_;
      out.push_back(c.contact);
    }
  };
  // Preferred ones in the window first: on the first round, or on every round.
  if (preferred && (requests_ == 0 || every_round_)) pick(true);
  pick(false);
  return out;
}

void Lookup::on_reply(const NodeId& from, const std::vector<Contact>& closer_contacts) {
  Candidate* c = find(from);
  if (c == nullptr || c->state != State::in_flight) return;  // late or duplicate
  c->state = State::answered;
  --in_flight_;
  const int depth = c->depth + 1;  // `c` is invalidated by the inserts below
  const Candidate* nearest_before = nearest_alive();
  const NodeId before = nearest_before ? nearest_before->contact.id : target_;
  for (const auto& contact : closer_contacts) add(contact, depth);
  prune();
  const Candidate* nearest_after = nearest_alive();
  bool improved = nearest_before == nullptr || (nearest_after && nearest_after->contact.id != before);
  stalled_replies_ = improved ? 0 : stalled_replies_ + 1;
}

const Lookup::Candidate* Lookup::nearest_alive() const {
  for (const auto& c : candidates_) {
    if (c.state != State::failed) return &c;
  }
  return nullptr;
}

void Lookup::on_failure(const NodeId& from) {
  Candidate* c = find(from);
  if (c == nullptr || c->state != State::in_flight) return;
  c->state = State::failed;
  --in_flight_;
  ++failures_;
  prune();
}

// Done when the k nearest candidates not known to have failed have all answered.
// Queries still in flight to candidates outside that window are not waited for
// (the engine ignores their late replies), so one slow far node cannot add a
// whole request timeout to the lookup.
bool Lookup::done() const {
  std::size_t window = 0;
  for (const auto& c : candidates_) {
    if (c.state == State::failed) continue;
    if (window++ >= k_) break;
    if (c.state != State::answered) return false;
  }
  return true;
}

std::vector<Contact> Lookup::result() const {
  std::vector<Contact> out;
  for (const auto& c : candidates_) {
    if (out.size() >= k_) break;
    if (c.state == State::answered) out.push_back(c.contact);
  }
  return out;
}

std::vector<Contact> Lookup::nearest() const {
  std::vector<Contact> out;
  for (const auto& c : candidates_) {
    if (out.size() >= k_) break;
    if (c.state != State::failed) out.push_back(c.contact);
  }
  return out;
}

bool Lookup::answered(const NodeId& id) const {
  auto pos = position(candidates_, target_, id);
  return pos != candidates_.end() && pos->contact.id == id && pos->state == State::answered;
}

int Lookup::hops() const {
  for (const auto& c : candidates_) {
    if (c.state == State::answered) return c.depth;
  }
  return 0;
}

}  // namespace yz
