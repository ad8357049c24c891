// Every message of the wire protocol as a plain struct. One frame carries one
// message: a 1-byte type, a 4-byte little-endian request id, then the body.
// Layouts, limits and semantics: docs/protocol.md. Encoding: core/codec.hpp.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/addresses.hpp"
#include "core/bytes.hpp"
#include "core/crypto.hpp"
#include "core/node_id.hpp"
#include "core/protocol.hpp"

namespace yz {

enum class MessageType : std::uint8_t {
  hello = 0x01,
  auth = 0x02,
  goodbye = 0x03,
  error = 0x04,
  ping = 0x10,
  pong = 0x11,
  find_node = 0x12,
  nodes = 0x13,
  store = 0x14,
  store_ack = 0x15,
  find_value = 0x16,
  value = 0x17,
  peers_request = 0x18,
  routed = 0x19,
  signal = 0x1A,
  ack = 0x1B,
  dial_request = 0x1C,
  relay_open = 0x1D,
  relay_data = 0x1E,
  relay_close = 0x1F,
  neighbours = 0x20,  // protocol version 2
};
std::string_view message_type_name(MessageType type);
inline constexpr std::size_t kMessageTypeCount = 21;
// Dense index 0..kMessageTypeCount-1 for per-type counters; kMessageTypeCount when unknown.
std::size_t message_type_index(std::uint8_t raw_type);
MessageType message_type_at(std::size_t index);

using Nonce = std::array<std::uint8_t, 32>;

// How to reach a node: its id, role and the addresses it listens on
// (ws:// or wss:// URLs; empty for browsers and clients, which cannot be dialled).
// Copying one shares its address list (core/addresses.hpp).
struct Contact {
  NodeId id;
  Role role = Role::dht;
  Addresses addresses;
  bool operator==(const Contact&) const = default;
};

// First frame on every link, sent by both sides at once.
struct Hello {
  std::uint16_t version_min = kProtocolVersionMin;
  std::uint16_t version_max = kProtocolVersionMax;
  Role role = Role::dht;
  PublicKey public_key{};
  std::vector<std::string> addresses;
  std::string build_id;
  Nonce nonce{};  // fresh per link; the peer signs it in Auth
  bool operator==(const Hello&) const = default;
};

// Proof of key possession for this link: Ed25519 signature over
// "yz-auth-v1" || peer's Hello.nonce || SHA-256(sender's own Hello frame).
struct Auth {
  Signature signature{};
  bool operator==(const Auth&) const = default;
};

// Sent just before a node closes a link, so every transport carries the reason.
struct Goodbye {
  CloseCode code = CloseCode::normal;
  std::string reason;
  bool operator==(const Goodbye&) const = default;
};

// Reply to a request that failed; request_id names the request.
struct Error {
  std::uint32_t request_id = 0;
  ErrorCode code = ErrorCode::internal;
  std::string message;
  bool operator==(const Error&) const = default;
};

struct Ping {
  std::uint32_t request_id = 0;
  bool operator==(const Ping&) const = default;
};
struct Pong {
  std::uint32_t request_id = 0;
  bool operator==(const Pong&) const = default;
};

struct FindNode {
  std::uint32_t request_id = 0;
  NodeId target;
  bool operator==(const FindNode&) const = default;
};

// Reply to FindNode, FindValue (value absent) and PeersRequest.
struct Nodes {
  std::uint32_t request_id = 0;
  std::vector<Contact> contacts;
  bool operator==(const Nodes&) const = default;
};

// A value under a key id. seq orders versions: a higher seq replaces a lower one.
struct Store {
  std::uint32_t request_id = 0;
  NodeId key;
  std::uint64_t seq = 0;
  std::uint32_t ttl_seconds = 0;
  Bytes value;
  bool operator==(const Store&) const = default;
};
// On version 3 links, `contacts` are the storer's closest contacts to the key
// (as in Nodes); on older links, and for routed Stores, it is empty.
struct StoreAck {
  std::uint32_t request_id = 0;
  std::vector<Contact> contacts;
  bool operator==(const StoreAck&) const = default;
};

struct FindValue {
  std::uint32_t request_id = 0;
  NodeId key;
  bool operator==(const FindValue&) const = default;
};
// Reply to FindValue when the value is held; ttl_seconds is the time left.
struct Value {
  std::uint32_t request_id = 0;
  NodeId key;
  std::uint64_t seq = 0;
  std::uint32_t ttl_seconds = 0;
  Bytes value;
  bool operator==(const Value&) const = default;
};

// Ask for live peers to dial (served by yz-bootstrap and by every DHT node).
struct PeersRequest {
  std::uint32_t request_id = 0;
  std::uint8_t max_peers = 16;
  bool operator==(const PeersRequest&) const = default;
};

// Overlay routing envelope: carries one request or response frame (payload)
// hop by hop to `destination` over open links (docs/protocol.md, "Routed").
// The origin signs it, so the destination can prove who sent it.
struct Routed {
  static constexpr std::uint8_t kReply = 0x01;   // payload is a response travelling back
  static constexpr std::uint8_t kBounce = 0x02;  // returned by a hop that found no way on
  NodeId source;
  NodeId destination;
  std::uint64_t message_id = 0;  // random per request; a reply reuses its request's id
  std::uint8_t hop_limit = 0;    // hops left; a hop that receives 0 goes no further
  std::uint8_t flags = 0;
  PublicKey source_key{};        // SHA-256(source_key) must equal source
  Signature signature{};         // over routed_signing_payload()
  Bytes payload;                 // one whole frame (request or response)
  bool operator==(const Routed&) const = default;
};

// WebRTC signaling between two WebRTC-capable peers (an SDP description or an
// ICE candidate, opaque to the core): sent over a link to the peer or routed.
struct Signal {
  std::uint32_t request_id = 0;
  std::string data;  // UTF-8, 1..kMaxSignalLength bytes
  bool operator==(const Signal&) const = default;
};
// Empty success reply to Signal and DialRequest.
struct Ack {
  std::uint32_t request_id = 0;
  bool operator==(const Ack&) const = default;
};
// "Please dial me": a node that cannot dial the receiver (a server asking a
// browser) gives the addresses the receiver should open a link to.
struct DialRequest {
  std::uint32_t request_id = 0;
  std::vector<std::string> addresses;  // 1..kMaxAddresses
  bool operator==(const DialRequest&) const = default;
};

// Relay (docs/protocol.md section 18): two browsers that cannot open a
// DataChannel run their link through a server both are linked to. RelayOpen
// asks the relay for a session to `peer`; RelayData carries one frame of the
// end-to-end link (encrypted after the Hellos), `peer` naming the far end
// (the destination on the way in, the source on the way out); RelayClose ends
// the session.
struct RelayOpen {
  std::uint32_t request_id = 0;
  NodeId peer;
  bool operator==(const RelayOpen&) const = default;
};
struct RelayData {  // request_id 0
  NodeId peer;
  Bytes payload;  // 1..kMaxRelayPayload bytes
  bool operator==(const RelayData&) const = default;
};
struct RelayClose {  // request_id 0
  NodeId peer;
  std::string reason;  // 0..kMaxReasonLength bytes
  bool operator==(const RelayClose&) const = default;
};

// Neighbours (protocol version 2): the peers the sender keeps links to, so
// the receiver can forward a routed message toward a node one hop beyond it.
struct Neighbours {  // request_id 0
  std::vector<NodeId> ids;  // 0..kMaxNeighbours, nearest to the sender first
  bool operator==(const Neighbours&) const = default;
};

using Message = std::variant<Hello, Auth, Goodbye, Error, Ping, Pong, FindNode, Nodes, Store, StoreAck,
                             FindValue, Value, PeersRequest, Routed, Signal, Ack, DialRequest, RelayOpen,
                             RelayData, RelayClose, Neighbours>;

MessageType type_of(const Message& message);
// Bytes the origin of a Routed message signs: "yz-routed-v1" || source ||
// destination || message_id (u64 LE) || (flags & kReply) || SHA-256(payload).
// hop_limit and the bounce flag change in transit and are not signed.
Bytes routed_signing_payload(const Routed& routed, const Hash256& payload_hash);
// Whether a message struct carries a request id (requests, responses and
// signaling); the others (Hello, Auth, Goodbye, Routed, RelayData, RelayClose,
// Neighbours) travel with request id 0 in the frame header.
template <typename T>
inline constexpr bool kHasRequestId = requires(const T& m) {
  m.request_id;
};
// Request id of a message (0 for the structs without one).
std::uint32_t request_id_of(const Message& message);

// What an Auth signs (docs/protocol.md section 8): "yz-auth-v1" || the peer's
// Hello nonce || SHA-256 of the signer's own Hello frame.
Bytes auth_payload(const Nonce& peer_nonce, const Hash256& own_hello_hash);

}  // namespace yz
