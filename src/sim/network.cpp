// Discrete-event network: event loop, link model, partitions and node lifecycle.
#include "sim/network.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "core/codec.hpp"

namespace yz::sim {

namespace {

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  return mix(mix(mix(mix(a) ^ b) ^ c) ^ d);
}

// Trace record kinds (stable numbers: they feed the trace hash).
enum TraceKind : std::uint8_t {
  kTraceStart = 1,
  kTraceStop = 2,
  kTraceCrash = 3,
  kTraceTick = 4,
  kTraceAccept = 5,
  kTraceConnected = 6,
  kTraceDialFailed = 7,
  kTraceFrame = 8,
  kTraceClosed = 9,
  kTraceCall = 10,
  kTraceTask = 11,
};

bool dialable_role(Role role) { return role != Role::client && role != Role::browser; }

}  // namespace

Network::Network(NetworkConfig config)
    : config_(config),
      ahead_(config.crypto_ahead),
      crypto_(ahead_),
      random_(mix(config.seed, 0x6e6574, 0, 0)),
      scenario_random_(mix(config.seed, 0x7363656e, 0, 0)) {
  if (config_.latency_min < 0 || config_.latency_max < config_.latency_min) {
    throw std::invalid_argument("sim: latency range must satisfy 0 <= min <= max");
  }
  if (config_.loss < 0 || config_.loss >= 1 || config_.link_failure < 0 || config_.link_failure >= 1) {
    throw std::invalid_argument("sim: loss and link_failure must be probabilities below 1");
  }
}

Network::~Network() {
  // Engines first: they hold references to signers, randoms and the crypto.
  for (auto& slot : slots_) slot.engine.reset();
}

// ---- Nodes -------------------------------------------------------------------

SodiumSigner::Seed Network::identity_seed(NodeIndex node, std::uint32_t generation) const {
  SeededRandom random(mix(config_.seed, 0x6964, node, generation));
  SodiumSigner::Seed seed{};
  random.fill(seed.data(), seed.size());
  return seed;
}

NodeIndex Network::add_node(NodeSpec spec) {
  auto index = static_cast<NodeIndex>(slots_.size());
  Slot& slot = slots_.emplace_back();
  slot.spec = std::move(spec);
  slot.signer = make_signer(index, 0);
  return index;
}

std::unique_ptr<AheadSigner> Network::make_signer(NodeIndex node, std::uint32_t generation) {
  return std::make_unique<AheadSigner>(SodiumSigner::from_seed(identity_seed(node, generation)), ahead_);
}

NodeId Network::node_id(NodeIndex node) const {
  return node_id_of(crypto_, slots_[node].signer->public_key());
}

void Network::renew_identity(NodeIndex node) {
  Slot& slot = slots_[node];
  if (slot.engine) throw std::logic_error("sim: renew_identity on a running node");
  ++slot.identity_generation;
  slot.signer = make_signer(node, slot.identity_generation);
}

std::string Network::address_of(NodeIndex node) { return "sim://" + std::to_string(node); }

