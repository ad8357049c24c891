// bench_routing: overlay routing at simulator scale. N simulated nodes keep
// 3-8 links each and never open query links (max_query_links 0), so every
// request to a node they are not linked to travels routed. For random pairs,
// one ping at a time, it measures success, routing steps (from the frames the
// simulator delivers), the routed round trip, and the extra latency over a
// direct round trip between the same two nodes — per routing step, against
// the mean link round trip, and the bounces and re-forwards of all routed
// traffic meanwhile. Prints the parameters and a table; asserts nothing.
// Usage: bench_routing [--nodes N] [--pairs P] [--seed S] [--hop-limit H]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/codec.hpp"
#include "sim/network.hpp"
#include "sim/stats.hpp"

namespace {

using namespace yz;
using namespace yz::sim;

struct Options {
  std::size_t nodes = 1000;
  std::size_t pairs = 2000;
  std::uint64_t seed = 7;
  std::uint8_t hop_limit = kDefaultHops;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    auto value = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--nodes") o.nodes = std::max<std::size_t>(4, value);
    else if (flag == "--pairs") o.pairs = std::max<std::size_t>(1, value);
    else if (flag == "--seed") o.seed = value;
    else if (flag == "--hop-limit") o.hop_limit = static_cast<std::uint8_t>(std::clamp<unsigned long long>(value, 1, kMaxHops));
    else std::fprintf(stderr, "bench_routing: unknown flag %s (use --nodes, --pairs, --seed, --hop-limit)\n", flag.c_str());
  }
  return o;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100 * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  auto wall_start = std::chrono::steady_clock::now();
  NetworkConfig net_cfg;
  net_cfg.seed = opt.seed;
  Network net(net_cfg);

