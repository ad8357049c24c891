// One iterative Kademlia lookup as a pure state machine (no IO, no clock):
// the engine asks for queries to send, reports replies and failures, and reads
// the result. At most alpha queries are in flight until alpha replies in a row
// bring nothing closer; then the rest of the k nearest are asked at once (a
// value lookup first asks only the nearest few, see narrow_final_round). The lookup terminates when
// the k closest candidates not known to have failed have all answered, or when
// nothing is left to ask, so it never contacts every node it hears of.
#pragma once
#include <algorithm>
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
  // On the first round (on every round of a value lookup, see
  // narrow_final_round), candidates among the k nearest for which `preferred`
  // holds are asked before nearer ones (gets: peers with an open link).
  std::vector<Contact> next_queries(const std::function<bool(const NodeId&)>& preferred = nullptr);
  // Value lookups: preferred candidates first in every round, and once the
  // lookup converges, the final round starts narrow: only the nearest few
  // unasked candidates (the likeliest holders of the value) are asked, and
  // the rest of the k nearest at once only when as many more replies have
  // come back without ending the lookup. A get lacking one vote then costs
  // one or two requests instead of up to k, most of them new links.
  void narrow_final_round() { narrow_final_ = true; }
  // Width of that narrow round (1..alpha, default alpha): a get sets the
  // votes it still lacks, since each query to an unlinked candidate costs a
  // signed handshake at both ends.
  void set_narrow_width(std::size_t n) { narrow_width_ = std::clamp<std::size_t>(n, 1, alpha_); }
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
  bool narrow_final_ = false;
  std::size_t narrow_width_ = 0;       // alpha unless set_narrow_width
  std::size_t converged_replies_ = 0;  // replies and failures that came in while converged
};

}  // namespace yz