std::optional<NodeIndex> Network::parse_address(const std::string& address) {
  constexpr std::string_view prefix = "sim://";
  if (address.size() <= prefix.size() || address.size() > prefix.size() + 9) return std::nullopt;
  if (address.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = prefix.size(); i < address.size(); ++i) {
    char c = address[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return static_cast<NodeIndex>(value);
}

Millis Network::latency(NodeIndex a, NodeIndex b) const {
  if (a == b) return config_.latency_min;
  NodeIndex lo = std::min(a, b);
  NodeIndex hi = std::max(a, b);
  auto span = static_cast<std::uint64_t>(config_.latency_max - config_.latency_min + 1);
  return config_.latency_min + static_cast<Millis>(mix(config_.seed, 0x6c6174, lo, hi) % span);
}

void Network::start(NodeIndex node) {
  Slot& slot = slots_[node];
  if (slot.engine) throw std::logic_error("sim: start on a running node");
  ++slot.incarnation;
  EngineConfig config = slot.spec.config;
  if (config.advertised_addresses.empty() && dialable_role(config.role)) {
    config.advertised_addresses.push_back(address_of(node));
  }
  slot.random = std::make_unique<SeededRandom>(mix(config_.seed, 0x726e67, node, slot.incarnation));
  slot.engine = std::make_unique<Engine>(std::move(config), crypto_, *slot.signer, *slot.random);
  slot.started_at = now_;
  slot.tick_at = kNever;
  ++stats_.node_starts;
  trace_.add_u64(kTraceStart);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(node);
  slot.engine->start(now_);
  after_input(node, false);
}

void Network::leave(NodeIndex node) { take_down(node, true); }
void Network::crash(NodeIndex node) { take_down(node, false); }

void Network::take_down(NodeIndex node, bool graceful) {
  Slot& slot = slots_[node];
  if (!slot.engine) return;
  trace_.add_u64(graceful ? kTraceStop : kTraceCrash);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(node);
  if (graceful) {
    ++stats_.node_leaves;
    slot.engine->stop(now_);
    auto actions = slot.engine->take_actions();
    for (auto& action : actions) handle(node, action);
  } else {
    ++stats_.node_crashes;
  }
  // Ends the engine left open: FIN (leave), or per crash_close_delay (crash).
  std::vector<std::uint64_t> serials = slot.links;
  for (std::uint64_t serial : serials) {
    auto it = links_.find(serial);
    if (it == links_.end()) continue;
    for (int side = 0; side < 2; ++side) {
      SimLink& link = it->second;
      End& end = link.end[side];
      if (end.node != node || !end.open) continue;
      detach(link, side);
      int other = 1 - side;
      if (!link.end[other].open) continue;
      if (graceful) {
        enqueue(serial, other, Item{0, true, CloseCause::peer_left, false, {}}, now_ + link.latency);
      } else if (config_.crash_close_delay == 0) {
        enqueue(serial, other, Item{0, true, CloseCause::peer_reset, false, {}}, now_ + link.latency);
      } else if (config_.crash_close_delay > 0) {
        enqueue(serial, other, Item{0, true, CloseCause::peer_timeout, true, {}},
                now_ + config_.crash_close_delay);
      }
    }
    maybe_erase(serial);
  }
  slot.links.clear();
  slot.engine.reset();
  slot.random.reset();
  slot.tick_at = kNever;
}

void Network::call(NodeIndex node, const std::function<void(Engine&, Millis)>& fn) {
  Slot& slot = slots_[node];
  if (!slot.engine) return;
  trace_.add_u64(kTraceCall);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(node);
  fn(*slot.engine, now_);
  after_input(node, false);
}

// ---- Partitions ---------------------------------------------------------------

void Network::set_groups(std::vector<std::uint8_t> group_of_node) {
  group_of_node.resize(slots_.size(), 0);
  partitioned_ = false;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].group = group_of_node[i];
    if (group_of_node[i] != group_of_node[0]) partitioned_ = true;
  }
  unblock_all();
}

void Network::heal() { set_groups({}); }

bool Network::cut(NodeIndex a, NodeIndex b) const {
  return partitioned_ && slots_[a].group != slots_[b].group;
}

void Network::unblock_all() {
  std::vector<std::pair<std::uint64_t, int>> still;
  for (auto [serial, dir] : blocked_) {
    auto it = links_.find(serial);
    if (it == links_.end()) continue;
    SimLink& link = it->second;
    Direction& direction = link.dir[dir];
    if (!direction.blocked) continue;
    if (cut(link.end[0].node, link.end[1].node)) {
      still.emplace_back(serial, dir);
      continue;
    }
    direction.blocked = false;
    ++stats_.links_held_at_heal;
    // Held traffic resumes one latency after the heal, still in order.
    Millis t = now_ + link.latency;
    for (std::size_t i = direction.head; i < direction.items.size(); ++i) {
      Item& item = direction.items[i];
      item.arrive = std::max(item.arrive, t);
      t = item.arrive;
      push(Event{item.arrive, 0, serial, 0, 0, EventKind::deliver, static_cast<std::uint8_t>(dir)});
    }
    direction.last_arrive = std::max(direction.last_arrive, t);
  }
  blocked_ = std::move(still);
}

