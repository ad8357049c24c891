// Wire codec: round trips of every message (including limit-sized ones), refusal
// of every kind of malformed frame with the right DecodeErrorKind and detail, the
// message-type index helpers, and a seeded mutation fuzz loop.
#include "core/codec.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/random.hpp"

namespace yz {
namespace {

// Builds frames byte by byte, independently of encode(), for refusal tests.
class FrameBuilder {
 public:
  FrameBuilder(std::uint8_t type, std::uint32_t request_id) {
    u8(type);
    u32(request_id);
  }
  FrameBuilder& u8(std::uint8_t v) { return le(v, 1); }
  FrameBuilder& u16(std::uint16_t v) { return le(v, 2); }
  FrameBuilder& u32(std::uint32_t v) { return le(v, 4); }
  FrameBuilder& u64(std::uint64_t v) { return le(v, 8); }
  FrameBuilder& fill(std::size_t n, std::uint8_t byte) {
    bytes_.insert(bytes_.end(), n, byte);
    return *this;
  }
  FrameBuilder& raw(BytesView b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  FrameBuilder& str(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    return raw(as_bytes(s));
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  FrameBuilder& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes bytes_;
};

NodeId id_filled(std::uint8_t b) {
  NodeId id;
  id.bytes.fill(b);
  return id;
}

Hello sample_hello() {
  Hello h;
  h.version_min = 1;
  h.version_max = 2;
  h.role = Role::bridge;
  h.public_key.fill(0xaa);
  h.addresses = {"ws://127.0.0.1:7001/", "wss://example.org/bridge1"};
  h.build_id = "0.1.0-test";
  h.nonce.fill(0x5c);
  return h;
}

Nodes sample_nodes() {
  return Nodes{77,
               {Contact{id_filled(0x11), Role::genesis, {"ws://10.0.0.1:7000/"}},
                Contact{id_filled(0x22), Role::client, {}},
                Contact{id_filled(0x33), Role::dht, {"ws://a/", "ws://b/", "ws://c/"}}}};
}

Store sample_store() { return Store{9, id_filled(0x42), 1234567890123ull, 3600, to_bytes("some value bytes")}; }

// One valid message of every type.
Routed sample_routed() {
  Routed r;
  r.source = id_filled(0x11);
  r.destination = id_filled(0x22);
  r.message_id = 0x0102030405060708ULL;
  r.hop_limit = 32;
  r.flags = Routed::kReply;
  r.source_key.fill(0x33);
  r.signature.fill(0x44);
  r.payload = encode(Ping{9});
  return r;
}

std::vector<Message> sample_messages() {
  return {
      sample_hello(),
      Auth{[] {
        Signature s{};
        for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(255 - i);
        return s;
      }()},
      Goodbye{CloseCode::surplus_link, "too many links"},
      Error{31, ErrorCode::storage_full, "quota of 100 values reached"},
      Ping{1},
      Pong{2},
      FindNode{3, id_filled(0x7e)},
      sample_nodes(),
      sample_store(),
      StoreAck{10, sample_nodes().contacts},
      FindValue{11, id_filled(0x01)},
      Value{12, id_filled(0x02), 5, 60, Bytes{0, 1, 2, 255}},
      PeersRequest{13, 32},
      sample_routed(),
      Signal{14, "{\"candidate\":\"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\"}"},
      Ack{15},
      DialRequest{16, {"ws://127.0.0.1:7001/", "wss://node.example.org/"}},
      RelayOpen{17, id_filled(0x33)},
      RelayData{id_filled(0x34), Bytes(1000, 0xab)},
      RelayClose{id_filled(0x35), "the relay lost its link"},
      Neighbours{{id_filled(0x36), id_filled(0x37)}},
  };
}

std::string max_string(std::size_t n, char c) { return std::string(n, c); }

void expect_round_trip(const Message& message) {
  Bytes frame = encode(message);
  ASSERT_LE(frame.size(), kMaxFrameSize);
  auto decoded = decode(frame);
  ASSERT_TRUE(decoded.ok()) << message_type_name(type_of(message)) << ": " << decoded.error().detail;
  EXPECT_TRUE(decoded.value() == message) << message_type_name(type_of(message)) << " changed in a round trip";
  EXPECT_EQ(encode(decoded.value()), frame);
}

DecodeError expect_refused(const Bytes& frame, DecodeErrorKind kind) {
  auto decoded = decode(frame);
  if (decoded.ok()) {
    ADD_FAILURE() << "frame " << to_hex(frame) << " decoded; expected " << decode_error_kind_name(kind);
    return DecodeError{kind};
  }
  EXPECT_EQ(decode_error_kind_name(decoded.error().kind), decode_error_kind_name(kind)) << decoded.error().detail;
  EXPECT_FALSE(decoded.error().detail.empty());
  return decoded.error();
}

// ---- Message type helpers ----------------------------------------------------

TEST(CodecMessageTypes, IndexIsDenseAndInverse) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kMessageTypeCount; ++i) {
    MessageType type = message_type_at(i);
    EXPECT_EQ(message_type_index(static_cast<std::uint8_t>(type)), i);
    EXPECT_NE(message_type_name(type), "unknown");
    names.insert(message_type_name(type));
  }
  EXPECT_EQ(names.size(), kMessageTypeCount);
  EXPECT_EQ(message_type_at(0), MessageType::hello);
  EXPECT_EQ(message_type_at(kMessageTypeCount - 1), MessageType::neighbours);
  EXPECT_THROW(message_type_at(kMessageTypeCount), std::out_of_range);
}

TEST(CodecMessageTypes, UnknownRawTypesMapToTheExtraSlot) {
  int known = 0;
  for (int raw = 0; raw < 256; ++raw) {
    if (message_type_index(static_cast<std::uint8_t>(raw)) < kMessageTypeCount) ++known;
  }
  EXPECT_EQ(known, static_cast<int>(kMessageTypeCount));
  EXPECT_EQ(message_type_index(0x00), kMessageTypeCount);
  EXPECT_EQ(message_type_index(0x05), kMessageTypeCount);
  EXPECT_EQ(message_type_index(0x21), kMessageTypeCount);
  EXPECT_EQ(message_type_index(0xff), kMessageTypeCount);
  EXPECT_EQ(message_type_name(MessageType::find_value), "find_value");
}

TEST(CodecMessageTypes, TypeAndRequestIdOfEveryMessage) {
  const auto messages = sample_messages();
  ASSERT_EQ(messages.size(), kMessageTypeCount);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(type_of(messages[i]), message_type_at(i));
    Bytes frame = encode(messages[i]);
    EXPECT_EQ(frame[0], static_cast<std::uint8_t>(message_type_at(i)));
  }
  EXPECT_EQ(request_id_of(sample_hello()), 0u);
  EXPECT_EQ(request_id_of(Auth{}), 0u);
  EXPECT_EQ(request_id_of(Goodbye{}), 0u);
  EXPECT_EQ(request_id_of(Error{31, ErrorCode::internal, ""}), 31u);
  EXPECT_EQ(request_id_of(sample_store()), 9u);
  EXPECT_EQ(request_id_of(PeersRequest{13, 1}), 13u);
}

// ---- Round trips ---------------------------------------------------------------

TEST(CodecRoundTrip, EveryMessageType) {
  for (const auto& message : sample_messages()) expect_round_trip(message);
}

TEST(CodecRoundTrip, HeaderLayoutIsTypeThenLittleEndianRequestId) {
  Bytes frame = encode(Ping{0x0a0b0c0d});
  EXPECT_EQ(frame, (Bytes{0x10, 0x0d, 0x0c, 0x0b, 0x0a}));
  frame = encode(StoreAck{0xffffffffu});
  EXPECT_EQ(frame, (Bytes{0x15, 0xff, 0xff, 0xff, 0xff}));
}

TEST(CodecRoundTrip, LimitSizedMessages) {
  std::vector<std::string> max_addresses;
  for (std::size_t i = 0; i < kMaxAddresses; ++i) max_addresses.push_back(max_string(kMaxAddressLength, static_cast<char>('a' + i)));

  Hello hello = sample_hello();
  hello.version_min = 1;
  hello.version_max = 0xffff;
  hello.addresses = max_addresses;
  hello.build_id = max_string(kMaxBuildIdLength, 'b');
  expect_round_trip(hello);

  Nodes nodes{0xfffffffeu, {}};
  for (std::size_t i = 0; i < kMaxContacts; ++i) {
    nodes.contacts.push_back(Contact{id_filled(static_cast<std::uint8_t>(i)), Role::dht, max_addresses});
  }
  expect_round_trip(nodes);

  Bytes big(kMaxValueSize);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31);
  expect_round_trip(Store{1, id_filled(0xff), UINT64_MAX, kMaxTtlSeconds, big});
  expect_round_trip(Value{2, id_filled(0x00), 0, kMaxTtlSeconds, big});
  EXPECT_EQ(encode(Store{1, id_filled(0xff), 0, 1, big}).size(), 5 + 32 + 8 + 4 + 4 + kMaxValueSize);

