// JSON and Prometheus renderings of engine status, results and metrics for the
// HTTP API, and the request-target parsing it needs.
#include "net/api_json.hpp"

#include <fmt/format.h>

#include <string>

#include "core/protocol.hpp"

namespace yz::net {

using nlohmann::json;

namespace {

Millis age(Millis now, Millis at) { return at < 0 ? 0 : std::max<Millis>(0, now - at); }

json nullable_age(Millis now, Millis at) { return at < 0 ? json(nullptr) : json(age(now, at)); }

json counters_json(const DirectionCounters& c) { return json{{"messages", c.messages}, {"bytes", c.bytes}}; }

std::string close_name(std::size_t index) {
  auto name = close_code_name(static_cast<CloseCode>(4000 + index));
  return std::string(name == "unknown_close_code" ? "unknown" : name);
}

class PromWriter {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    out_ += labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ += labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string type_label(std::size_t index) {
  return index < kMessageTypeCount ? std::string(message_type_name(message_type_at(index))) : "unknown";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

json error_json(std::string_view message) { return json{{"ok", false}, {"error", std::string(message)}}; }

std::string json_text(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json contact_json(const Contact& contact) {
  return json{{"id", contact.id.hex()},
              {"role", std::string(role_name(contact.role))},
              {"addresses", contact.addresses.list()}};
}

json health_json(const Status& status, const EngineConfig& config, Millis now) {
  json refusals = json::array();
  for (const auto& r : status.recent_refusals) {
    refusals.push_back(json{{"age_ms", age(now, r.at)},
                            {"peer", r.peer},
                            {"code", static_cast<int>(r.code)},
                            {"code_name", std::string(close_code_name(r.code))},
                            {"reason", r.reason}});
  }
  return json{
      {"healthy", status.healthy},
      {"reasons", status.reasons},
      {"role", std::string(role_name(status.role))},
      {"id", status.id.hex()},
      {"build_id", status.build_id},
      {"protocol", json{{"min", config.version_min}, {"max", config.version_max}}},
      {"uptime_s", age(now, status.started_at) / 1000},
      {"links", status.links},
      {"query_links", status.query_links},
      {"routing_table_size", status.routing_table_size},
      {"stored_values", status.stored_values},
      {"stored_bytes", status.stored_bytes},
      {"last_lookup_age_ms", nullable_age(now, status.last_lookup_ok_at)},
      {"last_self_lookup_ok", status.last_self_lookup_ok},
      {"refusals", refusals},
  };
}

json peers_json(const Status& status, const std::vector<RoutingEntry>& routing, Millis now) {
  json links = json::array();
  for (const auto& l : status.link_list) {
    Millis last = l.last_frame_at > 0 ? l.last_frame_at : l.opened_at;
    links.push_back(json{{"link", l.link},
                         {"peer", l.ready ? l.peer.hex() : std::string()},
                         {"role", l.ready ? std::string(role_name(l.role)) : std::string()},
                         {"outbound", l.outbound},
                         {"ready", l.ready},
                         {"kept", l.kept},
                         {"address", l.address},
                         {"build_id", l.build_id},
                         {"version", l.version},
                         {"age_ms", age(now, l.opened_at)},
                         {"idle_ms", age(now, last)},
                         {"in", counters_json(l.in)},
                         {"out", counters_json(l.out)}});
  }
  json table = json::array();
  for (const auto& e : routing) {
    table.push_back(json{{"id", e.contact.id.hex()},
                         {"role", std::string(role_name(e.contact.role))},
                         {"addresses", e.contact.addresses.list()},
                         {"last_seen_age_ms", age(now, e.last_seen)},
                         {"failures", e.failures}});
  }
  return json{{"links", links}, {"routing_table", table}};
}

json lookup_json(const LookupResult& result, const NodeId& target) {
  json closest = json::array();
  for (const auto& c : result.closest) closest.push_back(contact_json(c));
  return json{{"ok", result.ok},         {"error", result.error},       {"target", target.hex()},
              {"closest", closest},      {"hops", result.hops},         {"requests", result.requests},
              {"failures", result.failures}, {"elapsed_ms", result.elapsed}};
}

json put_json(const PutResult& result) {
  return json{{"ok", result.ok},
              {"error", result.error},
              {"key", result.key.hex()},
              {"seq", result.seq},
              {"replicas_acked", result.replicas_acked},
              {"replicas_tried", result.replicas_tried},
              {"refusals", result.refusals},
              {"elapsed_ms", result.elapsed}};
}

json get_json(const GetResult& result) {
  std::string text = to_string(result.value);
  json value = result.found && is_valid_utf8(text) ? json(text) : json(nullptr);
  return json{{"ok", result.ok},
              {"found", result.found},
              {"error", result.error},
              {"key", result.key.hex()},
              {"value", value},
              {"value_base64", result.found ? base64_encode(result.value) : std::string()},
              {"seq", result.seq},
              {"hops", result.hops},
              {"requests", result.requests},
              {"repaired", result.repaired},
              {"elapsed_ms", result.elapsed}};
}

json ping_json(const PingResult& result) {
  return json{{"ok", result.ok}, {"error", result.error}, {"rtt_ms", result.rtt}};
}

std::string prometheus_text(const Metrics& m, const Status& status, bool metrics_enabled, Millis now) {
  PromWriter w;
  w.family("yz_metrics_enabled", "gauge", "1 when message counters are kept (off with --no-metrics: counters stay 0).");
  w.sample("yz_metrics_enabled", "", std::uint64_t{metrics_enabled ? 1u : 0u});
  w.family("yz_uptime_seconds", "gauge", "Seconds since the node started.");
  w.sample("yz_uptime_seconds", "", static_cast<std::uint64_t>(age(now, status.started_at) / 1000));
  w.family("yz_links", "gauge", "Open links: kept = ready links held by the connection policy, query = all others.");
  w.sample("yz_links", "kind=\"kept\"", std::uint64_t{status.links});
  w.sample("yz_links", "kind=\"query\"", std::uint64_t{status.query_links});
  w.family("yz_routing_table_size", "gauge", "Contacts in the routing table.");
  w.sample("yz_routing_table_size", "", std::uint64_t{status.routing_table_size});
  w.family("yz_stored_values", "gauge", "Values held by this node.");
  w.sample("yz_stored_values", "", std::uint64_t{status.stored_values});
  w.family("yz_stored_bytes", "gauge", "Bytes of values held by this node.");
  w.sample("yz_stored_bytes", "", std::uint64_t{status.stored_bytes});

  w.family("yz_messages_total", "counter", "Protocol messages by direction and message type.");
  for (const char* direction : {"in", "out"}) {
    const auto& counters = std::string_view(direction) == "in" ? m.in : m.out;
    for (std::size_t i = 0; i < counters.size(); ++i) {
      w.sample("yz_messages_total", fmt::format("direction=\"{}\",type=\"{}\"", direction, type_label(i)),
               counters[i].messages);
    }
  }
  w.family("yz_bytes_total", "counter", "Frame bytes by direction and message type.");
  for (const char* direction : {"in", "out"}) {
    const auto& counters = std::string_view(direction) == "in" ? m.in : m.out;
    for (std::size_t i = 0; i < counters.size(); ++i) {
      w.sample("yz_bytes_total", fmt::format("direction=\"{}\",type=\"{}\"", direction, type_label(i)),
               counters[i].bytes);
    }
  }
  w.family("yz_decode_errors_total", "counter", "Frames that failed to decode.");
  w.sample("yz_decode_errors_total", "", m.decode_errors);
  w.family("yz_unknown_types_total", "counter", "Frames of a message type this node does not know.");
  w.sample("yz_unknown_types_total", "", m.unknown_types);
  w.family("yz_handshakes_total", "counter", "Link handshakes (Hello + Auth) by result.");
  w.sample("yz_handshakes_total", "result=\"ok\"", m.handshakes_ok);
  w.sample("yz_handshakes_total", "result=\"failed\"", m.handshakes_failed);
  w.family("yz_links_opened_total", "counter", "Links opened (accepted or dialled successfully).");
  w.sample("yz_links_opened_total", "", m.links_opened);
  w.family("yz_links_closed_total", "counter", "Links closed for any reason.");
  w.sample("yz_links_closed_total", "", m.links_closed);
  w.family("yz_dials_failed_total", "counter", "Outbound dials that did not connect.");
  w.sample("yz_dials_failed_total", "", m.dials_failed);
  w.family("yz_closes_total", "counter", "Links closed with a yz close code, by direction and code.");
  for (const char* direction : {"sent", "received"}) {
    const auto& counts = std::string_view(direction) == "sent" ? m.closes_sent : m.closes_received;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      std::string name = close_name(i);
      if (name == "unknown" && counts[i] == 0) continue;  // only codes that exist, or that happened
      w.sample("yz_closes_total",
               fmt::format("direction=\"{}\",code=\"{}\",name=\"{}\"", direction, 4000 + i, name), counts[i]);
    }
  }
  w.family("yz_lookups_total", "counter", "Lookups (find_node, get, self-lookups) by result.");
  w.sample("yz_lookups_total", "result=\"ok\"", m.lookups_ok);
  w.sample("yz_lookups_total", "result=\"failed\"", m.lookups_failed);
  w.family("yz_stores_total", "counter", "Store requests received, by result.");
  w.sample("yz_stores_total", "result=\"accepted\"", m.stores_accepted);
  w.sample("yz_stores_total", "result=\"refused\"", m.stores_refused);
  w.family("yz_requests_timed_out_total", "counter", "Requests to peers that got no answer in time.");
  w.sample("yz_requests_timed_out_total", "", m.requests_timed_out);
  w.family("yz_late_replies_total", "counter", "Replies that came after their request timed out, or to no request.");
  w.sample("yz_late_replies_total", "", m.late_replies);
  w.family("yz_values_expired_total", "counter", "Stored values dropped because their TTL ran out.");
  w.sample("yz_values_expired_total", "", m.values_expired);
  w.family("yz_replicas_repaired_total", "counter", "Replicas sent a value they lacked after a get.");
  w.sample("yz_replicas_repaired_total", "", m.replicas_repaired);

  w.family("yz_signals_received_total", "counter", "WebRTC signaling messages handed to this node's WebRTC transport.");
  w.sample("yz_signals_received_total", "", m.signals_received);
  w.family("yz_dial_requests_total", "counter",
           "DialRequests (\"please dial me\"): sent to browsers, honoured or declined by this node.");
  w.sample("yz_dial_requests_total", "event=\"sent\"", m.dial_requests_sent);
  w.sample("yz_dial_requests_total", "event=\"honoured\"", m.dial_requests_honoured);
  w.sample("yz_dial_requests_total", "event=\"declined\"", m.dial_requests_declined);

  w.family("yz_relay_sessions_total", "counter", "Relay sessions this node accepted or refused as a relay.");
  w.sample("yz_relay_sessions_total", "event=\"opened\"", m.relay_sessions_opened);
  w.sample("yz_relay_sessions_total", "event=\"refused\"", m.relay_sessions_refused);
  w.family("yz_relay_frames_total", "counter",
           "Relayed frames forwarded as a relay, and frames of this node's relayed links that failed to decrypt.");
  w.sample("yz_relay_frames_total", "event=\"forwarded\"", m.relay_frames_forwarded);
  w.sample("yz_relay_frames_total", "event=\"rejected\"", m.relayed_frames_rejected);
  w.family("yz_relayed_links_total", "counter", "This node's links through a relay: opened, and replaced by a direct link.");
  w.sample("yz_relayed_links_total", "event=\"opened\"", m.relayed_links_opened);
  w.sample("yz_relayed_links_total", "event=\"upgraded\"", m.relayed_links_upgraded);

  const auto& r = m.routed;
  w.family("yz_routed_requests_total", "counter",
           "Requests by the path the policy chose: link (already open), dial (new link), route (overlay).");
  w.sample("yz_routed_requests_total", "path=\"link\"", r.via_link);
  w.sample("yz_routed_requests_total", "path=\"dial\"", r.via_dial);
  w.sample("yz_routed_requests_total", "path=\"route\"", r.via_route);
  w.family("yz_routed_messages_total", "counter", "Routed messages handled by this node, by event.");
  const std::pair<const char*, std::uint64_t> events[] = {
      {"originated", r.originated}, {"forwarded", r.forwarded}, {"delivered", r.delivered},
      {"replied", r.replies},       {"bounced", r.bounced},     {"unreachable", r.unreachable},
      {"rerouted", r.rerouted}};
  for (const auto& [event, count] : events) w.sample("yz_routed_messages_total", fmt::format("event=\"{}\"", event), count);
  w.family("yz_routed_dropped_total", "counter", "Routed messages dropped, by reason.");
  const std::pair<const char*, std::uint64_t> drops[] = {
      {"hop_limit", r.dropped_hop_limit}, {"duplicate", r.dropped_duplicate}, {"forged", r.dropped_forged},
      {"rate", r.dropped_rate},           {"invalid", r.dropped_invalid},     {"no_state", r.dropped_no_state}};
  for (const auto& [reason, count] : drops) w.sample("yz_routed_dropped_total", fmt::format("reason=\"{}\"", reason), count);
  w.family("yz_routed_hops", "histogram", "Routing steps taken by routed requests delivered here.");
  static constexpr const char* kHopBounds[] = {"1", "2", "3", "4", "8", "16", "32"};
  std::uint64_t hop_total = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    hop_total += r.hops[i];
    w.sample("yz_routed_hops_bucket", fmt::format("le=\"{}\"", kHopBounds[i]), hop_total);
  }
  hop_total += r.hops[7];
  w.sample("yz_routed_hops_bucket", "le=\"+Inf\"", hop_total);
  w.sample("yz_routed_hops_count", "", hop_total);

