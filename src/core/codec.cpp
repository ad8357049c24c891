// Binary wire codec (layouts: docs/protocol.md). decode() validates every length,
// count, enum and string before it allocates or stores anything, and reports the
// first problem in plain words. encode() applies the same checks and throws
// std::invalid_argument on a message decode() would refuse, so encode(m) always
// decodes back to m and decode(f) re-encodes to exactly f.
#include "core/codec.hpp"

#include <array>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace yz {

namespace {

constexpr std::size_t kHeaderSize = 5;  // type u8 + request_id u32
constexpr std::uint16_t kCloseCodeMin = 4000;
constexpr std::uint16_t kCloseCodeMax = 4999;

// Worst-case frame sizes prove that every valid message fits in one frame, so
// encode() never has to refuse a message for its total size.
constexpr std::size_t str_size(std::size_t limit) { return 2 + limit; }
constexpr std::size_t kMaxAddressListSize = 1 + kMaxAddresses * str_size(kMaxAddressLength);
constexpr std::size_t kMaxContactSize = NodeId::kSize + 1 + kMaxAddressListSize;
static_assert(kHeaderSize + 1 + kMaxContacts * kMaxContactSize <= kMaxFrameSize, "largest Nodes fits");
static_assert(kHeaderSize + NodeId::kSize + 8 + 4 + 4 + kMaxValueSize <= kMaxFrameSize, "largest Store fits");
static_assert(kHeaderSize + 2 + 2 + 1 + 32 + kMaxAddressListSize + str_size(kMaxBuildIdLength) + 32 <=
                  kMaxFrameSize,
              "largest Hello fits");
static_assert(kHeaderSize + 32 + 32 + 8 + 1 + 1 + 32 + 64 + 4 + kMaxRoutedPayload <= kMaxFrameSize,
              "largest Routed fits");
static_assert(kHeaderSize + NodeId::kSize + 4 + kMaxRelayPayload <= kMaxFrameSize, "a RelayData fits in one frame");
static_assert(kHeaderSize + NodeId::kSize + 8 + 4 + 4 + kMaxValueSize <= kMaxRoutedPayload,
              "a routed Store carries the largest value");
static_assert(kMaxContacts <= 255 && kMaxAddresses <= 255 && kMaxNeighbours <= 255, "counts are sent as u8");
static_assert(kHeaderSize + 1 + kMaxNeighbours * NodeId::kSize <= kMaxFrameSize, "largest Neighbours fits");
static_assert(kMaxAddressLength <= 0xffff && kMaxBuildIdLength <= 0xffff && kMaxReasonLength <= 0xffff &&
                  kMaxErrorTextLength <= 0xffff,
              "string lengths are sent as u16");

std::string hex_byte(std::uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 0xf];
}

// A field's name for error text, built only when an error is reported:
// base[index].member[sub_index], e.g. "Nodes.contacts[3].addresses[1]".
struct FieldName {
  std::string_view base;
  int index = -1;
  std::string_view member;
  int sub_index = -1;

  std::string str() const {
    std::string s(base);
    if (index >= 0) s += "[" + std::to_string(index) + "]";
    if (!member.empty()) {
      s += ".";
      s += member;
    }
    if (sub_index >= 0) s += "[" + std::to_string(sub_index) + "]";
    return s;
  }
  FieldName with(std::string_view child) const {
    FieldName f = *this;
    f.member = child;
    return f;
  }
  FieldName at(int i) const {
    FieldName f = *this;
    if (f.member.empty()) {
      f.index = i;
    } else {
      f.sub_index = i;
    }
    return f;
  }
};

struct Problem {
  DecodeErrorKind kind;
  std::string detail;
};
using Check = std::optional<Problem>;

