// The WebAssembly face of the yz core: a C-style API over yz::Engine for the
// TypeScript glue (web/src/core.ts), plus the codec test hook used by the
// golden-vector tests.
//
// Shape of the boundary (kept small so the glue stays simple and fast):
// - Numbers cross as double (link ids, op ids, times: all below 2^53), so no
//   BigInt legalisation is needed.
// - Inputs are plain calls. After every call the glue drains the "outbox" with
//   yz_take(): one JSON array describing actions and API completions, plus one
//   byte blob holding frame and value bytes referenced by offset/length.
// - Ed25519 comes from JS (libsodium.js) through EM_JS imports: the core needs
//   verify synchronously, and the node's secret key never enters wasm memory
//   (JS signs with the key held in its key slot). SHA-256 runs here
//   (sha256.cpp): standard libsodium.js lacks it and WebCrypto is async.
// - Randomness (handshake nonces) comes from crypto.getRandomValues in batches.
#include <cstdio>
#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.hpp"
#include "core/engine.hpp"
#include "sha256.hpp"

#ifndef YZ_BUILD_ID
#define YZ_BUILD_ID "dev"
#endif

// ---- Imports from JS ----------------------------------------------------------
// Module.yzHost is installed by the glue before any node is created.
EM_JS(int, yz_js_verify, (const std::uint8_t* key, const std::uint8_t* msg, std::size_t len, const std::uint8_t* sig), {
  return Module.yzHost.verify(HEAPU8.subarray(key, key + 32), HEAPU8.subarray(msg, msg + len),
                              HEAPU8.subarray(sig, sig + 64)) ? 1 : 0;
});
EM_JS(void, yz_js_sign, (int slot, const std::uint8_t* msg, std::size_t len, std::uint8_t* out), {
  Module.yzHost.sign(slot, HEAPU8.subarray(msg, msg + len), HEAPU8.subarray(out, out + 64));
});
// XChaCha20-Poly1305 and X25519 agreement (relayed links' end-to-end encryption).
EM_JS(int, yz_js_seal, (const std::uint8_t* key, const std::uint8_t* nonce, const std::uint8_t* msg, std::size_t len,
                        std::uint8_t* out), {
  return Module.yzHost.seal(HEAPU8.subarray(key, key + 32), HEAPU8.subarray(nonce, nonce + 24),
                            HEAPU8.subarray(msg, msg + len), HEAPU8.subarray(out, out + len + 16)) ? 1 : 0;
});
EM_JS(int, yz_js_open, (const std::uint8_t* key, const std::uint8_t* nonce, const std::uint8_t* msg, std::size_t len,
                        std::uint8_t* out), {
  return Module.yzHost.open(HEAPU8.subarray(key, key + 32), HEAPU8.subarray(nonce, nonce + 24),
                            HEAPU8.subarray(msg, msg + len), HEAPU8.subarray(out, out + len - 16)) ? 1 : 0;
});
EM_JS(int, yz_js_agree, (int slot, const std::uint8_t* peer, std::uint8_t* out), {
  return Module.yzHost.agree(slot, HEAPU8.subarray(peer, peer + 32), HEAPU8.subarray(out, out + 32)) ? 1 : 0;
});
EM_JS(void, yz_js_random, (std::uint8_t* out, std::size_t len), {
  Module.yzHost.random(HEAPU8.subarray(out, out + len));
});

namespace {

using namespace yz;

// ---- Crypto, signer and randomness backed by JS ----------------------------------
class JsCrypto final : public Crypto {
 public:
  Hash256 sha256(BytesView data) const override { return yzweb::sha256(data.data(), data.size()); }
  bool verify(const PublicKey& key, BytesView message, const Signature& signature) const override {
    return yz_js_verify(key.data(), message.data(), message.size(), signature.data()) != 0;
  }
  Bytes seal(const SymmetricKey& key, const AeadNonce& nonce, BytesView plaintext) const override {
    Bytes out(plaintext.size() + kAeadTagSize);
    if (!yz_js_seal(key.data(), nonce.data(), plaintext.data(), plaintext.size(), out.data())) out.clear();
    return out;
  }
  std::optional<Bytes> open(const SymmetricKey& key, const AeadNonce& nonce, BytesView ciphertext) const override {
    if (ciphertext.size() < kAeadTagSize) return std::nullopt;
    Bytes out(ciphertext.size() - kAeadTagSize);
    if (!yz_js_open(key.data(), nonce.data(), ciphertext.data(), ciphertext.size(), out.data())) return std::nullopt;
    return out;
  }
};

class JsSigner final : public Signer {
 public:
  JsSigner(int slot, const PublicKey& key) : slot_(slot), key_(key) {}
  const PublicKey& public_key() const override { return key_; }
  Signature sign(BytesView message) const override {
    Signature out{};
    yz_js_sign(slot_, message.data(), message.size(), out.data());
    return out;
  }
  std::optional<Hash256> agree(const PublicKey& peer) const override {
    Hash256 out{};
    if (!yz_js_agree(slot_, peer.data(), out.data())) return std::nullopt;
    return out;
  }

