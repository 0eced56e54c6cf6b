// reconnects: how often the load's WebSocket and SSE sessions (docs/load.md "WebSocket and SSE
// sessions") came back after one ended early in a phase — at least `min` where a fault should cut
// them (a `ws_close`, an `http_body_truncate`), at most `max` where none should (a baseline). Of
// one workload entry (`request`) or of every session entry. `"count": "ended_early"` counts the
// sessions that ended early in the phase instead: a reconnect lands where the user's next session
// of that entry opens, which may be a later phase, an early end where it happened. A phase where
// no session was opened fails: no data is never a pass.
#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

class Reconnects final : public Assertion {
 public:
  Reconnects(AssertionCommon c, std::optional<double> min, std::optional<double> max,
             std::string request, bool ended_early)
      : Assertion(std::move(c)),
        min_(min),
        max_(max),
        request_(std::move(request)),
        ended_early_(ended_early) {}

  std::vector<std::string> referenced_requests() const override {
    if (request_.empty()) return {};
    return {request_};
  }

  AssertionResult evaluate(const RunMeasurements& m) const override {
    AssertionResult r = result();
    if (min_ && max_)
      r.bound =
          fmt::format("{} <= {} <= {}", *min_, ended_early_ ? "ended early" : "reconnects", *max_);
    else if (min_)
      r.bound = fmt::format(">= {}", *min_);
    else
      r.bound = fmt::format("<= {}", *max_);
    const std::string what = request_.empty() ? "sessions" : "sessions of " + request_;
    SessionStats s;
    if (const PhaseStats* ph = m.phase(common_.phase))
      for (const auto& [name, counts] : ph->load.sessions)
        if (request_.empty() || name == request_) s.add(counts);
    if (s.opened == 0) {
      r.message = fmt::format(
          "no {} opened in phase {} (does the workload have a websocket or sse entry{}?)", what,
          common_.phase, request_.empty() ? "" : " named " + request_);
      return r;
    }
    const auto n = static_cast<double>(ended_early_ ? s.ended_early : s.reconnects);
    r.measured = n;
    const bool low = min_ && n < *min_;
    const bool high = max_ && n > *max_;
    r.pass = !low && !high;
    std::string codes;
    for (const auto& [code, k] : s.close_codes)
      codes += fmt::format("{}{} × {}", codes.empty() ? "; close codes " : ", ", k, code);
    r.message = fmt::format(
        "{} {} {} times ({} opened, {} completed, {} ended early, {} reconnects{}) {}", what,
        ended_early_ ? "ended early" : "reconnected", ended_early_ ? s.ended_early : s.reconnects,
        s.opened, s.completed, s.ended_early, s.reconnects, codes,
        low    ? fmt::format("< min {}", *min_)
        : high ? fmt::format("> max {}", *max_)
               : "within " + r.bound);
    return r;
  }

 private:
  std::optional<double> min_, max_;
  std::string request_;
  bool ended_early_;
};

}  // namespace

void register_reconnects(AssertionRegistry& r) {
  r.add("reconnects",
        [](const json& o, const std::string& p, AssertionCommon c,
           ConfigErrors& e) -> std::unique_ptr<Assertion> {
          reject_unknown_assertion_keys(o, p, {"min", "max", "request", "count"}, e);
          auto min = get_nonneg(o, p, "min", e, false);
          auto max = get_nonneg(o, p, "max", e, false);
          auto request = get_string(o, p, "request", e);
          auto count = get_string(o, p, "count", e);
          if (count && *count != "reconnects" && *count != "ended_early") {
            e.add(path_join(p, "count"),
                  fmt::format("\"{}\" is not a count (reconnects, ended_early)", *count));
            return nullptr;
          }
          if (!o.contains("min") && !o.contains("max")) {
            e.add(p, "reconnects needs \"min\", \"max\" or both");
            return nullptr;
          }
          if (min && max && *min > *max) {
            e.add(path_join(p, "min"), fmt::format("min {} is above max {}", *min, *max));
            return nullptr;
          }
          if ((o.contains("min") && !min) || (o.contains("max") && !max)) return nullptr;
          return std::make_unique<Reconnects>(std::move(c), min, max, request.value_or(""),
                                              count.value_or("") == "ended_early");
        });
}

}  // namespace faultline::runner