// Offset of the first byte that breaks strict UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or text.size() when the text is valid.
std::size_t first_invalid_utf8(BytesView text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const std::uint8_t b = text[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t continuation = 0;
    std::uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
      continuation = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      continuation = 2;
      if (b == 0xe0) lo = 0xa0;  // overlong
      if (b == 0xed) hi = 0x9f;  // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      continuation = 3;
      if (b == 0xf0) lo = 0x90;  // overlong
      if (b == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + continuation >= n) return i;
    if (text[i + 1] < lo || text[i + 1] > hi) return i;
    for (std::size_t j = 2; j <= continuation; ++j) {
      if (text[i + j] < 0x80 || text[i + j] > 0xbf) return i;
    }
    i += continuation + 1;
  }
  return n;
}

// ---- Checks shared by encode() and decode() --------------------------------

Check check_text_length(std::size_t length, std::size_t limit, bool allow_empty, const FieldName& field) {
  if (length > limit) {
    return Problem{DecodeErrorKind::bad_length, field.str() + " length " + std::to_string(length) +
                                                    " exceeds the " + std::to_string(limit) + "-byte limit"};
  }
  if (length == 0 && !allow_empty) {
    return Problem{DecodeErrorKind::invalid_value, field.str() + " is empty; it must hold 1 to " +
                                                       std::to_string(limit) + " bytes"};
  }
  return std::nullopt;
}

Check check_utf8(BytesView text, const FieldName& field) {
  std::size_t bad = first_invalid_utf8(text);
  if (bad == text.size()) return std::nullopt;
  return Problem{DecodeErrorKind::bad_text, field.str() + " is not valid UTF-8 (byte " + hex_byte(text[bad]) +
                                                " at offset " + std::to_string(bad) + " of the string)"};
}

Check check_count(std::size_t count, std::size_t limit, const FieldName& field) {
  if (count <= limit) return std::nullopt;
  return Problem{DecodeErrorKind::bad_length, field.str() + " count " + std::to_string(count) +
                                                  " exceeds the limit of " + std::to_string(limit)};
}

Check check_blob_length(std::size_t length, std::size_t limit, const FieldName& field) {
  if (length <= limit) return std::nullopt;
  return Problem{DecodeErrorKind::bad_length, field.str() + " length " + std::to_string(length) +
                                                  " exceeds the " + std::to_string(limit) + "-byte limit"};
}

Check check_role(std::uint8_t raw, const FieldName& field) {
  if (role_is_valid(raw)) return std::nullopt;
  return Problem{DecodeErrorKind::bad_enum,
                 field.str() + " " + std::to_string(raw) +
                     " is not a known role (1 genesis, 2 bridge, 3 dht, 4 browser, 5 client, 6 bootstrap)"};
}

Check check_close_code(std::uint16_t code) {
  if (code >= kCloseCodeMin && code <= kCloseCodeMax) return std::nullopt;
  return Problem{DecodeErrorKind::bad_enum,
                 "Goodbye.code " + std::to_string(code) + " is outside the close-code range 4000..4999"};
}

Check check_error_code(std::uint16_t code) {
  if (code != 0) return std::nullopt;
  return Problem{DecodeErrorKind::bad_enum, "Error.code 0 is not an error code (codes start at 1)"};
}

Check check_versions(std::uint16_t min, std::uint16_t max) {
  if (min == 0) {
    return Problem{DecodeErrorKind::invalid_value, "Hello.version_min 0 is not a protocol version (versions start at 1)"};
  }
  if (min > max) {
    return Problem{DecodeErrorKind::invalid_value, "Hello.version_min " + std::to_string(min) +
                                                       " is above Hello.version_max " + std::to_string(max)};
  }
  return std::nullopt;
}

Check check_ttl(std::uint32_t ttl, const FieldName& field) {
  if (ttl >= 1 && ttl <= kMaxTtlSeconds) return std::nullopt;
  return Problem{DecodeErrorKind::invalid_value, field.str() + " " + std::to_string(ttl) + " is outside 1.." +
                                                     std::to_string(kMaxTtlSeconds) + " seconds"};
}