// ---- Time ---------------------------------------------------------------------

void Network::push(Event event) {
  event.seq = next_seq_++;
  queue_.push(event);
  stats_.peak_queued_events = std::max(stats_.peak_queued_events, queue_.size());
}

void Network::at(Millis time, std::function<void()> task) {
  std::uint64_t id = next_task_++;
  tasks_.emplace(id, std::move(task));
  push(Event{std::max(time, now_), 0, id, 0, 0, EventKind::task, 0});
}

void Network::run_until(Millis until) {
  while (!queue_.empty() && queue_.top().time <= until) {
    Event event = queue_.top();
    queue_.pop();
    now_ = event.time;
    ++stats_.events;
    dispatch(event);
  }
  if (until > now_) now_ = until;
}

void Network::dispatch(const Event& event) {
  switch (event.kind) {
    case EventKind::tick: on_tick(event); break;
    case EventKind::task: run_task(event); break;
    case EventKind::syn: on_syn(event); break;
    case EventKind::syn_ack: on_syn_ack(event); break;
    case EventKind::dial_failed: on_dial_failed(event); break;
    case EventKind::deliver: on_deliver(event); break;
  }
}

void Network::run_task(const Event& event) {
  auto it = tasks_.find(event.ref);
  if (it == tasks_.end()) return;
  std::function<void()> task = std::move(it->second);
  tasks_.erase(it);
  trace_.add_u64(kTraceTask);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  task();
}

void Network::on_tick(const Event& event) {
  Slot& slot = slots_[event.node];
  if (!slot.engine || slot.incarnation != event.incarnation || slot.tick_at != event.time) return;
  slot.tick_at = kNever;
  ++stats_.ticks;
  trace_.add_u64(kTraceTick);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(event.node);
  slot.engine->tick(now_);
  after_input(event.node, true);
}

// ---- Engine outputs -------------------------------------------------------------

void Network::after_input(NodeIndex node, bool ticked) {
  Slot& slot = slots_[node];
  if (!slot.engine) return;
  auto actions = slot.engine->take_actions();
  for (auto& action : actions) handle(node, action);
  Millis deadline = slot.engine->next_deadline();
  if (deadline != kNever && deadline <= now_) {
    if (ticked) {
      // The engine asked to be ticked again at a time it was just ticked at.
      ++stats_.deadline_in_past;
      deadline = now_ + 1;
    } else {
      deadline = now_;
    }
  }
  if (deadline == slot.tick_at) return;
  slot.tick_at = deadline;
  if (deadline != kNever) push(Event{deadline, 0, 0, node, slot.incarnation, EventKind::tick, 0});
}

void Network::handle(NodeIndex node, Action& action) {
  if (auto* send = std::get_if<SendFrame>(&action)) {
    on_send(node, *send);
  } else if (auto* dial = std::get_if<DialAddress>(&action)) {
    on_dial(node, *dial);
  } else if (auto* close = std::get_if<CloseLink>(&action)) {
    on_close(node, *close);
  } else if (auto* line = std::get_if<LogLine>(&action)) {
    if (line->level == LogLevel::warn) ++stats_.warn_lines;
    if (log_sink_) log_sink_(node, now_, line->level, line->text);
  }
}

Millis Network::loss_delay() {
  if (config_.loss <= 0) return 0;
  Millis delay = 0;
  Millis rto = config_.retransmit_timeout;
  for (int i = 0; i < 8; ++i) {
    double u = static_cast<double>(random_.next_u64() >> 11) * 0x1.0p-53;
    if (u >= config_.loss) break;
    delay += rto;
    rto *= 2;
  }
  if (delay > 0) ++stats_.frames_delayed_by_loss;
  return delay;
}