  // Join: node 0 is the genesis; every later node is seeded with up to three
  // earlier ones, 20 nodes per simulated second.
  for (std::size_t i = 0; i < opt.nodes; ++i) {
    NodeSpec spec;
    spec.config.role = i == 0 ? Role::genesis : Role::dht;
    spec.config.max_query_links = 0;  // route instead of dialling for a request
    spec.config.routed_hop_limit = opt.hop_limit;
    for (int s = 0; s < 3 && i > 0; ++s) {
      spec.config.seeds.push_back(Network::address_of(static_cast<NodeIndex>(net.scenario_random().uniform(i))));
    }
    NodeIndex node = net.add_node(spec);
    net.at(static_cast<Millis>(i) * 50, [&net, node] { net.start(node); });
  }
  Millis joined = static_cast<Millis>(opt.nodes) * 50;
  net.run_until(joined + 120'000);

  // Count the routing steps of the one ping in flight: Routed frames from src to dst (request) and back.
  NodeId src_id, dst_id;
  int steps_out = 0, steps_back = 0;
  net.set_frame_tap([&](NodeIndex, NodeIndex, Millis, BytesView frame) {
    if (frame.empty() || frame[0] != static_cast<std::uint8_t>(MessageType::routed)) return;
    auto decoded = decode(frame);
    if (!decoded) return;
    const auto& r = std::get<Routed>(decoded.value());
    bool reply = r.flags & Routed::kReply;
    if (!reply && r.source == src_id && r.destination == dst_id) ++steps_out;
    if (reply && r.source == dst_id && r.destination == src_id) ++steps_back;
  });

  auto sum_routed = [&](auto field) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < opt.nodes; ++i) n += field(net.engine(static_cast<NodeIndex>(i))->metrics().routed);
    return n;
  };
  auto bounced_of = [](const RoutedCounters& r) { return r.bounced; };
  auto rerouted_of = [](const RoutedCounters& r) { return r.rerouted; };
  std::uint64_t bounced_before = sum_routed(bounced_of), rerouted_before = sum_routed(rerouted_of);
  std::size_t ok = 0, routed = 0, failed = 0;
  std::map<int, std::size_t> hop_counts;
  std::vector<double> routed_rtt, direct_rtt, extra, extra_per_step, link_rtt;
  std::string first_error;
  std::map<std::string, std::size_t> failures;  // by the first words of the error
  for (std::size_t p = 0; p < opt.pairs; ++p) {
    auto a = static_cast<NodeIndex>(net.scenario_random().uniform(opt.nodes));
    auto b = static_cast<NodeIndex>(net.scenario_random().uniform(opt.nodes));
    if (a == b) b = (b + 1) % static_cast<NodeIndex>(opt.nodes);
    src_id = net.node_id(a);
    dst_id = net.node_id(b);
    steps_out = steps_back = 0;
    PingResult result;
    result.error = "no answer within 10 s";
    bool done = false;
    net.call(a, [&](Engine& e, Millis now) {
      e.ping(dst_id, now, [&](const PingResult& r) {
        result = r;
        done = true;
      });
    });
    Millis deadline = net.now() + 10'000;
    while (!done && net.now() < deadline) net.run_for(10);
    if (!result.ok) {
      ++failed;
      ++failures[result.error.substr(0, result.error.find(' ', 12))];
      if (first_error.empty()) first_error = result.error;
      continue;
    }
    ++ok;
    if (steps_out == 0) continue;  // linked directly: not a routed request
    ++routed;
    ++hop_counts[steps_out];
    double direct = 2.0 * static_cast<double>(net.latency(a, b));
    routed_rtt.push_back(static_cast<double>(result.rtt));
    direct_rtt.push_back(direct);
    extra.push_back(static_cast<double>(result.rtt) - direct);
    extra_per_step.push_back((static_cast<double>(result.rtt) - direct) / steps_out);
  }
  for (std::size_t i = 0; i < 2000; ++i) {
    auto a = static_cast<NodeIndex>(net.scenario_random().uniform(opt.nodes));
    auto b = static_cast<NodeIndex>(net.scenario_random().uniform(opt.nodes));
    if (a != b) link_rtt.push_back(2.0 * static_cast<double>(net.latency(a, b)));
  }
  std::uint64_t bounced = sum_routed(bounced_of) - bounced_before;
  std::uint64_t rerouted = sum_routed(rerouted_of) - rerouted_before;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  std::printf("bench_routing: %zu simulated nodes, links 3-8 kept, max_query_links 0 (requests to unlinked nodes are routed), "
              "hop limit %u, routed request timeout %lld ms\n",
              opt.nodes, static_cast<unsigned>(opt.hop_limit), static_cast<long long>(EngineConfig{}.routed_request_timeout));
  std::printf("latency %lld-%lld ms one way per pair (uniform), %zu random pairs pinged one at a time, seed %llu, %.1f s wall\n\n",
              static_cast<long long>(net_cfg.latency_min), static_cast<long long>(net_cfg.latency_max), opt.pairs,
              static_cast<unsigned long long>(opt.seed), wall);
  std::printf("| figure | value |\n|---|---|\n");
  std::printf("| requests answered | %zu / %zu (%.2f %%) |\n", ok, opt.pairs, 100.0 * static_cast<double>(ok) / static_cast<double>(opt.pairs));
  std::printf("| of which routed | %zu |\n", routed);
  std::printf("| routed RTT p50 / p90 / p99 | %.0f / %.0f / %.0f ms |\n", percentile(routed_rtt, 50), percentile(routed_rtt, 90),
              percentile(routed_rtt, 99));
  std::printf("| direct RTT of the same pairs p50 | %.0f ms |\n", percentile(direct_rtt, 50));
  std::printf("| extra latency routed - direct p50 / p90 | %.0f / %.0f ms |\n", percentile(extra, 50), percentile(extra, 90));
  std::printf("| extra latency per routing step p50 | %.0f ms |\n", percentile(extra_per_step, 50));
  std::printf("| bounces / requests forwarded again after their link closed (all traffic) | %llu / %llu |\n",
              static_cast<unsigned long long>(bounced), static_cast<unsigned long long>(rerouted));
  std::printf("| mean link RTT (target: per-step extra below it) | %.0f ms |\n",
              link_rtt.empty() ? 0.0 : [&] { double s = 0; for (double v : link_rtt) s += v; return s / static_cast<double>(link_rtt.size()); }());
  std::printf("\n| routing steps (request) | requests | share |\n|---|---|---|\n");
  for (const auto& [hops, count] : hop_counts) {
    std::printf("| %d | %zu | %.1f %% |\n", hops, count, routed ? 100.0 * static_cast<double>(count) / static_cast<double>(routed) : 0.0);
  }
  if (failed) {
    std::printf("\n| failures by reason | count |\n|---|---|\n");
    for (const auto& [why, count] : failures) std::printf("| %s... | %zu |\n", why.c_str(), count);
    std::printf("\nfirst failure: %s\n", first_error.c_str());
  }
  return 0;
}