Check check_max_peers(std::uint8_t max_peers) {
  if (max_peers == 0) {
    return Problem{DecodeErrorKind::invalid_value, "PeersRequest.max_peers is 0; it must be 1.." +
                                                       std::to_string(kMaxContacts)};
  }
  return check_count(max_peers, kMaxContacts, FieldName{"PeersRequest.max_peers"});
}

Check check_routed_flags(std::uint8_t flags) {
  if ((flags & ~(Routed::kReply | Routed::kBounce)) == 0) return std::nullopt;
  return Problem{DecodeErrorKind::invalid_value,
                 "Routed.flags " + hex_byte(flags) + " sets bits other than reply (0x01) and bounce (0x02)"};
}

Check check_zero_request_id(std::string_view message, std::uint32_t request_id) {
  if (request_id == 0) return std::nullopt;
  return Problem{DecodeErrorKind::invalid_value, std::string(message) + " carries request id " +
                                                     std::to_string(request_id) +
                                                     "; Hello, Auth and Goodbye must carry request id 0"};
}

// ---- Encoding ----------------------------------------------------------------

void require(const Check& check) {
  if (check) throw std::invalid_argument("cannot encode: " + check->detail);
}

class Writer {
 public:
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put_le(v, 2); }
  void u32(std::uint32_t v) { put_le(v, 4); }
  void u64(std::uint64_t v) { put_le(v, 8); }
  void raw(BytesView bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }

  void text(std::string_view s, std::size_t limit, bool allow_empty, const FieldName& field) {
    BytesView view = as_bytes(s);
    require(check_text_length(view.size(), limit, allow_empty, field));
    require(check_utf8(view, field));
    u16(static_cast<std::uint16_t>(view.size()));
    raw(view);
  }
  void blob(const Bytes& b, std::size_t limit, const FieldName& field) {
    require(check_blob_length(b.size(), limit, field));
    u32(static_cast<std::uint32_t>(b.size()));
    raw(b);
  }
  // A list's u8 element count, checked against its limit.
  void count(std::size_t n, std::size_t limit, const FieldName& field) {
    require(check_count(n, limit, field));
    u8(static_cast<std::uint8_t>(n));
  }
  template <typename List>  // std::vector<std::string> (Hello, DialRequest) or Addresses (Contact)
  void addresses(const List& addrs, const FieldName& field) {
    count(addrs.size(), kMaxAddresses, field);
    int i = 0;
    for (const auto& address : addrs) text(address, kMaxAddressLength, false, field.at(i++));
  }
  void role(Role r, const FieldName& field) {
    auto raw_role = static_cast<std::uint8_t>(r);
    require(check_role(raw_role, field));
    u8(raw_role);
  }

  Bytes take() { return std::move(out_); }

 private:
  void put_le(std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

void write_value_fields(Writer& w, std::string_view message, const NodeId& key, std::uint64_t seq,
                        std::uint32_t ttl, const Bytes& value) {
  w.raw(key.bytes);
  w.u64(seq);
  require(check_ttl(ttl, FieldName{message, -1, "ttl_seconds"}));
  w.u32(ttl);
  w.blob(value, kMaxValueSize, FieldName{message, -1, "value"});
}

void write_body(Writer& w, const Hello& m) {
  require(check_versions(m.version_min, m.version_max));
  w.u16(m.version_min);
  w.u16(m.version_max);
  w.role(m.role, FieldName{"Hello.role"});
  w.raw(m.public_key);
  w.addresses(m.addresses, FieldName{"Hello.addresses"});
  w.text(m.build_id, kMaxBuildIdLength, true, FieldName{"Hello.build_id"});
  w.raw(m.nonce);
}
void write_body(Writer& w, const Auth& m) { w.raw(m.signature); }
void write_body(Writer& w, const Goodbye& m) {
  auto code = static_cast<std::uint16_t>(m.code);
  require(check_close_code(code));
  w.u16(code);
  w.text(m.reason, kMaxReasonLength, true, FieldName{"Goodbye.reason"});
}
void write_body(Writer& w, const Error& m) {
  auto code = static_cast<std::uint16_t>(m.code);
  require(check_error_code(code));
  w.u16(code);
  w.text(m.message, kMaxErrorTextLength, true, FieldName{"Error.message"});
}
void write_body(Writer&, const Ping&) {}
void write_body(Writer&, const Pong&) {}
void write_body(Writer& w, const FindNode& m) { w.raw(m.target.bytes); }
void write_body(Writer& w, const FindValue& m) { w.raw(m.key.bytes); }
void write_contacts(Writer& w, const std::vector<Contact>& list, const FieldName& contacts) {
  w.count(list.size(), kMaxContacts, contacts);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Contact& c = list[i];
    const FieldName field = contacts.at(static_cast<int>(i));
    w.raw(c.id.bytes);
    w.role(c.role, field.with("role"));
    w.addresses(c.addresses, field.with("addresses"));
  }
}
void write_body(Writer& w, const Nodes& m) {
  write_contacts(w, m.contacts, FieldName{"Nodes.contacts"});
}
// An empty list is no field at all: the version 1 and 2 body.
void write_body(Writer& w, const StoreAck& m) {
  if (!m.contacts.empty()) write_contacts(w, m.contacts, FieldName{"StoreAck.contacts"});
}
void write_body(Writer& w, const Store& m) { write_value_fields(w, "Store", m.key, m.seq, m.ttl_seconds, m.value); }
void write_body(Writer& w, const Value& m) { write_value_fields(w, "Value", m.key, m.seq, m.ttl_seconds, m.value); }
void write_body(Writer& w, const PeersRequest& m) {
  require(check_max_peers(m.max_peers));
  w.u8(m.max_peers);
}
void write_body(Writer& w, const Routed& m) {
  require(check_routed_flags(m.flags));
  w.raw(m.source.bytes);
  w.raw(m.destination.bytes);
  w.u64(m.message_id);
  w.u8(m.hop_limit);
  w.u8(m.flags);
  w.raw(m.source_key);
  w.raw(m.signature);
  w.blob(m.payload, kMaxRoutedPayload, FieldName{"Routed.payload"});
}

