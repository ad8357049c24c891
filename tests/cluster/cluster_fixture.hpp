// Shared fixture of the cluster tests: each test starts its own network of real
// yz-bootstrap / yz-node processes (built next to the tests, YZ_BIN_DIR) on its
// own ports in a fresh temporary directory, and stops it in TearDown even when
// the test failed (then the directory and the nodes' last log lines are kept/shown).
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/cluster.hpp"
#include "net/http_client.hpp"

namespace yz::cluster_test {

using nlohmann::json;
using namespace std::chrono_literals;

// Every test gets a distinct base port below the ephemeral range (32768+), so
// the nodes' own outbound connections never take a port a test needs.
inline constexpr std::uint16_t kPortBlock = 21000;

// Maintenance period used by the tests: short, so recovery is quick.
inline constexpr int kMaintenanceMs = 2000;

struct Answer {
  int status = 0;
  json body;            // null when the answer was not JSON
  std::string raw;      // the body as received
  std::string error;    // transport failure, empty when an answer arrived
};

inline Answer call(const std::string& method, const std::string& url, const std::string& body = {},
                   std::chrono::milliseconds timeout = 20s) {
  net::HttpRequestOptions options;
  options.timeout = timeout;
  auto response = net::http_request(method, url, body, options);
  Answer answer;
  if (!response.answered()) {
    answer.error = response.error;
    return answer;
  }
  answer.status = response.status;
  answer.raw = response.body;
  auto j = json::parse(response.body, nullptr, false);
  if (!j.is_discarded()) answer.body = std::move(j);
  return answer;
}

inline std::string value_path(const std::string& key) { return "/values/" + net::percent_encode(key); }

// Sum of the samples of Prometheus metric `name` whose labels include all of `labels`.
inline double metric_sum(const std::string& text, const std::string& name,
                         const std::map<std::string, std::string>& labels = {}) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
    std::map<std::string, std::string> have;
    std::size_t value_at = name_end;
    if (line[name_end] == '{') {
      auto close = line.find('}', name_end);
      if (close == std::string::npos) continue;
      std::string inside = line.substr(name_end + 1, close - name_end - 1);
      std::size_t pos = 0;
      while (pos < inside.size()) {
        auto eq = inside.find('=', pos);
        if (eq == std::string::npos) break;
        auto q1 = inside.find('"', eq);
        auto q2 = inside.find('"', q1 + 1);
        if (q1 == std::string::npos || q2 == std::string::npos) break;
        auto key = inside.substr(pos, eq - pos);
        while (!key.empty() && (key.front() == ',' || key.front() == ' ')) key.erase(key.begin());
        have[key] = inside.substr(q1 + 1, q2 - q1 - 1);
        pos = q2 + 1;
      }
      value_at = close + 1;
    }
    bool match = true;
    for (const auto& [k, v] : labels) match = match && have.count(k) && have[k] == v;
    if (!match) continue;
    try {
      sum += std::stod(line.substr(value_at));
    } catch (const std::exception&) {
    }
  }
  return sum;
}

class ClusterTest : public ::testing::Test {
 protected:
  // Starts the network; on failure the test fails with the launcher's sentence.
  void start(net::ClusterOptions options, std::uint16_t base_port) {
    char pattern[] = "/tmp/yz-cluster-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr) << "cannot create a temporary directory under /tmp";
    dir_ = pattern;
    options.dir = dir_;
    options.bin_dir = YZ_BIN_DIR;
    options.die_with_parent = true;
    if (options.maintenance_interval_ms == 0) options.maintenance_interval_ms = kMaintenanceMs;
    std::string error;
    // Another program may hold a port of the block: try the next blocks.
    for (int attempt = 0; attempt < 4 && !cluster_; ++attempt) {
      options.base_port = static_cast<std::uint16_t>(base_port + attempt * 1000);
      cluster_ = net::Cluster::start(options, error);
      if (!cluster_ && error.find("already in use") == std::string::npos) break;
    }
    ASSERT_TRUE(cluster_) << error;
  }

  // Waits until every node (or `names`) is healthy; fails the test naming the rest.
  void expect_healthy(std::chrono::milliseconds timeout, const std::vector<std::string>& names = {}) {
    auto problems = cluster_->wait_healthy(timeout, names);
    std::string text;
    for (const auto& p : problems) {
      text += "\n  " + p.name + ":";
      for (const auto& r : p.reasons) text += " [" + r + "]";
    }
    EXPECT_TRUE(problems.empty()) << problems.size() << " nodes not healthy after " << timeout.count() << " ms:" << text;
  }

  void TearDown() override {
    if (!cluster_) return;
    bool failed = HasFailure();
    if (failed) {
      for (const auto& node : cluster_->nodes()) {
        auto tail = net::Cluster::log_tail(node.log_path, 15);
        if (!tail.empty()) std::cerr << "---- last lines of " << node.log_path << "\n" << tail;
      }
    }
    auto killed = cluster_->stop();
    EXPECT_TRUE(killed.empty()) << killed.size() << " nodes did not stop within 5 s of SIGTERM (first: "
                                << killed.front() << ")";
    if (failed) {
      std::cerr << "cluster directory kept for inspection: " << dir_ << "\n";
    } else {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  net::Cluster& cluster() { return *cluster_; }
  const net::ClusterNode& node(const std::string& name) {
    const auto* n = cluster_->find(name);
    if (!n) throw std::runtime_error("no node named " + name);
    return *n;
  }
  // Every node that takes part in the DHT (all but the bootstrap server).
  std::vector<net::ClusterNode> members() const {
    std::vector<net::ClusterNode> out;
    for (const auto& n : cluster_->nodes()) {
      if (n.role != "bootstrap") out.push_back(n);
    }
    return out;
  }

  json health(const net::ClusterNode& n) {
    auto a = call("GET", n.url + "/health");
    EXPECT_TRUE(a.error.empty()) << n.name << ": " << a.error;
    return a.body;
  }

  // PUT through `n`; returns the JSON answer (fails the test on transport errors).
  Answer put(const net::ClusterNode& n, const std::string& key, const std::string& value) {
    auto a = call("PUT", n.url + value_path(key), value);
    EXPECT_TRUE(a.error.empty()) << "PUT through " << n.name << ": " << a.error;
    return a;
  }
  Answer get(const net::ClusterNode& n, const std::string& key) {
    auto a = call("GET", n.url + value_path(key));
    EXPECT_TRUE(a.error.empty()) << "GET through " << n.name << ": " << a.error;
    return a;
  }

  // A put through `writer` followed by a get through `reader` returns the value.
  void expect_roundtrip(const net::ClusterNode& writer, const net::ClusterNode& reader, const std::string& key) {
    std::string value = "value of " + key + " via " + writer.name;
    auto p = put(writer, key, value);
    ASSERT_EQ(p.status, 200) << p.raw;
    EXPECT_TRUE(p.body.value("ok", false)) << p.raw;
    auto g = get(reader, key);
    ASSERT_EQ(g.status, 200) << g.raw;
    EXPECT_TRUE(g.body.value("found", false)) << g.raw;
    EXPECT_EQ(g.body.value("value", std::string()), value) << g.raw;
  }

  std::string metrics(const net::ClusterNode& n) {
    auto a = call("GET", n.url + "/metrics");
    EXPECT_TRUE(a.error.empty()) << a.error;
    EXPECT_EQ(a.status, 200);
    return a.raw;
  }

  std::optional<net::Cluster> cluster_;
  std::string dir_;
};

}  // namespace yz::cluster_test
