// The HTTP API against a real engine that has no peers: routing, status codes,
// input validation and the JSON shapes (net/http_api). No sockets involved.
#include "net/http_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/sodium_crypto.hpp"

namespace yz::net {
namespace {

using nlohmann::json;

class Host : public EngineHost {
 public:
  explicit Host(bool start = true)
      : signer_(SodiumSigner::generate()), random_(42), engine_(config(), crypto_, signer_, random_) {
    if (start) {
      engine_.start(now_);
      engine_.take_actions();
    }
  }
  static EngineConfig config() {
    EngineConfig c;
    c.role = Role::dht;
    c.advertised_addresses = {"ws://127.0.0.1:1/"};
    return c;
  }
  Engine& engine() override { return engine_; }
  Millis now() const override { return now_; }
  void engine_called() override {
    ++calls;
    engine_.take_actions();
  }
  bool stopping() const override { return stopping_flag; }

  int calls = 0;
  bool stopping_flag = false;

 private:
  SodiumCrypto crypto_;
  SodiumSigner signer_;
  SeededRandom random_;
  Engine engine_;
  Millis now_ = 1'700'000'000'000;
};

struct Answer {
  std::optional<HttpReply> reply;
  json body() const { return json::parse(reply->body); }
};

Answer call(HttpApi& api, std::string method, std::string target, std::string body = "") {
  Answer answer;
  api.handle(InboundHttpRequest{std::move(method), std::move(target), std::move(body), "127.0.0.1:5"},
             [&answer](HttpReply reply) { answer.reply = std::move(reply); });
  return answer;
}

const std::string kSomeId(64, 'c');

TEST(HttpApi, HealthIs503WithReasonsWhenNotHealthy) {
  Host host(/*start=*/false);  // a node that has not started is never healthy
  HttpApi api(host);
  auto a = call(api, "GET", "/health");
  ASSERT_TRUE(a.reply);
  EXPECT_EQ(a.reply->status, 503);
  EXPECT_EQ(a.reply->content_type, "application/json");
  auto j = a.body();
  EXPECT_EQ(j["healthy"], false);
  EXPECT_FALSE(j["reasons"].empty());
  EXPECT_EQ(j["id"], host.engine().id().hex());
  EXPECT_EQ(j["role"], "dht");
}

TEST(HttpApi, HealthStatusCodeFollowsTheHealthyField) {
  Host host;
  HttpApi api(host);
  auto a = call(api, "GET", "/health");
  ASSERT_TRUE(a.reply);
  EXPECT_EQ(a.reply->status, a.body()["healthy"].get<bool>() ? 200 : 503);
  EXPECT_EQ(a.body()["reasons"].empty(), a.body()["healthy"].get<bool>());
}

TEST(HttpApi, MetricsAndPeersAnswer) {
  Host host;
  HttpApi api(host);
  auto metrics = call(api, "GET", "/metrics");
  ASSERT_TRUE(metrics.reply);
  EXPECT_EQ(metrics.reply->status, 200);
  EXPECT_EQ(metrics.reply->content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.reply->body.find("# TYPE yz_messages_total counter"), std::string::npos);
  auto peers = call(api, "GET", "/peers");
  ASSERT_TRUE(peers.reply);
  EXPECT_EQ(peers.reply->status, 200);
  EXPECT_EQ(peers.body(), (json{{"links", json::array()}, {"routing_table", json::array()}}));
}

TEST(HttpApi, BadRequestsGetPlainWordErrors) {
  Host host;
  HttpApi api(host);
  auto missing = call(api, "GET", "/find-node");
  EXPECT_EQ(missing.reply->status, 400);
  EXPECT_NE(missing.body()["error"].get<std::string>().find("missing query parameter 'target'"), std::string::npos);
  auto bad_hex = call(api, "GET", "/find-node?target=xyz");
  EXPECT_EQ(bad_hex.reply->status, 400);
  EXPECT_NE(bad_hex.body()["error"].get<std::string>().find("exactly 64 hex digits"), std::string::npos);
  auto ping_missing = call(api, "POST", "/ping");
  EXPECT_EQ(ping_missing.reply->status, 400);
  auto unknown = call(api, "GET", "/nothing");
  EXPECT_EQ(unknown.reply->status, 404);
  EXPECT_NE(unknown.body()["error"].get<std::string>().find("no endpoint /nothing"), std::string::npos);
  auto wrong = call(api, "POST", "/health");
  EXPECT_EQ(wrong.reply->status, 405);
  auto ping_get = call(api, "GET", "/ping?id=" + kSomeId);
  EXPECT_EQ(ping_get.reply->status, 405);
  auto no_key = call(api, "GET", "/values/");
  EXPECT_EQ(no_key.reply->status, 400);
  auto bad_escape = call(api, "GET", "/values/%zz");
  EXPECT_EQ(bad_escape.reply->status, 400);
  auto too_big = call(api, "PUT", "/values/k", std::string(kMaxValueSize + 1, 'v'));
  EXPECT_EQ(too_big.reply->status, 413);
  EXPECT_EQ(too_big.body()["error"], "value of 65537 bytes is above the 65536-byte limit for stored values");
  auto zero_ttl = call(api, "PUT", "/values/k?ttl=0", "v");
  EXPECT_EQ(zero_ttl.reply->status, 400);
  auto text_ttl = call(api, "PUT", "/values/k?ttl=soon", "v");
  EXPECT_EQ(text_ttl.reply->status, 400);
  EXPECT_NE(text_ttl.body()["error"].get<std::string>().find("ttl must be a whole number"), std::string::npos);
  auto del = call(api, "DELETE", "/values/k");
  EXPECT_EQ(del.reply->status, 405);
  EXPECT_EQ(host.calls, 0);  // none of these reached the engine
}

TEST(HttpApi, CorsPreflightIsAnswered) {
  Host host;
  HttpApi api(host);
  auto a = call(api, "OPTIONS", "/health");
  ASSERT_TRUE(a.reply);
  EXPECT_EQ(a.reply->status, 204);
  bool has_methods = false;
  for (auto& [name, value] : a.reply->headers) has_methods |= name == "Access-Control-Allow-Methods";
  EXPECT_TRUE(has_methods);
}

TEST(HttpApi, EngineCallsAnswerWithAStatusThatFollowsOk) {
  Host host;
  HttpApi api(host);
  auto find = call(api, "GET", "/find-node?target=" + kSomeId);
  EXPECT_EQ(host.calls, 1);
  if (find.reply) {  // a lookup with nobody to ask may finish at once
    EXPECT_EQ(find.reply->status, find.body()["ok"].get<bool>() ? 200 : 502);
    EXPECT_EQ(find.body()["target"], kSomeId);
  }
  auto put = call(api, "PUT", "/values/a%20key?ttl=60", "value");
  EXPECT_EQ(host.calls, 2);
  if (put.reply) {
    EXPECT_EQ(put.reply->status, put.body()["ok"].get<bool>() ? 200 : 502);
    EXPECT_EQ(put.body()["key"], host.engine().key_id(as_bytes("a key")).hex());
  }
  auto get = call(api, "GET", "/values/a%20key");
  EXPECT_EQ(host.calls, 3);
  if (get.reply) {
    auto j = get.body();
    int expected = !j["ok"].get<bool>() ? 502 : j["found"].get<bool>() ? 200 : 404;
    EXPECT_EQ(get.reply->status, expected);
    if (j["found"].get<bool>()) {
      EXPECT_EQ(j["value"], "value");
    }
  }
}

TEST(HttpApi, RefusesEngineWorkWhileStopping) {
  Host host;
  HttpApi api(host);
  host.stopping_flag = true;
  auto a = call(api, "GET", "/values/k");
  ASSERT_TRUE(a.reply);
  EXPECT_EQ(a.reply->status, 503);
  auto health = call(api, "GET", "/health");
  EXPECT_TRUE(health.reply);  // status still answers
}

}  // namespace
}  // namespace yz::net
