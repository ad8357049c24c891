// Engine internals shared by engine*.cpp (not part of the public API).
// One Impl holds all state of a node: links, pending requests, lookups,
// routing table, value store. Every container here is bounded (DESIGN rule 8).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/deadline_index.hpp"
#include "core/engine.hpp"
#include "core/fifo.hpp"
#include "core/lookup.hpp"
#include "core/registry.hpp"
#include "core/routing_table.hpp"
#include "core/transport_selection.hpp"
#include "core/value_store.hpp"

namespace yz {

// Named limits (not configurable: they bound memory, not behaviour).
inline constexpr std::size_t kMaxClientLinks = 256;     // links from browsers/clients
inline constexpr std::size_t kMaxPendingPerLink = 256;  // outstanding requests on one link
inline constexpr std::size_t kMaxQueuedPerDial = 64;    // requests waiting for a dial
inline constexpr std::size_t kMaxRefusalsKept = 16;     // Status::recent_refusals
inline constexpr std::size_t kMaxRegistrations = 20'000;  // bootstrap registry
inline constexpr std::size_t kMaxConcurrentOps = 1024;  // API lookups/puts/gets in flight
inline constexpr std::size_t kMaxRouteStates = 8192;    // routed messages remembered for replies/bounces
inline constexpr Millis kRouteStateTtl = 30'000;         // how long a hop remembers a routed message
inline constexpr LinkId kRoutedLink = 0;                 // pseudo link of routed requests in `pending`
inline constexpr std::size_t kMaxRetainedRouted = 1 << 20;  // bytes of routed requests kept for re-forwarding

// Connection policy: the number of kept links aimed at, and how many of them
// go to the nodes nearest our own id (the rest spread over buckets).
inline std::size_t link_target(const EngineConfig& cfg) { return (cfg.min_links + cfg.max_links + 1) / 2; }
inline std::size_t nearest_link_quota(const EngineConfig& cfg) { return (link_target(cfg) + 1) / 2; }
inline constexpr Millis kDialRequestInterval = 60'000;    // one DialRequest per peer per interval, both ways
inline constexpr std::size_t kMaxDialRequestPeers = 256;  // peers remembered for that interval
inline constexpr std::size_t kMaxRelayedLinks = 16;       // this node's own links through relays
// A self-lookup that learns nothing doubles the wait before the next one, up to
// this many self_lookup_intervals (8 min at the default 60 s): newcomers
// announce themselves to their neighbourhood by their own join lookup, so a
// stable node gains little from asking often, while 8 min still refreshes the
// table well within Kademlia's customary hourly bucket refresh.
inline constexpr Millis kSelfLookupBackoffMax = 8;
// Links to or from a bootstrap server close after this much idle time at most:
// a newcomer needs one PeersRequest, and the server must not hold every
// newcomer's link for query_link_idle.
inline constexpr Millis kBootstrapLinkIdle = 10'000;
// Query links dialled by a client or browser close after this idle time: a
// server holds at most kMaxClientLinks links from them and never closes one
// itself, so a client's minutes-long query links would fill it.
inline constexpr Millis kClientQueryLinkIdle = 10'000;
// Why the loser of two links to one peer closes (docs/protocol.md section 9).
inline constexpr const char* kDuplicateLinkReason = "another link to this peer won (lower dialer id)";

struct ReplyOutcome {
  const Message* reply = nullptr;  // response message, or nullptr on failure
  std::string error;               // plain words when reply == nullptr or reply is Error
  bool not_sent = false;           // failed before it went out (dial or handshake failed)
};

// Where a routed request came from, so its response can be routed back.
struct RouteContext {
  NodeId source;
  std::uint64_t message_id = 0;
  LinkId prev = 0;
};
using ReplyHandler = std::function<void(const ReplyOutcome&, Millis now)>;

// A link that runs through a relay server: frames travel as RelayData on the
// link `via`; after the Hellos they are sealed with keys only the two ends know.
struct RelayPath {
  LinkId via = 0;
  NodeId relay_node;
  NodeId far_end;          // the peer at the other end (known before its Hello)
  bool keyed = false;
  SymmetricKey out_key{}, in_key{};
  std::uint64_t out_count = 0, in_count = 0;
};

struct QueuedRequest {
  Message request;
  ReplyHandler handler;
  // Set when it went out before the link was ready, right behind this node's
  // Auth (docs/protocol.md section 8): its request id on the link, registered
  // as pending once the peer's Auth verifies. 0: not sent yet.
  std::uint32_t early_id = 0;
};

// What a link needs only until it is ready: created with the link, freed once
// the peer's Auth verifies (a ready link keeps none of it).
struct LinkHandshake {
  std::optional<NodeId> expected_peer;  // the node we dialled, when known
  std::vector<QueuedRequest> queued;    // requests waiting for the handshake
  Nonce nonce{};                        // ours, sent in our Hello
  Hash256 own_hello_hash{};  // SHA-256 of our Hello frame
  Hash256 peer_hello_hash{};
  PublicKey peer_key{};  // from the peer's Hello
  Nonce peer_nonce{};
};

struct Link {
  // Fields are ordered by size so that the record packs without padding (one
  // per link end, and a bridge holds thousands).
  LinkId id = 0;
  std::string address;
  Millis opened_at = 0;
  Millis last_in = 0;         // last frame received
  Millis last_out = 0;        // last frame sent
  Millis last_request = 0;    // last request or response (not keep-alive) either way
  std::unique_ptr<LinkHandshake> handshake;  // from add_link until ready (a ready link has none)
  // From the peer's Hello, kept for the link's life (its key and nonce are in `handshake`).
  Addresses peer_addresses;  // shared with the contacts made from this link
  std::string peer_build_id;
  NodeId peer;
  enum class Phase : std::uint8_t { dialing, handshaking, ready } phase = Phase::dialing;
  Role role = Role::dht;
  bool outbound = false;
  bool seed = false;       // dialled from EngineConfig::seeds
  bool want_kept = false;  // dialled by the connection policy
  bool hello_in = false;
  bool peer_dialable = false;  // this node can dial the peer (fixed once its Hello is in)
  bool kept = false;
  bool ping_in_flight = false;
  bool draining = false;  // replaced by a direct link: closes once its requests are answered
  std::uint16_t version = 0;
  std::uint32_t next_request_id = 1;
  DirectionCounters in, out;
  double routed_tokens = 0;    // per-link routed message rate limit (token bucket)
  Millis routed_refill_at = 0;
  Millis last_routed_out = -1;  // a routed request was last forwarded on this link
  // Rare, so behind pointers (every link would otherwise carry their bytes):
  std::unique_ptr<RouteContext> route;  // set on the stand-in link of a routed request
  std::unique_ptr<RelayPath> relay;     // set on a link that runs through a relay server
  std::vector<NodeId> neighbours;       // the peer's kept links, from its last Neighbours (a routing hint)
};

// Running counts of links by the categories the connection policy and the
// query-link cap ask about on every link-up and dial, so that a node with
// thousands of links (a bridge) does not walk them all each time. Every
// change to a counted field (phase, kept, want_kept, the peer's Hello) goes
// through Engine::Impl::update_link, which takes the link out and puts it back.
struct LinkTally {
  std::size_t kept_ready = 0;         // ready and kept
  std::size_t clients_ready = 0;      // ready, peer not dialable (a client or browser of ours)
  std::size_t unkept = 0;             // not kept, any phase
  std::size_t query = 0;              // not kept and not a ready client link: counted against max_query_links
  std::size_t want_kept_dialing = 0;  // dialled by the connection policy, not ready yet
  std::size_t relayed = 0;            // running through a relay server

