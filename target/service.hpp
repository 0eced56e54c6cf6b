// The HTTP API of `faultline target` (routes, validation, limits, modes). The store, the solver
// pool and the metrics are owned by the caller (target_cli.cpp or a test) and outlive the service.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/http_server.hpp"
#include "target/solver/solver.hpp"
#include "target/store.hpp"
#include "target/target_metrics.hpp"

namespace faultline::target {

enum class Mode { resilient, naive };

struct ServiceOptions {
  Mode mode = Mode::resilient;
  std::size_t max_paste_bytes = 1024 * 1024;
  std::size_t max_prefix_hex = 7;
  std::chrono::milliseconds solve_timeout{10000};
  unsigned naive_workers = 8;              // naive mode: the one shared pool that calls the store
  std::size_t leak_bytes_per_request = 0;  // --debug-leak-bytes-per-request
};

class WorkerPool;  // service.cpp: naive mode's shared worker threads

class TargetService {
 public:
  // Throws std::system_error when naive mode's worker threads cannot be created.
  TargetService(const ServiceOptions& options, Store& store, SolverPool& solver,
                TargetMetrics& metrics);
  ~TargetService();
  TargetService(const TargetService&) = delete;
  TargetService& operator=(const TargetService&) = delete;

  // The HttpHandler (bind with a non-coroutine lambda that forwards here).
  awaitable<HttpResponse> handle(HttpRequest& req, RequestContext& ctx);

  // Requests being handled now (graceful shutdown waits for 0).
  std::size_t in_flight() const noexcept { return in_flight_.load(); }

  // Naive mode: stops the worker pool and waits up to `grace` for workers stuck in the store.
  // Returns false when some are still blocked (the caller then exits without waiting for them).
  bool stop_workers(std::chrono::milliseconds grace);

  // The HTTP server options this service needs (body limit derived from max_paste_bytes).
  static std::uint64_t body_limit(const ServiceOptions& options);
  // The largest content a paste can store: --max-paste-bytes plus the longest vanity suffix
  // (StoreOptions::max_content_bytes; a store refuses more, so it never acknowledges a paste it
  // could not replay).
  static std::uint64_t stored_content_limit(const ServiceOptions& options);

 private:
  struct Handled;
  awaitable<HttpResponse> dispatch(HttpRequest* req, RequestContext* ctx, Route* route);
  awaitable<HttpResponse> create_paste(HttpRequest* req, std::string query, RequestContext* ctx,
                                       std::chrono::steady_clock::time_point start);
  awaitable<HttpResponse> get_paste(std::string id, unsigned version,
                                    std::chrono::steady_clock::time_point start);
  awaitable<HttpResponse> solve(HttpRequest* req, RequestContext* ctx);
  awaitable<HttpResponse> readyz(unsigned version);

  struct SolveWait {
    bool rejected = false;   // solver queue full
    bool abandoned = false;  // client went away first
    SolveResult result;
  };
  awaitable<SolveWait> run_solve(std::string content, std::string prefix, RequestContext* ctx);
  std::optional<HttpResponse> solve_failure(const SolveWait& w, unsigned version) const;

  awaitable<PutOutcome> store_put(std::string id, std::string content);
  awaitable<GetOutcome> store_get(std::string id);

  HttpResponse unavailable(std::size_t shard, const std::string& message, unsigned version);

  ServiceOptions options_;
  Store& store_;
  SolverPool& solver_;
  TargetMetrics& metrics_;
  std::unique_ptr<WorkerPool> workers_;  // naive mode only
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> workers_busy_{0};
};

}  // namespace faultline::target
