// latency: a latency percentile of a phase (load generator, coordinated-omission corrected) stays
// at or below `max` — overall or for one request name. `max` is a duration or relative to another
// phase measured the same way (relative_bound.hpp): "baseline.p99 * 3 + 20ms".
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"
#include "runner/assertions/relative_bound.hpp"

namespace faultline::runner {

namespace {

class Latency final : public Assertion {
 public:
  Latency(AssertionCommon c, std::string pct, SecondsBound max, std::string request)
      : Assertion(std::move(c)),
        pct_(std::move(pct)),
        max_(std::move(max)),
        request_(std::move(request)) {}

  std::vector<std::string> referenced_phases() const override {
    if (max_.relative()) return {common_.phase, max_.phase};
    return {common_.phase};
  }
  std::string member_naming(const std::string& phase) const override {
    return phase == common_.phase ? "phase" : "max";
  }
  std::vector<std::string> referenced_requests() const override {
    if (request_.empty()) return {};
    return {request_};
  }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    const std::string what = request_.empty() ? "overall" : "request " + request_;
    r.measured = measure(m, common_.phase, pct_);
    // The reference is measured as this one is: the same request name, or overall.
    const ResolvedBound bound = resolve_bound(
        max_, [&](const std::string& ph, const std::string& stat) { return measure(m, ph, stat); });
    r.bound = fmt::format("{} <= {}", pct_, bound_text(max_, bound));
    if (max_.relative()) r.resolved_max = bound.seconds;
    if (!r.measured) {
      r.message = fmt::format("no latency measured ({}) in phase {}", what, common_.phase);
      return r;
    }
    if (!bound.seconds) {
      r.message = fmt::format("{} {} {}, but the bound {} cannot be computed: {}", what, pct_,
                              fmt_seconds(*r.measured), max_.text, bound.missing);
      return r;
    }
    r.pass = *r.measured <= *bound.seconds;
    r.message = fmt::format("{} {} {} {} {}", what, pct_, fmt_seconds(*r.measured),
                            r.pass ? "<=" : ">", bound.derivation_with_value());
    return r;
  }

 private:
  std::optional<double> measure(const RunMeasurements& m, const std::string& phase,
                                const std::string& pct) const {
    const PhaseStats* ph = m.phase(phase);
    if (!ph) return std::nullopt;
    if (request_.empty()) return ph->load.latency.get(pct);
    if (auto it = ph->load.by_name.find(request_); it != ph->load.by_name.end())
      return it->second.latency.get(pct);
    return std::nullopt;
  }

  std::string pct_;
  SecondsBound max_;
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
          auto max = get_seconds_bound(o, p, "max", {"p50", "p90", "p99", "p999", "max", "mean"},
                                       c.phase, e);
          auto request = get_string(o, p, "request", e);
          if (!pct || !max) return nullptr;
          return std::make_unique<Latency>(std::move(c), *pct, std::move(*max),
                                           request.value_or(""));
        });
}

}  // namespace faultline::runner
