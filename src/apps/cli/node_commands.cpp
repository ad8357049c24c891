// yz CLI commands that talk to one node's HTTP API: health, peers, ping,
// find-node, put, get. Human tables by default; --json prints the node's JSON as-is.
#include <cctype>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "apps/cli/commands.hpp"
#include "apps/cli/output.hpp"
#include "net/http_client.hpp"

namespace yz::cli {
namespace {

using nlohmann::json;

// Accepts exactly 64 hex digits (a node id or lookup target), lower-cases it.
CLI::Validator hex_id_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (text.size() != 64) {
          return "must be 64 hexadecimal digits (a node id, as `yz health` or `yz peers` print it); got " +
                 std::to_string(text.size()) + " characters";
        }
        for (char c : text) {
          if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return std::string("must be hexadecimal digits only; found '") + c + "'";
          }
        }
        return {};
      },
      "HEX64");
}

// The node's base URL: scheme://host:port plus any path prefix (behind a reverse
// proxy, e.g. http://host/node3), without a trailing slash.
std::string base_url(const std::string& node_url, std::string& error) {
  auto parsed = net::parse_http_url(node_url, error);
  if (!parsed) return {};
  std::string prefix = parsed->target.substr(0, parsed->target.find('?'));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return parsed->origin() + prefix;
}

void print_json(const json& j) { std::cout << j.dump(2) << "\n"; }

std::string addresses_text(const json& contact) {
  std::string out;
  if (auto it = contact.find("addresses"); it != contact.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (!a.is_string()) continue;
      if (!out.empty()) out += " ";
      out += a.get<std::string>();
    }
  }
  return out.empty() ? "-" : out;
}

// Common prefix length (bits) of two hex ids: how close a contact is to a target.
int common_prefix_bits(const std::string& a, const std::string& b) {
  int bits = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    auto nibble = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10) & 15; };
    if (!std::isxdigit(static_cast<unsigned char>(a[i])) || !std::isxdigit(static_cast<unsigned char>(b[i]))) return bits;
    int x = nibble(a[i]) ^ nibble(b[i]);
    if (x == 0) {
      bits += 4;
      continue;
    }
    for (int mask = 8; mask > 0 && !(x & mask); mask >>= 1) ++bits;
    return bits;
  }
  return bits;
}

std::string counters_text(const json& link, const char* direction) {
  auto it = link.find(direction);
  if (it == link.end() || !it->is_object()) return "-";
  return std::to_string(jint(*it, "messages")) + " / " + format_bytes(static_cast<std::uint64_t>(jint(*it, "bytes")));
}

void print_health(const std::string& url, int status, const json& h) {
  bool healthy = status == 200 && jbool(h, "healthy");
  if (healthy) {
    std::cout << url << " is healthy\n";
  } else {
    std::cout << url << " is NOT healthy (HTTP " << status << "):\n";
    if (auto it = h.find("reasons"); it != h.end() && it->is_array()) {
      for (const auto& r : *it) {
        if (r.is_string()) std::cout << "  - " << r.get<std::string>() << "\n";
      }
    }
  }
  std::string protocol = "-";
  if (auto p = h.find("protocol"); p != h.end() && p->is_object()) {
    protocol = std::to_string(jint(*p, "min")) + ".." + std::to_string(jint(*p, "max"));
  }
  std::string lookups = "last lookup " + (h.contains("last_lookup_age_ms") && h["last_lookup_age_ms"].is_number()
                                              ? format_json_ms(h["last_lookup_age_ms"]) + " ago"
                                              : std::string("never"));
  lookups += std::string("; last self-lookup ") + (jbool(h, "last_self_lookup_ok") ? "ok" : "failed or not yet run");
  Table t({"", ""});
  t.add({"id", jstr(h, "id")});
  t.add({"role", jstr(h, "role")});
  t.add({"build", jstr(h, "build_id") + ", protocol " + protocol});
  t.add({"uptime", format_duration_ms(jnum(h, "uptime_s") * 1000)});
  t.add({"links", std::to_string(jint(h, "links")) + " kept, " + std::to_string(jint(h, "query_links")) + " query"});
  t.add({"routing", std::to_string(jint(h, "routing_table_size")) + " contacts"});
  t.add({"storage", std::to_string(jint(h, "stored_values")) + " values, " +
                        format_bytes(static_cast<std::uint64_t>(jint(h, "stored_bytes")))});
  t.add({"lookups", lookups});
  std::ostringstream text;
  t.print(text, "  ");
  // Drop the (empty) header line of the key/value table.
  auto body = text.str();
  std::cout << body.substr(body.find('\n') + 1);
  if (auto it = h.find("refusals"); it != h.end() && it->is_array() && !it->empty()) {
    std::cout << "recent refusals (newest last):\n";
    Table r({"AGE", "PEER", "CODE", "NAME", "REASON"}, {true, false, true, false, false});
    for (const auto& item : *it) {
      r.add({format_json_ms(item.value("age_ms", json())), jstr(item, "peer"), std::to_string(jint(item, "code")),
             jstr(item, "code_name"), jstr(item, "reason")});
    }
    r.print(std::cout, "  ");
  }
}

}  // namespace

