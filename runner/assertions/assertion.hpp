// Assertions: kind NAME is one file runner/assertions/NAME.cpp defining
// `void register_NAME(AssertionRegistry&)`, listed once in FAULTLINE_ASSERTIONS (assertion.cpp),
// which register_builtin_assertions() expands. A kind parses its JSON (recording every error with
// its path) into an Assertion that later evaluates the run's measurements into a verdict with the
// measured value.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "runner/ledger/measurements.hpp"

namespace faultline::runner {

struct AssertionResult {
  std::string name;
  std::string kind;
  std::string phase;
  std::optional<double> measured;  // null in results.json when it could not be measured
  std::string bound;               // e.g. "<= 1.5"
  // A relative `max` (relative_bound.hpp) as this run resolved it, in seconds; results.json
  // "bound_max". The envelope takes its SLO margin from it.
  std::optional<double> resolved_max;
  bool pass = false;
  bool not_run = false;  // a phase it needs did not complete (interrupted or failed run)
  // Its phase's toxics injected no fault and it requires faults (`require_faults`): the run could
  // not test what was asked, so it does not pass (pass is false; results.json says
  // "inconclusive").
  bool inconclusive = false;
  std::string message;  // says what was measured and why it passed or failed
};

// Fields every assertion has.
struct AssertionCommon {
  std::string name;
  std::string kind;
  std::string phase;  // a timeline phase name, or "*" for the whole run
  // "require_faults": when the toxics active in its phase injected no fault, the assertion is
  // inconclusive instead of judged. Unset: the kind's default (Assertion::require_faults_default).
  std::optional<bool> require_faults;
};

class Assertion {
 public:
  explicit Assertion(AssertionCommon common) : common_(std::move(common)) {}
  virtual ~Assertion() = default;
  const AssertionCommon& common() const noexcept { return common_; }
  // Phase names this assertion reads besides its own (e.g. a baseline), checked against the
  // timeline.
  virtual std::vector<std::string> referenced_phases() const { return {common_.phase}; }
  // The member that names `phase` (one of referenced_phases()), for the JSON path of an error
  // about it: "phase" unless the kind says otherwise ("baseline", "max", "query").
  virtual std::string member_naming(const std::string& phase) const {
    (void)phase;
    return "phase";
  }
  // Proxy names it reads (checked against the scenario's proxies).
  virtual std::vector<std::string> referenced_proxies() const { return {}; }
  // Components or processes whose resources it reads ("target", "proxy", "load" or a name of
  // services.processes; checked against the scenario).
  virtual std::vector<std::string> referenced_components() const { return {}; }
  // Workload request names it reads (checked against the workload's request names).
  virtual std::vector<std::string> referenced_requests() const { return {}; }
  // The shortest its phase may be for a meaningful verdict (checked when --duration compresses the
  // timeline); every phase is at least 2 s.
  virtual double min_phase_seconds() const { return 0; }
  // A PromQL expression for the run's Prometheus (kind promql), its phase placeholders
  // ("[phase]", runner/scenario/promql_phases.hpp) not yet expanded; the orchestrator evaluates it
  // at the phase's end into RunMeasurements::promql[name].
  virtual std::optional<std::string> promql_query() const { return std::nullopt; }
  // Whether a phase whose toxics injected nothing makes it inconclusive when the scenario does
  // not say (`require_faults`): true for the kinds that divide by the faults (error_amplification).
  virtual bool require_faults_default() const { return false; }
  bool requires_faults() const { return common_.require_faults.value_or(require_faults_default()); }
  virtual AssertionResult evaluate(const RunMeasurements& m) const = 0;

 protected:
  AssertionResult result() const;  // name/kind/phase pre-filled
  AssertionCommon common_;
};

// Parses the kind-specific members of `obj` (at JSON path `path`); `common` is already parsed.
// Returns nullptr after recording errors. Each factory rejects unknown members itself.
using AssertionFactory = std::function<std::unique_ptr<Assertion>(
    const json& obj, const std::string& path, AssertionCommon common, ConfigErrors& errors)>;

class AssertionRegistry {
 public:
  void add(const std::string& kind, AssertionFactory factory);
  const AssertionFactory* find(const std::string& kind) const;
  std::vector<std::string> kinds() const;

 private:
  std::map<std::string, AssertionFactory> factories_;
};

// Registers every kind of the FAULTLINE_ASSERTIONS list in runner/assertions/assertion.cpp.
void register_builtin_assertions(AssertionRegistry& registry);
const AssertionRegistry& builtin_assertions();

// Parses one assertion object (common members + its kind's), or nullptr after recording errors.
std::unique_ptr<Assertion> parse_assertion(const json& obj, const std::string& path,
                                           const AssertionRegistry& registry, ConfigErrors& errors);

// Helpers shared by the kinds.
// Records "unknown field" for members other than name/kind/phase and the kind's own.
void reject_unknown_assertion_keys(const json& obj, const std::string& path,
                                   std::initializer_list<std::string_view> own,
                                   ConfigErrors& errors);
// A non-negative number member (`required` by default).
std::optional<double> get_nonneg(const json& obj, const std::string& path, const char* key,
                                 ConfigErrors& errors, bool required = true);
// A ratio in [0, 1].
std::optional<double> get_ratio(const json& obj, const std::string& path, const char* key,
                                ConfigErrors& errors, bool required = true);
// A duration member ("50ms" or a number of seconds), returned in seconds.
std::optional<double> get_seconds(const json& obj, const std::string& path, const char* key,
                                  ConfigErrors& errors, bool required = true);
// Formats a value for messages: 0.0523, 12.3ms, 1.2s.
std::string fmt_ratio(double v);
std::string fmt_seconds(double v);
std::string fmt_opt(const std::optional<double>& v, bool seconds);

}  // namespace faultline::runner
