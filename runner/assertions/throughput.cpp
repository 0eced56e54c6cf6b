// throughput: the achieved request rate of a phase (completed requests per second, from the load
// generator) stays within [min, max].
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class Throughput final : public Assertion {
 public:
  Throughput(AssertionCommon c, std::optional<double> min, std::optional<double> max)
      : Assertion(std::move(c)), min_(min), max_(max) {}

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    if (min_ && max_)
      r.bound = fmt::format(">= {} and <= {} req/s", *min_, *max_);
    else if (min_)
      r.bound = fmt::format(">= {} req/s", *min_);
    else
      r.bound = fmt::format("<= {} req/s", *max_);
    if (const PhaseStats* ph = m.phase(common_.phase)) r.measured = ph->load.throughput_rps;
    if (!r.measured) {
      r.message = fmt::format("no throughput measured in phase {}", common_.phase);
      return r;
    }
    r.pass = (!min_ || *r.measured >= *min_) && (!max_ || *r.measured <= *max_);
    r.message = fmt::format("throughput {:.1f} req/s ({})", *r.measured,
                            r.pass ? "within bound" : "outside " + r.bound);
    return r;
  }

 private:
  std::optional<double> min_, max_;
};

}  // namespace

void register_throughput(AssertionRegistry& r) {
  r.add("throughput",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"min", "max"}, e);
          auto min = get_nonneg(o, p, "min", e, false);
          auto max = get_nonneg(o, p, "max", e, false);
          if (!o.contains("min") && !o.contains("max"))
            e.add(path_join(p, "min"), "give min and/or max (requests per second)");
          if (!min && !max) return nullptr;
          return std::make_unique<Throughput>(std::move(c), min, max);
        });
}

}  // namespace faultline::runner
