// Message type names, the dense type index used by per-type counters, and the
// type / request id of a Message. The Message variant lists its alternatives in
// MessageType order, so the variant index is the dense index.
#include "core/messages.hpp"

#include <array>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace yz {

namespace {

constexpr std::array<MessageType, kMessageTypeCount> kTypesInOrder = {
    MessageType::hello,      MessageType::auth,      MessageType::goodbye, MessageType::error,
    MessageType::ping,       MessageType::pong,      MessageType::find_node, MessageType::nodes,
    MessageType::store,      MessageType::store_ack, MessageType::find_value, MessageType::value,
    MessageType::peers_request, MessageType::routed, MessageType::signal, MessageType::ack,
    MessageType::dial_request, MessageType::relay_open, MessageType::relay_data, MessageType::relay_close,
    MessageType::neighbours,
};

static_assert(std::variant_size_v<Message> == kMessageTypeCount,
              "every MessageType needs exactly one Message alternative");
template <std::size_t I, typename T>
constexpr bool kAlternativeIs = std::is_same_v<std::variant_alternative_t<I, Message>, T>;
static_assert(kAlternativeIs<0, Hello> && kAlternativeIs<1, Auth> && kAlternativeIs<2, Goodbye> &&
                  kAlternativeIs<3, Error> && kAlternativeIs<4, Ping> && kAlternativeIs<5, Pong> &&
                  kAlternativeIs<6, FindNode> && kAlternativeIs<7, Nodes> && kAlternativeIs<8, Store> &&
                  kAlternativeIs<9, StoreAck> && kAlternativeIs<10, FindValue> && kAlternativeIs<11, Value> &&
                  kAlternativeIs<12, PeersRequest> && kAlternativeIs<13, Routed> &&
                  kAlternativeIs<14, Signal> && kAlternativeIs<15, Ack> && kAlternativeIs<16, DialRequest> &&
                  kAlternativeIs<17, RelayOpen> && kAlternativeIs<18, RelayData> && kAlternativeIs<19, RelayClose> &&
                  kAlternativeIs<20, Neighbours>,
              "Message alternatives must follow MessageType order (kTypesInOrder)");

}  // namespace

std::string_view message_type_name(MessageType type) {
  switch (type) {
    case MessageType::hello: return "hello";
    case MessageType::auth: return "auth";
    case MessageType::goodbye: return "goodbye";
    case MessageType::error: return "error";
    case MessageType::ping: return "ping";
    case MessageType::pong: return "pong";
    case MessageType::find_node: return "find_node";
    case MessageType::nodes: return "nodes";
    case MessageType::store: return "store";
    case MessageType::store_ack: return "store_ack";
    case MessageType::find_value: return "find_value";
    case MessageType::value: return "value";
    case MessageType::peers_request: return "peers_request";
    case MessageType::routed: return "routed";
    case MessageType::signal: return "signal";
    case MessageType::ack: return "ack";
    case MessageType::dial_request: return "dial_request";
    case MessageType::relay_open: return "relay_open";
    case MessageType::relay_data: return "relay_data";
    case MessageType::relay_close: return "relay_close";
    case MessageType::neighbours: return "neighbours";
  }
  return "unknown";
}

std::size_t message_type_index(std::uint8_t raw_type) {
  for (std::size_t i = 0; i < kTypesInOrder.size(); ++i) {
    if (static_cast<std::uint8_t>(kTypesInOrder[i]) == raw_type) return i;
  }
  return kMessageTypeCount;
}

// The index must come from message_type_index() or a loop below kMessageTypeCount;
// anything else is a programming error and throws std::out_of_range.
MessageType message_type_at(std::size_t index) {
  if (index >= kTypesInOrder.size()) {
    throw std::out_of_range("message_type_at: index " + std::to_string(index) + " is not below " +
                            std::to_string(kMessageTypeCount));
  }
  return kTypesInOrder[index];
}

Bytes routed_signing_payload(const Routed& routed, const Hash256& payload_hash) {
  static constexpr std::string_view kContext = "yz-routed-v1";
  Bytes out(kContext.begin(), kContext.end());
  out.insert(out.end(), routed.source.bytes.begin(), routed.source.bytes.end());
  out.insert(out.end(), routed.destination.bytes.begin(), routed.destination.bytes.end());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(routed.message_id >> (8 * i)));
  out.push_back(routed.flags & Routed::kReply);
  out.insert(out.end(), payload_hash.begin(), payload_hash.end());
  return out;
}

MessageType type_of(const Message& message) { return kTypesInOrder[message.index()]; }

std::uint32_t request_id_of(const Message& message) {
  return std::visit(
      [](const auto& m) -> std::uint32_t {
        if constexpr (kHasRequestId<std::decay_t<decltype(m)>>) {
          return m.request_id;
        } else {
          return 0;
        }
      },
      message);
}

Bytes auth_payload(const Nonce& peer_nonce, const Hash256& own_hello_hash) {
  static constexpr std::string_view kAuthContext = "yz-auth-v1";
  Bytes payload;
  payload.reserve(kAuthContext.size() + peer_nonce.size() + own_hello_hash.size());
  for (char c : kAuthContext) payload.push_back(static_cast<std::uint8_t>(c));
  payload.insert(payload.end(), peer_nonce.begin(), peer_nonce.end());
  payload.insert(payload.end(), own_hello_hash.begin(), own_hello_hash.end());
  return payload;
}

}  // namespace yz
