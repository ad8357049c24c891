// JSON and Prometheus renderings of the HTTP API and its parsers (net/api_json).
#include "net/api_json.hpp"

#include <gtest/gtest.h>

namespace yz::net {
namespace {

using nlohmann::json;

NodeId id_of(std::uint8_t fill) {
  NodeId id;
  id.bytes.fill(fill);
  return id;
}

Status sample_status() {
  Status s;
  s.id = id_of(0xab);
  s.role = Role::bridge;
  s.build_id = "b1";
  s.healthy = false;
  s.reasons = {"the last self-lookup failed: no peer answered"};
  s.links = 2;
  s.query_links = 1;
  s.routing_table_size = 5;
  s.stored_values = 3;
  s.stored_bytes = 300;
  s.started_at = 10'000;
  s.last_lookup_ok_at = -1;
  s.last_self_lookup_ok = false;
  PeerRefusal refusal;
  refusal.at = 19'000;
  refusal.peer = "ws://10.0.0.9:9000/";
  refusal.code = CloseCode::incompatible_version;
  refusal.reason = "versions 1-1 and 2-2 do not overlap";
  s.recent_refusals.push_back(refusal);
  LinkInfo link;
  link.link = 7;
  link.outbound = true;
  link.ready = true;
  link.kept = true;
  link.peer = id_of(0x01);
  link.role = Role::dht;
  link.address = "ws://127.0.0.1:9001/";
  link.build_id = "b2";
  link.version = 1;
  link.opened_at = 15'000;
  link.last_frame_at = 19'500;
  link.in = {4, 400};
  link.out = {5, 500};
  s.link_list.push_back(link);
  return s;
}

TEST(ApiJson, HealthHasEveryContractField) {
  EngineConfig config;
  auto j = health_json(sample_status(), config, 20'000);
  EXPECT_EQ(j["healthy"], false);
  EXPECT_EQ(j["reasons"], json::array({"the last self-lookup failed: no peer answered"}));
  EXPECT_EQ(j["role"], "bridge");
  EXPECT_EQ(j["id"], id_of(0xab).hex());
  EXPECT_EQ(j["build_id"], "b1");
  EXPECT_EQ(j["protocol"], (json{{"min", kProtocolVersionMin}, {"max", kProtocolVersionMax}}));
  EXPECT_EQ(j["uptime_s"], 10);
  EXPECT_EQ(j["links"], 2);
  EXPECT_EQ(j["query_links"], 1);
  EXPECT_EQ(j["routing_table_size"], 5);
  EXPECT_EQ(j["stored_values"], 3);
  EXPECT_EQ(j["stored_bytes"], 300);
  EXPECT_TRUE(j["last_lookup_age_ms"].is_null());
  EXPECT_EQ(j["last_self_lookup_ok"], false);
  ASSERT_EQ(j["refusals"].size(), 1u);
  EXPECT_EQ(j["refusals"][0], (json{{"age_ms", 1000},
                                    {"peer", "ws://10.0.0.9:9000/"},
                                    {"code", 4001},
                                    {"code_name", "incompatible_version"},
                                    {"reason", "versions 1-1 and 2-2 do not overlap"}}));
  EXPECT_EQ(j.size(), 15u);
}

TEST(ApiJson, PeersListsLinksAndRoutingTable) {
  RoutingEntry entry;
  entry.contact = Contact{id_of(0x02), Role::genesis, {"ws://127.0.0.1:9002/"}};
  entry.last_seen = 18'000;
  entry.failures = 2;
  auto j = peers_json(sample_status(), {entry}, 20'000);
  ASSERT_EQ(j["links"].size(), 1u);
  const auto& l = j["links"][0];
  EXPECT_EQ(l["link"], 7);
  EXPECT_EQ(l["peer"], id_of(0x01).hex());
  EXPECT_EQ(l["role"], "dht");
  EXPECT_EQ(l["outbound"], true);
  EXPECT_EQ(l["ready"], true);
  EXPECT_EQ(l["kept"], true);
  EXPECT_EQ(l["address"], "ws://127.0.0.1:9001/");
  EXPECT_EQ(l["build_id"], "b2");
  EXPECT_EQ(l["version"], 1);
  EXPECT_EQ(l["age_ms"], 5000);
  EXPECT_EQ(l["idle_ms"], 500);
  EXPECT_EQ(l["in"], (json{{"messages", 4}, {"bytes", 400}}));
  EXPECT_EQ(l["out"], (json{{"messages", 5}, {"bytes", 500}}));
  ASSERT_EQ(j["routing_table"].size(), 1u);
  EXPECT_EQ(j["routing_table"][0], (json{{"id", id_of(0x02).hex()},
                                         {"role", "genesis"},
                                         {"addresses", {"ws://127.0.0.1:9002/"}},
                                         {"last_seen_age_ms", 2000},
                                         {"failures", 2}}));
}

TEST(ApiJson, PrometheusTextHasHelpTypeAndCumulativeBuckets) {
  Metrics m;
  m.in[message_type_index(static_cast<std::uint8_t>(MessageType::ping))] = {3, 15};
  m.in[kMessageTypeCount] = {1, 9};  // unknown type
  m.closes_sent[1] = 2;              // 4001
  m.lookup_latency.record(3);
  m.lookup_latency.record(40);
  m.lookup_latency.record(9000);
  m.stores_refused = 4;
  std::string text = prometheus_text(m, sample_status(), true, 20'000);
  EXPECT_NE(text.find("# HELP yz_links "), std::string::npos);
  EXPECT_NE(text.find("# TYPE yz_links gauge\n"), std::string::npos);
  EXPECT_NE(text.find("yz_links{kind=\"kept\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("yz_links{kind=\"query\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("yz_routing_table_size 5\n"), std::string::npos);
  EXPECT_NE(text.find("yz_messages_total{direction=\"in\",type=\"ping\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("yz_bytes_total{direction=\"in\",type=\"ping\"} 15\n"), std::string::npos);
  EXPECT_NE(text.find("yz_messages_total{direction=\"in\",type=\"unknown\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("yz_closes_total{direction=\"sent\",code=\"4001\",name=\"incompatible_version\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("yz_stores_total{result=\"refused\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE yz_lookup_duration_ms histogram\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_bucket{le=\"2\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_bucket{le=\"5\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_bucket{le=\"50\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_bucket{le=\"5000\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_sum 9043\n"), std::string::npos);
  EXPECT_NE(text.find("yz_lookup_duration_ms_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("yz_uptime_seconds 10\n"), std::string::npos);
  // Every sample line belongs to a family declared with HELP and TYPE before it.
  std::size_t pos = 0;
  std::string family;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("# TYPE ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (!line.starts_with("# HELP ")) {
      EXPECT_TRUE(line.starts_with(family)) << line << " outside family " << family;
    }
  }
}

TEST(ApiJson, GetResultShowsTextAndBase64) {
  GetResult r;
  r.ok = true;
  r.found = true;
  r.key = id_of(3);
  r.value = to_bytes("héllo");
  auto j = get_json(r);
  EXPECT_EQ(j["value"], "héllo");
  EXPECT_EQ(j["value_base64"], "aMOpbGxv");
  r.value = Bytes{0xff, 0x00, 0xfe};
  j = get_json(r);
  EXPECT_TRUE(j["value"].is_null());
  EXPECT_EQ(j["value_base64"], "/wD+");
  for (const char* field : {"ok", "found", "error", "key", "value", "value_base64", "seq", "hops", "requests",
                            "repaired", "elapsed_ms"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
}

TEST(ApiJson, ResultShapes) {
  PutResult put;
  put.ok = true;
  put.refusals = {"abcd: storage full"};
  auto p = put_json(put);
  for (const char* field : {"ok", "error", "key", "seq", "replicas_acked", "replicas_tried", "refusals", "elapsed_ms"})
    EXPECT_TRUE(p.contains(field)) << field;
  LookupResult lookup;
  lookup.closest.push_back(Contact{id_of(9), Role::dht, {"ws://a:1/"}});
  auto l = lookup_json(lookup, id_of(8));
  EXPECT_EQ(l["target"], id_of(8).hex());
  EXPECT_EQ(l["closest"][0], (json{{"id", id_of(9).hex()}, {"role", "dht"}, {"addresses", {"ws://a:1/"}}}));
  for (const char* field : {"ok", "error", "target", "closest", "hops", "requests", "failures", "elapsed_ms"})
    EXPECT_TRUE(l.contains(field)) << field;
  auto ping = ping_json(PingResult{true, "", 4});
  EXPECT_EQ(ping, (json{{"ok", true}, {"error", ""}, {"rtt_ms", 4}}));
}

TEST(ApiJson, JsonTextReplacesInvalidUtf8InsteadOfThrowing) {
  json j = error_json(std::string("peer said \xff"));
  EXPECT_EQ(json_text(j), "{\"error\":\"peer said \xef\xbf\xbd\",\"ok\":false}");
}

TEST(ApiJson, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%20b%2Fc+d"), "a b/c+d");
  EXPECT_EQ(percent_decode("%e2%82%ac"), "\xe2\x82\xac");
  EXPECT_FALSE(percent_decode("bad%2"));
  EXPECT_FALSE(percent_decode("bad%zz"));
  EXPECT_FALSE(percent_decode("%"));
}

TEST(ApiJson, ParseTargetSplitsPathAndQuery) {
  std::string error;
  auto t = parse_target("/values/my%20key?ttl=60&x=a+b&flag", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->path, "/values/my key");
  EXPECT_EQ(t->raw_path, "/values/my%20key");
  EXPECT_EQ(t->query.at("ttl"), "60");
  EXPECT_EQ(t->query.at("x"), "a b");
  EXPECT_EQ(t->query.at("flag"), "");
  EXPECT_FALSE(parse_target("/values/%zz", error));
  EXPECT_NE(error.find("malformed %-escape"), std::string::npos);
}

TEST(ApiJson, Base64AndUtf8) {
  EXPECT_EQ(base64_encode(as_bytes("")), "");
  EXPECT_EQ(base64_encode(as_bytes("f")), "Zg==");
  EXPECT_EQ(base64_encode(as_bytes("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(as_bytes("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(as_bytes("foobar")), "Zm9vYmFy");
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));    // U+1F600
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));           // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));       // surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));           // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

}  // namespace
}  // namespace yz::net
