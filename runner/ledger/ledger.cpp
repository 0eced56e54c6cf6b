// The run's ledger (see ledger.hpp): run events in, results out.
#include "runner/ledger/ledger.hpp"

#include <algorithm>

#include "runner/ledger/fault_check.hpp"
#include "runner/ledger/prom_text.hpp"

namespace faultline::runner {

namespace {

// The fault state of each phase comes from the scenario's own simulation of the toxics.
std::vector<PhaseWindow> windows_of(const Scenario& s) {
  std::vector<PhaseWindow> out;
  for (const auto& e : s.timeline)
    out.push_back(PhaseWindow{e.phase, e.at_seconds, e.fault_active});
  return out;
}

std::vector<std::string> proxies_of(const Scenario& s) {
  std::vector<std::string> out;
  for (const auto& p : s.proxies)
    out.push_back(p.name);
  return out;
}

}  // namespace

RunLedger::RunLedger(const Scenario& s)
    : s_(s),
      collector_(std::make_unique<Collector>(windows_of(s), s.duration_seconds,
                                             s.load.apdex_t_seconds, proxies_of(s))) {}

std::string RunLedger::open_record(const std::string& dir, const RunHeader& header) {
  std::string why = writer_.open(dir, header);
  writing_ = why.empty();
  return why;
}

void RunLedger::rewrite_header(const RunHeader& header) {
  writer_.rewrite_header(header);
}

void RunLedger::record(RunEvent e) {
  if (writing_) writer_.append(e);
  apply(e);
}

void RunLedger::apply(const RunEvent& e) {
  std::lock_guard lock(mutex_);
  apply_locked(e);
}

void RunLedger::apply_locked(const RunEvent& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, event::Phase>) {
          collector_->set_boundary_time(e.k, e.at);
          boundaries_ = std::max(boundaries_, e.k + 1);
          last_at_ = std::max(last_at_, e.at);
        } else if constexpr (std::is_same_v<T, event::Boundary>) {
          collector_->set_boundary(e.k, e.at, e.component, PromSnapshot::parse(e.metrics));
          boundaries_ = std::max(boundaries_, e.k + 1);
          last_at_ = std::max(last_at_, e.at);
        } else if constexpr (std::is_same_v<T, event::Resources>) {
          collector_->add_resources(e.t, e.values);
          last_at_ = std::max(last_at_, e.t);
        } else if constexpr (std::is_same_v<T, event::Timeline>) {
          timeline_.push_back({e.at, e.phase, e.action});
        } else if constexpr (std::is_same_v<T, event::Promql>) {
          promql_[e.name] = PromqlValue{e.value, e.error, e.query, e.at};
        } else if constexpr (std::is_same_v<T, event::Death>) {
          deaths_.push_back({{"at_seconds", e.at_seconds},
                             {"component", e.component},
                             {"status", e.status},
                             {"log", e.log}});
        } else if constexpr (std::is_same_v<T, event::CutShort>) {
          // Close the phase that was cut short; phases that never started are left out.
          if (!cut_short_ && e.started <= s_.timeline.size()) collector_->truncate(e.started, e.at);
          if (!cut_short_) cut_started_ = e.started;
          cut_short_ = true;
        } else if constexpr (std::is_same_v<T, event::End>) {
          end_ = e;
        }
      },
      ev);
}

void RunLedger::add_interval(const json& line) {
  std::lock_guard lock(mutex_);
  if (auto it = line.find("t"); it != line.end() && it->is_number())
    last_at_ = std::max(last_at_, it->get<double>());
  collector_->add_interval(line);
}

std::size_t RunLedger::boundaries() const {
  std::lock_guard lock(mutex_);
  return boundaries_;
}

std::size_t RunLedger::completed_phases() const {
  std::lock_guard lock(mutex_);
  const std::size_t total = s_.timeline.size();
  // The phase a run was cut short in got its end boundary scraped, but it did not complete.
  const std::size_t reached = cut_short_ ? std::min(boundaries_, cut_started_) : boundaries_;
  if (reached > total) return total;
  return reached > 0 ? reached - 1 : 0;
}

double RunLedger::last_at() const {
  std::lock_guard lock(mutex_);
  return last_at_;
}

bool RunLedger::cut_short() const {
  std::lock_guard lock(mutex_);
  return cut_short_;
}

std::optional<event::End> RunLedger::end() const {
  std::lock_guard lock(mutex_);
  return end_;
}

std::size_t RunLedger::malformed_intervals() const {
  std::lock_guard lock(mutex_);
  return collector_->malformed_intervals();
}

RunMeasurements RunLedger::measurements() const {
  std::lock_guard lock(mutex_);
  RunMeasurements m = collector_->finish();
  m.promql = promql_;
  // What the proxy's "requests" are depends on its protocol (tcp: connections).
  auto set_protocols = [&](PhaseStats& p) {
    for (auto& [name, f] : p.faults)
      for (const auto& spec : s_.proxies)
        if (spec.name == name) f.protocol = spec.protocol;
  };
  for (auto& p : m.phases)
    set_protocols(p);
  for (auto& [_, p] : m.by_name)
    set_protocols(p);
  return m;
}

RunLedger::Results RunLedger::results(RunInfo info, bool checkpoint, double as_of) const {
  const RunMeasurements m = measurements();
  const std::size_t completed = completed_phases();
  std::vector<TimelineRecord> timeline;
  {
    std::lock_guard lock(mutex_);
    timeline = timeline_;
    info.events = deaths_;
  }
  auto results = evaluate_assertions(s_, m, completed);
  // A phase whose toxics injected nothing is a warning in every report, and makes the assertions
  // that require faults inconclusive (fault_check.hpp).
  const auto idle = idle_toxics(s_, m);
  for (const auto& x : idle)
    info.warnings.push_back(warning_text(x));
  mark_inconclusive(s_, idle, results);
  const auto ended = end();
  info.as_of_seconds = as_of;
  if (checkpoint) {
    info.partial = true;
  } else if (!ended) {
    // A record without its end: the runner was killed. What completed is judged.
    info.partial = completed < s_.timeline.size();
  } else {
    info.verdict = ended->verdict;
    info.error = ended->error;
    info.duration_seconds = ended->duration_seconds;
    info.as_of_seconds = ended->as_of_seconds;
  }
  Results r;
  r.exit_code = decide_verdict(info, results);
  if (checkpoint) r.exit_code = 0;
  r.doc = results_to_json(s_, info, m, timeline, results);
  return r;
}

}  // namespace faultline::runner
