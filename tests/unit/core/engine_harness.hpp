// Test harness: a few engines wired by an in-memory, ordered, fixed-latency
// network with a manual clock. Small and deterministic; the full-scale
// simulator lives in src/sim.
#pragma once
#include <deque>
#include <stdexcept>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.hpp"
#include "core/engine.hpp"
#include "crypto/sodium_crypto.hpp"

namespace yz::test {

class Harness {
 public:
  struct Node {
    std::unique_ptr<SodiumSigner> signer;
    std::unique_ptr<SeededRandom> random;
    std::unique_ptr<Engine> engine;
    std::string address;
    bool up = true;
    std::vector<std::string> logs;
    std::vector<SignalReceived> signals;  // signaling the engine handed to this shell
    int webrtc_dials = 0;                 // webrtc: dials this shell was asked to open
    bool capture = false;                 // keep every frame this node sends in frames_out
    std::vector<Bytes> frames_out;
  };
  bool webrtc_works = true;  // false: ICE never succeeds, every WebRTC dial fails
  Millis webrtc_fails_at = 0;  // with webrtc_works false: failed dials are reported no earlier than this

  explicit Harness(Millis latency = 5) : latency_(latency) {}

  // Adds a node listening at "mem://<index>"; seeds are addresses.
  Node& add(Role role, std::vector<std::string> seeds, EngineConfig config = {}) {
    auto index = nodes_.size();
    auto node = std::make_unique<Node>();
    SodiumSigner::Seed seed{};
    seed[0] = static_cast<std::uint8_t>(index);
    seed[1] = static_cast<std::uint8_t>(index >> 8);
    seed[31] = 0x5a;
    node->signer = std::make_unique<SodiumSigner>(SodiumSigner::from_seed(seed));
    node->random = std::make_unique<SeededRandom>(1000 + index);
    node->address = "mem://" + std::to_string(index);
    config.role = role;
    config.seeds = std::move(seeds);
    if (role != Role::client && role != Role::browser) config.advertised_addresses = {node->address};
    node->engine = std::make_unique<Engine>(config, crypto_, *node->signer, *node->random);
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }
  Node& operator[](std::size_t i) { return *nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  Millis now() const { return now_; }

  void start(std::size_t i) {
    nodes_[i]->engine->start(now_);
    pump(i);
  }
  void crash(std::size_t i) {
    nodes_[i]->up = false;
    for (auto& [key, end] : ends_) {
      if (key.first == i) schedule(now_ + latency_, [this, peer = end.peer, peer_link = end.peer_link] {
          nodes_[peer]->engine->link_closed(peer_link, "connection reset", now_);
          pump(peer);
        });
    }
  }

  // Runs events and ticks until `until` (absolute ms).
  void run_until(Millis until) {
    Millis last = -1;
    int same_time_steps = 0;
    while (true) {
      Millis next = until;
      if (!events_.empty()) next = std::min(next, events_.begin()->first.first);
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i]->up) next = std::min(next, nodes_[i]->engine->next_deadline());
      }
      if (next > until) break;
      now_ = std::max(now_, next);
      same_time_steps = now_ == last ? same_time_steps + 1 : 0;
      last = now_;
      if (same_time_steps > 100'000) throw std::runtime_error("harness: livelock, time stuck at " + std::to_string(now_));
      if (!events_.empty() && events_.begin()->first.first <= now_) {
        auto fn = std::move(events_.begin()->second);
        events_.erase(events_.begin());
        fn();
        continue;
      }
      bool worked = false;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i]->up && nodes_[i]->engine->next_deadline() <= now_) {
          nodes_[i]->engine->tick(now_);
          pump(i);
          worked = true;
        }
      }
      if (!worked) break;
    }
    now_ = until;
  }
  void run_for(Millis ms) { run_until(now_ + ms); }

  // Takes node i's pending actions; the Error it sent when that was its only
  // action (a reply to a frame a test injected), else nothing.
  std::optional<Error> sole_error_reply(std::size_t i) {
    auto actions = nodes_[i]->engine->take_actions();
    if (actions.size() != 1) return std::nullopt;
    auto* send = std::get_if<SendFrame>(&actions.front());
    if (!send) return std::nullopt;
    auto reply = decode(send->frame);
    if (!reply.ok()) return std::nullopt;
    auto* error = std::get_if<Error>(&reply.value());
    return error ? std::optional<Error>(*error) : std::nullopt;
  }

  // Raw frame injection for bad-input tests: frames sent by node i on link.
  std::vector<Bytes> sent_frames;

  void pump(std::size_t i) {
    auto& node = *nodes_[i];
    for (auto& action : node.engine->take_actions()) {
      if (auto* send = std::get_if<SendFrame>(&action)) {
        if (node.capture) node.frames_out.push_back(send->frame);
        auto it = ends_.find({i, send->link});
        if (it == ends_.end()) continue;
        auto end = it->second;
        schedule(now_ + latency_, [this, end, frame = std::move(send->frame)] {
          if (!nodes_[end.peer]->up) return;
          if (ends_.find({end.peer, end.peer_link}) == ends_.end()) return;
          nodes_[end.peer]->engine->frame_received(end.peer_link, frame, now_);
          pump(end.peer);
        });
      } else if (auto* dial = std::get_if<DialAddress>(&action); dial && dial->address.rfind("webrtc:", 0) == 0) {
        ++node.webrtc_dials;
        dial_webrtc(i, dial->link, dial->address.substr(7));
      } else if (auto* signal = std::get_if<SignalReceived>(&action)) {
        node.signals.push_back(*signal);
        answer_webrtc(i, *signal);
      } else if (auto* dial = std::get_if<DialAddress>(&action)) {
        std::size_t target = std::stoul(dial->address.substr(6));
        LinkId link = dial->link;
        schedule(now_ + latency_, [this, i, target, link] {
          if (target >= nodes_.size() || !nodes_[target]->up) {
            nodes_[i]->engine->link_closed(link, "connection refused", now_);
            pump(i);
            return;
          }
          LinkId remote = nodes_[target]->engine->link_accepted(nodes_[i]->address, now_);
          ends_[{i, link}] = End{target, remote};
          ends_[{target, remote}] = End{i, link};
          nodes_[i]->engine->link_connected(link, now_);
          pump(target);
          pump(i);
        });
      } else if (auto* close = std::get_if<CloseLink>(&action)) {
        auto it = ends_.find({i, close->link});
        if (it == ends_.end()) continue;
        auto end = it->second;
        // Frames already sent are delivered first (same latency, earlier sequence).
        schedule(now_ + latency_, [this, i, link = close->link, end, code = close->code] {
          ends_.erase({i, link});
          if (ends_.erase({end.peer, end.peer_link}) == 0) return;
          nodes_[end.peer]->engine->link_closed(end.peer_link, "closed with " + std::to_string(int(code)), now_);
          pump(end.peer);
        });
      } else if (auto* log = std::get_if<LogLine>(&action)) {
        node.logs.push_back(log->text);
      }
    }
  }

  // The in-memory WebRTC transport: the dialer sends "offer <link>" through
  // the engine's signaling, the peer answers "answer <link>", and when the
  // answer arrives the channel opens on both sides (the peer accepts the link
  // as "webrtc:<dialer id>"). Signaling failure fails the dial with its reason.
  void dial_webrtc(std::size_t i, LinkId link, const std::string& peer_hex) {
    auto peer = NodeId::from_hex(peer_hex);
    if (!peer) return fail_dial(i, link, "webrtc: bad id " + peer_hex);
    nodes_[i]->engine->signal(*peer, "offer " + std::to_string(link), now_, [this, i, link](const SignalResult& r) {
      if (!r.ok) fail_dial(i, link, "webrtc signaling failed: " + r.error);
    });
    pump(i);
  }
  void answer_webrtc(std::size_t i, const SignalReceived& signal) {
    auto from = index_of(signal.from);
    if (!from) return;
    if (signal.data.rfind("offer ", 0) == 0) {
      nodes_[i]->engine->signal(signal.from, "answer " + signal.data.substr(6), now_, [](const SignalResult&) {});
      schedule(now_, [this, i] { pump(i); });
    } else if (signal.data.rfind("answer ", 0) == 0) {
      LinkId link = std::stoull(signal.data.substr(7));
      std::size_t dialer = i, acceptor = *from;
      if (!webrtc_works) {
        return fail_dial(dialer, link, "WebRTC: no ICE candidate pair succeeded", std::max(now_, webrtc_fails_at));
      }
      schedule(now_ + latency_, [this, dialer, acceptor, link] {
        if (!nodes_[acceptor]->up || !nodes_[dialer]->up) return;
        LinkId remote =
            nodes_[acceptor]->engine->link_accepted("webrtc:" + nodes_[dialer]->engine->id().hex(), now_);
        ends_[{dialer, link}] = End{acceptor, remote};
        ends_[{acceptor, remote}] = End{dialer, link};
        nodes_[dialer]->engine->link_connected(link, now_);
        pump(acceptor);
        pump(dialer);
      });
    }
  }
  std::optional<std::size_t> index_of(const NodeId& id) const {
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (nodes_[j]->engine->id() == id) return j;
    }
    return std::nullopt;
  }

 private:
  void fail_dial(std::size_t i, LinkId link, std::string why, Millis at = 0) {
    schedule(std::max(at, now_), [this, i, link, why] {
      nodes_[i]->engine->link_closed(link, why, now_);
      pump(i);
    });
  }
  struct End {
    std::size_t peer;
    LinkId peer_link;
  };
  void schedule(Millis at, std::function<void()> fn) { events_.emplace(std::make_pair(at, seq_++), std::move(fn)); }

  SodiumCrypto crypto_;
  Millis latency_;
  Millis now_ = 1'000'000;
  std::uint64_t seq_ = 0;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::pair<std::size_t, LinkId>, End> ends_;
  std::map<std::pair<Millis, std::uint64_t>, std::function<void()>> events_;
};

}  // namespace yz::test
