// run_load: the load engine's entry point, as a list of steps. The parts live in files named for
// them: detail/engine_state.hpp (Engine, Worker, Conn), connection.cpp (connect, watchdog, one
// HTTP exchange), drivers.cpp (open, closed and max models), coordinator.cpp (the per-second tick),
// load_metrics.cpp (Prometheus endpoint), progress.cpp (progress line), results.cpp (JSON).
#include "loadgen/engine.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "common/io_pool.hpp"
#include "common/ready_line.hpp"
#include "common/signals.hpp"
#include "common/tls.hpp"
#include "loadgen/detail/coordinator.hpp"
#include "loadgen/detail/drivers.hpp"
#include "loadgen/detail/engine_state.hpp"
#include "loadgen/detail/load_metrics.hpp"
#include "loadgen/detail/results.hpp"
#include "loadgen/push_gateway.hpp"
#include "loadgen/start_at.hpp"

namespace faultline::loadgen {

const char* model_name(Model m) noexcept {
  switch (m) {
    case Model::open:
      return "open";
    case Model::closed:
      return "closed";
    case Model::max:
      return "max";
  }
  return "max";
}

namespace {

using namespace detail;

bool is_localhost_name(std::string_view host) {
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h == "localhost" || (h.size() > 10 && h.ends_with(".localhost"));
}

// Resolves once; every connection uses the same endpoints. Prepares the TLS client context.
void prepare_target(Engine& engine) {
  const EngineConfig& cfg = engine.cfg;
  {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    error_code ec;
    auto results = resolver.resolve(cfg.url.host, std::to_string(cfg.url.port), ec);
    if (ec && is_localhost_name(cfg.url.host)) {
      // RFC 6761: "localhost" is the loopback, even where the resolver says nothing of it (a
      // minimal system or chroot without /etc/hosts), as curl and browsers do.
      engine.endpoints.emplace_back(asio::ip::address_v4::loopback(), cfg.url.port);
      engine.endpoints.emplace_back(asio::ip::address_v6::loopback(), cfg.url.port);
    } else if (ec) {
      throw ConfigError("cannot resolve \"" + cfg.url.host + "\": " + ec.message());
    }
    for (const auto& r : results)
      engine.endpoints.push_back(r.endpoint());
  }
  if (cfg.url.tls) {
    engine.tls_config.verify = !cfg.insecure;
    engine.tls_config.ca = cfg.cacert;
    auto made = tls::make_client_context(engine.tls_config, {"http/1.1"});
    if (!made.ok()) throw ConfigError(fmt::format("--cacert: {}", made.error));
    engine.tls_ctx = made.context;
  }
}

// One worker per event loop, each with its own seeded generator and stats.
void make_workers(Engine& engine, IoPool& pool) {
  const EngineConfig& cfg = engine.cfg;
  const std::size_t threads = pool.size();
  const std::size_t stage_count = cfg.replay ? 1 : cfg.profile.stages().size();
  const std::size_t names = engine.workload.request_names.size();
  for (std::size_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->engine = &engine;
    w->index = i;
    w->ioc = &pool.context(i);
    w->rng.seed(cfg.seed * 0x9E3779B97F4A7C15ULL + (cfg.shard * threads + i) * 7919 + 1);
    w->stats.stages.resize(stage_count);
    w->stats.pending.resize(stage_count + 1);
    w->stage_schedule.resize(std::max<std::size_t>(stage_count, 1));
    w->stats.names_total.resize(names);
    w->stats.names_interval.resize(names);
    w->stats.checks_total.resize(engine.workload.check_names.size());
    w->stats.checks_interval.resize(engine.workload.check_names.size());
    w->stats.sessions_total.resize(engine.workload.session_names.size());
    w->stats.sessions_interval.resize(engine.workload.session_names.size());
    if (cfg.url.tls) w->stats.handshakes.resize(stage_count + 1);
    engine.workers.push_back(std::move(w));
  }
}

// Sets the run's start (a moment from now, so every driver starts together) and planned end.
// With a metrics endpoint, prints the wall-clock start for a supervisor (faultline run) that
// aligns its own timeline with our intervals: the Unix time at which second 0 of
// --intervals-out begins.
void set_timeline(Engine& engine) {
  const EngineConfig& cfg = engine.cfg;
  double planned = cfg.duration_seconds;
  if (!cfg.replay && cfg.model != Model::max) planned = cfg.profile.end_seconds();
  // A replay without --duration ends once its last request is answered (see the coordinator).
  engine.start = cfg.start_at_unix ? steady_from_unix(*cfg.start_at_unix)
                                   : Clock::now() + std::chrono::milliseconds(20);
  engine.end = engine.start +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(planned));
  const auto wall = std::chrono::system_clock::now() + (engine.start - Clock::now());
  engine.start_unix = cfg.start_at_unix
                          ? *cfg.start_at_unix
                          : std::chrono::duration<double>(wall.time_since_epoch()).count();
  if (cfg.metrics_listen) ready_line::print_started_at(engine.start_unix);
}

// Ends a run: stops sending, lets in-flight requests finish (each bounded by --timeout), takes
// the last tick, stops the workers and folds what they recorded since. Sets `run.unsent`; true
// when a stop signal arrived meanwhile.
bool wind_down(Engine& engine, IoPool& pool, Coordinator& coordinator, StopSignals& stop,
               RunSummary& run, TimePoint stopped_at) {
  engine.stopping = true;
  // Wake parked connections.
  for (auto& w : engine.workers)
    asio::post(*w->ioc, [wp = w.get()] { release_idle(wp); });
  const bool interrupted = coordinator.drain(stop);
  run.unsent = stop_connections(engine);
  coordinator.tick(Clock::now(), true, run.unsent, stopped_at);
  coordinator.finish();
  pool.stop();
  pool.join();
  // Responses that arrived after the final tick (in-flight past the grace period) still count in
  // the totals, as they always did.
  for (auto& w : engine.workers)
    fold_pending(*w, nullptr, nullptr);
  // Sockets and timers go before their io_contexts do.
  for (auto& w : engine.workers) {
    w->idle.clear();
    w->conns.clear();
  }
  return interrupted;
}

}  // namespace

