// One iterative Kademlia lookup as a pure state machine (no IO, no clock):
// the engine asks for queries to send, reports replies and failures, and reads
// the result. At most alpha queries are in flight until alpha replies in a row
// bring nothing closer; then the rest of the k nearest are asked at once. The lookup terminates when
// the k closest candidates not known to have failed have all answered, or when
// nothing is left to ask, so it never contacts every node it hears of.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "core/messages.hpp"

namespace yz {

class Lookup {
 public:
  Lookup(const NodeId& target, const NodeId& self, std::size_t k, std::size_t alpha);

  // Initial candidates (usually the routing table's closest). Self is skipped.
  void seed(const std::vector<Contact>& contacts);
  // Candidates to query now, marked in flight; empty when waiting or done.
  // On the first round (on every round after prefer_in_every_round),
  // candidates among the k nearest for which `preferred` holds are asked
  // before nearer ones (gets: peers with an open link).
  std::vector<Contact> next_queries(const std::function<bool(const NodeId&)>& preferred = nullptr);
  // Value lookups: all of the k nearest hold the value alike, so every round
  // asks the preferred ones among them first, not only the first round.
  void prefer_in_every_round() { every_round_ = true; }
  // `from` answered with `closer` contacts (duplicates and self ignored).
  void on_reply(const NodeId& from, const std::vector<Contact>& closer);
  // The query to `from` failed (timeout, error, link lost).
  void on_failure(const NodeId& from);

  bool done() const;
  // Alpha replies in a row brought nothing closer: the point where the final
  // round would ask the rest of the k nearest.
  bool converged() const { return stalled_replies_ >= alpha_; }
  // The k nearest candidates not known to have failed, answered or not, nearest first.
  std::vector<Contact> nearest() const;
  const NodeId& target() const { return target_; }
  // The k closest candidates that answered, nearest first.
  std::vector<Contact> result() const;
  bool answered(const NodeId& id) const;
  // Depth (in hops from the seeds, seeds = 1) of the closest answered candidate.
  int hops() const;
  int requests() const { return requests_; }
  int failures() const { return failures_; }
  std::size_t in_flight() const { return in_flight_; }

 private:
  enum class State { fresh, in_flight, answered, failed };
  struct Candidate {
    Contact contact;
    State state = State::fresh;
    int depth = 1;
  };
  Candidate* find(const NodeId& id);
  const Candidate* nearest_alive() const;
  void add(const Contact& contact, int depth);
  // Drops candidates that can no longer be queried or returned (bounds memory).
  void prune();

  NodeId target_;
  NodeId self_;
  std::size_t k_;
  std::size_t alpha_;
  std::vector<Candidate> candidates_;  // sorted by distance to target, nearest first
  std::size_t in_flight_ = 0;
  int requests_ = 0;
  int failures_ = 0;
  std::size_t stalled_replies_ = 0;  // consecutive replies that brought nothing closer
  bool every_round_ = false;         // see prefer_in_every_round
};

}  // namespace yz