 private:
  int slot_;
  PublicKey key_;
};

// Cryptographically random bytes from the host, fetched 256 bytes at a time.
class JsRandom final : public Random {
 public:
  std::uint64_t next_u64() override {
    if (used_ + 8 > buffer_.size()) {
      yz_js_random(buffer_.data(), buffer_.size());
      used_ = 0;
    }
    std::uint64_t v = 0;
    std::memcpy(&v, buffer_.data() + used_, 8);
    used_ += 8;
    return v;
  }

 private:
  std::array<std::uint8_t, 256> buffer_{};
  std::size_t used_ = 256;
};

// ---- A tiny JSON writer (output only; inputs are key=value lines) ---------------
class Json {
 public:
  Json& raw(std::string_view text) {
    out_ += text;
    return *this;
  }
  Json& str(std::string_view text) {
    out_ += '"';
    for (unsigned char c : text) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            out_ += "\\u00";
            out_ += kHex[c >> 4];
            out_ += kHex[c & 0xf];
          } else {
            out_ += static_cast<char>(c);  // UTF-8 passes through; TextDecoder repairs invalid bytes
          }
      }
    }
    out_ += '"';
    return *this;
  }
  Json& num(double v) {
    char buf[32];
    if (v == static_cast<double>(static_cast<std::int64_t>(v))) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    } else {
      std::snprintf(buf, sizeof buf, "%.17g", v);
    }
    out_ += buf;
    return *this;
  }
  Json& boolean(bool v) { return raw(v ? "true" : "false"); }
  // Object helpers: key(...) writes the separator and the key.
  Json& open() {
    out_ += '{';
    first_.push_back(true);
    return *this;
  }
  Json& close() {
    out_ += '}';
    first_.pop_back();
    return *this;
  }
  Json& open_array() {
    out_ += '[';
    first_.push_back(true);
    return *this;
  }
  Json& close_array() {
    out_ += ']';
    first_.pop_back();
    return *this;
  }
  // Separator before an array element.
  Json& item() {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    return *this;
  }
  Json& key(std::string_view k) {
    item();
    str(k);
    out_ += ':';
    return *this;
  }
  Json& strings(const std::vector<std::string>& list) {
    open_array();
    for (const auto& s : list) item().str(s);
    return close_array();
  }
  std::string& text() { return out_; }

 private:
  std::string out_;
  std::vector<bool> first_;
};

double age(Millis now, Millis at) { return at < 0 ? 0 : static_cast<double>(now > at ? now - at : 0); }

void counters(Json& j, const DirectionCounters& c) {
  j.open().key("messages").num(static_cast<double>(c.messages)).key("bytes").num(static_cast<double>(c.bytes)).close();
}

void contact_json(Json& j, const Contact& c) {
  j.open().key("id").str(c.id.hex()).key("role").str(role_name(c.role)).key("addresses").strings(c.addresses.list()).close();
}

// ---- Config: "key=value" lines (seeds may repeat) --------------------------------
bool parse_int(std::string_view text, long long& out) {
  if (text.empty() || text.size() > 20) return false;
  std::string copy(text);
  char* end = nullptr;
  long long v = std::strtoll(copy.c_str(), &end, 10);
  if (end == copy.c_str() || *end != '\0') return false;
  out = v;
  return true;
}

bool parse_hex32(std::string_view hex, std::array<std::uint8_t, 32>& out) {
  auto id = NodeId::from_hex(hex);
  if (!id) return false;
  out = id->bytes;
  return true;
}

struct NodeSetup {
  EngineConfig config;
  int signer_slot = -1;
  PublicKey public_key{};
  bool have_key = false;
};

