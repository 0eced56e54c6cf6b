// recovery_time: after a fault ends (the start of `phase`, e.g. "recovery"), how many seconds until
// the per-second error ratio and p99 are back within a band of the `baseline` phase and stay there
// for `stable_seconds`. Bound: `max`. With several occurrences of the phase, the slowest counts.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

struct RecoveryParams {
  std::string baseline;
  double max = 0;
  double error_ratio_band = 0.01;  // absolute, added to the baseline error ratio
  double p99_factor = 2.0;
  double p99_floor = 0.005;  // seconds; the p99 bound is max(baseline p99 × factor, floor)
  int stable_seconds = 3;
};

class RecoveryTime final : public Assertion {
 public:
  RecoveryTime(AssertionCommon c, RecoveryParams p) : Assertion(std::move(c)), p_(std::move(p)) {}

  std::vector<std::string> referenced_phases() const override {
    return {common_.phase, p_.baseline};
  }
  // Recovery is judged over `stable_seconds` whole seconds after the phase starts.
  double min_phase_seconds() const override { return p_.stable_seconds + 1.0; }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    r.bound = fmt::format("<= {}", fmt_seconds(p_.max));
    const PhaseStats* base = m.phase(p_.baseline);
    if (!base || !base->load.error_ratio || !base->load.latency.p99) {
      r.message = fmt::format("baseline phase {} has no measurements", p_.baseline);
      return r;
    }
    const double er_bound = *base->load.error_ratio + p_.error_ratio_band;
    const double p99_bound = std::max(*base->load.latency.p99 * p_.p99_factor, p_.p99_floor);
    const std::string band =
        fmt::format("error ratio <= {} and p99 <= {} for {}s", fmt_ratio(er_bound),
                    fmt_seconds(p99_bound), p_.stable_seconds);
    double worst = -1;
    for (const PhaseStats* occ : m.occurrences(common_.phase)) {
      std::vector<const SeriesPoint*> pts;
      for (const auto& sp : m.series)
        if (sp.t - 0.5 >= occ->start_seconds && sp.t - 0.5 < occ->end_seconds) pts.push_back(&sp);
      std::optional<double> recovered;
      int run = 0;
      for (std::size_t i = 0; i < pts.size(); ++i) {
        const SeriesPoint& sp = *pts[i];
        const bool ok = sp.error_ratio && sp.p99_seconds && *sp.error_ratio <= er_bound &&
                        *sp.p99_seconds <= p99_bound;
        run = ok ? run + 1 : 0;
        if (run >= p_.stable_seconds) {
          const SeriesPoint& first = *pts[i + 1 - static_cast<std::size_t>(run)];
          // 1-second resolution: rounded to 10 ms so a phase starting a few microseconds before an
          // interval boundary does not report "5 us".
          recovered =
              std::round(std::max(0.0, (first.t - 1.0) - occ->start_seconds) * 100.0) / 100.0;
          break;
        }
      }
      if (!recovered) {
        r.message = fmt::format(
            "did not recover within the {} phase starting at {:.1f}s ({:.0f}s long; needed {})",
            common_.phase, occ->start_seconds, occ->end_seconds - occ->start_seconds, band);
        return r;
      }
      worst = std::max(worst, *recovered);
    }
    if (worst < 0) {
      r.message = fmt::format("no occurrence of phase {} was measured", common_.phase);
      return r;
    }
    r.measured = worst;
    r.pass = worst <= p_.max;
    r.message = fmt::format("back within band ({}) {:.0f}s after the fault ended", band, worst);
    return r;
  }

 private:
  RecoveryParams p_;
};

}  // namespace

void register_recovery_time(AssertionRegistry& r) {
  r.add("recovery_time",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(
              o, p,
              {"baseline", "max", "error_ratio_band", "p99_factor", "p99_floor", "stable_seconds"},
              e);
          RecoveryParams rp;
          auto baseline = get_string(o, p, "baseline", e, true);
          auto max = get_seconds(o, p, "max", e);
          if (auto v = get_ratio(o, p, "error_ratio_band", e, false)) rp.error_ratio_band = *v;
          if (auto v = get_nonneg(o, p, "p99_factor", e, false)) {
            if (*v < 1)
              e.add(path_join(p, "p99_factor"), "must be >= 1");
            else
              rp.p99_factor = *v;
          }
          if (auto v = get_seconds(o, p, "p99_floor", e, false)) rp.p99_floor = *v;
          if (auto v = get_integer(o, p, "stable_seconds", e)) {
            if (*v < 1 || *v > 3600)
              e.add(path_join(p, "stable_seconds"), "must be 1..3600");
            else
              rp.stable_seconds = static_cast<int>(*v);
          }
          if (!baseline || !max) return nullptr;
          rp.baseline = *baseline;
          rp.max = *max;
          return std::make_unique<RecoveryTime>(std::move(c), rp);
        });
}

}  // namespace faultline::runner