  expect_round_trip(Goodbye{CloseCode::normal, max_string(kMaxReasonLength, 'r')});
  expect_round_trip(Error{5, ErrorCode::internal, max_string(kMaxErrorTextLength, 'e')});
  expect_round_trip(PeersRequest{1, 1});
  expect_round_trip(PeersRequest{1, static_cast<std::uint8_t>(kMaxContacts)});
  expect_round_trip(Goodbye{static_cast<CloseCode>(4999), ""});
  expect_round_trip(Error{1, static_cast<ErrorCode>(0xffff), ""});
}

TEST(CodecRoundTrip, EmptyWhereAllowed) {
  Hello hello = sample_hello();
  hello.addresses.clear();
  hello.build_id.clear();
  expect_round_trip(hello);
  expect_round_trip(Goodbye{CloseCode::normal, ""});
  expect_round_trip(Error{0, ErrorCode::malformed, ""});
  expect_round_trip(Nodes{4, {}});
  expect_round_trip(Nodes{4, {Contact{id_filled(9), Role::browser, {}}}});
  expect_round_trip(Store{5, id_filled(1), 0, 1, {}});
  expect_round_trip(Value{5, id_filled(1), 0, 1, {}});
}

TEST(CodecRoundTrip, MultiByteUtf8IsKept) {
  // 2-, 3- and 4-byte sequences, and the highest code point U+10FFFF.
  const std::string text = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  expect_round_trip(Goodbye{CloseCode::normal, text});
  expect_round_trip(Error{3, ErrorCode::malformed, text});
  Hello hello = sample_hello();
  hello.build_id = text;
  hello.addresses = {"ws://\xc3\xa9xample.org/"};
  expect_round_trip(hello);
}

