// Did the toxics of a fault phase inject anything? A phase in which a proxy had toxics active but
// counted no fault measured a system without its fault, whatever its assertions say: every report
// warns about it, and the assertions that require faults (`require_faults`, the default for
// error_amplification) are inconclusive instead of passing. Which toxics are active in which
// phase comes from the scenario (initial toxics and the timeline's actions); what they injected
// from the proxy's own counters. A tcp proxy draws when a connection opens or a toxic is added,
// and a draw holds for the connection's life, so for it the faults are counted from the phase in
// which its toxics were last added or updated (both draw again on every open connection); http and
// redis proxies draw per request, so per phase.
#pragma once

#include <string>
#include <vector>

#include "runner/assertions/assertion.hpp"
#include "runner/ledger/measurements.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner {

struct IdleToxics {
  std::size_t occurrence = 0;  // index into RunMeasurements::phases (= timeline entry)
  std::string phase;
  double start_seconds = 0;
  std::string proxy;
  std::vector<std::string> toxics;
  double requests = 0;  // the proxy's requests (tcp: connections accepted) over what was counted
  std::optional<double> connections;  // connections it carried in the phase
  std::string since_phase;  // tcp: the phase its toxics were set in, when earlier than this one
};

// Every phase occurrence in `m` in which a proxy with toxics active (toxicity > 0, not `noop`)
// injected no fault; a phase whose proxy scrape is missing is not judged.
std::vector<IdleToxics> idle_toxics(const Scenario& s, const RunMeasurements& m);
// The warning for one: "phase slow (6-21 s): proxy front's toxics (reset) injected no fault
// (0 faults; 0 requests, 4 connections)".
std::string warning_text(const IdleToxics& idle);
// Marks inconclusive (not passed) every evaluated result whose assertion requires faults and whose
// phase (any occurrence of it; "*": any phase) has idle toxics, on the assertion's own proxies when
// it names some. `results` are evaluate_assertions' (one per s.assertions, in order).
void mark_inconclusive(const Scenario& s, const std::vector<IdleToxics>& idle,
                       std::vector<AssertionResult>& results);

}  // namespace faultline::runner
