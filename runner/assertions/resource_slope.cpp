// resource_slope: a leak check for soaks. Fits a least-squares line through one component's
// resident memory or open fds over time (per-second series from its process_* metrics, after a
// `warmup`) and bounds the slope, expressed per hour (bytes/h or fds/h).
#include <cmath>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class ResourceSlope final : public Assertion {
 public:
  std::vector<std::string> referenced_components() const override { return {component_}; }
  ResourceSlope(AssertionCommon c, std::string component, std::string resource, double max,
                double warmup)
      : Assertion(std::move(c)),
        component_(std::move(component)),
        resource_(std::move(resource)),
        max_(max),
        warmup_(warmup) {}

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    const bool bytes = resource_ == "rss_bytes";
    const std::string unit = bytes ? " bytes/h" : " fds/h";
    r.bound = fmt::format("<= {:.4g}{}", max_, unit);
    const std::string key = component_ + "_" + resource_;
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, first = NAN, last = NAN;
    for (const auto& sp : m.series) {
      if (sp.t < warmup_) continue;
      if (common_.phase != "*" && sp.phase != common_.phase) continue;
      auto it = sp.resources.find(key);
      if (it == sp.resources.end()) continue;
      const double x = sp.t / 3600.0, y = it->second;
      if (std::isnan(first)) first = y;
      last = y;
      n += 1;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const double den = n * sxx - sx * sx;
    if (n < 10 || den <= 0) {
      r.message =
          fmt::format("only {} samples of {} after the {}s warm-up; need >= 10", n, key, warmup_);
      return r;
    }
    r.measured = (n * sxy - sx * sy) / den;
    r.pass = *r.measured <= max_;
    r.message = fmt::format("{} {} grew at {:.4g}{} over {} samples ({:.4g} -> {:.4g})", component_,
                            resource_, *r.measured, unit, n, first, last);
    return r;
  }

 private:
  std::string component_, resource_;
  double max_, warmup_;
};

}  // namespace

void register_resource_slope(AssertionRegistry& r) {
  r.add(
      "resource_slope",
      [](const json& o, const std::string& p, AssertionCommon c,
         ConfigErrors& e) -> std::unique_ptr<Assertion> {
        reject_unknown_assertion_keys(o, p, {"component", "resource", "max_per_hour", "warmup"}, e);
        auto comp = get_string(o, p, "component", e, true);
        if (comp && (comp->empty() || comp->size() > 64))
          e.add(path_join(p, "component"),
                fmt::format("must be target, proxy, load or a process name, got \"{}\"", *comp));
        auto res = get_string(o, p, "resource", e, true);
        if (res && *res != "rss_bytes" && *res != "open_fds")
          e.add(path_join(p, "resource"),
                fmt::format("must be rss_bytes or open_fds, got \"{}\"", *res));
        std::optional<double> max;
        if (auto it = o.find("max_per_hour"); it == o.end()) {
          e.add(path_join(p, "max_per_hour"), "required field is missing");
        } else if (it->is_number()) {
          max = it->get<double>();
        } else if (it->is_string()) {
          if (auto b = parse_bytes(it->get<std::string>())) max = static_cast<double>(*b);
        }
        if (o.contains("max_per_hour") && !max)
          e.add(path_join(p, "max_per_hour"), "must be a number or a byte size like \"20MiB\"");
        double warmup = get_seconds(o, p, "warmup", e, false).value_or(0);
        if (!comp || !res || !max) return nullptr;
        return std::make_unique<ResourceSlope>(std::move(c), *comp, *res, *max, warmup);
      });
}

}  // namespace faultline::runner