// ---- Refusals -------------------------------------------------------------------

TEST(CodecReject, EmptyFrame) {
  auto error = expect_refused(Bytes{}, DecodeErrorKind::empty);
  EXPECT_EQ(error.raw_type, 0);
  EXPECT_EQ(error.request_id, 0u);
}

TEST(CodecReject, FrameAboveMaxSizeBeforeAnythingElse) {
  // A Store frame with a huge value: too_large wins over bad_length.
  Bytes frame = FrameBuilder(0x14, 3).fill(32, 1).u64(1).u32(60).u32(kMaxFrameSize).bytes();
  frame.resize(kMaxFrameSize + 1, 0x61);
  auto error = expect_refused(frame, DecodeErrorKind::too_large);
  EXPECT_NE(error.detail.find(std::to_string(kMaxFrameSize + 1)), std::string::npos) << error.detail;
  // Unknown type byte: still too_large first.
  frame[0] = 0x7f;
  expect_refused(frame, DecodeErrorKind::too_large);
  // Exactly kMaxFrameSize bytes is not too large; it fails on the value length.
  frame[0] = 0x14;
  frame.resize(kMaxFrameSize);
  expect_refused(frame, DecodeErrorKind::bad_length);
}

TEST(CodecReject, UnknownTypeKeepsTypeAndRequestId) {
  std::set<int> known;
  for (std::size_t i = 0; i < kMessageTypeCount; ++i) known.insert(static_cast<int>(message_type_at(i)));
  int unknown = 0;
  for (int raw = 0; raw < 256; ++raw) {
    if (known.count(raw)) continue;
    ++unknown;
    Bytes frame = FrameBuilder(static_cast<std::uint8_t>(raw), 0x12345678).fill(3, 0).bytes();
    auto error = expect_refused(frame, DecodeErrorKind::unknown_type);
    EXPECT_EQ(error.raw_type, raw);
    EXPECT_EQ(error.request_id, 0x12345678u);
  }
  EXPECT_EQ(unknown, 256 - static_cast<int>(kMessageTypeCount));
  // Shorter than the header: type still reported, request id unknown (0).
  auto error = expect_refused(Bytes{0x99, 0x01}, DecodeErrorKind::unknown_type);
  EXPECT_EQ(error.raw_type, 0x99);
  EXPECT_EQ(error.request_id, 0u);
}

