// latency: a latency percentile of a phase (load generator, coordinated-omission corrected) stays
// at or below `max` — overall or for one request name.
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class Latency final : public Assertion {
 public:
  Latency(AssertionCommon c, std::string pct, double max, std::string request)
      : Assertion(std::move(c)), pct_(std::move(pct)), max_(max), request_(std::move(request)) {}

  std::vector<std::string> referenced_requests() const override {
    if (request_.empty()) return {};
    return {request_};
  }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    r.bound = fmt::format("{} <= {}", pct_, fmt_seconds(max_));
    const PhaseStats* ph = m.phase(common_.phase);
    std::string what = request_.empty() ? "overall" : "request " + request_;
    if (ph && request_.empty()) {
      r.measured = ph->load.latency.get(pct_);
    } else if (ph) {
      if (auto it = ph->load.by_name.find(request_); it != ph->load.by_name.end())
        r.measured = it->second.latency.get(pct_);
    }
    if (!r.measured) {
      r.message = fmt::format("no latency measured ({}) in phase {}", what, common_.phase);
      return r;
    }
    r.pass = *r.measured <= max_;
    r.message = fmt::format("{} {} {} {} {}", what, pct_, fmt_seconds(*r.measured),
                            r.pass ? "<=" : ">", fmt_seconds(max_));
    return r;
  }

 private:
  std::string pct_;
  double max_;
  std::string request_;
};

}  // namespace

void register_latency(AssertionRegistry& r) {
  r.add("latency",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"percentile", "max", "request"}, e);
          auto pct = get_string(o, p, "percentile", e, true);
          if (pct && *pct != "p50" && *pct != "p90" && *pct != "p99" && *pct != "p999" &&
              *pct != "max" && *pct != "mean")
            e.add(path_join(p, "percentile"),
                  fmt::format("must be p50, p90, p99, p999, max or mean, got \"{}\"", *pct));
          auto max = get_seconds(o, p, "max", e);
          auto request = get_string(o, p, "request", e);
          if (!pct || !max) return nullptr;
          return std::make_unique<Latency>(std::move(c), *pct, *max, request.value_or(""));
        });
}

}  // namespace faultline::runner
