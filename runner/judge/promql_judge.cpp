// The run's PromQL judge (see promql_judge.hpp).
#include "runner/judge/promql_judge.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runner/scenario/promql_phases.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void PromqlJudge::start(const std::vector<std::pair<std::string, MetricsEndpoint>>& components,
                        const std::vector<unsigned short>& load_ports, const std::string& ca_file,
                        const std::string& out_dir, const StopCheck& should_stop) {
  if (s_.prometheus_address) {
    // The user's Prometheus: it scrapes what it scrapes; the run only queries it.
    prometheus_ = PrometheusServer::attach(*s_.prometheus_address, s_.prometheus_path);
    spdlog::info("run: querying the Prometheus on {}", s_.prometheus_address->to_string());
    check_queries();
    return;
  }
  if (!PrometheusServer::find_binary())
    throw RunError(
        "prometheus is not installed (promql assertions and services.prometheus need Debian's "
        "`prometheus` package)");
  std::vector<ScrapeTarget> targets;
  for (const auto& [key, m] : components) {
    targets.push_back({key, m.address.to_string(), m.path, {}, m.token});
    if (m.tls) targets.back().ca_file = ca_file;
  }
  for (std::size_t i = 0; i < load_ports.size(); ++i) {
    targets.push_back({"load", fmt::format("127.0.0.1:{}", load_ports[i]), "/metrics", {}, ""});
    // Shards are told apart by a label (sum over it for the whole load).
    if (load_ports.size() > 1) targets.back().labels["shard"] = std::to_string(i);
  }
  for (auto& t : targets)
    t.labels["scenario"] = s_.name;
  try {
    prometheus_ = std::make_unique<PrometheusServer>(
        (fs::path(out_dir) / "prometheus").string(), targets,
        (fs::path(out_dir) / "logs" / (ComponentId::prometheus().log_name() + ".log")).string(),
        should_stop);
  } catch (const std::exception& e) {
    throw RunError(fmt::format("prometheus: {}", e.what()));
  }
  spdlog::info("run: prometheus on {}", prometheus_->address().to_string());
  // Prometheus applies its targets ~5 s after it is ready: wait for a first scrape of every one,
  // so the first phase has data from its start.
  const double now_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto until = Clock::now() + 20s;
  while (!prometheus_->wait_scraped_after(now_unix, 500ms)) {
    if (should_stop()) throw Interrupted{};
    if (Clock::now() > until) {
      spdlog::warn("run: prometheus did not scrape every target within 20s; starting anyway");
      break;
    }
  }
  check_queries();
}

// A query Prometheus rejects (or a Prometheus that does not answer) is found now, not after the
// run.
void PromqlJudge::check_queries() {
  for (const auto& a : s_.assertions)
    if (auto q = a->promql_query()) {
      const std::string why = prometheus_->check(expand_promql_phases_for_check(*q));
      if (!why.empty())
        throw RunError(fmt::format("assertion \"{}\": Prometheus rejects the query {}: {}",
                                   a->common().name, *q, why));
    }
}

std::vector<event::Promql> PromqlJudge::evaluate(
    const RunMeasurements& m, double t0_unix,
    const std::function<void(double)>& sleep_until_offset) {
  std::vector<event::Promql> out;
  if (!prometheus_) return out;
  struct Job {
    std::string name, query;
    double at = 0;
  };
  std::vector<PhaseSpan> spans;
  for (const auto& p : m.phases)
    spans.push_back({p.name, p.start_seconds, p.end_seconds});
  std::vector<Job> jobs;
  double last_end = 0;
  for (const auto& a : s_.assertions) {
    auto q = a->promql_query();
    if (!q) continue;
    // The phase placeholders become the run's phase times (after --duration).
    Job j{a->common().name, "", 0};
    std::string why;
    if (auto expanded = expand_promql_phases_for_run(*q, a->common().phase, spans, &j.at, why)) {
      j.query = std::move(*expanded);
    } else {
      out.push_back({a->common().name, std::nullopt, why, *q, 0});
      continue;
    }
    last_end = std::max(last_end, j.at);
    jobs.push_back(std::move(j));
  }
  if (jobs.empty()) return out;
  if (prometheus_->attached()) {
    // The user's Prometheus scrapes at its own interval: give it that long after the last phase.
    sleep_until_offset(last_end + s_.prometheus_scrape_wait_seconds);
  } else if (!prometheus_->wait_scraped_after(t0_unix + last_end + 0.5, 5000ms)) {
    // Every target scraped once more after the last phase ended (scrape interval 1 s).
    spdlog::warn(
        "run: prometheus did not scrape every target after the run ended; the last "
        "second may be missing from promql assertions");
  }
  for (const auto& j : jobs) {
    PromqlResult r = prometheus_->query(j.query, t0_unix + j.at);
    out.push_back({j.name, r.value, r.error, j.query, j.at});
  }
  return out;
}

void PromqlJudge::stop() {
  if (prometheus_) prometheus_->stop();
}

}  // namespace faultline::runner
