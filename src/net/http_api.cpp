// Routes HTTP API requests to the engine and renders the answers (api_json).
#include "net/http_api.hpp"

#include <charconv>
#include <memory>
#include <string>

#include "net/api_json.hpp"

namespace yz::net {

using nlohmann::json;

namespace {

constexpr const char* kEndpoints =
    "GET /health, GET /metrics, GET /peers, GET /find-node?target=<64 hex>, POST /ping?id=<64 hex>, "
    "PUT /values/<key>[?ttl=<seconds>], GET /values/<key>";

HttpReply json_reply(int status, const json& body) { return HttpReply{status, "application/json", json_text(body), {}}; }

HttpReply error_reply(int status, const std::string& message) { return json_reply(status, error_json(message)); }

// Parses a 64-digit hex id from query parameter `name`; sets `error` on failure.
std::optional<NodeId> id_param(const RequestTarget& target, const std::string& name, const std::string& example,
                               std::string& error) {
  auto it = target.query.find(name);
  if (it == target.query.end() || it->second.empty()) {
    error = "missing query parameter '" + name + "': give a node id as 64 hex digits, e.g. " + example;
    return std::nullopt;
  }
  const std::string& hex = it->second;
  auto id = hex.size() == NodeId::kSize * 2 ? NodeId::from_hex(hex) : std::nullopt;
  if (!id) {
    error = "query parameter '" + name + "' must be a node id of exactly 64 hex digits (0-9, a-f); got '" +
            hex.substr(0, 80) + "' (" + std::to_string(hex.size()) + " characters)";
    return std::nullopt;
  }
  return id;
}

}  // namespace

void HttpApi::handle(InboundHttpRequest request, HttpResponder respond) {
  std::string error;
  auto target = parse_target(request.target, error);
  if (!target) return respond(error_reply(400, error));
  const std::string& method = request.method;
  const std::string& path = target->path;

  if (method == "OPTIONS") {  // CORS preflight from browsers
    HttpReply reply{204, "text/plain", "", {}};
    reply.headers = {{"Access-Control-Allow-Methods", "GET, PUT, POST, OPTIONS"},
                     {"Access-Control-Allow-Headers", "Content-Type"},
                     {"Access-Control-Max-Age", "600"}};
    return respond(std::move(reply));
  }

  auto wrong_method = [&](const std::string& allowed) {
    HttpReply reply = error_reply(405, "use " + allowed + " for " + target->raw_path + " (got " + method + ")");
    reply.headers.emplace_back("Allow", allowed + ", OPTIONS");
    respond(std::move(reply));
  };

  Engine& engine = host_.engine();
  const Millis now = host_.now();

  if (path == "/" || path == "/health" || path == "/metrics" || path == "/peers") {
    if (method != "GET") return wrong_method("GET");
    if (path == "/") {
      return respond(json_reply(200, json{{"service", "yz " + std::string(role_name(engine.config().role))},
                                          {"id", engine.id().hex()},
                                          {"endpoints", kEndpoints}}));
    }
    Status status = engine.status(now);
    if (path == "/health") return respond(json_reply(status.healthy ? 200 : 503, health_json(status, engine.config(), now)));
    if (path == "/metrics") {
      return respond(HttpReply{200, "text/plain; version=0.0.4; charset=utf-8",
                               prometheus_text(engine.metrics(), status, engine.config().metrics_enabled, now), {}});
    }
    return respond(json_reply(200, peers_json(status, engine.routing_entries(), now)));
  }

  const bool is_values = path.starts_with("/values/") || path == "/values";
  if (path != "/find-node" && path != "/ping" && !is_values) {
    return respond(error_reply(404, "no endpoint " + target->raw_path + " on this node; the endpoints are: " + kEndpoints));
  }
  if (host_.stopping()) return respond(error_reply(503, "the node is shutting down and takes no new requests"));

  if (path == "/find-node") {
    if (method != "GET") return wrong_method("GET");
    auto id = id_param(*target, "target", "/find-node?target=<64 hex digits>", error);
    if (!id) return respond(error_reply(400, error));
    NodeId wanted = *id;
    engine.find_node(wanted, now, [respond, wanted](const LookupResult& result) {
      respond(json_reply(result.ok ? 200 : 502, lookup_json(result, wanted)));
    });
    return host_.engine_called();
  }

  if (path == "/ping") {
    if (method != "POST") return wrong_method("POST");
    auto id = id_param(*target, "id", "/ping?id=<64 hex digits>", error);
    if (!id) return respond(error_reply(400, error));
    engine.ping(*id, now, [respond](const PingResult& result) {
      respond(json_reply(result.ok ? 200 : 502, ping_json(result)));
    });
    return host_.engine_called();
  }

  // /values/<percent-encoded user key>: the key is everything after the prefix.
  std::string key = path.size() > 8 ? path.substr(8) : std::string();
  if (key.empty()) {
    return respond(error_reply(400, "missing key: use /values/<key> with the key percent-encoded, e.g. /values/my%20key"));
  }
  if (method == "PUT") {
    if (request.body.size() > kMaxValueSize) {
      return respond(error_reply(413, "value of " + std::to_string(request.body.size()) + " bytes is above the " +
                                          std::to_string(kMaxValueSize) + "-byte limit for stored values"));
    }
    std::uint32_t ttl = engine.config().default_ttl_seconds;
    if (auto it = target->query.find("ttl"); it != target->query.end()) {
      const std::string& text = it->second;
      std::uint64_t value = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value == 0 ||
          value > kMaxTtlSeconds) {
        return respond(error_reply(400, "ttl must be a whole number of seconds from 1 to " +
                                            std::to_string(kMaxTtlSeconds) + " (7 days); got '" + text + "'"));
      }
      ttl = static_cast<std::uint32_t>(value);
    }
    engine.put(as_bytes(key), to_bytes(request.body), ttl, now, [respond](const PutResult& result) {
      respond(json_reply(result.ok ? 200 : 502, put_json(result)));
    });
    return host_.engine_called();
  }
  if (method == "GET") {
    engine.get(as_bytes(key), now, [respond](const GetResult& result) {
      int status = !result.ok ? 502 : result.found ? 200 : 404;
      respond(json_reply(status, get_json(result)));
    });
    return host_.engine_called();
  }
  return wrong_method("GET, PUT");
}

}  // namespace yz::net