void Network::on_send(NodeIndex node, SendFrame& send) {
  auto key = link_of_.find(LinkKey{node, send.link});
  if (key == link_of_.end()) {
    ++stats_.send_on_unknown_link;
    return;
  }
  std::uint64_t serial = key->second >> 1;
  int side = static_cast<int>(key->second & 1);
  SimLink& link = links_.at(serial);
  if (!link.end[1].attached || (side == 0 && !link.connected)) {
    ++stats_.send_before_connected;
    return;
  }
  ++stats_.frames_sent;
  stats_.bytes_sent += send.frame.size();
  int toward = 1 - side;
  if (link.broken || !link.end[toward].open) {
    ++stats_.frames_dropped;
    return;
  }
  if (config_.link_failure > 0) {
    double u = static_cast<double>(random_.next_u64() >> 11) * 0x1.0p-53;
    if (u < config_.link_failure) {
      break_link(serial);
      return;
    }
  }
  hint_handshake(link, side, send.frame);
  Millis arrive = now_ + link.latency + loss_delay();
  enqueue(serial, toward, Item{0, false, CloseCause::peer_closed, false, std::move(send.frame)}, arrive);
}

// Both Hellos on the wire: each end will sign auth_payload(peer nonce,
// SHA-256(own Hello)); an Auth on the wire: its receiver will verify it
// (docs/protocol.md section 8). Each Hello is decoded and hashed once, here;
// frames that do not decode are left to the engines.
void Network::hint_handshake(SimLink& link, int side, BytesView frame) {
  HelloSeen& own = link.hello[side];
  if (!config_.crypto_ahead || frame.empty() || own.auth_sent) return;
  HelloSeen& peer = link.hello[1 - side];
  auto type = static_cast<MessageType>(frame[0]);
  if (type == MessageType::hello && !own.seen) {
    auto decoded = decode(frame);
    const Hello* hello = decoded ? std::get_if<Hello>(&decoded.value()) : nullptr;
    if (!hello) return;
    own = HelloSeen{true, false, hello->public_key, hello->nonce, crypto_.sha256(frame)};
    if (!peer.seen) return;
    for (int e = 0; e < 2; ++e) {
      const Slot& slot = slots_[link.end[e].node];
      if (!slot.signer || slot.signer->public_key() != link.hello[e].key) continue;
      ahead_.sign_ahead(slot.signer->inner(), auth_payload(link.hello[1 - e].nonce, link.hello[e].hash));
    }
  } else if (type == MessageType::auth && own.seen && peer.seen) {
    own.auth_sent = true;
    auto decoded = decode(frame);
    if (const Auth* auth = decoded ? std::get_if<Auth>(&decoded.value()) : nullptr) {
      ahead_.verify_ahead(own.key, auth_payload(peer.nonce, own.hash), auth->signature);
    }
  }
}

void Network::enqueue(std::uint64_t serial, int toward, Item item, Millis earliest) {
  SimLink& link = links_.at(serial);
  Direction& direction = link.dir[toward];
  item.arrive = std::max(earliest, direction.last_arrive);
  direction.last_arrive = item.arrive;
  Millis arrive = item.arrive;
  direction.items.push_back(std::move(item));
  push(Event{arrive, 0, serial, 0, 0, EventKind::deliver, static_cast<std::uint8_t>(toward)});
}

void Network::break_link(std::uint64_t serial) {
  SimLink& link = links_.at(serial);
  link.broken = true;
  ++stats_.links_broken;
  for (int side = 0; side < 2; ++side) {
    if (link.end[side].open) {
      enqueue(serial, side, Item{0, true, CloseCause::link_broken, true, {}}, now_ + link.latency);
    }
  }
}

