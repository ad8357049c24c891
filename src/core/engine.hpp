// The sans-IO node engine: the whole protocol logic of one node, for every role.
// Inputs are calls (link events, frames, ticks, API requests), each carrying the
// current time; outputs are Actions the shell drains with take_actions().
// API completions run at the end of the input call that finished them, so a
// completion may call the engine again without re-entering half-done work.
// Shells: src/net (native), src/sim (simulator), web/ (WebAssembly).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/crypto.hpp"
#include "core/messages.hpp"
#include "core/metrics.hpp"
#include "core/random.hpp"
#include "core/routing_table.hpp"
#include "core/time.hpp"

namespace yz {

using LinkId = std::uint64_t;

struct EngineConfig {
  Role role = Role::dht;
  std::vector<std::string> advertised_addresses;  // ws:// URLs peers dial to reach us
  std::string build_id = "dev";
  std::vector<std::string> seeds;  // dialled at start: bootstrap server and/or known peers
  std::uint16_t version_min = kProtocolVersionMin;
  std::uint16_t version_max = kProtocolVersionMax;

  std::size_t k = 20;      // replication factor and bucket size
  std::size_t alpha = 3;   // lookup parallelism
  // A get answers once this many nodes (this one included) returned the newest
  // version seen so far, instead of running the value lookup to the end; 0 = always to the end.
  std::size_t get_quorum = 2;
  std::size_t replacement_cache = 8;
  std::size_t min_links = 3;         // connection policy: links kept open...
  std::size_t max_links = 8;         // ...between these bounds
  // Query links: opened by lookups to peers that are not kept links. 64: room
  // for the k = 20 nearest neighbours (self-lookups, both ways) plus lookup
  // traffic; each one costs a socket but no messages while idle.
  std::size_t max_query_links = 64;

  Millis request_timeout = 2000;
  Millis handshake_timeout = 5000;
  Millis maintenance_interval = 10'000;   // connection policy, expiry, re-registration
  Millis self_lookup_interval = 60'000;   // health probe and routing-table refresh
  // Idle query links close after this. 9 min: longer than the longest adaptive
  // self-lookup interval (8 min), so the links to the neighbourhood survive
  // from one self-lookup to the next instead of costing a signed handshake
  // each (docs/architecture.md, "Links: kept and query links").
  Millis query_link_idle = 9 * 60'000;
  Millis keepalive_interval = 25'000;     // ping an idle kept link this often
  Millis keepalive_timeout = 60'000;      // no frame for this long: link is dead
  Millis republish_interval = 10 * 60'000;
  Millis registration_ttl = 5 * 60'000;   // bootstrap role: forget unseen nodes after this
  std::uint32_t default_ttl_seconds = 3600;

  std::size_t storage_max_bytes = 64 * 1024 * 1024;
  std::size_t storage_max_values = 100'000;
  bool metrics_enabled = true;

