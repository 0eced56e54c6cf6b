// checks: the share of failed response checks (the workload's `checks`, loadgen/checks.hpp) in a
// phase stays at or below `max` — of one check (`check`) or of every check. A failed check does
// not fail its request, so this is what tells "answered 200 from a stale cache" from "answered".
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class Checks final : public Assertion {
 public:
  Checks(AssertionCommon c, double max, std::string check)
      : Assertion(std::move(c)), max_(max), check_(std::move(check)) {}

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    r.bound = fmt::format("<= {}", fmt_ratio(max_));
    const PhaseStats* ph = m.phase(common_.phase);
    const std::string what = check_.empty() ? "every check" : "check " + check_;
    std::uint64_t passed = 0, failed = 0;
    if (ph)
      for (const auto& [name, counts] : ph->load.checks)
        if (check_.empty() || name == check_) {
          passed += counts.first;
          failed += counts.second;
        }
    if (passed + failed == 0) {
      r.pass = false;
      r.message = fmt::format(
          "no response checks evaluated ({}) in phase {} (does the workload declare it?)", what,
          common_.phase);
      return r;
    }
    r.measured = static_cast<double>(failed) / static_cast<double>(passed + failed);
    r.pass = *r.measured <= max_;
    r.message =
        fmt::format("{} failure ratio {} ({} of {} failed) {} {}", what, fmt_ratio(*r.measured),
                    failed, passed + failed, r.pass ? "<=" : ">", fmt_ratio(max_));
    return r;
  }

 private:
  double max_;
  std::string check_;
};

}  // namespace

void register_checks(AssertionRegistry& r) {
  r.add("checks",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"max", "check"}, e);
          auto max = get_ratio(o, p, "max", e);
          auto check = get_string(o, p, "check", e);
          if (!max) return nullptr;
          return std::make_unique<Checks>(std::move(c), *max, check.value_or(""));
        });
}

}  // namespace faultline::runner