void write_body(Writer& w, const Signal& m) { w.text(m.data, kMaxSignalLength, false, FieldName{"Signal.data"}); }
void write_body(Writer&, const Ack&) {}
void write_body(Writer& w, const DialRequest& m) {
  const FieldName field{"DialRequest.addresses"};
  if (m.addresses.empty()) {
    require(Problem{DecodeErrorKind::invalid_value, field.str() + " is empty; it must list 1.." +
                                                        std::to_string(kMaxAddresses) + " addresses"});
  }
  w.addresses(m.addresses, field);
}

void write_body(Writer& w, const RelayOpen& m) { w.raw(m.peer.bytes); }
void write_body(Writer& w, const RelayData& m) {
  if (m.payload.empty()) require(Problem{DecodeErrorKind::invalid_value, "RelayData.payload is empty"});
  w.raw(m.peer.bytes);
  w.blob(m.payload, kMaxRelayPayload, FieldName{"RelayData.payload"});
}
void write_body(Writer& w, const RelayClose& m) {
  w.raw(m.peer.bytes);
  w.text(m.reason, kMaxReasonLength, true, FieldName{"RelayClose.reason"});
}

void write_body(Writer& w, const Neighbours& m) {
  w.count(m.ids.size(), kMaxNeighbours, FieldName{"Neighbours.ids"});
  for (const auto& id : m.ids) w.raw(id.bytes);
}

std::size_t size_hint(const Message& message) {
  if (const auto* s = std::get_if<Store>(&message)) return 64 + s->value.size();
  if (const auto* v = std::get_if<Value>(&message)) return 64 + v->value.size();
  if (const auto* n = std::get_if<Nodes>(&message)) return 8 + n->contacts.size() * 80;
  if (const auto* a = std::get_if<StoreAck>(&message)) return 8 + a->contacts.size() * 80;
  if (const auto* r = std::get_if<RelayData>(&message)) return 48 + r->payload.size();
  return 128;
}

// ---- Decoding ----------------------------------------------------------------