// Returns an error sentence, or empty when the configuration is valid.
std::string parse_config(std::string_view text, NodeSetup& setup) {
  auto& c = setup.config;
  c.build_id = std::string(YZ_BUILD_ID) + "-web";
  c.role = Role::browser;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return "config line without '=': " + std::string(line);
    std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
    long long n = 0;
    auto need_int = [&](long long lo, long long hi) -> bool { return parse_int(v, n) && n >= lo && n <= hi; };
    constexpr long long kDay = 24LL * 3600 * 1000;
    if (k == "role") {
      Role r;
      if (!parse_role(v, r)) return "unknown role '" + std::string(v) + "'";
      if (r != Role::browser && r != Role::client) {
        return "role '" + std::string(v) + "' cannot run in WebAssembly: use browser or client (not dialable)";
      }
      c.role = r;
    } else if (k == "seed") {
      c.seeds.emplace_back(v);
    } else if (k == "build_id") {
      if (v.size() > kMaxBuildIdLength) return "build_id longer than 64 bytes";
      c.build_id = std::string(v);
    } else if (k == "signer_slot") {
      if (!need_int(0, 1 << 30)) return "bad signer_slot";
      setup.signer_slot = static_cast<int>(n);
    } else if (k == "public_key") {
      if (!parse_hex32(v, setup.public_key)) return "public_key must be 64 hex digits";
      setup.have_key = true;
    } else if (k == "k") {
      if (!need_int(1, 64)) return "k must be 1..64";
      c.k = static_cast<std::size_t>(n);
    } else if (k == "alpha") {
      if (!need_int(1, 16)) return "alpha must be 1..16";
      c.alpha = static_cast<std::size_t>(n);
    } else if (k == "get_quorum") {
      if (!need_int(0, 64)) return "get_quorum must be 0..64";
      c.get_quorum = static_cast<std::size_t>(n);
    } else if (k == "min_links") {
      if (!need_int(0, 1000)) return "min_links must be 0..1000";
      c.min_links = static_cast<std::size_t>(n);
    } else if (k == "max_links") {
      if (!need_int(1, 1000)) return "max_links must be 1..1000";
      c.max_links = static_cast<std::size_t>(n);
    } else if (k == "max_query_links") {
      if (!need_int(1, 1000)) return "max_query_links must be 1..1000";
      c.max_query_links = static_cast<std::size_t>(n);
    } else if (k == "request_timeout") {
      if (!need_int(10, kDay)) return "request_timeout out of range";
      c.request_timeout = n;
    } else if (k == "routed_request_timeout") {
      if (!need_int(10, kDay)) return "routed_request_timeout out of range";
      c.routed_request_timeout = n;
    } else if (k == "handshake_timeout") {
      if (!need_int(10, kDay)) return "handshake_timeout out of range";
      c.handshake_timeout = n;
    } else if (k == "maintenance_interval") {
      if (!need_int(10, kDay)) return "maintenance_interval out of range";
      c.maintenance_interval = n;
    } else if (k == "self_lookup_interval") {
      if (!need_int(10, kDay)) return "self_lookup_interval out of range";
      c.self_lookup_interval = n;
    } else if (k == "query_link_idle") {
      if (!need_int(10, kDay)) return "query_link_idle out of range";
      c.query_link_idle = n;
    } else if (k == "keepalive_interval") {
      if (!need_int(10, kDay)) return "keepalive_interval out of range";
      c.keepalive_interval = n;
    } else if (k == "keepalive_timeout") {
      if (!need_int(10, kDay)) return "keepalive_timeout out of range";
      c.keepalive_timeout = n;
    } else if (k == "republish_interval") {
      if (!need_int(1000, 7 * kDay)) return "republish_interval out of range";
      c.republish_interval = n;
    } else if (k == "default_ttl_seconds") {
      if (!need_int(1, kMaxTtlSeconds)) return "default_ttl_seconds out of range";
      c.default_ttl_seconds = static_cast<std::uint32_t>(n);
    } else if (k == "storage_max_bytes") {
      if (!need_int(0, 1LL << 31)) return "storage_max_bytes out of range";
      c.storage_max_bytes = static_cast<std::size_t>(n);
    } else if (k == "storage_max_values") {
      if (!need_int(0, 10'000'000)) return "storage_max_values out of range";
      c.storage_max_values = static_cast<std::size_t>(n);
    } else if (k == "metrics") {
      c.metrics_enabled = v != "0" && v != "false";
    } else if (k == "webrtc") {
      c.webrtc = v != "0" && v != "false";
    } else if (k == "use_relays") {
      c.use_relays = v != "0" && v != "false";
    } else if (k == "direct_retry_interval") {
      if (!need_int(1000, kDay)) return "direct_retry_interval must be 1000..86400000 ms";
      c.direct_retry_interval = n;
    } else {
      return "unknown config key '" + std::string(k) + "'";
    }
  }
  if (setup.signer_slot < 0 || !setup.have_key) return "signer_slot and public_key are required";
  if (c.min_links > c.max_links) return "min_links above max_links";
  return {};
}

