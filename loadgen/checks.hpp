// Response checks of a workload request (k6's `check`): named assertions on a response — its
// status, a header, a JSON pointer into the body, a regex over the body — counted per name,
// passed and failed. A failed check does not fail the request (as in k6): requests.failed and the
// error kinds stay about the exchange; the check counters say what the responses contained.
// Names are declared in the workload, so the set (and every metric label) is known at parse time.
//
//   "checks": {
//     "ok":        {"status": 200}                    a value, a list, "2xx" or "200-299"
//     "cached":    {"header": "Age"}                  present
//     "fresh":     {"header": "Age", "equals": "0"}   equal (exact string)
//     "aged":      {"header": "Age", "matches": "^[1-9][0-9]*$"}  RE2, full match
//     "has_id":    {"json": "/id"}                    present
//     "kind":      {"json": "/kind", "equals": "paste"}  equal (any JSON value)
//     "greeting":  {"body_matches": "hello"}          RE2, found anywhere in the body
//   }
//
// A request that got no response (connection error, timeout) fails every check it declares, as a
// k6 check on status 0 would.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/safe_regex.hpp"

namespace faultline::loadgen {

struct CheckSpec {
  std::size_t index = 0;  // into Workload::check_names
  enum class Kind { status, header, json, body } kind = Kind::status;
  std::vector<std::pair<unsigned, unsigned>> status;  // allowed ranges, inclusive
  std::string where;                                  // header name or JSON pointer
  std::optional<json> equals;                         // header: a string; json: any value
  std::optional<SafeRegex> regex;                     // header (full match) or body (search)
};

// What one response looked like, for the checks: no response = status 0.
struct CheckedResponse {
  unsigned status = 0;
  std::string_view head;  // raw response head
  std::string_view body;
};

bool check_passes(const CheckSpec& check, const CheckedResponse& response);

// Parses a request's "checks" object at `path`; names go into `names` (a name used by several
// requests is one counter). Every error is recorded with its JSON path.
std::vector<CheckSpec> parse_checks(const json& value, const std::string& path,
                                    std::vector<std::string>& names, ConfigErrors& errors);

// Passed and failed counts per check name (indexed like Workload::check_names).
struct CheckCounts {
  std::vector<std::uint64_t> passed, failed;

  void resize(std::size_t n) {
    passed.resize(n);
    failed.resize(n);
  }
  bool empty() const noexcept { return passed.empty(); }
  void add(std::size_t index, bool ok) { ++(ok ? passed : failed)[index]; }
  void merge(const CheckCounts& o);
  void reset();
  // {NAME: {"passed", "failed", "failure_ratio"}} (failure_ratio null when none was evaluated).
  json to_json(const std::vector<std::string>& names) const;
};

// Sums of {NAME: {"passed", "failed", ...}} objects by name (passed, failed): what `report
// merge` does with the results' and interval lines' "checks".
using CheckSums = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>;
void add_checks(CheckSums& into, const json& checks);  // a malformed entry counts 0
json checks_to_json(const CheckSums& sums);            // as CheckCounts::to_json

}  // namespace faultline::loadgen