  void add(const Link& link, int sign) {
    bool ready = link.phase == Link::Phase::ready;
    bool client = ready && !(link.hello_in && link.peer_dialable);
    auto step = [sign](std::size_t& n, bool counted) {
      if (counted) n = sign > 0 ? n + 1 : n - 1;
    };
    step(kept_ready, link.kept && ready);
    step(clients_ready, client);
    step(unkept, !link.kept);
    step(query, !link.kept && !client);
    step(want_kept_dialing, link.want_kept && !ready);
    step(relayed, link.relay != nullptr);
  }
  bool operator==(const LinkTally&) const = default;
};

using RouteKey = std::pair<NodeId, std::uint64_t>;  // (request origin, message id)
struct RouteState {
  LinkId prev = kRoutedLink;    // link the request came in on (kRoutedLink: we are the origin)
  std::vector<NodeId> tried;    // next hops already tried (and the previous hop)
  bool delivered = false;       // this node is the destination and handled it
  std::uint32_t request_id = 0; // at the origin: the pending routed request
  // The request as last sent on, kept until a reply or bounce passes back:
  // if that link closes first, the frame may be lost with it, and the hop
  // forwards it again to its next candidate.
  LinkId sent_on = 0;
  std::optional<Routed> in_flight;
};

// Sets the request id of any request or response message.
inline void set_request_id(Message& message, std::uint32_t id) {
  std::visit(
      [id](auto& m) {
        if constexpr (kHasRequestId<std::decay_t<decltype(m)>>) m.request_id = id;
      },
      message);
}

struct PendingRequest {  // keyed by (link, request id) in Impl::pending
  NodeId peer;
  MessageType request_type;
  Millis deadline;
  ReplyHandler handler;
};

// A put riding on its lookup (Engine::Impl::replicate): once the lookup has
// converged its queries are Stores, and every answered node among the k
// closest gets one; the put answers when the lookup is done and every Store
// has replied.
struct PutPlan {
  Store store;  // what each replica is sent (request_id set per request)
  PutResult result;
  std::unordered_set<NodeId, NodeIdHash> stored_on;  // sent a Store (or this node, stored locally)
  std::size_t outstanding = 0;                       // Stores without a reply yet
  bool lookup_done = false;
  bool answered = false;
  Millis started = 0;
  std::function<void(const PutResult&)> done;
};

struct LookupOp {
  enum class Kind { node, value };
  Kind kind = Kind::node;
  Lookup lookup;
  Millis started = 0;
  bool self_lookup = false;
  bool driving = false;                      // re-entrancy guard for drive_lookup
  std::optional<Value> best;                 // value lookups: newest version seen
  std::unordered_map<NodeId, std::uint64_t, NodeIdHash> seq_seen;  // value lookups: 0 = had none
  bool settled = false;                      // value lookups: a read quorum ended it early
  std::shared_ptr<PutPlan> put;              // set for the lookup of a put
  std::function<void(LookupOp&, Millis)> on_done;
  LookupOp(const NodeId& target, const NodeId& self, std::size_t k, std::size_t alpha)
      : lookup(target, self, k, alpha) {}
};

struct Engine::Impl {
  Impl(EngineConfig config, const Crypto& crypto, const Signer& signer, Random& random);