// Reads fields in order from a frame. Every read checks the bytes left first;
// the first failure is recorded in `error` and every read returns false.
class Reader {
 public:
  Reader(BytesView frame, DecodeError& error) : frame_(frame), error_(error) {}

  void skip_header() { pos_ = kHeaderSize; }
  bool at_end() const { return pos_ == frame_.size(); }
  std::uint8_t peek() const { return frame_[pos_]; }  // only when !at_end()

  bool fail(DecodeErrorKind kind, std::string detail) {
    error_.kind = kind;
    error_.detail = std::move(detail);
    return false;
  }
  bool fail(Problem problem) { return fail(problem.kind, std::move(problem.detail)); }
  bool ok(const Check& check) { return check ? fail(*check) : true; }

  bool u8(std::uint8_t& out, const FieldName& field) {
    std::uint64_t v = 0;
    if (!le(v, 1, field)) return false;
    out = static_cast<std::uint8_t>(v);
    return true;
  }
  bool u16(std::uint16_t& out, const FieldName& field) {
    std::uint64_t v = 0;
    if (!le(v, 2, field)) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
  }
  bool u32(std::uint32_t& out, const FieldName& field) {
    std::uint64_t v = 0;
    if (!le(v, 4, field)) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  bool u64(std::uint64_t& out, const FieldName& field) { return le(out, 8, field); }

  template <std::size_t N>
  bool fixed(std::array<std::uint8_t, N>& out, const FieldName& field) {
    if (!need(N, field)) return false;
    for (std::size_t i = 0; i < N; ++i) out[i] = frame_[pos_ + i];
    pos_ += N;
    return true;
  }

  bool text(std::string& out, std::size_t limit, bool allow_empty, const FieldName& field) {
    std::string_view view;
    if (!text_view(view, limit, allow_empty, field)) return false;
    out = std::string(view);
    return true;
  }
  // The same checks; `out` points into the frame.
  bool text_view(std::string_view& out, std::size_t limit, bool allow_empty, const FieldName& field) {
    std::uint16_t length = 0;
    if (!u16(length, field)) return false;
    if (!ok(check_text_length(length, limit, allow_empty, field))) return false;
    if (!need(length, field)) return false;
    BytesView view = frame_.subspan(pos_, length);
    if (!ok(check_utf8(view, field))) return false;
    out = std::string_view(reinterpret_cast<const char*>(view.data()), view.size());
    pos_ += length;
    return true;
  }

  bool blob(Bytes& out, std::size_t limit, const FieldName& field) {
    std::uint32_t length = 0;
    if (!u32(length, field)) return false;
    if (!ok(check_blob_length(length, limit, field))) return false;
    if (!need(length, field)) return false;
    BytesView view = frame_.subspan(pos_, length);
    out.assign(view.begin(), view.end());
    pos_ += length;
    return true;
  }

  bool role(Role& out, const FieldName& field) {
    std::uint8_t raw = 0;
    if (!u8(raw, field)) return false;
    if (!ok(check_role(raw, field))) return false;
    out = static_cast<Role>(raw);
    return true;
  }

  // A list's u8 element count, refused above its limit.
  bool count(std::uint8_t& out, std::size_t limit, const FieldName& field) {
    return u8(out, field) && ok(check_count(out, limit, field));
  }
  bool addresses(std::vector<std::string>& out, const FieldName& field) {
    std::uint8_t n = 0;
    if (!count(n, kMaxAddresses, field)) return false;
    out.clear();
    out.reserve(n);
    for (int i = 0; i < n; ++i) {
      std::string address;
      if (!text(address, kMaxAddressLength, false, field.at(i))) return false;
      out.push_back(std::move(address));
    }
    return true;
  }

  // A contact's addresses: views into the frame, copied once into the list's block.
  bool addresses(Addresses& out, const FieldName& field) {
    std::uint8_t n = 0;
    if (!count(n, kMaxAddresses, field)) return false;
    std::array<std::string_view, kMaxAddresses> views;
    for (int i = 0; i < n; ++i) {
      if (!text_view(views[static_cast<std::size_t>(i)], kMaxAddressLength, false, field.at(i))) return false;
    }
    out = Addresses(std::span<const std::string_view>(views.data(), n));
    return true;
  }

  bool finish(std::string_view message) {
    if (pos_ == frame_.size()) return true;
    return fail(DecodeErrorKind::trailing_bytes, std::to_string(frame_.size() - pos_) +
                                                     " bytes left after the last field of " +
                                                     std::string(message));
  }

 private:
  bool need(std::size_t n, const FieldName& field) {
    std::size_t left = frame_.size() - pos_;
    if (n <= left) return true;
    return fail(DecodeErrorKind::truncated, "frame ended inside " + field.str() + ": " + std::to_string(n) +
                                                " bytes needed, " + std::to_string(left) + " left");
  }
  bool le(std::uint64_t& out, std::size_t size, const FieldName& field) {
    if (!need(size, field)) return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v |= static_cast<std::uint64_t>(frame_[pos_ + i]) << (8 * i);
    pos_ += size;
    out = v;
    return true;
  }

  BytesView frame_;
  DecodeError& error_;
  std::size_t pos_ = 0;
};

bool read_value_fields(Reader& r, std::string_view message, NodeId& key, std::uint64_t& seq,
                       std::uint32_t& ttl, Bytes& value) {
  return r.fixed(key.bytes, FieldName{message, -1, "key"}) && r.u64(seq, FieldName{message, -1, "seq"}) &&
         r.u32(ttl, FieldName{message, -1, "ttl_seconds"}) && r.ok(check_ttl(ttl, FieldName{message, -1, "ttl_seconds"})) &&
         r.blob(value, kMaxValueSize, FieldName{message, -1, "value"});
}

bool read_body(Reader& r, Hello& m) {
  return r.u16(m.version_min, FieldName{"Hello.version_min"}) &&
         r.u16(m.version_max, FieldName{"Hello.version_max"}) && r.ok(check_versions(m.version_min, m.version_max)) &&
         r.role(m.role, FieldName{"Hello.role"}) && r.fixed(m.public_key, FieldName{"Hello.public_key"}) &&
         r.addresses(m.addresses, FieldName{"Hello.addresses"}) &&
         r.text(m.build_id, kMaxBuildIdLength, true, FieldName{"Hello.build_id"}) &&
         r.fixed(m.nonce, FieldName{"Hello.nonce"});
}
bool read_body(Reader& r, Auth& m) { return r.fixed(m.signature, FieldName{"Auth.signature"}); }
bool read_body(Reader& r, Goodbye& m) {
  std::uint16_t code = 0;
  if (!r.u16(code, FieldName{"Goodbye.code"}) || !r.ok(check_close_code(code))) return false;
  m.code = static_cast<CloseCode>(code);
  return r.text(m.reason, kMaxReasonLength, true, FieldName{"Goodbye.reason"});
}
bool read_body(Reader& r, Error& m) {
  std::uint16_t code = 0;
  if (!r.u16(code, FieldName{"Error.code"}) || !r.ok(check_error_code(code))) return false;
  m.code = static_cast<ErrorCode>(code);
  return r.text(m.message, kMaxErrorTextLength, true, FieldName{"Error.message"});
}
bool read_body(Reader&, Ping&) { return true; }
bool read_body(Reader&, Pong&) {
  return true;
}
bool read_body(Reader& r, FindNode& m) { return r.fixed(m.target.bytes, FieldName{"FindNode.target"}); }
bool read_body(Reader& r, FindValue& m) { return r.fixed(m.key.bytes, FieldName{"FindValue.key"}); }
bool read_contacts(Reader& r, std::vector<Contact>& out, const FieldName& contacts) {
  std::uint8_t count = 0;
  if (!r.count(count, kMaxContacts, contacts)) return false;
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    const FieldName field = contacts.at(i);
    Contact c;
    if (!r.fixed(c.id.bytes, field.with("id")) || !r.role(c.role, field.with("role")) ||
        !r.addresses(c.addresses, field.with("addresses"))) {
      return false;
    }
    out.push_back(std::move(c));
  }
  return true;
}
bool read_body(Reader& r, Nodes& m) {
  return read_contacts(r, m.contacts, FieldName{"Nodes.contacts"});
}
// The contact list is optional: a version 1 or 2 StoreAck is the bare header.
// A present list has at least one contact (one encoding per message): a
// zero count is a byte after the last field of a bare StoreAck.
bool read_body(Reader& r, StoreAck& m) {
  if (r.at_end()) return true;
  if (r.peek() == 0) return r.finish("StoreAck (a contact list is present only with 1..32 contacts)");
  return read_contacts(r, m.contacts, FieldName{"StoreAck.contacts"});
}
bool read_body(Reader& r, Store& m) { return read_value_fields(r, "Store", m.key, m.seq, m.ttl_seconds, m.value); }
bool read_body(Reader& r, Value& m) { return read_value_fields(r, "Value", m.key, m.seq, m.ttl_seconds, m.value); }
bool read_body(Reader& r, PeersRequest& m) {
  return r.u8(m.max_peers, FieldName{"PeersRequest.max_peers"}) && r.ok(check_max_peers(m.max_peers));
}
// hop_limit is not checked here: an over-limit value is the router's to drop
// and count, without closing the link that carried it.
bool read_body(Reader& r, Routed& m) {
  return r.fixed(m.source.bytes, FieldName{"Routed.source"}) &&
         r.fixed(m.destination.bytes, FieldName{"Routed.destination"}) &&
         r.u64(m.message_id, FieldName{"Routed.message_id"}) && r.u8(m.hop_limit, FieldName{"Routed.hop_limit"}) &&
         r.u8(m.flags, FieldName{"Routed.flags"}) && r.ok(check_routed_flags(m.flags)) &&
         r.fixed(m.source_key, FieldName{"Routed.source_key"}) &&
         r.fixed(m.signature, FieldName{"Routed.signature"}) &&
         r.blob(m.payload, kMaxRoutedPayload, FieldName{"Routed.payload"});
}

