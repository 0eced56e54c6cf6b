// error_ratio: the share of failed requests in a phase stays at or below `max` — overall (from the
// load generator), for one request name (`request`), or for one target shard (`shard`, from the
// target's per-shard counters).
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class ErrorRatio final : public Assertion {
 public:
  ErrorRatio(AssertionCommon c, double max, std::string request, std::string shard)
      : Assertion(std::move(c)),
        max_(max),
        request_(std::move(request)),
        shard_(std::move(shard)) {}

  std::vector<std::string> referenced_requests() const override {
    if (request_.empty()) return {};
    return {request_};
  }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    r.bound = fmt::format("<= {}", fmt_ratio(max_));
    const PhaseStats* ph = m.phase(common_.phase);
    std::string what = "overall";
    double total = 0, failed = 0;
    if (ph && !shard_.empty()) {
      what = "shard " + shard_;
      if (auto it = ph->shards.find(shard_); it != ph->shards.end()) {
        total = it->second.requests;
        failed = it->second.errors;
        r.measured = it->second.error_ratio;
      }
    } else if (ph && !request_.empty()) {
      what = "request " + request_;
      if (auto it = ph->load.by_name.find(request_); it != ph->load.by_name.end()) {
        total = static_cast<double>(it->second.total);
        failed = static_cast<double>(it->second.failed);
        r.measured = it->second.error_ratio;
      }
    } else if (ph) {
      // Unsent arrivals (the generator could not send them) count as failed.
      total = static_cast<double>(ph->load.total + ph->load.unsent);
      failed = static_cast<double>(ph->load.failed + ph->load.unsent);
      r.measured = ph->load.error_ratio;
    }
    if (!r.measured) {
      r.pass = false;
      r.message = fmt::format("no requests measured ({}) in phase {}", what, common_.phase);
      return r;
    }
    r.pass = *r.measured <= max_;
    r.message =
        fmt::format("{} error ratio {} ({} of {} failed) {} {}", what, fmt_ratio(*r.measured),
                    failed, total, r.pass ? "<=" : ">", fmt_ratio(max_));
    if (ph && shard_.empty() && request_.empty() && ph->load.unsent > 0)
      r.message += fmt::format(
          "; {} of them were never sent (the load generator could not keep the rate: raise "
          "load.connections)",
          ph->load.unsent);
    return r;
  }

 private:
  double max_;
  std::string request_, shard_;
};

}  // namespace

void register_error_ratio(AssertionRegistry& r) {
  r.add("error_ratio",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"max", "request", "shard"}, e);
          auto max = get_ratio(o, p, "max", e);
          auto request = get_string(o, p, "request", e);
          auto shard = get_string(o, p, "shard", e);
          if (request && shard) e.add(path_join(p, "shard"), "give request or shard, not both");
          if (!max) return nullptr;
          return std::make_unique<ErrorRatio>(std::move(c), *max, request.value_or(""),
                                              shard.value_or(""));
        });
}

}  // namespace faultline::runner