  // ---- configuration and identity ----
  EngineConfig cfg;
  const Crypto& crypto;
  const Signer& signer;
  Random& random;
  NodeId self;
  bool started = false;
  bool stopped = false;
  Millis started_at = 0;

  LocalTransports local;  // fixed by the configuration (see local_transports())

  // ---- state ----
  RoutingTable table;
  ValueStore store;
  Metrics metrics;
  std::map<LinkId, Link> links;                       // ordered: deterministic iteration
  LinkTally link_tally;                               // counts over `links` (see LinkTally)
  std::unordered_map<NodeId, LinkId, NodeIdHash> ready_by_peer;
  std::unordered_map<NodeId, LinkId, NodeIdHash> dialing_by_peer;
  std::map<std::pair<LinkId, std::uint32_t>, PendingRequest> pending;
  std::map<std::uint64_t, std::unique_ptr<LookupOp>> lookups;
  Registry registry{kMaxRegistrations};  // bootstrap role only
  std::vector<PeerRefusal> refusals;     // oldest first, at most kMaxRefusalsKept
  std::map<NodeId, Millis> keep_refused_until;        // peers that closed our kept link as surplus
  std::map<RouteKey, RouteState> routes;              // routed messages seen recently
  Fifo<std::pair<Millis, RouteKey>> route_order;      // routes in arrival order, for expiry
  std::vector<NodeId> announced_neighbours;            // the set last sent by announce_neighbours
  std::size_t retained_routed_bytes = 0;               // payload bytes held in RouteState::in_flight
  std::uint32_t next_routed_rid = 1;
  std::map<NodeId, Millis> dial_requests_at;          // last DialRequest sent to / honoured for a peer
  std::map<std::pair<NodeId, NodeId>, Millis> relay_sessions;  // relay role: browser pairs served (lower id first)
  std::map<NodeId, Millis> direct_retry_at;           // relayed peers: next direct (WebRTC) attempt
  Millis signal_window_at = 0;                        // start of the current one-second signal window
  std::size_t signals_in_window = 0;
  LinkId next_link_id = 1;
  std::uint64_t next_op_id = 1;
  std::uint64_t last_seq = 0;