bool read_body(Reader& r, Signal& m) { return r.text(m.data, kMaxSignalLength, false, FieldName{"Signal.data"}); }
bool read_body(Reader&, Ack&) { return true; }
bool read_body(Reader& r, DialRequest& m) {
  const FieldName field{"DialRequest.addresses"};
  if (!r.addresses(m.addresses, field)) return false;
  if (m.addresses.empty()) {
    return r.ok(Problem{DecodeErrorKind::invalid_value,
                        field.str() + " is empty; it must list 1.." + std::to_string(kMaxAddresses) + " addresses"});
  }
  return true;
}

bool read_body(Reader& r, RelayOpen& m) { return r.fixed(m.peer.bytes, FieldName{"RelayOpen.peer"}); }
bool read_body(Reader& r, RelayData& m) {
  if (!r.fixed(m.peer.bytes, FieldName{"RelayData.peer"}) ||
      !r.blob(m.payload, kMaxRelayPayload, FieldName{"RelayData.payload"})) {
    return false;
  }
  if (m.payload.empty()) return r.ok(Problem{DecodeErrorKind::invalid_value, "RelayData.payload is empty"});
  return true;
}
bool read_body(Reader& r, RelayClose& m) {
  return r.fixed(m.peer.bytes, FieldName{"RelayClose.peer"}) &&
         r.text(m.reason, kMaxReasonLength, true, FieldName{"RelayClose.reason"});
}

