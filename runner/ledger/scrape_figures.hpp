// A phase's figures from the components' /metrics scraped at its boundaries: each proxy's own
// counters (requests, faults by kind, and the connections it carried) and each target shard's
// requests, errors and p99. Counters come from the delta between the phase's two scrapes; the
// connections a proxy had open when the phase began come from the scrape at its start.
#pragma once

#include <string>
#include <vector>

#include "runner/ledger/measurements.hpp"
#include "runner/ledger/prom_text.hpp"

namespace faultline::runner {

// `target` and `proxy`: the deltas over the phase (null when a scrape is missing); `proxy_start`:
// the proxy's scrape at the phase's start (null when missing: connections stay unknown);
// `seconds`: the phase's length.
void fill_from_deltas(PhaseStats& p, const PromSnapshot* target, const PromSnapshot* proxy,
                      const PromSnapshot* proxy_start, const std::vector<std::string>& proxies,
                      double seconds);

}  // namespace faultline::runner