NodeAnswer call_node(const GlobalOptions& global, const std::string& node_url, const std::string& method,
                     const std::string& path, const std::string& body) {
  std::string error;
  auto base = base_url(node_url, error);
  if (base.empty()) {
    print_error(error);
    return {};
  }
  net::HttpRequestOptions options;
  options.timeout = std::chrono::milliseconds(global.timeout_ms);
  auto response = net::http_request(method, base + path, body, options);
  if (!response.answered()) {
    switch (response.error_kind) {
      case net::HttpErrorKind::refused:
        print_error(response.error + ": is it running? `yz cluster status` lists the nodes of a local cluster");
        break;
      case net::HttpErrorKind::timeout:
        print_error(response.error +
                    ": the node may be overloaded or stuck; check its log, or allow longer with --timeout");
        break;
      case net::HttpErrorKind::malformed:
        print_error(response.error + ": is this a yz node's HTTP port (and not another service)?");
        break;
      default:
        print_error(response.error);
        break;
    }
    return {};
  }
  auto j = json::parse(response.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::string what = method + " " + path.substr(0, path.find('?'));
    std::string snippet = response.body.substr(0, 120);
    for (auto& c : snippet) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    print_error(base + " answered " + what + " with HTTP " + std::to_string(response.status) + " " +
                response.reason + " but not with JSON" + (snippet.empty() ? "" : " ('" + snippet + "')") +
                ": is this the HTTP port of a yz node of the same version?");
    return {};
  }
  return {true, response.status, std::move(j)};
}

Runner add_health_command(CLI::App& app, const GlobalOptions& global) {
  auto url = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("health", "Show whether a node is healthy, and why not (exit 1 when unhealthy)");
  cmd->add_option("URL", *url, "the node's address, e.g. http://127.0.0.1:7404 (ws:// accepted)")->required();
  return [&global, url] {
    auto answer = call_node(global, *url, "GET", "/health");
    if (!answer.ok) return kExitFailed;
    bool healthy = answer.status == 200 && jbool(answer.body, "healthy");
    if (global.json) {
      print_json(answer.body);
    } else {
      print_health(*url, answer.status, answer.body);
    }
    return healthy ? kExitOk : kExitFailed;
  };
}

Runner add_peers_command(CLI::App& app, const GlobalOptions& global) {
  auto url = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("peers", "List a node's open links and its routing table");
  cmd->add_option("URL", *url, "the node's address, e.g. http://127.0.0.1:7404")->required();
  return [&global, url] {
    auto answer = call_node(global, *url, "GET", "/peers");
    if (!answer.ok) return kExitFailed;
    if (global.json) {
      print_json(answer.body);
      return answer.status == 200 ? kExitOk : kExitFailed;
    }
    const auto& j = answer.body;
    auto links = j.value("links", json::array());
    auto routing = j.value("routing_table", json::array());
    std::size_t kept = 0;
    for (const auto& l : links) kept += jbool(l, "kept") ? 1 : 0;
    std::cout << "links: " << links.size() << " open (" << kept << " kept, " << links.size() - kept << " query)\n";
    if (!links.empty()) {
      Table t({"LINK", "PEER", "ROLE", "DIR", "STATE", "KIND", "ADDRESS", "BUILD", "VER", "AGE", "IDLE",
               "IN msgs / bytes", "OUT msgs / bytes"},
              {true, false, false, false, false, false, false, false, true, true, true, true, true});
      for (const auto& l : links) {
        t.add({std::to_string(jint(l, "link")), short_id(jstr(l, "peer")), jstr(l, "role"),
               jbool(l, "outbound") ? "out" : "in", jbool(l, "ready") ? "ready" : "handshake",
               jbool(l, "kept") ? "kept" : "query", jstr(l, "address"), jstr(l, "build_id"),
               std::to_string(jint(l, "version")), format_json_ms(l.value("age_ms", json())),
               format_json_ms(l.value("idle_ms", json())), counters_text(l, "in"), counters_text(l, "out")});
      }
      t.print(std::cout, "  ");
    }
    std::cout << "routing table: " << routing.size() << " contacts\n";
    if (!routing.empty()) {
      Table t({"ID", "ROLE", "ADDRESSES", "LAST SEEN", "FAILURES"}, {false, false, false, true, true});
      for (const auto& r : routing) {
        t.add({jstr(r, "id"), jstr(r, "role"), addresses_text(r), format_json_ms(r.value("last_seen_age_ms", json())) + " ago",
               std::to_string(jint(r, "failures"))});
      }
      t.print(std::cout, "  ");
    }
    return answer.status == 200 ? kExitOk : kExitFailed;
  };
}