TEST(CodecReject, ErrorsAfterTheHeaderKeepTypeAndRequestId) {
  Bytes frame = FrameBuilder(0x14, 0xdeadbeef).fill(32, 1).u64(1).u32(0).u32(0).bytes();
  auto error = expect_refused(frame, DecodeErrorKind::invalid_value);
  EXPECT_EQ(error.raw_type, 0x14);
  EXPECT_EQ(error.request_id, 0xdeadbeefu);
  EXPECT_NE(error.detail.find("Store.ttl_seconds"), std::string::npos) << error.detail;
}

TEST(CodecReject, TruncatedAtEveryPosition) {
  Nodes full_nodes{5, {}};
  full_nodes.contacts.push_back(Contact{id_filled(3), Role::bridge, {"ws://x/", "wss://yy/"}});
  std::vector<Message> messages = sample_messages();
  messages.push_back(full_nodes);
  for (const auto& message : messages) {
    Bytes frame = encode(message);
    for (std::size_t cut = 0; cut < frame.size(); ++cut) {
      // A StoreAck's contact list is optional: its bare header is a whole StoreAck.
      if (cut == 5 && std::holds_alternative<StoreAck>(message)) continue;
      Bytes prefix(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(cut));
      auto decoded = decode(prefix);
      ASSERT_FALSE(decoded.ok()) << message_type_name(type_of(message)) << " cut at " << cut;
      auto expected = cut == 0 ? DecodeErrorKind::empty : DecodeErrorKind::truncated;
      EXPECT_EQ(decode_error_kind_name(decoded.error().kind), decode_error_kind_name(expected))
          << message_type_name(type_of(message)) << " cut at " << cut << ": " << decoded.error().detail;
      if (cut >= 5) {
        EXPECT_EQ(decoded.error().request_id, request_id_of(message));
      }
    }
  }
}

TEST(CodecReject, TruncationDetailNamesTheField) {
  Bytes frame = encode(sample_store());
  frame.resize(frame.size() - 3);
  auto error = expect_refused(frame, DecodeErrorKind::truncated);
  EXPECT_EQ(error.detail, "frame ended inside Store.value: 16 bytes needed, 13 left");

  frame = encode(sample_nodes());
  frame.resize(5 + 1 + (32 + 1 + 1 + 2 + 19) + (32 + 1));  // just before contacts[1]'s address count
  error = expect_refused(frame, DecodeErrorKind::truncated);
  EXPECT_NE(error.detail.find("Nodes.contacts[1].addresses"), std::string::npos) << error.detail;
}

TEST(CodecReject, TrailingBytes) {
  for (const auto& message : sample_messages()) {
    Bytes frame = encode(message);
    frame.push_back(0);
    auto error = expect_refused(frame, DecodeErrorKind::trailing_bytes);
    EXPECT_NE(error.detail.find("1 bytes left"), std::string::npos) << error.detail;
  }
}

