// The envelope search (envelope.hpp): per load level, bisect the fault intensity between a point
// where the SLO holds and one where it fails; then repeat the two converged points so noise shows
// as a band; then add load levels between the neighbours whose boundaries differ most. It knows
// nothing of how a trial runs (TrialFn), so the tests drive it with synthetic systems.
#include <algorithm>
#include <cmath>

#include "runner/envelope/envelope.hpp"

namespace faultline::runner::envelope {

namespace {

// Where a level's boundary sits in the fault range, 0 (fails at the start) .. 1 (holds throughout).
double position(const Level& l, const Range& f) {
  if (l.holds == "none") return 0;
  if (l.holds == "whole_range" || !l.fault) return 1;
  const double span = f.to - f.from;
  return span > 0 ? (*l.fault - f.from) / span : 1;
}

class Searcher {
 public:
  Searcher(const SearchOptions& o, const TrialFn& fn) : o_(o), fn_(fn) {}

  SearchResult run() {
    if (o_.load.to <= o_.load.from) {
      level(o_.load.from);
    } else {
      level(o_.load.from);
      // Monotone in load: the boundary at the top load is at most the one at the bottom.
      double hi = o_.fault.to;
      if (!r_.levels.empty() && r_.levels[0].band) hi = r_.levels[0].band->second;
      level(o_.load.to, o_.fault.from, hi);
      refine();
    }
    finish();
    return std::move(r_);
  }

 private:
  // One trial, unless the budget or an interrupt says stop. nullopt = stopped.
  std::optional<bool> probe(double load, double fault) {
    if (stopped()) return std::nullopt;
    const double estimate = worst_ > 0 ? worst_ : o_.first_trial_estimate_seconds;
    if (o_.budget_seconds > 0 && r_.spent_seconds + estimate > o_.budget_seconds) {
      r_.budget_exhausted = true;
      return std::nullopt;
    }
    auto t = fn_(Point{load, fault});
    if (!t) {
      r_.interrupted = true;
      return std::nullopt;
    }
    t->id = static_cast<int>(r_.trials.size()) + 1;
    t->point = Point{load, fault};
    r_.spent_seconds += t->seconds;
    worst_ = std::max(worst_, t->seconds);
    r_.trials.push_back(std::move(*t));
    return r_.trials.back().pass;
  }

  bool stopped() const { return r_.budget_exhausted || r_.interrupted; }

  double mid(double lo, double hi) const {
    double m = (lo + hi) / 2;
    // Whole numbers for integer attributes; otherwise 9 decimals, so a printed --set value is
    // 0.0375 and not 0.037500000000000006.
    return o_.integer_fault ? std::floor(m) : std::round(m * 1e9) / 1e9;
  }

  std::vector<const Trial*> trials_at(double load) const {
    std::vector<const Trial*> at;
    for (const auto& t : r_.trials)
      if (t.point.load == load) at.push_back(&t);
    return at;
  }

  double round_load(double l) const { return o_.integer_load ? std::round(l) : l; }

  // Searches the level at `load`; [hint_lo, hint_hi] is where the neighbours say the boundary is.
  void level(double load, double hint_lo, double hint_hi) {
    const Range& f = o_.fault;
    std::optional<double> lo, hi;  // a fault where it held, one where it failed
    bool complete = true;
    [&] {
      auto a = probe(load, hint_lo);
      if (!a) return void(complete = false);
      if (*a) {
        lo = hint_lo;
      } else {
        hi = hint_lo;
        if (hint_lo <= f.from) return;  // fails at the start
        auto z = probe(load, f.from);
        if (!z) return void(complete = false);
        if (!*z) return;  // fails at the start
        lo = f.from;
      }
      if (!hi) {
        const double b = hint_hi > *lo ? hint_hi : f.to;
        auto r = probe(load, b);
        if (!r) return void(complete = false);
        if (*r) {
          lo = b;
          if (b >= f.to) return;  // holds throughout
          auto t = probe(load, f.to);
          if (!t) return void(complete = false);
          if (*t) return;  // holds throughout
          hi = f.to;
        } else {
          hi = b;
        }
      }
      while (*hi - *lo > o_.resolution) {
        const double m = mid(*lo, *hi);
        if (m <= *lo || m >= *hi) break;
        auto r = probe(load, m);
        if (!r) return void(complete = false);
        (*r ? lo : hi) = m;
      }
      for (int k = 0; k < o_.repeats; ++k) {
        if (!probe(load, *lo) || !probe(load, *hi)) return void(complete = false);
      }
      // A repeat that disagreed widens the band to the next trials that agree; bisect that band
      // again (once) so it narrows where the disagreement is.
      const Level s = summarize_level(load, trials_at(load), f, true);
      if (!s.band) return;
      double ba = s.band->first, bb = s.band->second;
      while (bb - ba > o_.resolution) {
        const double m = mid(ba, bb);
        if (m <= ba || m >= bb) break;
        auto r = probe(load, m);
        if (!r) return void(complete = false);
        (*r ? ba : bb) = m;
      }
    }();
    const auto at = trials_at(load);
    if (at.empty()) return;  // not even one trial: the level is left out
    r_.levels.push_back(summarize_level(load, at, f, complete));
    std::sort(r_.levels.begin(), r_.levels.end(),
              [](const Level& x, const Level& y) { return x.load < y.load; });
  }
  void level(double load) { level(load, o_.fault.from, o_.fault.to); }

