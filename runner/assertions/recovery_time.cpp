// recovery_time: after a fault ends (the start of `phase`, e.g. "recovery"), how many seconds until
// the per-second error ratio and p99 are back within a band of the `baseline` phase and stay there
// for `stable_seconds`. Bound: `max`, a duration or relative to another phase's length
// ("fault.duration * 2", relative_bound.hpp). With several occurrences of the phase, the slowest
// counts. The message says which occurrence was slowest and which of the error ratio and the p99
// kept it out of the band, for how many seconds and how far.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"
#include "runner/assertions/relative_bound.hpp"

namespace faultline::runner {

namespace {

struct RecoveryParams {
  std::string baseline;
  SecondsBound max;
  double error_ratio_band = 0.01;  // absolute, added to the baseline error ratio
  double p99_factor = 2.0;
  double p99_floor = 0.005;  // seconds; the p99 bound is max(baseline p99 × factor, floor)
  int stable_seconds = 3;
};

// One signal's seconds out of the band before the recovery (or over the whole phase).
struct OutOfBand {
  int seconds = 0;
  double peak = 0;
  double until = 0;  // end of its last second out of band, seconds into the phase
};

// One occurrence of the phase, judged.
struct Occurrence {
  std::size_t index = 0;  // 1-based
  double start = 0, length = 0;
  std::optional<double> recovered;
  OutOfBand error_ratio, p99;
  int no_data = 0;  // seconds without an error ratio or a p99 (no request completed)
};

class RecoveryTime final : public Assertion {
 public:
  RecoveryTime(AssertionCommon c, RecoveryParams p) : Assertion(std::move(c)), p_(std::move(p)) {}

  std::vector<std::string> referenced_phases() const override {
    std::vector<std::string> out{common_.phase, p_.baseline};
    if (p_.max.relative()) out.push_back(p_.max.phase);
    return out;
  }
  std::string member_naming(const std::string& phase) const override {
    if (phase == common_.phase) return "phase";
    return phase == p_.baseline ? "baseline" : "max";
  }
  // Recovery is judged over `stable_seconds` whole seconds after the phase starts.
  double min_phase_seconds() const override { return p_.stable_seconds + 1.0; }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    // A phase's length (its longest occurrence): the only measurement `max` may refer to.
    const ResolvedBound max = resolve_bound(p_.max, [&](const std::string& ph, const std::string&) {
      std::optional<double> longest;
      for (const PhaseStats* o : m.occurrences(ph))
        longest = std::max(longest.value_or(0.0), o->end_seconds - o->start_seconds);
      return longest;
    });
    r.bound = fmt::format("<= {}", bound_text(p_.max, max));
    if (p_.max.relative()) r.resolved_max = max.seconds;
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
    const auto occs = m.occurrences(common_.phase);
    std::vector<Occurrence> judged;
    for (std::size_t k = 0; k < occs.size(); ++k) {
      judged.push_back(judge(*occs[k], m, er_bound, p99_bound));
      judged.back().index = k + 1;
      const Occurrence& o = judged.back();
      if (!o.recovered) {
        r.message = fmt::format(
            "did not recover within the {} phase{} starting at {:.1f}s ({:.0f}s long; needed "
            "{}){}",
            common_.phase, of_n(o, occs.size()), o.start, o.length, band,
            why_out(o, er_bound, p99_bound));
        return r;
      }
    }
    if (judged.empty()) {
      r.message = fmt::format("no occurrence of phase {} was measured", common_.phase);
      return r;
    }
    const Occurrence& worst = *std::max_element(
        judged.begin(), judged.end(),
        [](const Occurrence& a, const Occurrence& b) { return *a.recovered < *b.recovered; });
    r.measured = *worst.recovered;
    std::string msg =
        fmt::format("back within band ({}) {:.0f}s after the fault ended", band, *worst.recovered);
    if (judged.size() > 1) {
      std::string each;
      for (const auto& o : judged)
        each += fmt::format("{}{:.0f}s", each.empty() ? "" : ", ", *o.recovered);
      msg += fmt::format(" (slowest: occurrence {} of {}, starting at {:.1f}s; each took {})",
                         worst.index, judged.size(), worst.start, each);
    }
    msg += why_out(worst, er_bound, p99_bound);
    if (!max.seconds) {
      r.message =
          fmt::format("{}; the bound {} cannot be computed: {}", msg, p_.max.text, max.missing);
      return r;
    }
    r.pass = *worst.recovered <= *max.seconds;
    if (p_.max.relative())
      msg += fmt::format("; {} {}", r.pass ? "<=" : ">", max.derivation_with_value());
    r.message = std::move(msg);
    return r;
  }

