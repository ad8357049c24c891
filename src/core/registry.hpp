// The bootstrap server's registry: nodes that linked to it recently, and a
// random sample of them for each PeersRequest. Sampling touches only the
// entries it returns (plus any stale ones it skips), so a server with tens of
// thousands of registrations answers a newcomer without walking them all.
#pragma once
#include <cstddef>
#include <map>
#include <vector>

#include "core/messages.hpp"
#include "core/node_id.hpp"
#include "core/random.hpp"
#include "core/time.hpp"

namespace yz {

struct Registration {
  Contact contact;
  Millis last_seen = 0;
};

class Registry {
 public:
  explicit Registry(std::size_t capacity) : capacity_(capacity) {}

  // Registers or refreshes a node; a new node is dropped when the registry is full.
  void record(const Contact& contact, Millis now);
  // Refreshes a registered node's last_seen (any frame from it).
  void seen(const NodeId& id, Millis now);
  // Forgets nodes unheard for longer than `ttl`.
  void expire(Millis now, Millis ttl);
  // Up to `max` distinct registered nodes heard within `ttl`, uniformly at
  // random, bridges and genesis first; never `exclude`.
  std::vector<Contact> sample(const NodeId& exclude, std::size_t max, Millis now, Millis ttl, Random& random);

  std::size_t size() const { return entries_.size(); }
  const std::map<NodeId, Registration>& entries() const { return entries_; }  // ordered: deterministic

 private:
  static bool preferred(Role role) { return role == Role::bridge || role == Role::genesis; }
  void rebuild_pools();

  std::size_t capacity_;
  std::map<NodeId, Registration> entries_;
  // Ids of entries_, by preference; their order is whatever sampling left.
  std::vector<NodeId> preferred_pool_, other_pool_;
};

}  // namespace yz
