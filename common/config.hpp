// Parsing helpers shared by every config surface (CLI flags, proxy/toxic JSON, workloads,
// scenarios). Configuration is parsed and validated once; every problem is collected with its JSON
// path
// ("$.load.stages[2].rate: must be >= 0") so a user sees all mistakes in one go.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline {

using json = nlohmann::json;

// Collects validation errors; each one names the JSON path it refers to.
class ConfigErrors {
 public:
  void add(std::string path, std::string message);
  bool empty() const noexcept { return errors_.empty(); }
  const std::vector<std::string>& list() const noexcept { return errors_; }
  // All errors, one per line.
  std::string to_string() const;

 private:
  std::vector<std::string> errors_;
};

// Thrown by loaders after collecting errors; `what()` lists every error.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const ConfigErrors& errors);
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
};

// Joins a JSON path and a member/index: path_join("$.a", "b") == "$.a.b", path_index("$.a", 2) ==
// "$.a[2]".
std::string path_join(std::string_view path, std::string_view member);
std::string path_index(std::string_view path, std::size_t index);

// Durations: "250us", "500ms", "30s", "5m", "24h", "1h30m"; a bare number is seconds unless
// `bare_unit` says otherwise. Returns nullopt for malformed or negative input.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// Rates / counts: "1000", "2k", "1.5k", "3m" (million). Returns nullopt when malformed or negative.
std::optional<double> parse_rate(std::string_view text);

// Byte sizes: "512", "64KiB", "1MiB", "1MB", "10k". Returns nullopt when malformed.
std::optional<std::uint64_t> parse_bytes(std::string_view text);

// Prints a duration the way users type it: 1.5s, 250ms, 30s, 2m, 1h.
std::string format_duration(std::chrono::nanoseconds d);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;  // brackets IPv6 hosts: "[::1]:80"
};

// "127.0.0.1:8080", "[::1]:0", "localhost:6379", ":8080" (host defaults to 127.0.0.1).
// Returns nullopt when malformed.
std::optional<HostPort> parse_host_port(std::string_view text);

// Field readers that record an error (with the member's path) instead of throwing when the member
// has the wrong type. A missing member yields nullopt without an error unless `required`.
std::optional<std::string> get_string(const json& obj, std::string_view path, const char* key,
                                      ConfigErrors& errors, bool required = false);
std::optional<double> get_number(const json& obj, std::string_view path, const char* key,
                                 ConfigErrors& errors, bool required = false);
std::optional<std::int64_t> get_integer(const json& obj, std::string_view path, const char* key,
                                        ConfigErrors& errors, bool required = false);
std::optional<bool> get_bool(const json& obj, std::string_view path, const char* key,
                             ConfigErrors& errors, bool required = false);
// A duration given as a string ("500ms") or, when `number_unit` is set, as a bare number in that
// unit (Toxiproxy's "latency": 100 is milliseconds).
std::optional<std::chrono::nanoseconds> get_duration(
    const json& obj, std::string_view path, const char* key, ConfigErrors& errors,
    bool required = false,
    std::optional<std::chrono::nanoseconds> number_unit = std::chrono::seconds(1));

// Records an error for every member of `obj` not in `known` ("unknown field").
void reject_unknown_keys(const json& obj, std::string_view path,
                         std::initializer_list<std::string_view> known, ConfigErrors& errors);

// The deepest nesting of arrays and objects faultline accepts in any JSON it reads (API bodies,
// scenarios, workloads, run records, results, intervals). Deeper documents are refused before they
// are parsed: nlohmann's copy, dump and comparison recurse, so a few hundred kilobytes of "[[[["
// would overflow the stack of whatever walked the tree.
inline constexpr std::size_t kMaxJsonDepth = 128;

// The nesting depth of a JSON text (brackets outside strings), stopping as soon as it passes
// `stop_after`: linear, without recursion, on any input (it does not validate the text).
std::size_t json_nesting_depth(std::string_view text,
                               std::size_t stop_after = static_cast<std::size_t>(-1));

// Parses JSON text with the depth limit. nullopt on a syntax error or a document nested deeper
// than `max_depth`, with the reason in `*error` (when given): "nested deeper than 128 levels" or
// nlohmann's message with its position. Never throws.
std::optional<json> parse_json(std::string_view text, std::string* error = nullptr,
                               std::size_t max_depth = kMaxJsonDepth);

// parse_json for callers that test the result with is_discarded()/is_object(): a discarded value
// on a syntax error or a document nested too deep.
json parse_json_or_discarded(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Reads a whole file and parses it as JSON (with the depth limit); throws ConfigError naming the
// file and the line/column of a syntax error. A FIFO, a device or a directory is refused without
// reading it, and so is a file over `max_bytes`.
json load_json_file(const std::string& file, std::uint64_t max_bytes = 256ull << 20);
// The whole text of a regular file of at most `max_bytes`; throws ConfigError naming the file. It
// is opened non-blocking and checked on the descriptor, so a FIFO, a device or a directory (or a
// file swapped for one after a check) is refused without reading it.
std::string read_text_file(const std::string& file, std::uint64_t max_bytes);

}  // namespace faultline
