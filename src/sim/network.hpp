// The discrete-event network that hosts unmodified core engines in one process.
// One priority queue of events (time, then sequence number) drives everything:
// dials, frame deliveries, link closes, engine ticks and scenario tasks. The
// transport modelled is a reliable ordered stream (TCP/WebSocket): per-pair
// latency, loss as retransmission delay (never a silent gap in a live stream),
// optional whole-link failures, partitions that hold traffic across the cut,
// and node crashes whose links die with or without a reset. Same seed, same
// inputs => the same event trace (see trace_hash()). Model: docs/simulator.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine.hpp"
#include "core/random.hpp"
#include "crypto/sodium_crypto.hpp"
#include "sim/crypto_ahead.hpp"
#include "sim/trace.hpp"

namespace yz::sim {

using NodeIndex = std::uint32_t;

struct NetworkConfig {
  std::uint64_t seed = 1;
  // One-way latency of a node pair: fixed for the pair, uniform in [min, max],
  // derived from the seed and the two node indexes (no matrix is stored).
  Millis latency_min = 20;
  Millis latency_max = 150;
  // Per-frame probability that a transmission is lost and retransmitted; the
  // frame (and every later frame on that direction) arrives retransmit_timeout
  // later per loss, doubling per repeated loss, like TCP.
  double loss = 0;
  Millis retransmit_timeout = 200;
  // Per-frame probability that the whole link breaks (both ends see it close).
  double link_failure = 0;
  // A dial to an unknown, undialable or partitioned address fails after this.
  Millis dial_timeout = 3000;
  // A dial to a dialable address whose node is down is refused after one RTT.
  bool refuse_when_down = true;
  // After a crash the peers' ends of its links: < 0 never close by themselves
  // (the peers' keep-alive must notice), 0 reset after one-way latency,
  // > 0 close after this delay (a transport-level timeout).
  Millis crash_close_delay = -1;
  // Compute each handshake's signatures and verifications ahead on a second
  // core (sim/crypto_ahead.hpp). Same results and trace either way.
  bool crypto_ahead = true;
};

// What to start on a slot. The network fills advertised_addresses with
// "sim://<slot>" for dialable roles (not client/browser) when left empty.
struct NodeSpec {
  EngineConfig config;
};

struct NetworkStats {
  std::uint64_t events = 0;
  std::uint64_t ticks = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t frames_delivered = 0;
  std::uint64_t frames_dropped = 0;       // sent toward an end that was already closed or gone
  std::uint64_t frames_delayed_by_loss = 0;
  std::uint64_t dials = 0;
  std::uint64_t dials_failed = 0;
  std::uint64_t links_established = 0;
  std::uint64_t links_broken = 0;          // link_failure events
  std::uint64_t links_held_at_heal = 0;    // directions that had traffic held by a partition
  std::uint64_t node_starts = 0;
  std::uint64_t node_leaves = 0;
  std::uint64_t node_crashes = 0;
  // Engine behaviour the transport found odd (reported, never worked around).
  std::uint64_t send_on_unknown_link = 0;  // SendFrame on a link the engine never opened or already closed
  std::uint64_t send_before_connected = 0; // SendFrame on a dial not yet connected
  std::uint64_t reused_link_ids = 0;       // a LinkId handed out while another link still used it
  std::uint64_t deadline_in_past = 0;      // next_deadline() <= now right after tick(now)
  std::uint64_t warn_lines = 0;
  std::size_t open_links = 0;
  std::size_t peak_open_links = 0;
  std::size_t peak_queued_events = 0;
};

class Network {
 public:
  using LogSink = std::function<void(NodeIndex, Millis, LogLevel, const std::string&)>;
  // Sees every frame delivered to an engine (for debugging and protocol checks).
  using FrameTap = std::function<void(NodeIndex from, NodeIndex to, Millis, BytesView frame)>;

  explicit Network(NetworkConfig config);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const NetworkConfig& config() const { return config_; }
  Millis now() const { return now_; }