 private:
  Occurrence judge(const PhaseStats& occ, const RunMeasurements& m, double er_bound,
                   double p99_bound) const {
    Occurrence o;
    o.start = occ.start_seconds;
    o.length = occ.end_seconds - occ.start_seconds;
    std::vector<const SeriesPoint*> pts;
    for (const auto& sp : m.series)
      if (sp.t - 0.5 >= occ.start_seconds && sp.t - 0.5 < occ.end_seconds) pts.push_back(&sp);
    int run = 0;
    std::size_t judged_until = pts.size();
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const SeriesPoint& sp = *pts[i];
      const bool ok = sp.error_ratio && sp.p99_seconds && *sp.error_ratio <= er_bound &&
                      *sp.p99_seconds <= p99_bound;
      run = ok ? run + 1 : 0;
      if (run >= p_.stable_seconds) {
        judged_until = i + 1 - static_cast<std::size_t>(run);
        const SeriesPoint& first = *pts[judged_until];
        // 1-second resolution: rounded to 10 ms so a phase starting a few microseconds before an
        // interval boundary does not report "5 us".
        o.recovered =
            std::round(std::max(0.0, (first.t - 1.0) - occ.start_seconds) * 100.0) / 100.0;
        break;
      }
    }
    // What kept it out: every second before the stable run (or of the phase, without one).
    for (std::size_t i = 0; i < judged_until; ++i) {
      const SeriesPoint& sp = *pts[i];
      const double into = std::round((sp.t - occ.start_seconds) * 100.0) / 100.0;
      if (!sp.error_ratio || !sp.p99_seconds) ++o.no_data;
      auto note = [&](OutOfBand& s, const std::optional<double>& v, double bound) {
        if (!v || *v <= bound) return;
        ++s.seconds;
        s.peak = std::max(s.peak, *v);
        s.until = into;
      };
      note(o.error_ratio, sp.error_ratio, er_bound);
      note(o.p99, sp.p99_seconds, p99_bound);
    }
    return o;
  }

  static std::string of_n(const Occurrence& o, std::size_t n) {
    return n > 1 ? fmt::format(" (occurrence {} of {})", o.index, n) : "";
  }

  // "; the p99 kept it out of the band the longest: p99 above 10ms in 5s (peak 200ms, until 5s
  // into the phase); error ratio above 0.012 in 3s (...)": the signal out of band the latest
  // first; "" when nothing was out of band.
  static std::string why_out(const Occurrence& o, double er_bound, double p99_bound) {
    struct Signal {
      const char* name;
      const OutOfBand* s;
      std::string bound, peak;
    };
    std::vector<Signal> out;
    if (o.error_ratio.seconds)
      out.push_back(
          {"error ratio", &o.error_ratio, fmt_ratio(er_bound), fmt_ratio(o.error_ratio.peak)});
    if (o.p99.seconds)
      out.push_back({"p99", &o.p99, fmt_seconds(p99_bound), fmt_seconds(o.p99.peak)});
    std::stable_sort(out.begin(), out.end(),
                     [](const Signal& a, const Signal& b) { return a.s->until > b.s->until; });
    std::string text;
    if (out.size() == 2 && out[0].s->until == out[1].s->until)
      text = "; both the error ratio and the p99 kept it out of the band";
    else if (!out.empty())
      text = fmt::format("; the {} kept it out of the band{}", out[0].name,
                         out.size() == 2 ? " the longest" : "");
    for (std::size_t i = 0; i < out.size(); ++i)
      text += fmt::format("{} {} above {} in {}s (peak {}, until {:.0f}s into the phase)",
                          i == 0 ? ":" : ";", out[i].name, out[i].bound, out[i].s->seconds,
                          out[i].peak, out[i].s->until);
    if (o.no_data) text += fmt::format("; no request completed in {}s", o.no_data);
    return text;
  }

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
          auto max = get_seconds_bound(o, p, "max", {"duration"}, c.phase, e);
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
          rp.max = std::move(*max);
          return std::make_unique<RecoveryTime>(std::move(c), rp);
        });
}

}  // namespace faultline::runner