TEST(CodecReject, OversizedLengthsAndCounts) {
  auto value_detail = expect_refused(FrameBuilder(0x14, 1).fill(32, 0).u64(1).u32(60).u32(70000).bytes(),
                                     DecodeErrorKind::bad_length)
                          .detail;
  EXPECT_EQ(value_detail, "Store.value length 70000 exceeds the 65536-byte limit");
  expect_refused(FrameBuilder(0x17, 1).fill(32, 0).u64(1).u32(60).u32(kMaxValueSize + 1).bytes(),
                 DecodeErrorKind::bad_length);

  auto nodes = expect_refused(FrameBuilder(0x13, 1).u8(kMaxContacts + 1).bytes(), DecodeErrorKind::bad_length);
  EXPECT_EQ(nodes.detail, "Nodes.contacts count 33 exceeds the limit of 32");

  FrameBuilder contact(0x13, 1);
  contact.u8(1).fill(32, 0).u8(3).u8(kMaxAddresses + 1);
  expect_refused(contact.bytes(), DecodeErrorKind::bad_length);

  FrameBuilder long_address(0x13, 1);
  long_address.u8(2).fill(32, 0).u8(3).u8(0).fill(32, 1).u8(3).u8(1).str(max_string(kMaxAddressLength + 1, 'w'));
  auto address = expect_refused(long_address.bytes(), DecodeErrorKind::bad_length);
  EXPECT_EQ(address.detail, "Nodes.contacts[1].addresses[0] length 257 exceeds the 256-byte limit");

  auto hello_prefix = [] {
    FrameBuilder b(0x01, 0);
    b.u16(1).u16(1).u8(3).fill(32, 7);
    return b;
  };
  expect_refused(hello_prefix().u8(kMaxAddresses + 1).bytes(), DecodeErrorKind::bad_length);
  expect_refused(hello_prefix().u8(1).str(max_string(kMaxAddressLength + 1, 'a')).bytes(),
                 DecodeErrorKind::bad_length);
  expect_refused(hello_prefix().u8(0).str(max_string(kMaxBuildIdLength + 1, 'b')).fill(32, 0).bytes(),
                 DecodeErrorKind::bad_length);
  expect_refused(FrameBuilder(0x03, 0).u16(4000).str(max_string(kMaxReasonLength + 1, 'r')).bytes(),
                 DecodeErrorKind::bad_length);
  expect_refused(FrameBuilder(0x04, 0).u16(2).str(max_string(kMaxErrorTextLength + 1, 'e')).bytes(),
                 DecodeErrorKind::bad_length);
  expect_refused(FrameBuilder(0x18, 0).u8(kMaxContacts + 1).bytes(), DecodeErrorKind::bad_length);
  // A huge announced length with nothing behind it is reported as over the limit,
  // not as truncation, and nothing is allocated for it.
  expect_refused(FrameBuilder(0x14, 1).fill(32, 0).u64(1).u32(60).u32(0xffffffffu).bytes(),
                 DecodeErrorKind::bad_length);
}

TEST(CodecReject, BadRole) {
  for (int role : {0, 7, 255}) {
    FrameBuilder hello(0x01, 0);
    hello.u16(1).u16(1).u8(static_cast<std::uint8_t>(role)).fill(32, 7).u8(0).str("").fill(32, 0);
    auto error = expect_refused(hello.bytes(), DecodeErrorKind::bad_enum);
    EXPECT_NE(error.detail.find("Hello.role " + std::to_string(role)), std::string::npos) << error.detail;
    auto contact =
        expect_refused(FrameBuilder(0x13, 1).u8(1).fill(32, 0).u8(static_cast<std::uint8_t>(role)).u8(0).bytes(),
                       DecodeErrorKind::bad_enum);
    EXPECT_NE(contact.detail.find("Nodes.contacts[0].role"), std::string::npos) << contact.detail;
  }
}

TEST(CodecReject, BadCloseAndErrorCodes) {
  for (int code : {0, 1000, 3999, 5000, 65535}) {
    auto error = expect_refused(FrameBuilder(0x03, 0).u16(static_cast<std::uint16_t>(code)).str("").bytes(),
                                DecodeErrorKind::bad_enum);
    EXPECT_NE(error.detail.find("Goodbye.code"), std::string::npos) << error.detail;
  }
  for (int code : {4000, 4012, 4500, 4999}) {
    EXPECT_TRUE(decode(FrameBuilder(0x03, 0).u16(static_cast<std::uint16_t>(code)).str("").bytes()).ok()) << code;
  }
  expect_refused(FrameBuilder(0x04, 1).u16(0).str("").bytes(), DecodeErrorKind::bad_enum);
}

