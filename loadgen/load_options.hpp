// The load options a scenario's `load` object and `faultline load`'s flags share (rate, users,
// stages, connections, timeout, seed, duration): read from JSON or from the flags and validated by
// one set of rules, so a scenario is refused for exactly what the command line refuses, and turned
// back into flags for a child `faultline load`. Errors name an option the way its source does:
// "$.load.connections: must be between 1 and 100000" in a scenario, "--connections: ..." on the
// command line (OptionNames).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"

namespace faultline::loadgen {

// Upper bound on connections, and on users at any level (one connection each), checked before
// anything is allocated: each is a socket and buffers. Far above what one process can use well.
inline constexpr std::int64_t kMaxConnections = 100000;

// What `faultline load` uses when an option is absent.
inline constexpr std::int64_t kDefaultConnections = 50;
inline constexpr std::uint64_t kDefaultSeed = 1;
inline constexpr std::string_view kDefaultTimeout = "10s";
inline constexpr std::string_view kDefaultDuration = "10s";

// Absent (nullopt) = faultline load's default. Durations stay text (what the user wrote) so that
// to_argv() hands a child exactly that.
struct LoadOptions {
  std::optional<double> rate;               // open model: arrivals/s (JSON 100 or "2k"; --rate)
  std::optional<double> users;              // closed model: virtual users, a whole number
  std::optional<std::string> stages;        // levels over time (loadgen::parse_stages grammar)
  std::optional<std::int64_t> connections;  // per process (open and max models)
  std::optional<std::string> timeout;       // per request, a duration ("2s", "500ms")
  std::optional<std::uint64_t> seed;        // mix choice, generated bodies
  // Run time. With stages it cuts or extends them; the runner sets it from the scenario's
  // duration (a scenario's `load` object has no "duration" member).
  std::optional<std::string> duration;

  bool operator==(const LoadOptions&) const = default;
};

// How errors name an option: `at(key)` is where an error is ("$.load.rate", "--rate"), `ref(key)`
// mentions another option inside a message ("rate", "--rate"). Keys are the JSON member names,
// which are also the flag names.
class OptionNames {
 public:
  // Members of the JSON object at `path` ("$.load").
  static OptionNames json_path(std::string_view path);
  // `faultline load`'s flags.
  static OptionNames flags();

  std::string at(std::string_view key) const { return at_prefix_ + std::string(key); }
  std::string ref(std::string_view key) const { return ref_prefix_ + std::string(key); }

 private:
  OptionNames(std::string at_prefix, std::string ref_prefix)
      : at_prefix_(std::move(at_prefix)), ref_prefix_(std::move(ref_prefix)) {}
  std::string at_prefix_;
  std::string ref_prefix_;
};

// Reads the members rate (a number or a rate string "2k"), users (a number or "2k"), stages,
// connections (an integer), timeout (a duration string), seed (an integer >= 0) and duration (a
// duration string) of `obj`, then validates them with validate_load_options() when they could all
// be read (a member of the wrong type is one error, not a cascade of rules it then breaks).
// Other members are ignored: a scenario's `load` object has runner-only members (via, url,
// workload, shards, args, apdex_t, external) and the runner rejects unknown ones itself.
LoadOptions read_load_options(const json& obj, const OptionNames& names, ConfigErrors& errors);

// read_load_options() with errors at JSON paths under `path` ("$.load.connections: ...").
LoadOptions parse_load_options(const json& obj, std::string_view path, ConfigErrors& errors);

// The rules, the only copy: rate and users exclude each other; stages need rate (levels are
// requests/s) or users (levels are users) and must parse; rate > 0 and users a whole number >= 1
// (>= 0 with stages, whose levels then apply); at most kMaxConnections users at any level;
// connections 1..kMaxConnections; timeout and duration durations > 0.
void validate_load_options(const LoadOptions& options, const OptionNames& names,
                           ConfigErrors& errors);

// The flags for a child `faultline load` ("--rate", "100", "--users", ...), absent options left
// out. Reading them back with faultline load's flag parser gives the same LoadOptions.
std::vector<std::string> to_argv(const LoadOptions& options);

}  // namespace faultline::loadgen
