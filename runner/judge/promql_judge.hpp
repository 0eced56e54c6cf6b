// The run's PromQL judge: the Prometheus a run starts (scraping every component's /metrics each
// second) or the user's own (services.prometheus.url), the promql assertions' queries checked
// before the load starts, and evaluated at the end of their phases before teardown. Each value is
// a run-record event (ledger/run_record.hpp) so `report build` judges with the same numbers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runner/ledger/measurements.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/scenario/scenario.hpp"
#include "runner/system/component.hpp"
#include "runner/system/prometheus_server.hpp"

namespace faultline::runner {

class PromqlJudge {
 public:
  explicit PromqlJudge(const Scenario& s) : s_(s) {}
  bool wanted() const noexcept { return s_.prometheus; }

  // Starts (or attaches to) Prometheus. `targets`: every component's /metrics (key, endpoint) and
  // the load shards' fixed ports; waits for a first scrape of each so the first phase has data
  // from its start; checks every promql query. Throws RunError, Interrupted.
  void start(const std::vector<std::pair<std::string, MetricsEndpoint>>& components,
             const std::vector<unsigned short>& load_ports, const std::string& ca_file,
             const std::string& out_dir, const StopCheck& should_stop);
  HostPort address() const { return prometheus_->address(); }
  // Each promql assertion's query at the end of its phase (the first occurrence; "*" is the whole
  // run), its phase placeholders expanded from `m`'s phase times (promql_phases.hpp); `t0_unix`:
  // second 0. Waits for the last scrape.
  std::vector<event::Promql> evaluate(const RunMeasurements& m, double t0_unix,
                                      const std::function<void(double)>& sleep_until_offset);
  void stop();

 private:
  void check_queries();
  const Scenario& s_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

}  // namespace faultline::runner
