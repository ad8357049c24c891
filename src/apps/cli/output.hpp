// Output helpers of the yz CLI: aligned text tables, human durations and
// sizes, base64, and the exit codes every command shares.
#pragma once
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace yz::cli {

// Exit codes of every yz command (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation ran and failed (not found, unhealthy, unreachable)
inline constexpr int kExitUsage = 2;   // the command line is wrong

// Columns padded to the widest cell; a column marked right-aligned pads on the left.
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
  void add(std::vector<std::string> row);
  void print(std::ostream& out, const std::string& indent = "") const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "850 ms", "2.4 s", "3 min 5 s", "2 h 3 min".
std::string format_duration_ms(double ms);
// "512 B", "1.5 KiB", "3.2 MiB".
std::string format_bytes(std::uint64_t bytes);
// "12 ms" from a JSON number (integer or fractional); "-" for null or absent.
std::string format_json_ms(const nlohmann::json& value);

std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

// True when `text` is valid UTF-8 without control characters other than \n, \r, \t.
bool printable_text(std::string_view text);

// Integer/string/bool fields read leniently from node JSON (0/""/false when absent).
std::int64_t jint(const nlohmann::json& j, const char* key);
double jnum(const nlohmann::json& j, const char* key);
std::string jstr(const nlohmann::json& j, const char* key);
bool jbool(const nlohmann::json& j, const char* key);

// "1 hop", "3 hops": a count with its noun, singular or plural ("s" appended).
std::string count_of(std::int64_t n, const std::string& noun);

// First `n` characters of an id (ids are 64 hex digits).
std::string short_id(const std::string& id, std::size_t n = 16);

// Prints "yz: <message>" to stderr.
void print_error(const std::string& message);

}  // namespace yz::cli
