// promql: a PromQL expression, evaluated by the run's Prometheus at the end of the phase (its phase
// placeholders, "[phase]", "[phase:1s]", "[phases.baseline]", "${phase.duration}", become the run's
// phase times: runner/scenario/promql_phases.hpp), returns one number within [min, max]. The
// orchestrator queries Prometheus and stores the answer in RunMeasurements::promql; this kind only
// compares.
#include <cmath>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"
#include "runner/scenario/promql_phases.hpp"

namespace faultline::runner {

namespace {

class Promql final : public Assertion {
 public:
  Promql(AssertionCommon c, std::string query, std::optional<double> min, std::optional<double> max)
      : Assertion(std::move(c)), query_(std::move(query)), min_(min), max_(max) {
    check_promql_phases(query_, &others_);
  }

  std::optional<std::string> promql_query() const override { return query_; }
  // Its phase and the phases its query names ([phases.NAME], ${phases.NAME.duration}).
  std::vector<std::string> referenced_phases() const override {
    std::vector<std::string> out{common_.phase};
    for (const auto& p : others_)
      if (p != common_.phase) out.push_back(p);
    return out;
  }
  std::string member_naming(const std::string& phase) const override {
    return phase == common_.phase ? "phase" : "query";
  }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    if (min_ && max_)
      r.bound = fmt::format("in [{}, {}]", fmt_ratio(*min_), fmt_ratio(*max_));
    else if (min_)
      r.bound = fmt::format(">= {}", fmt_ratio(*min_));
    else
      r.bound = fmt::format("<= {}", fmt_ratio(*max_));
    auto it = m.promql.find(common_.name);
    if (it == m.promql.end()) {
      r.message =
          fmt::format("promql: no data at the end of phase {} (query {})", common_.phase, query_);
      return r;
    }
    const PromqlValue& v = it->second;
    const std::string& sent = v.query.empty() ? query_ : v.query;
    if (!v.value) {
      r.message =
          fmt::format("promql: {} at the end of phase {} (query {})",
                      v.error.empty() ? std::string("no data") : v.error, common_.phase, sent);
      return r;
    }
    r.measured = v.value;
    r.pass = (!min_ || *v.value >= *min_) && (!max_ || *v.value <= *max_);
    r.message =
        fmt::format("promql value {} ({}) at the end of phase {} (query {})", fmt_ratio(*v.value),
                    r.pass ? "within " + r.bound : "not " + r.bound, common_.phase, sent);
    return r;
  }

 private:
  std::string query_;
  std::optional<double> min_, max_;
  std::vector<std::string> others_;
};

}  // namespace

void register_promql(AssertionRegistry& r) {
  r.add("promql",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"query", "min", "max"}, e);
          auto query = get_string(o, p, "query", e, true);
          if (query && query->find_first_not_of(" \t\r\n") == std::string::npos) {
            e.add(path_join(p, "query"), "must be a non-empty PromQL expression");
            query.reset();
          }
          if (query) {
            if (auto why = check_promql_phases(*query, nullptr); !why.empty()) {
              e.add(path_join(p, "query"), why);
              query.reset();
            }
          }
          auto min = get_number(o, p, "min", e, false);
          auto max = get_number(o, p, "max", e, false);
          if (!o.contains("min") && !o.contains("max"))
            e.add(path_join(p, "min"), "give min and/or max");
          if (min && !std::isfinite(*min)) {
            e.add(path_join(p, "min"), "must be a finite number");
            min.reset();
          }
          if (max && !std::isfinite(*max)) {
            e.add(path_join(p, "max"), "must be a finite number");
            max.reset();
          }
          if (min && max && *min > *max)
            e.add(path_join(p, "max"), fmt::format("must be >= min ({}), got {}", *min, *max));
          if (!query || (!min && !max)) return nullptr;
          return std::make_unique<Promql>(std::move(c), std::move(*query), min, max);
        });
}

}  // namespace faultline::runner
