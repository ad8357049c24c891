// Bootstrap registry (see registry.hpp).
#include "core/registry.hpp"

#include <utility>

namespace yz {

void Registry::record(const Contact& contact, Millis now) {
  auto it = entries_.find(contact.id);
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_) return;
    entries_.emplace(contact.id, Registration{contact, now});
    (preferred(contact.role) ? preferred_pool_ : other_pool_).push_back(contact.id);
    return;
  }
  bool moved = preferred(it->second.contact.role) != preferred(contact.role);
  it->second = Registration{contact, now};
  if (moved) rebuild_pools();  // the same key came back in another role
}

void Registry::seen(const NodeId& id, Millis now) {
  if (auto it = entries_.find(id); it != entries_.end()) it->second.last_seen = now;
}

void Registry::expire(Millis now, Millis ttl) {
  std::size_t before = entries_.size();
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.last_seen > ttl ? entries_.erase(it) : std::next(it);
  }
  if (entries_.size() != before) rebuild_pools();
}

void Registry::rebuild_pools() {
  preferred_pool_.clear();
  other_pool_.clear();
  for (const auto& [id, reg] : entries_)
    (preferred(reg.contact.role) ? preferred_pool_ : other_pool_).push_back(id);
}

std::vector<Contact> Registry::sample(const NodeId& exclude, std::size_t max, Millis now, Millis ttl,
                                      Random& random) {
  std::vector<Contact> out;
  for (auto* pool : {&preferred_pool_, &other_pool_}) {
    // Partial Fisher-Yates: position i receives a uniformly chosen id of the
    // not yet visited rest, so the picks are a uniform random subset in random order.
    auto& ids = *pool;
    for (std::size_t i = 0; i < ids.size() && out.size() < max; ++i) {
      std::swap(ids[i], ids[i + random.uniform(ids.size() - i)]);
      if (ids[i] == exclude) continue;
      const Registration& reg = entries_.at(ids[i]);
      if (now - reg.last_seen > ttl) continue;  // stale: expire() drops it at the next maintenance
      out.push_back(reg.contact);
    }
  }
  return out;
}

}  // namespace yz