bool read_body(Reader& r, Neighbours& m) {
  const FieldName ids{"Neighbours.ids"};
  std::uint8_t count = 0;
  if (!r.count(count, kMaxNeighbours, ids)) return false;
  m.ids.resize(count);
  for (int i = 0; i < count; ++i) {
    if (!r.fixed(m.ids[static_cast<std::size_t>(i)].bytes, ids.at(i))) return false;
  }
  return true;
}

// Message struct names as used in error text ("Store.value ...").
constexpr std::array<std::string_view, kMessageTypeCount> kStructNames = {
    "Hello", "Auth", "Goodbye", "Error", "Ping", "Pong", "FindNode", "Nodes", "Store", "StoreAck",
    "FindValue", "Value", "PeersRequest", "Routed",
    "Signal", "Ack", "DialRequest", "RelayOpen", "RelayData", "RelayClose", "Neighbours",
};

template <typename T>
Result<Message, DecodeError> decode_as(Reader& reader, DecodeError& error, std::string_view name) {
  T message{};
  if constexpr (kHasRequestId<T>) {
    message.request_id = error.request_id;
  } else {
    if (!reader.ok(check_zero_request_id(name, error.request_id))) return std::move(error);
  }
  if (!read_body(reader, message) || !reader.finish(name)) return std::move(error);
  return Message{std::move(message)};
}

