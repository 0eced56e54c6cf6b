// error_amplification: observed error ratio (load generator) ÷ induced fault ratio (the proxy's own
// faults_injected / requests counters) over a phase. 1.0 means every injected fault surfaced as
// exactly one failed request; above 1 the service amplifies (cascades), below 1 it absorbs
// (retries, fallbacks). A tcp proxy's "requests" are the connections it accepted: in front of a
// connection pool (opened before the phase) there is no per-request ratio to divide by, so the
// assertion says so (inconclusive) and `"per": "connection"` divides by the faults per connection
// the proxy carried instead (faults_injected / connections open in the phase). It requires faults
// by default: a phase whose toxics injected nothing makes it inconclusive (fault_check.hpp).
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class ErrorAmplification final : public Assertion {
 public:
  ErrorAmplification(AssertionCommon c, std::string proxy, std::optional<double> min,
                     std::optional<double> max, bool per_connection)
      : Assertion(std::move(c)),
        proxy_(std::move(proxy)),
        min_(min),
        max_(max),
        per_connection_(per_connection) {}

  std::vector<std::string> referenced_proxies() const override { return {proxy_}; }
  bool require_faults_default() const override { return true; }

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
    if (it == ph->faults.end()) {
      r.message = fmt::format("proxy {} reported nothing for phase {}", proxy_, common_.phase);
      return r;
    }
    const FaultStats& f = it->second;
    const double observed = *ph->load.error_ratio;
    const bool tcp = f.protocol == "tcp";
    const std::string per_conn =
        f.faults_per_connection
            ? fmt::format("faults per connection {} ({:.0f} faults on {:.0f} connections)",
                          fmt_ratio(*f.faults_per_connection), f.faults_injected, *f.connections)
            : std::string("faults per connection unknown");
    std::optional<double> induced = f.fault_ratio;
    if (per_connection_) {
      induced = f.faults_per_connection;
      if (!induced) {
        r.message = fmt::format("proxy {} carried no connections in phase {} ({})", proxy_,
                                common_.phase, per_conn);
        return r;
      }
    } else if (!induced) {
      if (tcp) {
        // A pool opened its connections before the phase: the proxy saw no "request".
        r.inconclusive = true;
        r.message = fmt::format(
            "proxy {} is a tcp proxy: its requests are the connections it accepted, none in phase "
            "{}, so the induced per-request fault ratio cannot be measured in front of a "
            "connection pool; it measured {} (\"per\": \"connection\" divides by that)",
            proxy_, common_.phase, per_conn);
      } else {
        r.message = fmt::format("proxy {} reported no requests in phase {}", proxy_, common_.phase);
      }
      return r;
    }
    if (*induced <= 0) {
      r.message = fmt::format(
          "proxy {} injected no faults in phase {} (observed error ratio {}); amplification "
          "is undefined",
          proxy_, common_.phase, fmt_ratio(observed));
      return r;
    }
    r.measured = observed / *induced;
    r.pass = (!min_ || *r.measured >= *min_) && (!max_ || *r.measured <= *max_);
    r.message = fmt::format("observed error ratio {} / induced {} {} = {:.3g}", fmt_ratio(observed),
                            per_connection_ ? "faults per connection" : "fault ratio",
                            fmt_ratio(*induced), *r.measured);
    if (tcp && !per_connection_)
      r.message += fmt::format(
          " (tcp proxy: the ratio is faults per connection accepted in the phase, {:.0f}; in "
          "front of a connection pool it is not per request)",
          f.requests);
    return r;
  }

 private:
  std::string proxy_;
  std::optional<double> min_, max_;
  bool per_connection_;
};

}  // namespace

void register_error_amplification(AssertionRegistry& r) {
  r.add("error_amplification",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"proxy", "min", "max", "per"}, e);
          auto proxy = get_string(o, p, "proxy", e, true);
          auto min = get_nonneg(o, p, "min", e, false);
          auto max = get_nonneg(o, p, "max", e, false);
          auto per = get_string(o, p, "per", e, false);
          if (per && *per != "request" && *per != "connection")
            e.add(path_join(p, "per"), fmt::format("must be \"request\" or \"connection\", got "
                                                   "\"{}\"",
                                                   *per));
          if (!o.contains("min") && !o.contains("max"))
            e.add(path_join(p, "max"), "give max and/or min (a ratio, e.g. 1.5)");
          if (!proxy || (!min && !max)) return nullptr;
          return std::make_unique<ErrorAmplification>(std::move(c), *proxy, min, max,
                                                      per && *per == "connection");
        });
}

}  // namespace faultline::runner
