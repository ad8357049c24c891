// Protocol constants: version, limits, close codes and error codes.
// docs/protocol.md is the contract for every value here; change both together.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace yz {

// Wire protocol versions this build speaks. A link uses the highest version in
// both peers' ranges; disjoint ranges close the link with kIncompatibleVersion.
inline constexpr std::uint16_t kProtocolVersionMin = 1;
inline constexpr std::uint16_t kProtocolVersionMax = 3;
// Version 2 adds Neighbours (0x20); it is sent only on links that speak it.
inline constexpr std::uint16_t kNeighboursVersion = 2;
// Version 3 lets StoreAck carry the storer's closest contacts to the key, so a
// put's Stores can be its lookup's final round; sent only on links that speak it.
inline constexpr std::uint16_t kStoreAckContactsVersion = 3;

// Limits checked by the codec before any allocation.
inline constexpr std::size_t kMaxFrameSize = 128 * 1024;   // one message per frame
inline constexpr std::size_t kMaxValueSize = 64 * 1024;    // stored value bytes
inline constexpr std::size_t kMaxContacts = 32;            // contacts in one Nodes reply
inline constexpr std::size_t kMaxNeighbours = 32;          // ids in one Neighbours message
inline constexpr std::size_t kMaxAddresses = 8;            // listen addresses per node
inline constexpr std::size_t kMaxAddressLength = 256;      // bytes per address
inline constexpr std::size_t kMaxBuildIdLength = 64;       // bytes
inline constexpr std::size_t kMaxErrorTextLength = 512;    // bytes in Error.message
inline constexpr std::size_t kMaxReasonLength = 120;       // bytes in Goodbye.reason (fits a WS close frame)
inline constexpr std::uint32_t kMaxTtlSeconds = 7 * 24 * 3600;
inline constexpr std::size_t kMaxRoutedPayload = kMaxFrameSize - 256;  // one inner frame
inline constexpr std::uint8_t kMaxHops = 128;     // Routed.hop_limit above this is dropped
// hop_limit a new Routed message starts with. 64: at 1,000 simulated nodes
// with only 3-8 kept links per node (bench_routing, bench/results/routing.md)
// the longest walk now takes 20 steps (neighbour lists, nearest neighbours
// always linked); 64 leaves room for churn, still fits the 10 s routed request
// timeout at ~85 ms a link, and an unreachable target costs 64 messages.
inline constexpr std::uint8_t kDefaultHops = 64;
inline constexpr std::size_t kMaxSignalLength = 16 * 1024;  // bytes of Signal.data (an SDP fits)
inline constexpr std::size_t kMaxSignalsPerSecond = 200;    // Signals a node accepts per second
inline constexpr std::size_t kMaxRelayPayload = kMaxFrameSize - 64;  // RelayData.payload: one sealed inner frame

enum class Role : std::uint8_t {
  genesis = 1,    // creates a network
  bridge = 2,     // onboards newcomers between bootstrap and DHT
  dht = 3,        // ordinary server node
  browser = 4,    // browser peer (not dialable)
  client = 5,     // headless client (not dialable)
  bootstrap = 6,  // first-contact server, not a DHT member
};
std::string_view role_name(Role role);
bool parse_role(std::string_view name, Role& out);
bool role_is_valid(std::uint8_t raw);
// Roles that take part in the DHT (stored in routing tables, hold values).
bool role_is_dht_member(Role role);

// Close codes, sent in Goodbye and as the WebSocket close code (4000-4999 range).
enum class CloseCode : std::uint16_t {
  normal = 4000,                // node shutting down / link no longer needed
  incompatible_version = 4001,  // protocol version ranges do not overlap
  auth_failed = 4002,           // Auth signature did not verify
  malformed_frame = 4003,       // frame failed to decode
  handshake_timeout = 4004,     // no Hello/Auth in time
  duplicate_link = 4005,        // another link to the same peer won
  wrong_peer = 4006,            // dialled id does not match the Hello
  protocol_violation = 4007,    // message not allowed in this state
  frame_too_large = 4008,       // frame above kMaxFrameSize
  surplus_link = 4009,          // closed by the connection policy
  keepalive_timeout = 4010,     // no answer to pings in time
  self_link = 4011,             // a node dialled itself
  role_refused = 4012,          // role not served here
  unreachable = 4013,           // a dial did not complete (also used for refusals of unreachable seeds)
};
std::string_view close_code_name(CloseCode code);

// Error codes carried by Error replies to a request.
enum class ErrorCode : std::uint16_t {
  unknown_type = 1,       // message type not known to this node
  malformed = 2,          // request decoded but is invalid
  value_too_large = 3,    // store refused: value above kMaxValueSize
  storage_full = 4,       // store refused: node's storage quota reached
  not_supported = 5,      // request not served by this role
  rate_limited = 6,       // too many requests from this peer
  stale_value = 7,        // store refused: a newer version is held
  internal = 8,           // unexpected failure inside the node
  not_linked = 9,         // relay_open: the relay has no link to that peer
};
std::string_view error_code_name(ErrorCode code);

}  // namespace yz
