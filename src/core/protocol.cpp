// Names for protocol enums, used in logs, JSON and error text.
#include "core/protocol.hpp"

namespace yz {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::genesis: return "genesis";
    case Role::bridge: return "bridge";
    case Role::dht: return "dht";
    case Role::browser: return "browser";
    case Role::client: return "client";
    case Role::bootstrap: return "bootstrap";
  }
  return "unknown";
}

bool parse_role(std::string_view name, Role& out) {
  for (std::uint8_t raw = 1; raw <= 6; ++raw) {
    if (role_name(static_cast<Role>(raw)) == name) {
      out = static_cast<Role>(raw);
      return true;
    }
  }
  return false;
}

bool role_is_valid(std::uint8_t raw) { return raw >= 1 && raw <= 6; }

bool role_is_dht_member(Role role) {
  return role == Role::genesis || role == Role::bridge || role == Role::dht || role == Role::browser;
}

std::string_view close_code_name(CloseCode code) {
  switch (code) {
    case CloseCode::normal: return "normal";
    case CloseCode::incompatible_version: return "incompatible_version";
    case CloseCode::auth_failed: return "auth_failed";
    case CloseCode::malformed_frame: return "malformed_frame";
    case CloseCode::handshake_timeout: return "handshake_timeout";
    case CloseCode::duplicate_link: return "duplicate_link";
    case CloseCode::wrong_peer: return "wrong_peer";
    case CloseCode::protocol_violation: return "protocol_violation";
    case CloseCode::frame_too_large: return "frame_too_large";
    case CloseCode::surplus_link: return "surplus_link";
    case CloseCode::keepalive_timeout: return "keepalive_timeout";
    case CloseCode::self_link: return "self_link";
    case CloseCode::role_refused: return "role_refused";
    case CloseCode::unreachable: return "unreachable";
  }
  return "unknown_close_code";
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::unknown_type: return "unknown_type";
    case ErrorCode::malformed: return "malformed";
    case ErrorCode::value_too_large: return "value_too_large";
    case ErrorCode::storage_full: return "storage_full";
    case ErrorCode::not_supported: return "not_supported";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::stale_value: return "stale_value";
    case ErrorCode::internal: return "internal";
    case ErrorCode::not_linked: return "not_linked";
  }
  return "unknown_error_code";
}

}  // namespace yz