Runner add_ping_command(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string url, id;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("ping", "Ask a node to ping another node by id (exit 1 when it does not answer)");
  cmd->add_option("URL", args->url, "the asking node's address, e.g. http://127.0.0.1:7404")->required();
  cmd->add_option("NODE_ID", args->id, "the id of the node to ping (64 hex digits)")
      ->required()
      ->check(hex_id_validator());
  return [&global, args] {
    auto answer = call_node(global, args->url, "POST", "/ping?id=" + args->id);
    if (!answer.ok) return kExitFailed;
    bool ok = jbool(answer.body, "ok");
    if (global.json) {
      print_json(answer.body);
    } else if (ok) {
      std::cout << "pong from " << short_id(args->id) << " in " << format_json_ms(answer.body.value("rtt_ms", json()))
                << "\n";
    } else {
      print_error("ping of " + short_id(args->id) + " from " + args->url + " failed: " + jstr(answer.body, "error"));
    }
    return ok ? kExitOk : kExitFailed;
  };
}

Runner add_find_node_command(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string url, target;
    bool random = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("find-node", "Run an iterative lookup for the k nodes closest to a target id");
  cmd->add_option("URL", args->url, "the node that runs the lookup, e.g. http://127.0.0.1:7404")->required();
  auto* target = cmd->add_option("TARGET", args->target, "the target id (64 hex digits)")->check(hex_id_validator());
  cmd->add_flag("--random", args->random, "look up a random target")->excludes(target);
  return [&global, args] {
    if (args->random) {
      std::random_device device;
      static constexpr char kHex[] = "0123456789abcdef";
      args->target.clear();
      for (int i = 0; i < 64; ++i) args->target += kHex[device() % 16];
    }
    if (args->target.empty()) {
      print_error("find-node needs a TARGET (64 hex digits) or --random; see `yz find-node --help`");
      return kExitUsage;
    }
    auto answer = call_node(global, args->url, "GET", "/find-node?target=" + args->target);
    if (!answer.ok) return kExitFailed;
    const auto& j = answer.body;
    bool ok = jbool(j, "ok");
    if (global.json) {
      print_json(j);
      return ok ? kExitOk : kExitFailed;
    }
    if (!ok) {
      print_error("find-node for " + short_id(args->target) + " failed: " + jstr(j, "error"));
      return kExitFailed;
    }
    auto closest = j.value("closest", json::array());
    std::cout << closest.size() << " closest nodes to " << args->target << "\n";
    Table t({"#", "ID", "ROLE", "PREFIX", "ADDRESSES"}, {true, false, false, true, false});
    int rank = 0;
    for (const auto& c : closest) {
      auto id = jstr(c, "id");
      t.add({std::to_string(++rank), id, jstr(c, "role"), std::to_string(common_prefix_bits(id, args->target)) + " bits",
             addresses_text(c)});
    }
    t.print(std::cout, "  ");
    std::cout << "found in " << count_of(jint(j, "hops"), "hop") << ", " << count_of(jint(j, "requests"), "request")
              << ", " << count_of(jint(j, "failures"), "failure") << ", " << format_json_ms(j.value("elapsed_ms", json())) << "\n";
    return kExitOk;
  };
}