  // ---- Nodes ----
  // Allocates a slot (address "sim://<index>"); the node is not started.
  NodeIndex add_node(NodeSpec spec);
  std::size_t node_count() const { return slots_.size(); }
  // Starts a fresh engine on the slot (no memory of values or peers). The
  // identity is derived from (seed, slot, identity generation).
  void start(NodeIndex node);
  // Graceful leave: engine.stop() says goodbye, its frames and closes go out.
  void leave(NodeIndex node);
  // Crash: the engine vanishes; see NetworkConfig::crash_close_delay.
  void crash(NodeIndex node);
  // Next start() uses a new identity (a different key and node id).
  void renew_identity(NodeIndex node);
  bool is_up(NodeIndex node) const { return slots_[node].engine != nullptr; }
  Engine* engine(NodeIndex node) { return slots_[node].engine.get(); }
  const Engine* engine(NodeIndex node) const { return slots_[node].engine.get(); }
  // Node id of the slot's current identity (valid before start too).
  NodeId node_id(NodeIndex node) const;
  Role role(NodeIndex node) const { return slots_[node].spec.config.role; }
  // Increments on every start; tells apart two lives of one slot.
  std::uint32_t incarnation(NodeIndex node) const { return slots_[node].incarnation; }
  Millis started_at(NodeIndex node) const { return slots_[node].started_at; }
  NodeSpec& spec(NodeIndex node) { return slots_[node].spec; }
  static std::string address_of(NodeIndex node);
  // One-way latency between two slots.
  Millis latency(NodeIndex a, NodeIndex b) const;

  // Calls into a live engine (API requests), then drains its actions. The
  // callable gets the engine and the current time. Completion callbacks run
  // inside engine calls: they must only record results or schedule tasks with
  // at(), never call an engine directly.
  void call(NodeIndex node, const std::function<void(Engine&, Millis)>& fn);

  // ---- Partitions ----
  // Nodes in different groups cannot reach each other: dials across the cut
  // time out, and traffic on existing links is held (the links go silent)
  // until the groups are merged again, then delivered in order.
  void set_groups(std::vector<std::uint8_t> group_of_node);
  void heal();
  bool cut(NodeIndex a, NodeIndex b) const;

  // ---- Time ----
  void at(Millis time, std::function<void()> task);
  // Processes every event up to and including `until`; now() == until after.
  void run_until(Millis until);
  void run_for(Millis duration) { run_until(now_ + duration); }

  // ---- Observation ----
  const NetworkStats& stats() const { return stats_; }
  std::uint64_t trace_hash() const { return trace_.value(); }
  void set_log_sink(LogSink sink) { log_sink_ = std::move(sink); }
  void set_frame_tap(FrameTap tap) { frame_tap_ = std::move(tap); }
  // How often the engines' handshake crypto was found computed ahead (depends
  // on thread timing: for diagnostics, never for the trace or the report).
  CryptoAhead::Stats crypto_ahead_stats() const { return ahead_.stats(); }
  // Deterministic randomness for scenarios (separate stream from the network's).
  Random& scenario_random() { return scenario_random_; }

