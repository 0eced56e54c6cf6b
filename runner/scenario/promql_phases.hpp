// The phase placeholders of a promql assertion's query, which stand for the run's real phase
// times (after --duration) when the query is evaluated at the end of its phase:
//   [phase]                   the phase's window as a range in whole milliseconds: [30000ms]
//   [phase:RES], [phase:]     a subquery over the phase's window at resolution RES (a PromQL
//                             duration such as 1s or 500ms; empty: Prometheus's default)
//   [phases.NAME], [phases.NAME:RES], [phases.NAME:]
//                             another phase's window (its last occurrence that ended by the time
//                             the query is evaluated), followed by " offset D", D the time from
//                             its end to the evaluation, when that is not 0: [15000ms] offset
//                             20000ms
//   ${phase.duration}, ${phases.NAME.duration}
//                             a phase's length as a PromQL duration: 30000ms
// ("*", the whole run, has one window: 0 to the run's end.) Anything else that starts with
// "[phase" or "${phase" is an error, so a misspelt placeholder never reaches Prometheus.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace faultline::runner {

// "" when every phase placeholder of `query` is well formed, else what is wrong (naming the
// placeholder and the forms there are). `phases`: the other phases it names (phases.NAME), in
// order of appearance, without duplicates.
std::string check_promql_phases(const std::string& query, std::vector<std::string>* phases);

// A phase as the query sees it: its length, and the time from its end to the evaluation.
struct PromqlPhaseWindow {
  double duration_seconds = 0;
  double offset_seconds = 0;
};

// `query` with every phase placeholder replaced; `own`: the assertion's phase; `other(NAME)`:
// phases.NAME's window, or nullopt (then `error` says which and the placeholder is left as is).
// Durations are whole milliseconds, at least 1 ms; an offset under 1 ms is none.
std::string expand_promql_phases(
    const std::string& query, const PromqlPhaseWindow& own,
    const std::function<std::optional<PromqlPhaseWindow>(const std::string&)>& other,
    std::string* error = nullptr);

// The query as Prometheus is asked to check it before a run: every window 1 s, every other phase
// 1 s before the evaluation (so an "offset" is part of what is checked).
std::string expand_promql_phases_for_check(const std::string& query);

// One timeline phase occurrence, in seconds since the load started.
struct PhaseSpan {
  std::string name;
  double start = 0, end = 0;
};

// The windows of `query`'s phases in a run: `phase` is the assertion's phase ("*": the whole run),
// evaluated at the end of its first occurrence; `spans` every occurrence in time order. nullopt
// and `error` when its phase did not run or a phase it names had not ended by then.
std::optional<std::string> expand_promql_phases_for_run(const std::string& query,
                                                        const std::string& phase,
                                                        const std::vector<PhaseSpan>& spans,
                                                        double* at_seconds, std::string& error);

}  // namespace faultline::runner
