// latency_drift: for soaks. Compares the median of the per-second p99 in the last third of the
// phase's points with the median in the first third (after `warmup`); bounds that ratio by
// `max_ratio`. A service that slowly degrades (growing queues, fragmentation) fails it.
#include <algorithm>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

class LatencyDrift final : public Assertion {
 public:
  LatencyDrift(AssertionCommon c, double max_ratio, double warmup)
      : Assertion(std::move(c)), max_ratio_(max_ratio), warmup_(warmup) {}

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    r.bound = fmt::format("<= {}", max_ratio_);
    std::vector<double> p99;
    for (const auto& sp : m.series)
      if (sp.t >= warmup_ && (common_.phase == "*" || sp.phase == common_.phase) && sp.p99_seconds)
        p99.push_back(*sp.p99_seconds);
    if (p99.size() < 6) {
      r.message = fmt::format("only {} per-second p99 samples; need >= 6", p99.size());
      return r;
    }
    const std::size_t third = p99.size() / 3;
    const double early = median({p99.begin(), p99.begin() + static_cast<long>(third)});
    const double late = median({p99.end() - static_cast<long>(third), p99.end()});
    if (early <= 0) {
      r.message = "early p99 is zero";
      return r;
    }
    r.measured = late / early;
    r.pass = *r.measured <= max_ratio_;
    r.message = fmt::format("median per-second p99 went from {} (first third) to {} (last third)",
                            fmt_seconds(early), fmt_seconds(late));
    return r;
  }

 private:
  double max_ratio_, warmup_;
};

}  // namespace

void register_latency_drift(AssertionRegistry& r) {
  r.add("latency_drift",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"max_ratio", "warmup"}, e);
          auto max = get_nonneg(o, p, "max_ratio", e);
          double warmup = get_seconds(o, p, "warmup", e, false).value_or(0);
          if (!max) return nullptr;
          return std::make_unique<LatencyDrift>(std::move(c), *max, warmup);
        });
}

}  // namespace faultline::runner