TEST(CodecReject, BadUtf8) {
  const std::vector<std::string> bad = {
      "\xff",              // never valid
      "\x80",              // lone continuation byte
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong
      "\xe0\x9f\xbf",      // overlong 3-byte
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf0\x8f\xbf\xbf",  // overlong 4-byte
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xf5\x80\x80\x80",  // lead byte past F4
      "ok\xe2\x82",        // sequence cut by the end of the string
      "\xe2\x28\xa1",      // bad continuation
  };
  for (const auto& text : bad) {
    auto goodbye = expect_refused(FrameBuilder(0x03, 0).u16(4000).str(text).bytes(), DecodeErrorKind::bad_text);
    EXPECT_NE(goodbye.detail.find("Goodbye.reason is not valid UTF-8"), std::string::npos) << goodbye.detail;
    expect_refused(FrameBuilder(0x04, 1).u16(2).str(text).bytes(), DecodeErrorKind::bad_text);
    expect_refused(FrameBuilder(0x13, 1).u8(1).fill(32, 0).u8(3).u8(1).str(text).bytes(), DecodeErrorKind::bad_text);
    FrameBuilder hello(0x01, 0);
    hello.u16(1).u16(1).u8(3).fill(32, 7).u8(0).str(text).fill(32, 0);
    expect_refused(hello.bytes(), DecodeErrorKind::bad_text);
  }
}

TEST(CodecReject, InvalidValues) {
  auto hello = [](std::uint32_t request_id, std::uint16_t min, std::uint16_t max, std::string_view address) {
    FrameBuilder b(0x01, request_id);
    b.u16(min).u16(max).u8(3).fill(32, 7);
    if (address == "-") {
      b.u8(0);
    } else {
      b.u8(1).str(address);
    }
    b.str("build").fill(32, 0);
    return b.bytes();
  };
  EXPECT_TRUE(decode(hello(0, 1, 1, "-")).ok());
  EXPECT_TRUE(decode(hello(0, 3, 3, "ws://x/")).ok());
  auto id = expect_refused(hello(4, 1, 1, "-"), DecodeErrorKind::invalid_value);
  EXPECT_EQ(id.detail, "Hello carries request id 4; Hello, Auth and Goodbye must carry request id 0");
  expect_refused(hello(0, 0, 1, "-"), DecodeErrorKind::invalid_value);
  auto reversed = expect_refused(hello(0, 3, 2, "-"), DecodeErrorKind::invalid_value);
  EXPECT_EQ(reversed.detail, "Hello.version_min 3 is above Hello.version_max 2");
  auto empty = expect_refused(hello(0, 1, 1, ""), DecodeErrorKind::invalid_value);
  EXPECT_NE(empty.detail.find("Hello.addresses[0] is empty"), std::string::npos) << empty.detail;
  expect_refused(FrameBuilder(0x13, 1).u8(1).fill(32, 0).u8(3).u8(1).str("").bytes(), DecodeErrorKind::invalid_value);

  expect_refused(FrameBuilder(0x02, 1).fill(64, 0).bytes(), DecodeErrorKind::invalid_value);
  expect_refused(FrameBuilder(0x03, 1).u16(4000).str("").bytes(), DecodeErrorKind::invalid_value);

  for (std::uint32_t ttl : {0u, kMaxTtlSeconds + 1, 0xffffffffu}) {
    expect_refused(FrameBuilder(0x14, 1).fill(32, 0).u64(1).u32(ttl).u32(0).bytes(), DecodeErrorKind::invalid_value);
    expect_refused(FrameBuilder(0x17, 1).fill(32, 0).u64(1).u32(ttl).u32(0).bytes(), DecodeErrorKind::invalid_value);
  }
  expect_refused(FrameBuilder(0x18, 1).u8(0).bytes(), DecodeErrorKind::invalid_value);
}

// ---- encode() refuses what decode() would refuse ----------------------------------