  // Timer indexes (docs/architecture.md, "Timers"): link deadlines (key (link, 0))
  // and request timeouts (key (link, request id)), so next_deadline() and
  // run_timers() do not rescan every link and request. Mutable: the const
  // next_deadline() drops stale entries as it meets them.
  mutable DeadlineIndex link_timers;
  mutable DeadlineIndex request_timers;

  Millis next_maintenance = 0;
  Millis next_self_lookup = 0;
  Millis self_lookup_every = 0;  // current self-lookup interval (adaptive, see start_self_lookup)
  Millis next_registration = 0;
  bool self_lookup_running = false;
  Millis last_lookup_ok_at = -1;
  Millis last_self_lookup_at = -1;
  bool last_self_lookup_ok = false;

  // ---- outputs ----
  std::vector<Action> actions;
  std::vector<std::function<void()>> completions;
  int input_depth = 0;

  // engine.cpp: links, handshake, frames
  void log(LogLevel level, std::string text);
  LinkId dial(const std::string& address, std::optional<NodeId> expected, bool want_kept, bool seed, Millis now);
  void on_transport_up(Link& link, Millis now);
  void send(Link& link, const Message& message, Millis now);
  void close_link(LinkId id, CloseCode code, const std::string& reason, Millis now);
  void forget_link(LinkId id, const std::string& why, Millis now);
  // Drops the dialing_by_peer entry of link `id` (when it still names this link).
  void forget_dial(const LinkHandshake& handshake, LinkId id);
  void record_refusal(const std::string& peer, CloseCode code, const std::string& reason, Millis now);
  void handle_frame(Link& link, BytesView frame, Millis now);
  void handle_hello(Link& link, const Hello& hello, BytesView frame, Millis now);
  void handle_auth(Link& link, const Auth& auth, Millis now);
  void on_ready(Link& link, LinkHandshake& handshake,
                Millis now);  // `handshake`: the link's, just taken from it
  // as_store: the query was a put's Store (an Error reply then means alive but refusing).
  void on_lookup_reply(std::uint64_t op_id, const NodeId& from, const ReplyOutcome& outcome, bool as_store,
                       Millis now);
  Contact contact_of(const Link& link) const;
  bool dialable(const Link& link) const;
  LocalTransports local_transports() const;
  ReachPlan reach(const Contact& peer) const;
  std::size_t kept_count() const;
  std::size_t client_link_count() const;
  Link& add_link(Link link);
  Link take_link(std::map<LinkId, Link>::iterator it);  // removes it from `links`
  // Changes counted fields of a link in `links` (see LinkTally).
  template <class Change>
  void update_link(Link& link, Change&& change) {
    link_tally.add(link, -1);
    change(link);
    link_tally.add(link, +1);
  }
  void set_kept(Link& link, bool kept) {
    update_link(link, [kept](Link& l) { l.kept = kept; });
  }
  const LinkTally& tally() const;
  std::string describe(const Link& link) const;

