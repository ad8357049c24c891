// Counters updated beside IO (frame in/out, lookups, errors). They are plain
// integers: reading them cannot change behaviour, and when disabled they are
// simply not incremented (Config::metrics_enabled).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/messages.hpp"
#include "core/time.hpp"

namespace yz {

struct DirectionCounters {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

// Latency histogram with fixed upper bounds in milliseconds.
struct LatencyHistogram {
  static constexpr std::array<double, 12> kBoundsMs = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
  std::array<std::uint64_t, kBoundsMs.size() + 1> buckets{};  // last = +Inf
  std::uint64_t count = 0;
  double sum_ms = 0;
  void record(Millis ms);
};

// Overlay routing counters (exported as yz_routed_*).
struct RoutedCounters {
  std::uint64_t originated = 0;         // routed requests this node started
  std::uint64_t forwarded = 0;          // routed messages passed on to another hop
  std::uint64_t delivered = 0;          // routed requests that reached this node
  std::uint64_t replies = 0;            // routed replies that came back to this node
  std::uint64_t bounced = 0;            // messages returned to the previous hop
  std::uint64_t unreachable = 0;        // routed requests that failed: every path tried
  std::uint64_t dropped_hop_limit = 0;  // hop_limit above kMaxHops
  std::uint64_t dropped_duplicate = 0;  // a copy of a request already delivered
  std::uint64_t dropped_forged = 0;     // signature or source key does not match source
  std::uint64_t dropped_rate = 0;       // over the per-link routed message rate
  std::uint64_t dropped_invalid = 0;    // payload not a request or response frame
  std::uint64_t dropped_no_state = 0;   // bounce or reply for a route this node forgot
  std::uint64_t rerouted = 0;           // requests sent again: their link closed before a reply or bounce
  // How requests reached their peer: existing link, new dial, or routed.
  std::uint64_t via_link = 0;
  std::uint64_t via_dial = 0;
  std::uint64_t via_route = 0;
  std::array<std::uint64_t, 8> hops{};  // delivered routed requests by hops: 1,2,3,4,5-8,9-16,17-32,33+
  void record_hops(int hops);
};

struct Metrics {
  // Index: message_type_index(); the extra slot counts unknown types.
  std::array<DirectionCounters, kMessageTypeCount + 1> in{};
  std::array<DirectionCounters, kMessageTypeCount + 1> out{};
  std::uint64_t decode_errors = 0;
  std::uint64_t unknown_types = 0;
  std::uint64_t handshakes_ok = 0;
  std::uint64_t handshakes_failed = 0;
  std::uint64_t links_opened = 0;
  std::uint64_t links_closed = 0;
  std::uint64_t dials_failed = 0;
  std::uint64_t requests_timed_out = 0;
  std::uint64_t late_replies = 0;  // responses after their timeout, or to no request
  std::uint64_t lookups_ok = 0;
  std::uint64_t lookups_failed = 0;
  std::uint64_t stores_accepted = 0;
  std::uint64_t stores_refused = 0;
  std::uint64_t values_expired = 0;
  std::uint64_t replicas_repaired = 0;
  // Close codes sent / received, keyed by (code - 4000), 0..31.
  std::array<std::uint64_t, 32> closes_sent{};
  std::array<std::uint64_t, 32> closes_received{};
  std::uint64_t signals_received = 0;        // WebRTC signaling handed to the shell
  std::uint64_t dial_requests_sent = 0;      // browsers asked to dial this node
  std::uint64_t dial_requests_honoured = 0;  // dials opened because a peer asked
  std::uint64_t dial_requests_declined = 0;
  // Relay: sessions this node serves as a relay, and relayed links it holds.
  std::uint64_t relay_sessions_opened = 0;
  std::uint64_t relay_sessions_refused = 0;
  std::uint64_t relay_frames_forwarded = 0;
  std::uint64_t relayed_links_opened = 0;    // this node's links through a relay
  std::uint64_t relayed_links_upgraded = 0;  // replaced by a direct link
  std::uint64_t relayed_frames_rejected = 0; // failed to decrypt: tampered or out of order
  LatencyHistogram lookup_latency;
  RoutedCounters routed;
};

}  // namespace yz