// ---- One node ------------------------------------------------------------------
struct Node {
  JsCrypto crypto;
  JsSigner signer;
  JsRandom random;
  Engine engine;
  // Completions of API calls, waiting for the next yz_take().
  struct Done {
    double op;
    std::string json;
    Bytes bytes;
  };
  std::vector<Done> done;
  // The last outbox, valid until the next yz_take() on this node.
  std::string out_json;
  Bytes out_blob;

  Node(const NodeSetup& setup)
      : signer(setup.signer_slot, setup.public_key), engine(setup.config, crypto, signer, random) {}
};

std::map<int, std::unique_ptr<Node>> g_nodes;
int g_next_handle = 1;
std::string g_text;  // the last text result (errors, status, codec hook)

Node* node_of(int handle) {
  auto it = g_nodes.find(handle);
  return it == g_nodes.end() ? nullptr : it->second.get();
}

Millis ms(double v) { return static_cast<Millis>(v); }
LinkId link_of(double v) { return static_cast<LinkId>(v); }

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
  }
  return "info";
}

void status_json(Json& j, const Node& n, Millis now, bool detail) {
  Status st = n.engine.status(now);
  const auto& cfg = n.engine.config();
  j.open();
  j.key("healthy").boolean(st.healthy);
  j.key("reasons").strings(st.reasons);
  j.key("role").str(role_name(st.role));
  j.key("id").str(st.id.hex());
  j.key("build_id").str(st.build_id);
  j.key("protocol").open().key("min").num(cfg.version_min).key("max").num(cfg.version_max).close();
  j.key("uptime_s").num(static_cast<double>(static_cast<std::int64_t>(age(now, st.started_at)) / 1000));
  j.key("links").num(static_cast<double>(st.links));
  j.key("query_links").num(static_cast<double>(st.query_links));
  j.key("routing_table_size").num(static_cast<double>(st.routing_table_size));
  j.key("stored_values").num(static_cast<double>(st.stored_values));
  j.key("stored_bytes").num(static_cast<double>(st.stored_bytes));
  if (st.last_lookup_ok_at < 0) {
    j.key("last_lookup_age_ms").raw("null");
  } else {
    j.key("last_lookup_age_ms").num(age(now, st.last_lookup_ok_at));
  }
  j.key("last_self_lookup_ok").boolean(st.last_self_lookup_ok);
  j.key("keepalive").open().key("interval_ms").num(static_cast<double>(cfg.keepalive_interval))
      .key("timeout_ms").num(static_cast<double>(cfg.keepalive_timeout)).close();
  j.key("refusals").open_array();
  for (const auto& r : st.recent_refusals) {
    j.item().open().key("age_ms").num(age(now, r.at)).key("peer").str(r.peer);
    j.key("code").num(static_cast<double>(r.code)).key("code_name").str(close_code_name(r.code));
    j.key("reason").str(r.reason).close();
  }
  j.close_array();
  if (detail) {
    j.key("link_list").open_array();
    for (const auto& l : st.link_list) {
      Millis last = l.last_frame_at > 0 ? l.last_frame_at : l.opened_at;
      j.item().open().key("link").num(static_cast<double>(l.link));
      j.key("peer").str(l.ready ? l.peer.hex() : std::string());
      j.key("role").str(l.ready ? role_name(l.role) : std::string_view{});
      j.key("outbound").boolean(l.outbound).key("ready").boolean(l.ready).key("kept").boolean(l.kept);
      j.key("relayed").boolean(l.relayed).key("relay").str(l.relayed ? l.relay_node.hex() : std::string());
      j.key("address").str(l.address).key("build_id").str(l.build_id).key("version").num(l.version);
      j.key("age_ms").num(age(now, l.opened_at)).key("idle_ms").num(age(now, last));
      j.key("in");
      counters(j, l.in);
      j.key("out");
      counters(j, l.out);
      j.close();
    }
    j.close_array();
    j.key("routing_table").open_array();
    for (const auto& e : n.engine.routing_entries()) {
      j.item().open().key("id").str(e.contact.id.hex()).key("role").str(role_name(e.contact.role));
      j.key("addresses").strings(e.contact.addresses.list());
      j.key("last_seen_age_ms").num(age(now, e.last_seen)).key("failures").num(e.failures).close();
    }
    j.close_array();
  }
  j.close();
}