  // Adds a level between the two neighbours whose boundaries differ most (by more than a tenth of
  // the fault range), until max_levels or the budget.
  void refine() {
    const double min_gap = (o_.load.to - o_.load.from) / 32;
    while (!stopped() && static_cast<int>(r_.levels.size()) < o_.max_levels) {
      // A third level always (the middle), then only where the boundary moves.
      double best = r_.levels.size() < 3 ? -1 : 0.1;
      std::size_t at = r_.levels.size();
      for (std::size_t i = 0; i + 1 < r_.levels.size(); ++i) {
        const auto& a = r_.levels[i];
        const auto& b = r_.levels[i + 1];
        const double gap = std::abs(position(a, o_.fault) - position(b, o_.fault));
        const double m = round_load((a.load + b.load) / 2);
        if (gap > best && b.load - a.load > min_gap && m > a.load && m < b.load) {
          best = gap;
          at = i;
        }
      }
      if (at == r_.levels.size()) break;
      const Level a = r_.levels[at];
      const Level b = r_.levels[at + 1];
      // Monotone in load: the boundary at the new level lies between its neighbours'.
      double lo = o_.fault.from, hi = o_.fault.to;
      if (b.band) lo = b.band->first;
      if (a.band) hi = a.band->second;
      if (a.holds == "none") hi = o_.fault.from;
      if (hi <= lo) {
        lo = o_.fault.from;
        hi = o_.fault.to;
      }
      const std::size_t before = r_.levels.size();
      level(round_load((a.load + b.load) / 2), lo, hi);
      if (r_.levels.size() == before) break;
    }
  }

  void finish() {
    for (std::size_t i = 0; i + 1 < r_.levels.size(); ++i) {
      const auto& a = r_.levels[i];
      const auto& b = r_.levels[i + 1];
      // More load absorbing more fault, beyond both bands.
      const double a_hi = a.band ? a.band->second : (a.holds == "none" ? o_.fault.from : -1);
      const double b_lo = b.band ? b.band->first : (b.holds == "whole_range" ? o_.fault.to : -1);
      if (a_hi >= 0 && b_lo >= 0 && b_lo > a_hi && a.holds != "whole_range")
        r_.rising.emplace_back(a.load, b.load);
    }
  }

  const SearchOptions& o_;
  const TrialFn& fn_;
  SearchResult r_;
  double worst_ = 0;
};

}  // namespace

Level summarize_level(double load, const std::vector<const Trial*>& trials, const Range& fault,
                      bool complete) {
  Level l;
  l.load = load;
  l.trials = static_cast<int>(trials.size());
  l.complete = complete;
  std::optional<double> min_fail, max_pass;
  for (const Trial* t : trials) {
    auto& m = t->pass ? max_pass : min_fail;
    const double f = t->point.fault;
    if (!m || (t->pass ? f > *m : f < *m)) m = f;
  }
  if (!min_fail) {
    l.holds = "whole_range";
    if (*max_pass < fault.to) {  // stopped before the top was tried
      l.holds = "up_to";
      l.band = std::pair(*max_pass, fault.to);
      l.fault = (*max_pass + fault.to) / 2;
    }
    return l;
  }
  if (!max_pass) {
    l.holds = "none";
    if (*min_fail > fault.from) {  // stopped before the bottom was tried
      l.holds = "up_to";
      l.band = std::pair(fault.from, *min_fail);
      l.fault = (fault.from + *min_fail) / 2;
    }
    return l;
  }
  l.holds = "up_to";
  if (*max_pass < *min_fail) {
    l.band = std::pair(*max_pass, *min_fail);
  } else {
    // Not monotone (noise, or a system that recovers at higher intensity): the band spans the
    // disagreement, from the last pass below the first failure to the first failure above the
    // last pass, and the contradicting trials are named.
    double low = fault.from, high = fault.to;
    for (const Trial* t : trials) {
      const double f = t->point.fault;
      if (t->pass && f < *min_fail) low = std::max(low, f);
      if (!t->pass && f > *max_pass) high = std::min(high, f);
      if ((t->pass && f >= *min_fail) || (!t->pass && f <= *max_pass))
        l.non_monotone.push_back(t->id);
    }
    // The first failure itself is the bottom of the disagreement when nothing passed below it.
    if (*min_fail == fault.from) low = fault.from;
    l.band = std::pair(low, high);
  }
  l.fault = (l.band->first + l.band->second) / 2;
  return l;
}

SearchResult search(const SearchOptions& options, const TrialFn& run_trial) {
  return Searcher(options, run_trial).run();
}

}  // namespace faultline::runner::envelope