  // engine_requests.cpp: request/response tracking and the dispatch table
  void request(const Contact& to, Message message, Millis now, ReplyHandler handler);
  void request_on_link(Link& link, Message message, Millis now, ReplyHandler handler);
  // Sends a queued DHT request on a link whose Hello is in (our Auth is out), before it is ready.
  void send_early(Link& link, QueuedRequest& queued, Millis now);
  std::uint32_t next_free_request_id(Link& link) const;
  bool has_pending(LinkId link) const;  // requests on this link wait for an answer
  // Closes the query link (not kept, not a client's) idle longest, other than
  // `spare`, to make room under max_query_links. False when every one is busy.
  bool recycle_query_link(LinkId spare, Millis now);
  // max_query_links bounds query links in both directions, since every link is
  // an open file (docs/operations.md "Open files"): links other servers open to
  // this node and kept links demoted to query links count like its own dials,
  // and past the cap the idlest idle ones close (never `spare`, nor busy ones).
  void hold_query_cap(LinkId spare, Millis now);
  // The link stops taking new requests and is no longer kept; it closes once
  // the requests already on it are answered.
  void drain(Link& link);
  void resolve(LinkId link, std::uint32_t request_id, const ReplyOutcome& outcome, Millis now);
  void fail_link_requests(LinkId link, const std::string& why, Millis now);
  void dispatch(Link& link, Message& message, Millis now);
  void reply_error(Link& link, std::uint32_t request_id, ErrorCode code, std::string text, Millis now);
  std::vector<Contact> contacts_for(const NodeId& target, const NodeId& exclude, std::size_t n, Millis now) const;
  void observe_peer(const Link& link, Millis now);
  void observe_contact(const Contact& contact, Millis now);

  // engine_routing.cpp: overlay routing (docs/protocol.md, "Routed")
  void request_routed(const NodeId& to, Message message, Millis now, ReplyHandler handler);
  void handle_routed(Link& link, Routed& routed, Millis now);
  void forward_routed(Routed routed, const RouteKey& key, Millis now);
  void bounce_routed(Routed routed, const RouteKey& key, Millis now);
  void deliver_routed(Link& link, Routed& routed, Millis now);
  void route_reply(const RouteContext& context, const Message& reply, Millis now);
  void sign_routed(Routed& routed);
  // signaling: a Signal/Ack may also go through a bootstrap server (newcomers' only link).
  std::optional<LinkId> next_hop(const NodeId& destination, const std::vector<NodeId>& tried,
                                 bool signaling = false) const;
  RouteState& remember_route(const RouteKey& key, LinkId prev, Millis now);
  void drop_route(const RouteKey& key);
  void retain_in_flight(RouteState& state, LinkId link, const Routed& routed);
  std::optional<Routed> take_in_flight(RouteState& state);  // hands back (and stops holding) the copy
  void reroute_in_flight(LinkId closed, Millis now);  // the link closed under routed requests
  void expire_routes(Millis now);
  bool routed_rate_ok(Link& link, Millis now);
  // Neighbours: tell the peers we keep links to which peers those are.
  std::vector<NodeId> kept_neighbours() const;
  bool sends_neighbours(const Link& link) const;
  void send_neighbours(Link& link, const std::vector<NodeId>& ids, Millis now);
  void announce_neighbours(Millis now);  // to every kept link, when the set changed
  void handle_neighbours(Link& link, Neighbours& neighbours, Millis now);

  // engine_signaling.cpp: WebRTC signaling and "please dial me"
  void handle_signal(Link& link, const Signal& signal, Millis now);
  void handle_dial_request(Link& link, const DialRequest& request, Millis now);
  void ask_to_dial(const NodeId& peer, Millis now);
  void forget_old_dial_requests(Millis now);