// ---- Codec hook: a decoded message as JSON ---------------------------------------
void message_json(Json& j, const Message& m) {
  j.open().key("type").str(message_type_name(type_of(m))).key("request_id").num(request_id_of(m));
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Hello>) {
          j.key("version_min").num(msg.version_min).key("version_max").num(msg.version_max);
          j.key("role").str(role_name(msg.role)).key("public_key").str(to_hex(msg.public_key));
          j.key("addresses").strings(msg.addresses).key("build_id").str(msg.build_id);
          j.key("nonce").str(to_hex(msg.nonce));
        } else if constexpr (std::is_same_v<T, Auth>) {
          j.key("signature").str(to_hex(msg.signature));
        } else if constexpr (std::is_same_v<T, Goodbye>) {
          j.key("code").num(static_cast<double>(msg.code)).key("reason").str(msg.reason);
        } else if constexpr (std::is_same_v<T, Error>) {
          j.key("code").num(static_cast<double>(msg.code)).key("message").str(msg.message);
        } else if constexpr (std::is_same_v<T, FindNode>) {
          j.key("target").str(msg.target.hex());
        } else if constexpr (std::is_same_v<T, Nodes>) {
          j.key("contacts").open_array();
          for (const auto& c : msg.contacts) contact_json(j.item(), c);
          j.close_array();
        } else if constexpr (std::is_same_v<T, StoreAck>) {
          if (!msg.contacts.empty()) {  // a version 1 or 2 StoreAck is the bare header
            j.key("contacts").open_array();
            for (const auto& c : msg.contacts) contact_json(j.item(), c);
            j.close_array();
          }
        } else if constexpr (std::is_same_v<T, Store> || std::is_same_v<T, Value>) {
          j.key("key").str(msg.key.hex()).key("seq").num(static_cast<double>(msg.seq));
          j.key("ttl_seconds").num(msg.ttl_seconds).key("value").str(to_hex(msg.value));
        } else if constexpr (std::is_same_v<T, FindValue>) {
          j.key("key").str(msg.key.hex());
        } else if constexpr (std::is_same_v<T, PeersRequest>) {
          j.key("max_peers").num(msg.max_peers);
        } else if constexpr (std::is_same_v<T, Routed>) {
          char id[17];  // u64 as 16 hex digits: a JS number would lose bits
          std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(msg.message_id));
          j.key("source").str(msg.source.hex()).key("destination").str(msg.destination.hex());
          j.key("message_id").str(id).key("hop_limit").num(msg.hop_limit).key("flags").num(msg.flags);
          j.key("source_key").str(to_hex(msg.source_key)).key("signature").str(to_hex(msg.signature));
          j.key("payload").str(to_hex(msg.payload));
        } else if constexpr (std::is_same_v<T, Signal>) {
          j.key("data").str(msg.data);
        } else if constexpr (std::is_same_v<T, DialRequest>) {
          j.key("addresses").strings(msg.addresses);
        } else if constexpr (std::is_same_v<T, RelayOpen>) {
          j.key("peer").str(msg.peer.hex());
        } else if constexpr (std::is_same_v<T, RelayData>) {
          j.key("peer").str(msg.peer.hex()).key("payload").str(to_hex(msg.payload));
        } else if constexpr (std::is_same_v<T, RelayClose>) {
          j.key("peer").str(msg.peer.hex()).key("reason").str(msg.reason);
        } else if constexpr (std::is_same_v<T, Neighbours>) {
          std::vector<std::string> ids;
          for (const auto& id : msg.ids) ids.push_back(id.hex());
          j.key("ids").strings(ids);
        }
      },
      m);
  j.close();
}

}  // namespace