TEST(CodecEncode, ThrowsOnMessagesOutsideTheLimits) {
  Nodes too_many{1, std::vector<Contact>(kMaxContacts + 1, Contact{id_filled(1), Role::dht, {}})};
  EXPECT_THROW(encode(too_many), std::invalid_argument);
  EXPECT_THROW(encode(Store{1, id_filled(1), 0, 60, Bytes(kMaxValueSize + 1)}), std::invalid_argument);
  EXPECT_THROW(encode(Value{1, id_filled(1), 0, 0, {}}), std::invalid_argument);
  EXPECT_THROW(encode(Store{1, id_filled(1), 0, kMaxTtlSeconds + 1, {}}), std::invalid_argument);
  EXPECT_THROW(encode(Goodbye{static_cast<CloseCode>(3999), ""}), std::invalid_argument);
  EXPECT_THROW(encode(Goodbye{CloseCode::normal, std::string(kMaxReasonLength + 1, 'x')}), std::invalid_argument);
  EXPECT_THROW(encode(Goodbye{CloseCode::normal, "\xff"}), std::invalid_argument);
  EXPECT_THROW(encode(Error{1, static_cast<ErrorCode>(0), ""}), std::invalid_argument);
  EXPECT_THROW(encode(PeersRequest{1, 0}), std::invalid_argument);
  EXPECT_THROW(encode(PeersRequest{1, static_cast<std::uint8_t>(kMaxContacts + 1)}), std::invalid_argument);

  Hello hello = sample_hello();
  hello.role = static_cast<Role>(9);
  EXPECT_THROW(encode(hello), std::invalid_argument);
  hello = sample_hello();
  hello.version_min = 3;
  hello.version_max = 2;
  EXPECT_THROW(encode(hello), std::invalid_argument);
  hello = sample_hello();
  hello.addresses = {""};
  EXPECT_THROW(encode(hello), std::invalid_argument);
  hello = sample_hello();
  hello.addresses = std::vector<std::string>(kMaxAddresses + 1, "ws://x/");
  EXPECT_THROW(encode(hello), std::invalid_argument);
  hello = sample_hello();
  hello.build_id = std::string(kMaxBuildIdLength + 1, 'b');
  EXPECT_THROW(encode(hello), std::invalid_argument);

  try {
    encode(Store{1, id_filled(1), 0, 60, Bytes(70000)});
    ADD_FAILURE() << "encode accepted a 70000-byte value";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "cannot encode: Store.value length 70000 exceeds the 65536-byte limit");
  }
}

// ---- Fuzz ------------------------------------------------------------------------

// Seeded mutations of valid frames: decode must never crash (ASan/UBSan builds
// check memory), must explain every refusal, and anything it accepts must
// re-encode to exactly the bytes it was given (the encoding is canonical).
TEST(CodecFuzz, MutatedFramesNeverCrashAndAcceptedOnesReencodeExactly) {
  std::vector<Bytes> corpus;
  for (const auto& message : sample_messages()) corpus.push_back(encode(message));
  corpus.push_back(encode(Nodes{1, {Contact{id_filled(1), Role::dht, {"ws://a/"}}}}));
  corpus.push_back(encode(Goodbye{CloseCode::normal, "caf\xc3\xa9"}));

  SeededRandom random(20240611);
  int accepted = 0;
  int refused = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    Bytes frame = corpus[random.uniform(corpus.size())];
    const int mutations = 1 + static_cast<int>(random.uniform(4));
    for (int m = 0; m < mutations; ++m) {
      const std::size_t pos = frame.empty() ? 0 : random.uniform(frame.size());
      switch (random.uniform(7)) {
        case 0:  // flip one bit
          if (!frame.empty()) frame[pos] ^= static_cast<std::uint8_t>(1u << random.uniform(8));
          break;
        case 1:  // random byte
          if (!frame.empty()) frame[pos] = static_cast<std::uint8_t>(random.next_u64());
          break;
        case 2:  // insert a byte
          frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<std::uint8_t>(random.next_u64()));
          break;
        case 3:  // delete a byte
          if (!frame.empty()) frame.erase(frame.begin() + static_cast<std::ptrdiff_t>(pos));
          break;
        case 4:  // truncate
          frame.resize(pos);
          break;
        case 5:  // boundary byte values where lengths and counts live
          if (!frame.empty()) frame[pos] = random.uniform(2) ? 0x00 : 0xff;
          break;
        case 6:  // change the type byte to another known type
          if (!frame.empty()) frame[0] = static_cast<std::uint8_t>(message_type_at(random.uniform(kMessageTypeCount)));
          break;
      }
    }
    auto decoded = decode(frame);
    if (decoded.ok()) {
      ++accepted;
      ASSERT_EQ(to_hex(encode(decoded.value())), to_hex(frame)) << "iteration " << iteration;
    } else {
      ++refused;
      ASSERT_FALSE(decoded.error().detail.empty()) << "iteration " << iteration << " frame " << to_hex(frame);
    }
  }
  // Both paths must have been exercised for the loop to mean anything.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace yz