template <std::size_t... I>
Result<Message, DecodeError> decode_index(std::size_t index, Reader& reader, DecodeError& error,
                                          std::index_sequence<I...>) {
  using Decoder = Result<Message, DecodeError> (*)(Reader&, DecodeError&, std::string_view);
  static constexpr Decoder kDecoders[] = {&decode_as<std::variant_alternative_t<I, Message>>...};
  return kDecoders[index](reader, error, kStructNames[index]);
}

}  // namespace

std::string_view decode_error_kind_name(DecodeErrorKind kind) {
  switch (kind) {
    case DecodeErrorKind::empty: return "empty";
    case DecodeErrorKind::too_large: return "too_large";
    case DecodeErrorKind::unknown_type: return "unknown_type";
    case DecodeErrorKind::truncated: return "truncated";
    case DecodeErrorKind::trailing_bytes: return "trailing_bytes";
    case DecodeErrorKind::bad_length: return "bad_length";
    case DecodeErrorKind::bad_enum: return "bad_enum";
    case DecodeErrorKind::bad_text: return "bad_text";
    case DecodeErrorKind::invalid_value: return "invalid_value";
  }
  return "unknown_decode_error";
}

bool is_valid_utf8(BytesView text) { return first_invalid_utf8(text) == text.size(); }

Bytes encode(const Message& message) {
  Writer w(size_hint(message));
  w.u8(static_cast<std::uint8_t>(type_of(message)));
  w.u32(request_id_of(message));
  std::visit([&w](const auto& m) { write_body(w, m); }, message);
  return w.take();
}

Result<Message, DecodeError> decode(BytesView frame) {
  DecodeError error{DecodeErrorKind::empty};
  if (frame.empty()) {
    error.detail = "frame is empty";
    return error;
  }
  error.raw_type = frame[0];
  if (frame.size() >= kHeaderSize) {
    for (std::size_t i = 0; i < 4; ++i) error.request_id |= static_cast<std::uint32_t>(frame[1 + i]) << (8 * i);
  }
  if (frame.size() > kMaxFrameSize) {
    error.kind = DecodeErrorKind::too_large;
    error.detail = "frame of " + std::to_string(frame.size()) + " bytes exceeds the " +
                   std::to_string(kMaxFrameSize) + "-byte limit";
    return error;
  }
  const std::size_t index = message_type_index(frame[0]);
  if (index == kMessageTypeCount) {
    error.kind = DecodeErrorKind::unknown_type;
    error.detail = "type byte " + hex_byte(frame[0]) + " is not a known message type";
    return error;
  }
  if (frame.size() < kHeaderSize) {
    error.kind = DecodeErrorKind::truncated;
    error.detail = "frame ended inside the header: " + std::string(kStructNames[index]) + " frame has " +
                   std::to_string(frame.size()) + " bytes, the header alone needs 5";
    return error;
  }
  Reader reader(frame, error);
  reader.skip_header();
  return decode_index(index, reader, error, std::make_index_sequence<kMessageTypeCount>{});
}

}  // namespace yz
