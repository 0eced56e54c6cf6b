#include "target/target_cli.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/ready_line.hpp"
#include "common/signals.hpp"
#include "common/tls.hpp"
#include "target/service.hpp"
#include "target/store.hpp"

namespace faultline::target {

namespace {

struct TargetFlags {
  std::string listen = "127.0.0.1:8080";
  std::string store = "memory";
  std::string mode = "resilient";
  unsigned threads = 0;
  unsigned solver_threads = 0;
  unsigned workers = 8;
  std::string max_paste_bytes = "1MiB";
  std::size_t max_prefix_hex = 7;
  std::string solve_timeout = "10s";
  std::size_t max_connections = 10000;
  std::size_t solver_queue = 16;
  std::string fsync = "always";
  std::string fsync_interval = "1s";
  std::string redis_timeout = "1s";
  std::size_t shard_max_inflight = 64;
  unsigned breaker_failures = 5;
  std::string breaker_cooldown = "2s";
  std::string header_timeout = "10s";
  std::string idle_timeout = "60s";
  std::string shutdown_grace = "5s";
  std::size_t leak_bytes = 0;
  std::string tls_cert, tls_key;
};

// Upper bounds of the thread-count flags: far above any useful value, far below what makes
// thread creation fail on an ordinary machine (and each event loop also costs file descriptors).
constexpr unsigned kMaxEventLoops = 256;
constexpr unsigned kMaxThreads = 1024;

unsigned default_threads(unsigned max) {
  return std::clamp(std::thread::hardware_concurrency(), 1u, max);
}

// Collects every flag problem so the user sees them all at once.
struct Problems {
  std::vector<std::string> list;
  void add(std::string s) { list.push_back(std::move(s)); }
};

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text,
                                        Problems& p, bool allow_zero = false) {
  auto d = parse_duration(text);
  if (!d || (!allow_zero && d->count() <= 0)) {
    p.add(flag + ": '" + text + "' is not a positive duration (e.g. 500ms, 10s, 1m)");
    return std::chrono::milliseconds(0);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

int run_target(const TargetFlags& f) {
  Problems p;
  auto listen = parse_host_port(f.listen);
  if (!listen) p.add("--listen: '" + f.listen + "' is not HOST:PORT");
  std::string store_error;
  auto spec = parse_store_spec(f.store, store_error);
  if (!spec) p.add("--store: " + store_error);

  ServiceOptions so;
  if (f.mode == "resilient")
    so.mode = Mode::resilient;
  else if (f.mode == "naive")
    so.mode = Mode::naive;
  else
    p.add("--mode: '" + f.mode + "' is not resilient or naive");
  auto max_bytes = parse_bytes(f.max_paste_bytes);
  if (!max_bytes || *max_bytes == 0 || *max_bytes > (1ull << 30))
    p.add("--max-paste-bytes: '" + f.max_paste_bytes + "' is not a size between 1 and 1GiB");
  else
    so.max_paste_bytes = static_cast<std::size_t>(*max_bytes);
  if (f.max_prefix_hex < 1 || f.max_prefix_hex > 16)
    p.add("--max-prefix-hex: must be between 1 and 16");
  so.max_prefix_hex = f.max_prefix_hex;
  so.solve_timeout = duration_flag("--solve-timeout", f.solve_timeout, p);
  so.naive_workers = f.workers;
  if (f.workers == 0) p.add("--workers: must be at least 1");
  const auto at_most = [&p](const char* flag, unsigned value, unsigned max) {
    if (value > max)
      p.add(std::string(flag) + ": " + std::to_string(value) + " is more than " +
            std::to_string(max));
  };
  at_most("--threads", f.threads, kMaxEventLoops);
  at_most("--solver-threads", f.solver_threads, kMaxThreads);
  at_most("--workers", f.workers, kMaxThreads);
  so.leak_bytes_per_request = f.leak_bytes;

  StoreOptions st;
  if (f.fsync == "always")
    st.fsync = FsyncPolicy::always;
  else if (f.fsync == "interval")
    st.fsync = FsyncPolicy::interval;
  else
    p.add("--fsync: '" + f.fsync + "' is not always or interval");
  st.fsync_interval = duration_flag("--fsync-interval", f.fsync_interval, p);
  st.redis_timeout = duration_flag("--redis-timeout", f.redis_timeout, p);
  st.shard_max_inflight = f.shard_max_inflight;
  if (f.shard_max_inflight == 0) p.add("--shard-max-inflight: must be at least 1");
  st.breaker_failures = f.breaker_failures;
  if (f.breaker_failures == 0) p.add("--breaker-failures: must be at least 1");
  st.breaker_cooldown = duration_flag("--breaker-cooldown", f.breaker_cooldown, p);
  st.blocking_redis = so.mode == Mode::naive;

  HttpServerOptions ho;
  ho.header_timeout = duration_flag("--header-timeout", f.header_timeout, p);
  ho.idle_timeout = duration_flag("--idle-timeout", f.idle_timeout, p);
  const auto grace = duration_flag("--shutdown-grace", f.shutdown_grace, p, true);
  ho.body_limit = TargetService::body_limit(so);
  st.max_content_bytes = TargetService::stored_content_limit(so);
  ho.server_header = "faultline-target";
  // Naive mode has no connection cap and an unbounded solver queue: that is the point of it.
  ho.max_connections = so.mode == Mode::naive ? 0 : f.max_connections;
  const std::size_t solver_queue = so.mode == Mode::naive ? 0 : f.solver_queue;
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    p.add(f.tls_cert.empty() ? "--tls-key: needs --tls-cert" : "--tls-cert: needs --tls-key");
  } else if (!f.tls_cert.empty()) {
    const auto tls_context = tls::make_server_context({f.tls_cert, f.tls_key, ""});
    if (tls_context.ok())
      ho.tls = tls_context.context;
    else
      p.add(fmt::format("--tls-{}: {}", tls_context.field, tls_context.error));
  }

  if (!p.list.empty()) {
    for (const auto& m : p.list)
      std::cerr << "faultline target: " << m << "\n";
    return kExitUsage;
  }

  // Before any thread starts: every thread inherits the block; this one takes the signal.
  StopSignals stop_signals;

  const unsigned io_threads = f.threads ? f.threads : default_threads(kMaxEventLoops);
  const unsigned solver_threads =
      f.solver_threads ? f.solver_threads : default_threads(kMaxThreads);
  const std::size_t shards = spec->kind == StoreSpec::Kind::redis ? spec->redis.size() : 1;

  // Declaration order is destruction order in reverse: the solver pool and the store post to the
  // event loops, so they go before the IoPool.
  TargetMetrics metrics(shards);
  IoPool pool(io_threads);
  std::unique_ptr<Store> store;
  try {
    store = make_store(*spec, st, metrics);
  } catch (const std::exception& e) {
    std::cerr << "faultline target: --store " << f.store << ": " << e.what() << "\n";
    return kExitUsage;
  }
  // Thread creation can still fail (EAGAIN: a process or memory limit): a message, not an abort.
  const auto cannot_start = [](const char* what, const std::exception& e) {
    std::cerr << "faultline target: cannot start " << what << ": " << e.what() << "\n";
    return kExitUsage;
  };
  std::unique_ptr<SolverPool> solver_pool;
  try {
    solver_pool = std::make_unique<SolverPool>(solver_threads, solver_queue);
  } catch (const std::exception& e) {
    return cannot_start("the solver threads", e);
  }
  std::unique_ptr<TargetService> service_ptr;
  try {
    service_ptr = std::make_unique<TargetService>(so, *store, *solver_pool, metrics);
  } catch (const std::exception& e) {
    return cannot_start("the naive worker threads", e);
  }
  TargetService& service = *service_ptr;
  HttpServer server(
      pool, [&service](HttpRequest& req, RequestContext& ctx) { return service.handle(req, ctx); },
      ho);
  tcp::endpoint bound;
  try {
    bound = server.listen(*listen);
  } catch (const std::exception& e) {
    std::cerr << "faultline target: cannot listen on " << f.listen << ": " << e.what() << "\n";
    return kExitUsage;
  }
  try {
    pool.start();
  } catch (const std::exception& e) {
    // The loops that did start run the accept loops: stop them before the service goes away.
    server.stop();
    pool.stop();
    pool.join();
    return cannot_start("the event-loop threads", e);
  }
  spdlog::info("faultline target: {}, mode {}, store {}, {} event loops, {} solver threads{}",
               ho.tls ? "HTTPS" : "HTTP", f.mode, f.store, io_threads, solver_threads,
               so.mode == Mode::naive ? ", " + std::to_string(f.workers) + " naive workers" : "");
  ready_line::print_listening(bound);

  const int sig = stop_signals.wait();
  spdlog::info("faultline target: signal {}, stopping", sig);
  server.stop();
  // Let requests in progress finish (bounded), then stop the loops.
  const auto until = std::chrono::steady_clock::now() + grace;
  while (service.in_flight() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  pool.stop();
  pool.join();
  if (!service.stop_workers(std::min(grace, std::chrono::milliseconds(1000)))) {
    // A naive worker is stuck in a hung store forever (only Redis can hang like that): leave its
    // connections alone, they are in use, and end the process without waiting for it.
    if (spec->kind != StoreSpec::Kind::redis) store->close();
    spdlog::shutdown();
    std::cout.flush();
    std::_Exit(kExitOk);
  }
  store->close();
  return kExitOk;
}

}  // namespace

void register_target_command(CommandRegistry& registry) {
  auto flags = std::make_shared<TargetFlags>();
  CLI::App* app = registry.add("target",
                               "Run the reference service: an MD5 pastebin with a "
                               "whitespace-collision solver",
                               [flags] { return run_target(*flags); });
  auto& f = *flags;
  app->add_option("--listen", f.listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  app->add_option("--store", f.store,
                  "memory | file:DIR | redis://HOST:PORT[,redis://HOST:PORT...]")
      ->capture_default_str();
  app->add_option("--mode", f.mode, "resilient | naive")->capture_default_str();
  app->add_option("--threads", f.threads, "event-loop threads (0 = one per CPU)")
      ->capture_default_str();
  app->add_option("--solver-threads", f.solver_threads, "solver threads (0 = one per CPU)")
      ->capture_default_str();
  app->add_option("--workers", f.workers, "naive mode: size of the shared worker pool")
      ->capture_default_str();
  app->add_option("--max-paste-bytes", f.max_paste_bytes, "largest paste (413 above)")
      ->capture_default_str();
  app->add_option("--max-prefix-hex", f.max_prefix_hex, "longest vanity/solve prefix (1..16)")
      ->capture_default_str();
  app->add_option("--solve-timeout", f.solve_timeout, "deadline of one solve")
      ->capture_default_str();
  app->add_option("--max-connections", f.max_connections,
                  "resilient mode: connection cap (0 = none; 503 above)")
      ->capture_default_str();
  app->add_option("--solver-queue", f.solver_queue,
                  "resilient mode: solve jobs waiting behind the running one (503 above)")
      ->capture_default_str();
  app->add_option("--fsync", f.fsync, "file store: always | interval")->capture_default_str();
  app->add_option("--fsync-interval", f.fsync_interval, "file store: sync period with interval")
      ->capture_default_str();
  app->add_option("--redis-timeout", f.redis_timeout,
                  "redis store: connect and command deadline (resilient mode)")
      ->capture_default_str();
  app->add_option("--shard-max-inflight", f.shard_max_inflight,
                  "redis store: commands in flight per shard (bulkhead; 503 above)")
      ->capture_default_str();
  app->add_option("--breaker-failures", f.breaker_failures,
                  "redis store: consecutive failures that open a shard's circuit breaker")
      ->capture_default_str();
  app->add_option("--breaker-cooldown", f.breaker_cooldown,
                  "redis store: time an open breaker waits before a half-open probe")
      ->capture_default_str();
  app->add_option("--header-timeout", f.header_timeout, "deadline to receive a request head")
      ->capture_default_str();
  app->add_option("--idle-timeout", f.idle_timeout, "keep-alive idle timeout")
      ->capture_default_str();
  app->add_option("--shutdown-grace", f.shutdown_grace,
                  "on SIGINT/SIGTERM: how long requests in progress may take to finish")
      ->capture_default_str();
  app->add_option("--tls-cert", f.tls_cert,
                  "serve HTTPS with this PEM certificate (chain, leaf first); needs --tls-key");
  app->add_option("--tls-key", f.tls_key, "PEM private key of --tls-cert");
  app->add_option("--debug-leak-bytes-per-request", f.leak_bytes,
                  "DEBUG: leak this many bytes per request (soak-test self-check)")
      ->capture_default_str();
}

}  // namespace faultline::target
