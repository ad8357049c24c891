// The HTTP API's data shapes: engine status, results and metrics rendered as
// JSON or Prometheus text, plus the small parsers the API needs (percent
// decoding, query strings, hex ids). Pure functions, no IO, no Engine calls:
// docs/operations.md documents every field produced here.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine.hpp"

namespace yz::net {

// GET /health body. `config` supplies the protocol range the node speaks.
nlohmann::json health_json(const Status& status, const EngineConfig& config, Millis now);
// GET /peers body.
nlohmann::json peers_json(const Status& status, const std::vector<RoutingEntry>& routing, Millis now);
// GET /metrics body (Prometheus text format 0.0.4).
std::string prometheus_text(const Metrics& metrics, const Status& status, bool metrics_enabled, Millis now);

nlohmann::json contact_json(const Contact& contact);
nlohmann::json lookup_json(const LookupResult& result, const NodeId& target);
nlohmann::json put_json(const PutResult& result);
nlohmann::json get_json(const GetResult& result);
nlohmann::json ping_json(const PingResult& result);
nlohmann::json error_json(std::string_view message);

// Serialises JSON; invalid UTF-8 (e.g. in a peer's reason text) becomes U+FFFD.
std::string json_text(const nlohmann::json& value);

// A request target split into its decoded path and query parameters.
struct RequestTarget {
  std::string path;                          // percent-decoded
  std::string raw_path;                      // as sent
  std::map<std::string, std::string> query;  // decoded; the last of repeated keys wins
};
std::optional<RequestTarget> parse_target(std::string_view target, std::string& error);

// Decodes %XX escapes ('+' stays '+'); nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text);
std::string base64_encode(BytesView bytes);
bool is_valid_utf8(std::string_view text);

}  // namespace yz::net