  // Overlay routing: reach peers without a direct link (docs/architecture.md).
  bool routing = true;
  std::uint8_t routed_hop_limit = kDefaultHops;  // step budget of a routed request
  // A routed request and its answer may each walk many links (at 1,000
  // simulated nodes with 3-8 links: p50 9 steps, p99 over 25 at 20-150 ms a
  // link, 3.9 s round trips), so it gets its own, longer timeout. Unreachable
  // destinations do not wait for it: their walk fails back at once.
  Millis routed_request_timeout = 10'000;
  double routed_rate_per_link = 500;             // routed messages per second accepted per link
  // When false the node links only to its seeds and to who dials it (for tests of fixed topologies).
  bool connection_policy = true;
  // The shell opens WebRTC DataChannels (browsers): the node advertises
  // "webrtc:<id>", dials such addresses, and takes Signal messages
  // (docs/protocol.md, "WebRTC signaling").
  bool webrtc = false;
  // Relay (docs/protocol.md section 18). Servers relay up to relay_sessions
  // browser pairs (0: not a relay). WebRTC nodes whose direct dial to a
  // browser fails run the link through a relay, end-to-end encrypted, and
  // retry the direct path every direct_retry_interval (then drop the relay).
  std::size_t relay_sessions = 64;
  bool use_relays = true;
  Millis direct_retry_interval = 30'000;
};

// ---- Outputs -------------------------------------------------------------
struct SendFrame {
  LinkId link;
  Bytes frame;
};
// Open an outbound link to `address`; report link_connected or link_closed.
struct DialAddress {
  LinkId link;
  std::string address;
};
// Close the link (a Goodbye frame with the same code was already queued).
struct CloseLink {
  LinkId link;
  CloseCode code;
  std::string reason;
};
enum class LogLevel { debug, info, warn };
struct LogLine {
  LogLevel level;
  std::string text;
};
// A WebRTC signaling message from `from` (authenticated by the core) for the
// shell's WebRTC transport. Only emitted when EngineConfig::webrtc is set.
struct SignalReceived {
  NodeId from;
  std::string data;
};
using Action = std::variant<SendFrame, DialAddress, CloseLink, LogLine, SignalReceived>;

// ---- API results -----------------------------------------------------------
struct LookupResult {
  bool ok = false;
  std::string error;              // plain words when !ok
  std::vector<Contact> closest;   // nearest first, up to k
  int hops = 0;
  int requests = 0;
  int failures = 0;
  Millis elapsed = 0;
};
struct PutResult {
  bool ok = false;                 // at least one replica stored it
  std::string error;
  NodeId key;
  std::uint64_t seq = 0;
  int replicas_acked = 0;
  int replicas_tried = 0;
  std::vector<std::string> refusals;  // "<peer>: <reason>" per refusing replica
  Millis elapsed = 0;
};
struct GetResult {
  bool ok = false;                 // the lookup reached peers (found or not)
  bool found = false;
  std::string error;
  NodeId key;
  Bytes value;
  std::uint64_t seq = 0;
  int hops = 0;
  int requests = 0;
  int repaired = 0;                // replicas that lacked the value and were sent it
  Millis elapsed = 0;
};
struct SignalResult {
  bool ok = false;
  std::string error;
  std::string path;  // "link" (an open link to the peer) or "routed"
  Millis elapsed = 0;
};
struct PingResult {
  bool ok = false;
  std::string error;
  Millis rtt = 0;
};

// ---- Introspection ---------------------------------------------------------
struct LinkInfo {
  LinkId link = 0;
  bool outbound = false;
  bool ready = false;       // handshake complete
  bool kept = false;        // held by the connection policy (else a query link)
  NodeId peer;              // valid when ready
  Role role = Role::dht;
  std::string address;      // dialled address or remote endpoint
  std::string build_id;
  std::uint16_t version = 0;
  bool relayed = false;     // runs through a relay server (relay_node), end-to-end encrypted
  NodeId relay_node;
  Millis opened_at = 0;
  Millis last_frame_at = 0;
  DirectionCounters in, out;
};
struct PeerRefusal {
  Millis at = 0;
  std::string peer;         // address or id
  CloseCode code;
  std::string reason;
};
struct Status {
  NodeId id;
  Role role;
  std::string build_id;
  bool healthy = false;
  std::vector<std::string> reasons;  // why not healthy (empty when healthy)
  std::size_t links = 0;             // ready links kept by the connection policy
  std::size_t query_links = 0;       // other open links
  std::size_t routing_table_size = 0;
  std::size_t stored_values = 0;
  std::size_t stored_bytes = 0;
  std::size_t routed_retained_bytes = 0;  // forwarded routed requests kept until answered (re-forwarding)
  Millis started_at = 0;
  Millis last_lookup_ok_at = -1;     // any lookup, -1 = never
  Millis last_self_lookup_at = -1;
  bool last_self_lookup_ok = false;
  std::vector<LinkInfo> link_list;
  std::vector<PeerRefusal> recent_refusals;  // newest last, bounded
};

class Engine {
 public:
  Engine(EngineConfig config, const Crypto& crypto, const Signer& signer, Random& random);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const NodeId& id() const;
  const EngineConfig& config() const;

  // ---- Inputs ----
  void start(Millis now);
  // Says goodbye on every link and fails pending requests. The engine stays inert.
  void stop(Millis now);
  // A peer connected to us; returns the id the shell uses for this link.
  LinkId link_accepted(std::string remote, Millis now);
  // A DialAddress succeeded at the transport level.
  void link_connected(LinkId link, Millis now);
  // The transport closed or failed (including a failed dial). Idempotent.
  void link_closed(LinkId link, std::string reason, Millis now);
  void frame_received(LinkId link, BytesView frame, Millis now);
  // The transport refused a frame above kMaxFrameSize without reading it.
  void frame_too_large(LinkId link, std::size_t size, Millis now);
  void tick(Millis now);
  // When tick() must next be called (kNever if nothing is scheduled).
  Millis next_deadline() const;
  std::vector<Action> take_actions();

  // ---- API ----
  // Hash a user key to its id: the one place user keys are hashed.
  NodeId key_id(BytesView user_key) const;
  void find_node(const NodeId& target, Millis now, std::function<void(const LookupResult&)> done);
  void put(BytesView user_key, Bytes value, std::uint32_t ttl_seconds, Millis now,
           std::function<void(const PutResult&)> done);
  void get(BytesView user_key, Millis now, std::function<void(const GetResult&)> done);
  void ping(const NodeId& peer, Millis now, std::function<void(const PingResult&)> done);
  // Sends WebRTC signaling `data` (1..kMaxSignalLength bytes) to `peer`: over an
  // open link when there is one, else routed (through the bootstrap server when
  // that is this node's only link). Completes when the peer acknowledged it.
  void signal(const NodeId& peer, std::string data, Millis now, std::function<void(const SignalResult&)> done);

  // Keep-alive timing can change at run time (a browser tab hidden or shown).
  void set_keepalive(Millis interval, Millis timeout);

  Status status(Millis now) const;
  const Metrics& metrics() const;
  std::vector<RoutingEntry> routing_entries() const;
  // The seq of the live value this node stores under `key` (from key_id), if any.
  std::optional<std::uint64_t> stored_seq(const NodeId& key, Millis now) const;

  struct Impl;  // opaque; defined in engine_impl.hpp for the engine's own files

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace yz