void Network::on_dial(NodeIndex node, const DialAddress& dial) {
  Slot& slot = slots_[node];
  std::uint64_t serial = next_serial_++;
  SimLink& link = links_[serial];
  link.serial = serial;
  link.end[0] = End{node, slot.incarnation, dial.link, true, true};
  link.dial_started = now_;
  ++stats_.dials;
  if (!link_of_.emplace(LinkKey{node, dial.link}, serial << 1).second) {
    // The engine reused a link id that is still open: report, keep the old one.
    ++stats_.reused_link_ids;
    links_.erase(serial);
    return;
  }
  slot.links.push_back(serial);
  stats_.open_links = links_.size();
  stats_.peak_open_links = std::max(stats_.peak_open_links, stats_.open_links);
  auto target = parse_address(dial.address);
  if (!target || *target >= slots_.size()) {
    link.target = node;
    link.latency = config_.latency_max;
    push(Event{now_ + config_.dial_timeout, 0, serial, 0, 0, EventKind::dial_failed, 0});
    return;
  }
  link.target = *target;
  link.latency = latency(node, *target);
  push(Event{now_ + link.latency + loss_delay(), 0, serial, 0, 0, EventKind::syn, 0});
}

void Network::on_syn(const Event& event) {
  auto it = links_.find(event.ref);
  if (it == links_.end()) return;
  SimLink& link = it->second;
  if (!link.end[0].open) return;
  NodeIndex dialer = link.end[0].node;
  NodeIndex target = link.target;
  Slot& to = slots_[target];
  Millis timeout_at = std::max(now_, link.dial_started + config_.dial_timeout);
  if (cut(dialer, target)) {
    push(Event{timeout_at, 0, event.ref, 0, 0, EventKind::dial_failed, 0});
    return;
  }
  if (!to.engine) {
    bool refused = config_.refuse_when_down && dialable_role(to.spec.config.role);
    push(Event{refused ? now_ + link.latency : timeout_at, 0, event.ref, 0, 0, EventKind::dial_failed,
               static_cast<std::uint8_t>(refused ? 1 : 0)});
    return;
  }
  const auto& listening = to.engine->config().advertised_addresses;
  if (std::find(listening.begin(), listening.end(), address_of(target)) == listening.end()) {
    push(Event{timeout_at, 0, event.ref, 0, 0, EventKind::dial_failed, 0});
    return;
  }
  trace_.add_u64(kTraceAccept);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(dialer);
  trace_.add_u64(target);
  std::string remote = address_of(dialer) + ":" + std::to_string(event.ref);
  LinkId id = to.engine->link_accepted(std::move(remote), now_);
  // link_accepted never closes links, so `link` is still valid here.
  link.end[1] = End{target, to.incarnation, id, true, true};
  if (!link_of_.emplace(LinkKey{target, id}, (event.ref << 1) | 1).second) ++stats_.reused_link_ids;
  to.links.push_back(event.ref);
  ++stats_.links_established;
  // SYN-ACK first, so it reaches the dialer before anything the acceptor sends.
  push(Event{now_ + link.latency, 0, event.ref, 0, 0, EventKind::syn_ack, 0});
  after_input(target, false);
}

void Network::on_syn_ack(const Event& event) {
  auto it = links_.find(event.ref);
  if (it == links_.end()) return;
  SimLink& link = it->second;
  if (!link.end[0].open) return;
  link.connected = true;
  NodeIndex dialer = link.end[0].node;
  trace_.add_u64(kTraceConnected);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(dialer);
  trace_.add_u64(link.end[1].node);
  slots_[dialer].engine->link_connected(link.end[0].id, now_);
  after_input(dialer, false);
}

void Network::on_dial_failed(const Event& event) {
  auto it = links_.find(event.ref);
  if (it == links_.end()) return;
  SimLink& link = it->second;
  if (!link.end[0].open) return;
  NodeIndex dialer = link.end[0].node;
  LinkId id = link.end[0].id;
  std::string reason = event.dir == 1 ? "sim: connection refused by " + address_of(link.target)
                                      : "sim: no route to " + address_of(link.target);
  detach(link, 0);
  ++stats_.dials_failed;
  trace_.add_u64(kTraceDialFailed);
  trace_.add_u64(static_cast<std::uint64_t>(now_));
  trace_.add_u64(dialer);
  maybe_erase(event.ref);
  slots_[dialer].engine->link_closed(id, std::move(reason), now_);
  after_input(dialer, false);
}

