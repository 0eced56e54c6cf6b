// error_amplification: observed error ratio (load generator) ÷ induced fault ratio (the proxy's own
// faults_injected / requests counters) over a phase. 1.0 means every injected fault surfaced as
// exactly one failed request; above 1 the service amplifies (cascades), below 1 it absorbs
// (retries, fallbacks).
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class ErrorAmplification final : public Assertion {
 public:
  ErrorAmplification(AssertionCommon c, std::string proxy, std::optional<double> min,
                     std::optional<double> max)
      : Assertion(std::move(c)), proxy_(std::move(proxy)), min_(min), max_(max) {}

  std::vector<std::string> referenced_proxies() const override { return {proxy_}; }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    if (min_ && max_)
      r.bound = fmt::format(">= {} and <= {}", *min_, *max_);
    else if (max_)
      r.bound = fmt::format("<= {}", *max_);
    else
      r.bound = fmt::format(">= {}", *min_);
    const PhaseStats* ph = m.phase(common_.phase);
    if (!ph || !ph->load.error_ratio) {
      r.message = fmt::format("no requests measured in phase {}", common_.phase);
      return r;
    }
    auto it = ph->faults.find(proxy_);
    if (it == ph->faults.end() || !it->second.fault_ratio) {
      r.message = fmt::format("proxy {} reported no requests in phase {}", proxy_, common_.phase);
      return r;
    }
    const double observed = *ph->load.error_ratio;
    const double induced = *it->second.fault_ratio;
    if (induced <= 0) {
      r.message = fmt::format(
          "proxy {} injected no faults in phase {} (observed error ratio {}); amplification "
          "is undefined",
          proxy_, common_.phase, fmt_ratio(observed));
      return r;
    }
    r.measured = observed / induced;
    r.pass = (!min_ || *r.measured >= *min_) && (!max_ || *r.measured <= *max_);
    r.message = fmt::format("observed error ratio {} / induced fault ratio {} = {:.3g}",
                            fmt_ratio(observed), fmt_ratio(induced), *r.measured);
    return r;
  }

 private:
  std::string proxy_;
  std::optional<double> min_, max_;
};

}  // namespace

void register_error_amplification(AssertionRegistry& r) {
  r.add("error_amplification",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"proxy", "min", "max"}, e);
          auto proxy = get_string(o, p, "proxy", e, true);
          auto min = get_nonneg(o, p, "min", e, false);
          auto max = get_nonneg(o, p, "max", e, false);
          if (!o.contains("min") && !o.contains("max"))
            e.add(path_join(p, "max"), "give max and/or min (a ratio, e.g. 1.5)");
          if (!proxy || (!min && !max)) return nullptr;
          return std::make_unique<ErrorAmplification>(std::move(c), *proxy, min, max);
        });
}

}  // namespace faultline::runner
