// Fuzz target: what `faultline report build` reads from a run's output directory — the lines of
// run-events.jsonl (ledger/run_record.hpp) and of load-intervals.jsonl — replayed through a
// RunLedger of a fixed scenario to results.json, as report build does. Hostile or torn lines must
// be skipped or judged, never crash, hang or escape as an exception. The first byte chooses which
// file a line belongs to.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "runner/ledger/ledger.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/scenario/scenario.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

const Scenario& scenario() {
  static const Scenario s = parse_scenario(json::parse(R"({
    "name": "fuzz", "duration": "6s",
    "services": {"target": {}, "proxies": [{"name": "front", "upstream": "target"}]},
    "load": {"via": "front", "rate": 10, "workload": {"mix": [{"name": "h", "url": "/"}]}},
    "timeline": [{"at": "0s", "phase": "one"}, {"at": "3s", "phase": "two"}],
    "assertions": [
      {"name": "clean", "kind": "error_ratio", "phase": "*", "max": 0.01},
      {"name": "fast", "kind": "latency", "phase": "two", "percentile": "p99", "max": "1s"}
    ]
  })"),
                                           "/tmp");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  RunLedger ledger(scenario());
  std::size_t start = 0;
  while (start < in.size()) {
    std::size_t nl = in.find('\n', start);
    if (nl == std::string_view::npos) nl = in.size();
    std::string_view line = in.substr(start, nl - start);
    start = nl + 1;
    if (line.empty()) continue;
    const bool interval = line.front() == 'I';
    line.remove_prefix(1);
    const json j = parse_json_or_discarded(line);
    if (interval) {
      if (!j.is_discarded()) ledger.add_interval(j);
    } else if (auto e = event_from_json(j)) {
      ledger.apply(*e);
    }
  }
  if (!ledger.cut_short() && ledger.boundaries() <= scenario().timeline.size())
    ledger.apply(event::CutShort{ledger.boundaries(), ledger.last_at()});
  const auto r = ledger.results(RunInfo{}, false, ledger.last_at());
  (void)r.doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}