 private:
  enum class EventKind : std::uint8_t { tick, task, syn, syn_ack, dial_failed, deliver };
  struct Event {
    Millis time;
    std::uint64_t seq;
    std::uint64_t ref;       // link serial or task id
    NodeIndex node;          // tick: the node; link events: unused
    std::uint32_t incarnation;
    EventKind kind;
    std::uint8_t dir;        // deliver: toward which end
    bool operator>(const Event& other) const {
      return time != other.time ? time > other.time : seq > other.seq;
    }
  };
  enum class CloseCause : std::uint8_t { peer_closed, peer_left, peer_reset, peer_timeout, link_broken };
  struct Item {
    Millis arrive;
    bool close;         // a close notification instead of a frame
    CloseCause cause;
    bool local;         // a local transport timeout: not held by partitions
    Bytes frame;
  };
  // Items travelling toward one end, in order (a FIFO with a moving head).
  struct Direction {
    std::vector<Item> items;
    std::size_t head = 0;
    Millis last_arrive = 0;
    bool blocked = false;  // head held by a partition
    bool empty() const { return head == items.size(); }
  };
  struct End {
    NodeIndex node = 0;
    std::uint32_t incarnation = 0;
    LinkId id = 0;
    bool attached = false;  // the engine knows this end
    bool open = false;      // the engine has not closed it and was not told it closed
  };
  // An end's Hello as sent, for the crypto computed ahead.
  struct HelloSeen {
    bool seen = false;
    bool auth_sent = false;
    PublicKey key{};
    Nonce nonce{};
    Hash256 hash{};  // SHA-256 of the Hello frame
  };
  struct SimLink {
    End end[2];        // 0 = dialer, 1 = acceptor
    Direction dir[2];  // dir[d] travels toward end[d]
    std::uint64_t serial = 0;
    Millis latency = 0;
    Millis dial_started = 0;
    NodeIndex target = 0;
    bool connected = false;  // the dialer was told link_connected
    bool broken = false;
    HelloSeen hello[2];  // what each end's Hello said (crypto ahead)
  };
  struct LinkKey {
    NodeIndex node;
    LinkId link;
    bool operator==(const LinkKey&) const = default;
  };
  struct LinkKeyHash {
    std::size_t operator()(const LinkKey& key) const noexcept {
      std::uint64_t h = key.link * 0x9e3779b97f4a7c15ULL ^ (static_cast<std::uint64_t>(key.node) << 1);
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  struct Slot {
    NodeSpec spec;
    std::uint32_t identity_generation = 0;
    std::uint32_t incarnation = 0;
    std::unique_ptr<AheadSigner> signer;
    std::unique_ptr<SeededRandom> random;
    std::unique_ptr<Engine> engine;
    Millis tick_at = kNever;
    Millis started_at = -1;
    std::uint8_t group = 0;
    std::vector<std::uint64_t> links;  // serials of links with an end on this node
  };

  void push(Event event);
  void dispatch(const Event& event);
  void after_input(NodeIndex node, bool ticked);
  void handle(NodeIndex node, Action& action);
  void on_send(NodeIndex node, SendFrame& send);
  void on_dial(NodeIndex node, const DialAddress& dial);
  void on_close(NodeIndex node, const CloseLink& close);
  void on_tick(const Event& event);
  void on_syn(const Event& event);
  void on_syn_ack(const Event& event);
  void on_dial_failed(const Event& event);
  void on_deliver(const Event& event);
  void run_task(const Event& event);
  void take_down(NodeIndex node, bool graceful);
  void enqueue(std::uint64_t serial, int toward, Item item, Millis earliest);
  void hint_handshake(SimLink& link, int side, BytesView frame);
  std::unique_ptr<AheadSigner> make_signer(NodeIndex node, std::uint32_t generation);
  void break_link(std::uint64_t serial);
  void detach(SimLink& link, int side);
  void maybe_erase(std::uint64_t serial);
  void unblock_all();
  Millis loss_delay();
  SodiumSigner::Seed identity_seed(NodeIndex node, std::uint32_t generation) const;
  static std::optional<NodeIndex> parse_address(const std::string& address);
  static std::string cause_text(CloseCause cause, NodeIndex peer);

  NetworkConfig config_;
  CryptoAhead ahead_;  // before crypto_ and the signers that use it
  AheadCrypto crypto_;
  SeededRandom random_;
  SeededRandom scenario_random_;
  Millis now_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t next_serial_ = 1;
  std::uint64_t next_task_ = 1;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  std::vector<Slot> slots_;
  std::unordered_map<std::uint64_t, SimLink> links_;
  std::unordered_map<LinkKey, std::uint64_t, LinkKeyHash> link_of_;
  std::unordered_map<std::uint64_t, std::function<void()>> tasks_;
  std::vector<std::pair<std::uint64_t, int>> blocked_;  // (serial, dir) in the order they blocked
  bool partitioned_ = false;
  Trace trace_;
  NetworkStats stats_;
  LogSink log_sink_;
  FrameTap frame_tap_;
};

}  // namespace yz::sim
