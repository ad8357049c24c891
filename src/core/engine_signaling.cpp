// Engine: WebRTC signaling between WebRTC-capable peers (Signal/Ack), and
// "please dial me" (DialRequest) from nodes that cannot dial a browser.
// The core carries signaling opaquely: the shell's WebRTC transport writes
// and reads the SDP and ICE candidates (web/src/webrtc.ts). Who sent a Signal
// is proven by the link's handshake or by the routed message's signature.
#include "core/codec.hpp"
#include "core/engine_impl.hpp"

namespace yz {

void Engine::signal(const NodeId& peer, std::string data, Millis now, std::function<void(const SignalResult&)> done) {
  auto& s = *impl_;
  auto fail = [&done](std::string why) {
    SignalResult r;
    r.error = std::move(why);
    done(r);
  };
  if (s.stopped || !s.started) return fail("node is not running");
  if (!s.cfg.webrtc) return fail("WebRTC is not enabled on this node (EngineConfig::webrtc)");
  if (peer == s.self) return fail("cannot signal this node itself");
  if (data.empty() || data.size() > kMaxSignalLength) {
    return fail("signaling data of " + std::to_string(data.size()) + " bytes: it must hold 1 to " +
                std::to_string(kMaxSignalLength) + " bytes");
  }
  if (!is_valid_utf8(as_bytes(data))) return fail("signaling data is not valid UTF-8");
  InputScope scope(s);
  std::string path = "routed";
  auto finish = [&s, done, now](std::string path) {
    return [&s, done, now, path](const ReplyOutcome& outcome, Millis t) {
      SignalResult r;
      r.ok = outcome.reply && std::holds_alternative<Ack>(*outcome.reply);
      r.path = path;
      r.elapsed = t - now;
      if (!r.ok) r.error = outcome.error.empty() ? "unexpected reply to a signal" : outcome.error;
      s.completions.push_back([done, r] { done(r); });
    };
  };
  Signal message{0, std::move(data)};
  if (auto r = s.ready_by_peer.find(peer); r != s.ready_by_peer.end()) {
    if (s.cfg.metrics_enabled) ++s.metrics.routed.via_link;
    return s.request_on_link(s.links.at(r->second), std::move(message), now, finish("link"));
  }
  s.request_routed(peer, std::move(message), now, finish("routed"));
}

void Engine::Impl::handle_signal(Link& link, const Signal& signal, Millis now) {
  if (!cfg.webrtc) {
    return reply_error(link, signal.request_id, ErrorCode::not_supported,
                       "this " + std::string(role_name(cfg.role)) + " node does not open WebRTC DataChannels", now);
  }
  if (now - signal_window_at >= 1000) {
    signal_window_at = now;
    signals_in_window = 0;
  }
  if (++signals_in_window > kMaxSignalsPerSecond) {
    return reply_error(link, signal.request_id, ErrorCode::rate_limited,
                       "more than " + std::to_string(kMaxSignalsPerSecond) + " signaling messages per second",
                       now);
  }
  if (cfg.metrics_enabled) ++metrics.signals_received;
  actions.push_back(SignalReceived{link.peer, signal.data});
  send(link, Ack{signal.request_id}, now);
}

void Engine::Impl::handle_dial_request(Link& link, const DialRequest& request, Millis now) {
  auto decline = [&](ErrorCode code, const std::string& why) {
    if (cfg.metrics_enabled) ++metrics.dial_requests_declined;
    reply_error(link, request.request_id, code, why, now);
  };
  if (local_transports().listens) {
    return decline(ErrorCode::not_supported, "this node listens for links: dial it instead of asking it to dial");
  }
  ReachPlan plan = reach(Contact{link.peer, Role::dht, request.addresses});
  if (plan.how != ReachBy::dial) {
    return decline(ErrorCode::malformed, "none of the addresses in the dial request can be dialled from here");
  }
  if (ready_by_peer.count(link.peer) || dialing_by_peer.count(link.peer)) {
    send(link, Ack{request.request_id}, now);
    return;
  }
  forget_old_dial_requests(now);
  auto last = dial_requests_at.find(link.peer);
  bool recent = last != dial_requests_at.end() && now - last->second < kDialRequestInterval;
  std::size_t open_query_links = tally().unkept;
  if (recent || open_query_links >= cfg.max_query_links || dial_requests_at.size() >= kMaxDialRequestPeers) {
    return decline(ErrorCode::rate_limited, recent ? "this peer already asked to be dialled within the last minute"
                                                   : "no room for another link on this node");
  }
  dial_requests_at[link.peer] = now;
  if (cfg.metrics_enabled) ++metrics.dial_requests_honoured;
  dial(plan.address, link.peer, false, false, now);
  send(link, Ack{request.request_id}, now);
}

void Engine::Impl::forget_old_dial_requests(Millis now) {
  for (auto it = dial_requests_at.begin(); it != dial_requests_at.end();) {
    it = now - it->second >= kDialRequestInterval ? dial_requests_at.erase(it) : std::next(it);
  }
}

void Engine::Impl::ask_to_dial(const NodeId& peer, Millis now) {
  if (!cfg.routing || stopped) return;
  forget_old_dial_requests(now);
  if (dial_requests_at.count(peer) || dial_requests_at.size() >= kMaxDialRequestPeers) return;
  dial_requests_at[peer] = now;
  if (cfg.metrics_enabled) ++metrics.dial_requests_sent;
  std::vector<std::string> addresses;
  for (const auto& a : cfg.advertised_addresses) {
    if (!is_webrtc_address(a) && addresses.size() < kMaxAddresses) addresses.push_back(a);
  }
  request_routed(peer, DialRequest{0, std::move(addresses)}, now, [this, peer](const ReplyOutcome& outcome, Millis) {
    if (!outcome.reply || !std::holds_alternative<Ack>(*outcome.reply)) {
      log(LogLevel::debug, "asked " + peer.short_hex() + " to dial this node: " +
                               (outcome.error.empty() ? std::string("unexpected reply") : outcome.error));
    }
  });
}

}  // namespace yz