// ---- Exports -------------------------------------------------------------------
extern "C" {

// The last text result (an error sentence, a status or a codec report).
EMSCRIPTEN_KEEPALIVE const char* yz_text_ptr() { return g_text.data(); }
EMSCRIPTEN_KEEPALIVE std::size_t yz_text_len() { return g_text.size(); }

// Creates a node from "key=value" lines. Returns its handle, or 0 with the
// reason in yz_text.
EMSCRIPTEN_KEEPALIVE int yz_create(const char* config, std::size_t len) {
  NodeSetup setup;
  std::string error = parse_config(std::string_view(config, len), setup);
  if (!error.empty()) {
    g_text = "invalid node configuration: " + error;
    return 0;
  }
  int handle = g_next_handle++;
  g_nodes.emplace(handle, std::make_unique<Node>(setup));
  return handle;
}

EMSCRIPTEN_KEEPALIVE void yz_destroy(int h) { g_nodes.erase(h); }

// The node's id as 64 hex digits in yz_text.
EMSCRIPTEN_KEEPALIVE std::size_t yz_node_id(int h) {
  Node* n = node_of(h);
  g_text = n ? n->engine.id().hex() : std::string();
  return g_text.size();
}

EMSCRIPTEN_KEEPALIVE void yz_start(int h, double now) {
  if (Node* n = node_of(h)) n->engine.start(ms(now));
}
EMSCRIPTEN_KEEPALIVE void yz_stop(int h, double now) {
  if (Node* n = node_of(h)) n->engine.stop(ms(now));
}
EMSCRIPTEN_KEEPALIVE double yz_link_accepted(int h, const char* remote, std::size_t len, double now) {
  Node* n = node_of(h);
  return n ? static_cast<double>(n->engine.link_accepted(std::string(remote, len), ms(now))) : 0;
}
EMSCRIPTEN_KEEPALIVE void yz_link_connected(int h, double link, double now) {
  if (Node* n = node_of(h)) n->engine.link_connected(link_of(link), ms(now));
}
EMSCRIPTEN_KEEPALIVE void yz_link_closed(int h, double link, const char* reason, std::size_t len, double now) {
  if (Node* n = node_of(h)) n->engine.link_closed(link_of(link), std::string(reason, len), ms(now));
}
EMSCRIPTEN_KEEPALIVE void yz_frame_received(int h, double link, const std::uint8_t* data, std::size_t len,
                                            double now) {
  if (Node* n = node_of(h)) n->engine.frame_received(link_of(link), BytesView(data, len), ms(now));
}
EMSCRIPTEN_KEEPALIVE void yz_frame_too_large(int h, double link, double size, double now) {
  if (Node* n = node_of(h)) n->engine.frame_too_large(link_of(link), static_cast<std::size_t>(size), ms(now));
}
EMSCRIPTEN_KEEPALIVE void yz_tick(int h, double now) {
  if (Node* n = node_of(h)) n->engine.tick(ms(now));
}
// Milliseconds at which yz_tick is next due; -1 when nothing is scheduled.
EMSCRIPTEN_KEEPALIVE double yz_next_deadline(int h) {
  Node* n = node_of(h);
  if (!n) return -1;
  Millis next = n->engine.next_deadline();
  return next == kNever ? -1 : static_cast<double>(next);
}

// Keep-alive knobs at run time (hidden browser tabs ping more often so their
// links survive timer throttling). The engine reads these fields on every tick.
// TODO(core): replace with Engine::set_keepalive() once the core offers it.
EMSCRIPTEN_KEEPALIVE void yz_set_keepalive(int h, double interval, double timeout) {
  Node* n = node_of(h);
  if (!n || interval < 10 || timeout < interval) return;
  auto& cfg = const_cast<EngineConfig&>(n->engine.config());
  cfg.keepalive_interval = ms(interval);
  cfg.keepalive_timeout = ms(timeout);
}

// Drains actions and completions into the outbox (yz_out_*). Returns the
// number of entries.
EMSCRIPTEN_KEEPALIVE int yz_take(int h) {
  Node* n = node_of(h);
  if (!n) return 0;
  Json j;
  j.text().swap(n->out_json);
  j.text().clear();
  n->out_blob.clear();
  if (n->out_blob.capacity() > (1u << 20)) n->out_blob.shrink_to_fit();
  int count = 0;
  j.open_array();
  auto blob_ref = [&](const Bytes& bytes) {
    j.key("off").num(static_cast<double>(n->out_blob.size())).key("len").num(static_cast<double>(bytes.size()));
    n->out_blob.insert(n->out_blob.end(), bytes.begin(), bytes.end());
  };
  for (auto& action : n->engine.take_actions()) {
    ++count;
    j.item().open();
    if (auto* send = std::get_if<SendFrame>(&action)) {
      j.key("a").str("send").key("link").num(static_cast<double>(send->link));
      blob_ref(send->frame);
    } else if (auto* dial = std::get_if<DialAddress>(&action)) {
      j.key("a").str("dial").key("link").num(static_cast<double>(dial->link)).key("address").str(dial->address);
    } else if (auto* close = std::get_if<CloseLink>(&action)) {
      j.key("a").str("close").key("link").num(static_cast<double>(close->link));
      j.key("code").num(static_cast<double>(close->code)).key("reason").str(close->reason);
    } else if (auto* log = std::get_if<LogLine>(&action)) {
      j.key("a").str("log").key("level").str(level_name(log->level)).key("text").str(log->text);
    } else if (auto* signal = std::get_if<SignalReceived>(&action)) {
      j.key("a").str("signal").key("from").str(signal->from.hex()).key("data").str(signal->data);
    }
    j.close();
  }
  for (auto& d : n->done) {
    ++count;
    j.item().open().key("a").str("done").key("op").num(d.op).key("result").raw(d.json);
    blob_ref(d.bytes);
    j.close();
  }
  n->done.clear();
  j.close_array();
  n->out_json.swap(j.text());
  return count;
}
EMSCRIPTEN_KEEPALIVE const char* yz_out_json_ptr(int h) {
  Node* n = node_of(h);
  return n ? n->out_json.data() : nullptr;
}
EMSCRIPTEN_KEEPALIVE std::size_t yz_out_json_len(int h) {
  Node* n = node_of(h);
  return n ? n->out_json.size() : 0;
}
EMSCRIPTEN_KEEPALIVE const std::uint8_t* yz_out_blob_ptr(int h) {
  Node* n = node_of(h);
  return n ? n->out_blob.data() : nullptr;
}
EMSCRIPTEN_KEEPALIVE std::size_t yz_out_blob_len(int h) {
  Node* n = node_of(h);
  return n ? n->out_blob.size() : 0;
}

// ---- API: results arrive as "done" entries carrying the op id ---------------------
EMSCRIPTEN_KEEPALIVE void yz_find_node(int h, double op, const char* target_hex, std::size_t len, double now) {
  Node* n = node_of(h);
  if (!n) return;
  auto target = NodeId::from_hex(std::string_view(target_hex, len));
  if (!target) {
    Json j;
    j.open().key("ok").boolean(false).key("error").str("target must be 64 hex digits").close();
    n->done.push_back({op, std::move(j.text()), {}});
    return;
  }
  NodeId t = *target;
  n->engine.find_node(t, ms(now), [n, op, t](const LookupResult& r) {
    Json j;
    j.open().key("ok").boolean(r.ok).key("error").str(r.error).key("target").str(t.hex());
    j.key("closest").open_array();
    for (const auto& c : r.closest) contact_json(j.item(), c);
    j.close_array();
    j.key("hops").num(r.hops).key("requests").num(r.requests).key("failures").num(r.failures);
    j.key("elapsed_ms").num(static_cast<double>(r.elapsed)).close();
    n->done.push_back({op, std::move(j.text()), {}});
  });
}

EMSCRIPTEN_KEEPALIVE void yz_put(int h, double op, const std::uint8_t* key, std::size_t key_len,
                                 const std::uint8_t* value, std::size_t value_len, double ttl_seconds, double now) {
  Node* n = node_of(h);
  if (!n) return;
  Bytes v(value, value + value_len);
  auto ttl = ttl_seconds < 0 ? 0u : ttl_seconds > 4e9 ? 4000000000u : static_cast<std::uint32_t>(ttl_seconds);
  n->engine.put(BytesView(key, key_len), std::move(v), ttl, ms(now), [n, op](const PutResult& r) {
    Json j;
    j.open().key("ok").boolean(r.ok).key("error").str(r.error).key("key").str(r.key.hex());
    j.key("seq").num(static_cast<double>(r.seq)).key("replicas_acked").num(r.replicas_acked);
    j.key("replicas_tried").num(r.replicas_tried).key("refusals").strings(r.refusals);
    j.key("elapsed_ms").num(static_cast<double>(r.elapsed)).close();
    n->done.push_back({op, std::move(j.text()), {}});
  });
}

EMSCRIPTEN_KEEPALIVE void yz_get(int h, double op, const std::uint8_t* key, std::size_t key_len, double now) {
  Node* n = node_of(h);
  if (!n) return;
  n->engine.get(BytesView(key, key_len), ms(now), [n, op](const GetResult& r) {
    Json j;
    j.open().key("ok").boolean(r.ok).key("found").boolean(r.found).key("error").str(r.error);
    j.key("key").str(r.key.hex()).key("seq").num(static_cast<double>(r.seq));
    j.key("hops").num(r.hops).key("requests").num(r.requests).key("repaired").num(r.repaired);
    j.key("elapsed_ms").num(static_cast<double>(r.elapsed)).close();
    n->done.push_back({op, std::move(j.text()), r.value});
  });
}

EMSCRIPTEN_KEEPALIVE void yz_ping(int h, double op, const char* id_hex, std::size_t len, double now) {
  Node* n = node_of(h);
  if (!n) return;
  auto id = NodeId::from_hex(std::string_view(id_hex, len));
  if (!id) {
    Json j;
    j.open().key("ok").boolean(false).key("error").str("id must be 64 hex digits").key("rtt_ms").num(0).close();
    n->done.push_back({op, std::move(j.text()), {}});
    return;
  }
  n->engine.ping(*id, ms(now), [n, op](const PingResult& r) {
    Json j;
    j.open().key("ok").boolean(r.ok).key("error").str(r.error).key("rtt_ms").num(static_cast<double>(r.rtt)).close();
    n->done.push_back({op, std::move(j.text()), {}});
  });
}

// WebRTC signaling to a peer; the completion reports {ok, error, path}.
EMSCRIPTEN_KEEPALIVE void yz_signal(int h, double op, const char* id_hex, std::size_t id_len, const char* data,
                                    std::size_t data_len, double now) {
  Node* n = node_of(h);
  if (!n) return;
  auto done = [n, op](const SignalResult& r) {
    Json j;
    j.open().key("ok").boolean(r.ok).key("error").str(r.error).key("path").str(r.path);
    j.key("elapsed_ms").num(static_cast<double>(r.elapsed)).close();
    n->done.push_back({op, std::move(j.text()), {}});
  };
  auto id = NodeId::from_hex(std::string_view(id_hex, id_len));
  if (!id) {
    SignalResult r;
    r.error = "peer id must be 64 hex digits";
    return done(r);
  }
  n->engine.signal(*id, std::string(data, data_len), ms(now), done);
}

// Status as JSON in yz_text (detail adds the link list and routing table).
EMSCRIPTEN_KEEPALIVE std::size_t yz_status(int h, double now, int detail) {
  Node* n = node_of(h);
  if (!n) {
    g_text = "null";
    return g_text.size();
  }
  Json j;
  status_json(j, *n, ms(now), detail != 0);
  g_text.swap(j.text());
  return g_text.size();
}

// A compact digest of what the glue turns into events, in yz_text:
//   {"healthy":b,"reasons":[...],"ready":[[link,"peer hex","role",kept,"address"],...]}
// The glue compares the text with the previous one and parses it only on change.
EMSCRIPTEN_KEEPALIVE std::size_t yz_watch(int h, double now) {
  Node* n = node_of(h);
  if (!n) {
    g_text = "null";
    return g_text.size();
  }
  Status st = n->engine.status(ms(now));
  Json j;
  j.open().key("healthy").boolean(st.healthy).key("reasons").strings(st.reasons).key("ready").open_array();
  for (const auto& l : st.link_list) {
    if (!l.ready) continue;
    j.item().open_array();
    j.item().num(static_cast<double>(l.link)).item().str(l.peer.hex()).item().str(role_name(l.role));
    j.item().boolean(l.kept).item().str(l.address).item().boolean(l.relayed);
    j.close_array();
  }
  j.close_array().close();
  g_text.swap(j.text());
  return g_text.size();
}

// SHA-256 of a user key as the core computes it (the one place keys are hashed).
EMSCRIPTEN_KEEPALIVE std::size_t yz_key_id(int h, const std::uint8_t* key, std::size_t len) {
  Node* n = node_of(h);
  g_text = n ? n->engine.key_id(BytesView(key, len)).hex() : std::string();
  return g_text.size();
}

// Codec test hook: decodes `frame` and reports, in yz_text, either
//   {"ok":true,"message":{...},"reencoded":"<hex>"}  or
//   {"ok":false,"kind":"<decode error kind>","type":N,"request_id":N,"detail":"..."}
EMSCRIPTEN_KEEPALIVE std::size_t yz_codec_check(const std::uint8_t* frame, std::size_t len) {
  Json j;
  auto decoded = decode(BytesView(frame, len));
  if (decoded) {
    j.open().key("ok").boolean(true).key("message");
    message_json(j, decoded.value());
    j.key("reencoded").str(to_hex(encode(decoded.value()))).close();
  } else {
    const auto& e = decoded.error();
    j.open().key("ok").boolean(false).key("kind").str(decode_error_kind_name(e.kind));
    j.key("type").num(e.raw_type).key("request_id").num(e.request_id).key("detail").str(e.detail).close();
  }
  g_text.swap(j.text());
  return g_text.size();
}

// SHA-256 of `data` as 64 hex digits in yz_text (node ids from public keys).
EMSCRIPTEN_KEEPALIVE std::size_t yz_sha256(const std::uint8_t* data, std::size_t len) {
  auto digest = yzweb::sha256(data, len);
  g_text = to_hex(digest);
  return g_text.size();
}

// Protocol constants the glue must agree with.
EMSCRIPTEN_KEEPALIVE double yz_max_frame_size() { return static_cast<double>(kMaxFrameSize); }
EMSCRIPTEN_KEEPALIVE double yz_max_value_size() { return static_cast<double>(kMaxValueSize); }

}  // extern "C"