  // engine_relay.cpp: links through a relay server (docs/protocol.md section 18)
  void emit_frame(Link& link, Bytes frame);
  void emit_close(Link& link, CloseCode code, const std::string& text);
  void handle_relay_open(Link& link, const RelayOpen& open, Millis now);
  void handle_relay_data(Link& link, RelayData& data, Millis now);
  void handle_relay_close(Link& link, const RelayClose& close, Millis now);
  void open_relay(const NodeId& peer, std::size_t candidate, Millis now);
  void relay_link_keys(Link& link);
  void relay_endpoint_gone(const Link& link, Millis now);
  void relay_maintenance(Millis now);
  std::optional<LinkId> relayed_link(LinkId via, const NodeId& far_end) const;

  // engine_operations.cpp: lookups, put, get, ping
  // `put` makes it a put's lookup (see PutPlan); on_done runs when it ends.
  void start_lookup(LookupOp::Kind kind, const NodeId& target, Millis now,
                    std::function<void(LookupOp&, Millis)> on_done, std::shared_ptr<PutPlan> put = nullptr);
  void drive_lookup(std::uint64_t op_id, Millis now);
  void finish_lookup(std::uint64_t op_id, Millis now);
  bool read_quorum_reached(const LookupOp& op, Millis now) const;
  void start_self_lookup(Millis now);
  void replicate(const NodeId& key, std::uint64_t seq, std::uint32_t ttl_seconds, Bytes value,
                 Millis now, std::function<void(const PutResult&)> done);
  // Sends the plan's Store to `target` (stores locally when it is this node);
  // on_reply, when set, also gets the reply (the lookup's, for a Store that is a query).
  void send_store(const std::shared_ptr<PutPlan>& plan, const Contact& target, Millis now,
                  std::function<void(const ReplyOutcome&, Millis)> on_reply = nullptr);
  void store_on_answered(LookupOp& op, Millis now);  // every answered node among the k closest has a Store
  void finish_put_if_complete(PutPlan& plan, Millis now);
  std::vector<Contact> lookup_result_with_self(const Lookup& lookup) const;
  std::vector<Contact> with_self(const NodeId& target, std::vector<Contact> result) const;
  bool lookup_succeeded(const LookupOp& op) const;
  std::vector<Contact> desired_links(Millis now) const;
  std::vector<Contact> nearest_link_candidates(Millis now) const;  // the nearest_link_quota nearest usable
  bool usable_for_kept_link(const Contact& c, Millis now) const;
  bool keep_refused(const NodeId& peer, Millis now) const;  // it demoted our kept link lately

  // engine_maintenance.cpp: timers, connection policy, keep-alive, health
  void maintenance(Millis now);
  void run_timers(Millis now);
  void apply_connection_policy(Millis now);
  void trim_kept_links();  // enforce max_links right away
  void dial_seeds(Millis now);
  Millis next_deadline() const;
  Millis link_deadline(const Link& link) const;  // kNever: none
  bool pings(const Link& link) const;            // this end sends keep-alive pings when idle
  Millis link_deadline(LinkId id) const;
  Millis request_deadline(LinkId link, std::uint32_t request_id) const;
  // A link's deadline may have moved earlier (new link, phase, kept, ping or
  // pending requests changed): index it again. Later moves need no call.
  void touch(LinkId id);
  void touch_all_links();
  void add_pending(LinkId link, std::uint32_t request_id, PendingRequest request);
  Status status(Millis now) const;
};

// Marks an input call; deferred API completions run when the outermost one returns,
// so a completion may call the engine again without re-entering half-done work.
class InputScope {
 public:
  explicit InputScope(Engine::Impl& impl) : impl_(impl) { ++impl_.input_depth; }
  ~InputScope() {
    if (--impl_.input_depth != 0) return;
    ++impl_.input_depth;
    for (std::size_t i = 0; i < impl_.completions.size(); ++i) {
      auto done = std::move(impl_.completions[i]);
      done();
    }
    impl_.completions.clear();
    --impl_.input_depth;
  }
  InputScope(const InputScope&) = delete;
  InputScope& operator=(const InputScope&) = delete;

 private:
  Engine::Impl& impl_;
};

}  // namespace yz
