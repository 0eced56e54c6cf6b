// isolation: during a shard fault (`phase`), the healthy shards (every shard the baseline phase saw
// except `faulty_shards`) keep their baseline success ratio, p99 and request rate — measured from
// the target's per-shard counters, where a request's duration starts at its arrival (so time spent
// queueing for a captured worker counts). A healthy shard that completes far fewer requests than in
// the baseline has stalled: this is how the naive target's cascade is caught.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

struct IsolationParams {
  std::string baseline;
  std::set<std::string> faulty;
  double max_error_ratio_increase = 0.01;
  double p99_factor = 3.0;
  double p99_floor = 0.05;
  double min_throughput_ratio = 0.5;
};

class Isolation final : public Assertion {
 public:
  Isolation(AssertionCommon c, IsolationParams p) : Assertion(std::move(c)), p_(std::move(p)) {}

  std::vector<std::string> referenced_phases() const override {
    return {common_.phase, p_.baseline};
  }
  std::string member_naming(const std::string& phase) const override {
    return phase == common_.phase ? "phase" : "baseline";
  }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    r.bound = fmt::format("vs baseline: errors +{}, p99 <= max({}x, {}), rate >= {}x",
                          fmt_ratio(p_.max_error_ratio_increase), p_.p99_factor,
                          fmt_seconds(p_.p99_floor), p_.min_throughput_ratio);
    const PhaseStats* base = m.phase(p_.baseline);
    const PhaseStats* ph = m.phase(common_.phase);
    if (!base || !ph || base->shards.empty()) {
      r.message = "no per-shard measurements (does the target have shards?)";
      return r;
    }
    std::vector<std::string> stalled, problems, fine;
    double worst_p99 = 0;
    bool any_healthy = false, p99_known = true;
    for (const auto& [shard, b] : base->shards) {
      if (p_.faulty.count(shard)) continue;
      any_healthy = true;
      const ShardStats* f = nullptr;
      if (auto it = ph->shards.find(shard); it != ph->shards.end()) f = &it->second;
      std::vector<std::string> why;
      const double base_rate = b.throughput_rps.value_or(0);
      const double rate = f ? f->throughput_rps.value_or(0) : 0;
      bool is_stalled = false;
      if (base_rate > 0 && rate < base_rate * p_.min_throughput_ratio) {
        why.push_back(
            fmt::format("completed {:.1f} req/s vs {:.1f} in {}", rate, base_rate, p_.baseline));
        is_stalled = true;
      }
      if (f && f->error_ratio && b.error_ratio &&
          *f->error_ratio > *b.error_ratio + p_.max_error_ratio_increase)
        why.push_back(fmt::format("error ratio {} vs {} in {}", fmt_ratio(*f->error_ratio),
                                  fmt_ratio(*b.error_ratio), p_.baseline));
      if (f && f->p99_seconds && b.p99_seconds) {
        worst_p99 = std::max(worst_p99, *f->p99_seconds);
        const double bound = std::max(*b.p99_seconds * p_.p99_factor, p_.p99_floor);
        if (*f->p99_seconds > bound) {
          why.push_back(fmt::format("p99 {} vs {} in {}", fmt_seconds(*f->p99_seconds),
                                    fmt_seconds(*b.p99_seconds), p_.baseline));
          is_stalled = true;
        }
      } else {
        p99_known = false;
      }
      if (why.empty()) {
        fine.push_back(shard);
        continue;
      }
      std::string line = fmt::format("shard {}: ", shard);
      for (std::size_t i = 0; i < why.size(); ++i)
        line += (i ? ", " : "") + why[i];
      (is_stalled ? stalled : problems).push_back(line);
    }
    if (!any_healthy) {
      r.message = "every shard is listed in faulty_shards; nothing to check";
      return r;
    }
    if (p99_known) r.measured = worst_p99;
    r.pass = stalled.empty() && problems.empty();
    if (r.pass) {
      r.message =
          fmt::format("healthy shards kept their baseline (worst p99 {})", fmt_seconds(worst_p99));
      return r;
    }
    std::string msg = stalled.empty() ? "healthy shards degraded: " : "healthy shards stalled: ";
    std::vector<std::string> all = stalled;
    all.insert(all.end(), problems.begin(), problems.end());
    for (std::size_t i = 0; i < all.size(); ++i)
      msg += (i ? "; " : "") + all[i];
    r.message = msg;
    return r;
  }

 private:
  IsolationParams p_;
};

}  // namespace

void register_isolation(AssertionRegistry& r) {
  r.add("isolation",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p,
                                        {"baseline", "faulty_shards", "max_error_ratio_increase",
                                         "p99_factor", "p99_floor", "min_throughput_ratio"},
                                        e);
          IsolationParams ip;
          auto baseline = get_string(o, p, "baseline", e, true);
          auto fs = o.find("faulty_shards");
          if (fs == o.end() || !fs->is_array() || fs->empty()) {
            e.add(path_join(p, "faulty_shards"),
                  "required: a non-empty array of shard labels, e.g. [\"2\"]");
          } else {
            for (std::size_t i = 0; i < fs->size(); ++i) {
              const json& v = (*fs)[i];
              if (v.is_string())
                ip.faulty.insert(v.get<std::string>());
              else if (v.is_number_integer() && v.get<long long>() >= 0)
                ip.faulty.insert(std::to_string(v.get<long long>()));
              else
                e.add(path_index(path_join(p, "faulty_shards"), i),
                      "must be a shard label (\"2\") or index (2)");
            }
          }
          if (auto v = get_ratio(o, p, "max_error_ratio_increase", e, false))
            ip.max_error_ratio_increase = *v;
          if (auto v = get_nonneg(o, p, "p99_factor", e, false)) {
            if (*v < 1)
              e.add(path_join(p, "p99_factor"), "must be >= 1");
            else
              ip.p99_factor = *v;
          }
          if (auto v = get_seconds(o, p, "p99_floor", e, false)) ip.p99_floor = *v;
          if (auto v = get_ratio(o, p, "min_throughput_ratio", e, false))
            ip.min_throughput_ratio = *v;
          if (!baseline) return nullptr;
          ip.baseline = *baseline;
          return std::make_unique<Isolation>(std::move(c), ip);
        });
}

}  // namespace faultline::runner