void Network::on_close(NodeIndex node, const CloseLink& close) {
  auto key = link_of_.find(LinkKey{node, close.link});
  if (key == link_of_.end()) return;  // already closed: closing is idempotent
  std::uint64_t serial = key->second >> 1;
  int side = static_cast<int>(key->second & 1);
  SimLink& link = links_.at(serial);
  detach(link, side);
  int other = 1 - side;
  if (link.end[other].open) {
    enqueue(serial, other, Item{0, true, CloseCause::peer_closed, false, {}}, now_ + link.latency);
  }
  maybe_erase(serial);
}

void Network::detach(SimLink& link, int side) {
  End& end = link.end[side];
  if (!end.open) return;
  end.open = false;
  link_of_.erase(LinkKey{end.node, end.id});
  // Nothing more reaches this end: free what was travelling toward it.
  Direction& direction = link.dir[side];
  direction.items.clear();
  direction.items.shrink_to_fit();
  direction.head = 0;
  auto& list = slots_[end.node].links;
  auto pos = std::find(list.begin(), list.end(), link.serial);
  if (pos != list.end()) list.erase(pos);
}

void Network::maybe_erase(std::uint64_t serial) {
  auto it = links_.find(serial);
  if (it == links_.end()) return;
  if (it->second.end[0].open || it->second.end[1].open) return;
  links_.erase(it);
  stats_.open_links = links_.size();
}

std::string Network::cause_text(CloseCause cause, NodeIndex peer) {
  switch (cause) {
    case CloseCause::peer_closed: return "sim: " + address_of(peer) + " closed the link";
    case CloseCause::peer_left: return "sim: " + address_of(peer) + " went away";
    case CloseCause::peer_reset: return "sim: connection reset by " + address_of(peer);
    case CloseCause::peer_timeout: return "sim: " + address_of(peer) + " stopped answering (transport timeout)";
    case CloseCause::link_broken: return "sim: link to " + address_of(peer) + " broke";
  }
  return "sim: link closed";
}

void Network::on_deliver(const Event& event) {
  const int toward = event.dir;
  for (;;) {
    auto it = links_.find(event.ref);
    if (it == links_.end()) return;
    SimLink& link = it->second;
    Direction& direction = link.dir[toward];
    if (direction.empty() || direction.items[direction.head].arrive > now_) return;
    End& dst = link.end[toward];
    NodeIndex src = link.end[1 - toward].node;
    if (!dst.open) {
      stats_.frames_dropped += direction.items.size() - direction.head;
      direction.items.clear();
      direction.head = 0;
      return;
    }
    Item& head = direction.items[direction.head];
    if (!head.local && cut(src, dst.node)) {
      if (!direction.blocked) {
        direction.blocked = true;
        blocked_.emplace_back(event.ref, toward);
      }
      return;
    }
    Item item = std::move(head);
    ++direction.head;
    if (direction.empty()) {
      direction.items.clear();
      direction.head = 0;
    }
    NodeIndex node = dst.node;
    LinkId id = dst.id;
    Engine& engine = *slots_[node].engine;
    if (item.close) {
      detach(link, toward);
      maybe_erase(event.ref);
      trace_.add_u64(kTraceClosed);
      trace_.add_u64(static_cast<std::uint64_t>(now_));
      trace_.add_u64(src);
      trace_.add_u64(node);
      engine.link_closed(id, cause_text(item.cause, src), now_);
      after_input(node, false);
      return;
    }
    ++stats_.frames_delivered;
    trace_.add_u64(kTraceFrame);
    trace_.add_u64(static_cast<std::uint64_t>(now_));
    trace_.add_u64(src);
    trace_.add_u64(node);
    trace_.add_bytes(item.frame);
    if (frame_tap_) frame_tap_(src, node, now_, item.frame);
    if (item.frame.size() > kMaxFrameSize) {
      engine.frame_too_large(id, item.frame.size(), now_);
    } else {
      engine.frame_received(id, item.frame, now_);
    }
    after_input(node, false);
  }
}

}  // namespace yz::sim