json run_load(const EngineConfig& cfg) {
  // Before any thread starts (see common/signals.hpp).
  std::optional<StopSignals> own_signals;
  StopSignals& stop = cfg.stop_signals ? *cfg.stop_signals : own_signals.emplace();

  Engine engine(cfg, *cfg.workload);
  prepare_target(engine);
  IoPool pool(std::max<std::size_t>(cfg.threads, 1));
  make_workers(engine, pool);
  // `engine` (and so every connection's socket and timers) outlives `pool`'s io_contexts. On the
  // normal path wind_down() releases the connections first; when a step throws (a thread or an
  // allocation that cannot be had, reported by the CLI as exit 2) this does it on the way out.
  struct ReleaseOnUnwind {
    Engine& engine;
    IoPool& pool;
    ~ReleaseOnUnwind() {
      if (std::uncaught_exceptions() == 0) return;
      pool.stop();
      pool.join();
      for (auto& w : engine.workers) {
        w->idle.clear();
        w->conns.clear();
      }
    }
  } release_on_unwind{engine, pool};
  Coordinator coordinator(engine);
  std::optional<MetricsEndpoint> endpoint;
  if (cfg.metrics_listen) {
    endpoint.emplace(*cfg.metrics_listen);
    coordinator.publish_to(&endpoint->metrics());
    endpoint->start();
  }
  // The pusher feeds the gateway from before the start on, so a shard waiting for --start-at is
  // already visible there.
  std::optional<LoadMetrics> push_metrics;  // when no --metrics-listen endpoint owns them
  std::optional<MetricsPusher> pusher;
  if (!cfg.push_url.empty()) {
    LoadMetrics* m = endpoint ? &endpoint->metrics() : &push_metrics.emplace();
    coordinator.publish_to(m);
    pusher.emplace(cfg.push_url, cfg.push_keep, m->metrics.registry_ptr());
    pusher->start();
  }
  set_timeline(engine);
  // --start-at: sleep until just before second 0 (the drivers then wait for it on their timers);
  // a stop signal meanwhile ends the run before it began.
  if (cfg.start_at_unix && !wait_until(engine.start - std::chrono::milliseconds(50), stop))
    engine.start = engine.end = Clock::now();
  spawn_drivers(engine);
  pool.start();

  RunSummary run;
  run.interrupted = coordinator.run(stop);
  const TimePoint stopped_at = std::min(Clock::now(), engine.end);
  if (wind_down(engine, pool, coordinator, stop, run, stopped_at)) run.interrupted = true;
  if (endpoint) endpoint->stop();
  if (pusher) pusher->stop();

  run.duration_seconds = std::max(1e-9, engine.elapsed(stopped_at));
  run.saturated_seconds = coordinator.saturated_seconds();
  run.max_lag_ns = coordinator.max_lag_ns();
  json results = results_json(engine, run);
  if (pusher)
    results["push_gateway"] = {{"url", cfg.push_url},
                               {"pushes", pusher->pushes()},
                               {"failures", pusher->failures()},
                               {"deleted", pusher->deleted()}};
  return results;
}

}  // namespace faultline::loadgen