Runner add_put_command(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string url, key, value, file;
    bool has_value = false;
    std::uint32_t ttl = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("put", "Store a value under a key on the k closest nodes");
  cmd->add_option("URL", args->url, "the node that runs the store, e.g. http://127.0.0.1:7404")->required();
  cmd->add_option("KEY", args->key, "the key (any text; hashed to an id by the node)")->required();
  auto* value = cmd->add_option("VALUE", args->value, "the value (text; use --file for binary data)");
  cmd->add_option("--file", args->file, "read the value from this file instead")->excludes(value);
  cmd->add_option("--ttl", args->ttl, "seconds the value lives (default: the node's, 3600)")
      ->check(CLI::Range(1u, 7u * 24 * 3600));
  return [&global, args, value] {
    std::string body = args->value;
    if (!args->file.empty()) {
      std::ifstream in(args->file, std::ios::binary);
      if (!in) {
        print_error("cannot read the value file " + args->file + ": does it exist and is it readable?");
        return kExitFailed;
      }
      body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (value->count() == 0) {
      print_error("put needs a VALUE or --file PATH; see `yz put --help`");
      return kExitUsage;
    }
    std::string path = "/values/" + net::percent_encode(args->key);
    if (args->ttl > 0) path += "?ttl=" + std::to_string(args->ttl);
    auto answer = call_node(global, args->url, "PUT", path, body);
    if (!answer.ok) return kExitFailed;
    const auto& j = answer.body;
    bool ok = answer.status == 200 && jbool(j, "ok");
    auto refusals = j.value("refusals", json::array());
    if (global.json) {
      print_json(j);
      return ok ? kExitOk : kExitFailed;
    }
    if (ok) {
      std::cout << "stored '" << args->key << "' (" << format_bytes(body.size()) << ", key id "
                << short_id(jstr(j, "key")) << ", seq " << jint(j, "seq") << ") on " << jint(j, "replicas_acked")
                << " of " << jint(j, "replicas_tried") << " replicas in " << format_json_ms(j.value("elapsed_ms", json()))
                << "\n";
    } else {
      std::string error = jstr(j, "error");
      if (error.empty()) error = "the node answered HTTP " + std::to_string(answer.status);
      print_error("put of '" + args->key + "' was refused: " + error);
    }
    if (refusals.is_array() && !refusals.empty()) {
      (ok ? std::cout : std::cerr) << "refused by " << refusals.size() << " replica(s):\n";
      for (const auto& r : refusals) {
        if (r.is_string()) (ok ? std::cout : std::cerr) << "  - " << r.get<std::string>() << "\n";
      }
    }
    return ok ? kExitOk : kExitFailed;
  };
}

Runner add_get_command(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string url, key;
    bool raw = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("get", "Look up the value stored under a key (exit 1 when not found)");
  cmd->add_option("URL", args->url, "the node that runs the lookup, e.g. http://127.0.0.1:7404")->required();
  cmd->add_option("KEY", args->key, "the key, as given to `yz put`")->required();
  cmd->add_flag("--raw", args->raw, "write only the value's bytes to stdout (for binary values)");
  return [&global, args] {
    auto answer = call_node(global, args->url, "GET", "/values/" + net::percent_encode(args->key));
    if (!answer.ok) return kExitFailed;
    const auto& j = answer.body;
    bool found = answer.status == 200 && jbool(j, "found");
    if (global.json) {
      print_json(j);
      return found ? kExitOk : kExitFailed;
    }
    std::string stats = count_of(jint(j, "hops"), "hop") + ", " + count_of(jint(j, "requests"), "request") + ", " +
                        format_json_ms(j.value("elapsed_ms", json()));
    if (!found) {
      if (answer.status == 404 || (jbool(j, "ok") && !jbool(j, "found"))) {
        print_error("not found: no node holds '" + args->key + "' (key id " + short_id(jstr(j, "key")) +
                    "; searched in " + stats + ")");
      } else {
        std::string error = jstr(j, "error");
        if (error.empty()) error = "the node answered HTTP " + std::to_string(answer.status);
        print_error("get of '" + args->key + "' failed: " + error);
      }
      return kExitFailed;
    }
    std::string value = jstr(j, "value");
    if (auto b64 = jstr(j, "value_base64"); !b64.empty()) {
      if (auto decoded = base64_decode(b64)) value = *decoded;
    }
    if (args->raw) {
      std::cout << value;
      return kExitOk;
    }
    if (printable_text(value)) {
      std::cout << value << (value.empty() || value.back() != '\n' ? "\n" : "");
    } else {
      std::cout << "(binary value, " << format_bytes(value.size()) << "; base64 below, or use --raw)\n"
                << base64_encode(value) << "\n";
    }
    std::cout << "found in " << stats << " (" << format_bytes(value.size()) << ", seq " << jint(j, "seq");
    if (jint(j, "repaired") > 0) std::cout << ", repaired " << count_of(jint(j, "repaired"), "replica");
    std::cout << ")\n";
    return kExitOk;
  };
}

}  // namespace yz::cli