  const auto& h = m.lookup_latency;
  w.family("yz_lookup_duration_ms", "histogram", "Lookup duration in milliseconds.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.kBoundsMs.size(); ++i) {
    cumulative += h.buckets[i];
    w.sample("yz_lookup_duration_ms_bucket", fmt::format("le=\"{}\"", h.kBoundsMs[i]), cumulative);
  }
  cumulative += h.buckets[h.kBoundsMs.size()];
  w.sample("yz_lookup_duration_ms_bucket", "le=\"+Inf\"", cumulative);
  w.sample("yz_lookup_duration_ms_sum", "", h.sum_ms);
  w.sample("yz_lookup_duration_ms_count", "", h.count);
  return w.take();
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex_value(text[i + 1]);
    int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<RequestTarget> parse_target(std::string_view target, std::string& error) {
  RequestTarget out;
  auto question = target.find('?');
  out.raw_path = std::string(target.substr(0, question));
  auto path = percent_decode(out.raw_path);
  if (!path) {
    error = "the path '" + out.raw_path + "' has a malformed %-escape: write each byte as %XX with two hex digits";
    return std::nullopt;
  }
  out.path = std::move(*path);
  if (question == std::string_view::npos) return out;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string name_text(pair.substr(0, eq));
    std::string value_text(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    for (auto* part : {&name_text, &value_text}) {
      for (char& c : *part) {
        if (c == '+') c = ' ';  // form encoding in query strings
      }
    }
    auto name = percent_decode(name_text);
    auto value = percent_decode(value_text);
    if (!name || !value) {
      error = "the query parameter '" + std::string(pair) + "' has a malformed %-escape";
      return std::nullopt;
    }
    out.query[*name] = *value;
  }
  return out;
}

std::string base64_encode(BytesView bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i + 1 == bytes.size()) {
    std::uint32_t v = bytes[i] << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == bytes.size()) {
    std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t j = 1; j <= extra; ++j) {
      auto cc = static_cast<unsigned char>(text[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are not valid UTF-8.
    if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) ||
        code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace yz::net
