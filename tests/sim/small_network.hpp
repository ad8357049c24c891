// A bootstrap server plus `members` nodes (the first one genesis) joining
// through it 100 ms apart, for tests that need a small live network.
#pragma once
#include "sim/network.hpp"

namespace yz::sim {

inline void start_small_network(Network& net, int members) {
  NodeSpec b;
  b.config.role = Role::bootstrap;
  NodeIndex boot = net.add_node(b);
  for (int i = 0; i < members; ++i) {
    NodeSpec d;
    d.config.role = i == 0 ? Role::genesis : Role::dht;
    d.config.seeds = {Network::address_of(boot)};
    NodeIndex n = net.add_node(d);
    net.at(i * 100, [&net, n] { net.start(n); });
  }
  net.start(boot);
}

}  // namespace yz::sim
