// An in-process `faultline target` for tests: the same objects target_cli.cpp wires (metrics,
// event loops, store, solver pool, service, HTTP server) on 127.0.0.1:0, plus small helpers.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "target/service.hpp"
#include "target/store.hpp"

namespace faultline::target::test {

struct HarnessOptions {
  ServiceOptions service;
  StoreSpec store;
  StoreOptions store_options;
  HttpServerOptions http;
  unsigned io_threads = 2;
  unsigned solver_threads = 2;
  std::size_t solver_queue = 16;
};

class Harness {
 public:
  explicit Harness(HarnessOptions o) {
    const std::size_t shards = o.store.kind == StoreSpec::Kind::redis ? o.store.redis.size() : 1;
    o.store_options.blocking_redis = o.service.mode == Mode::naive;
    o.http.body_limit = TargetService::body_limit(o.service);
    o.store_options.max_content_bytes = TargetService::stored_content_limit(o.service);
    if (o.service.mode == Mode::naive) o.solver_queue = 0;
    metrics = std::make_unique<TargetMetrics>(shards);
    pool = std::make_unique<IoPool>(o.io_threads);
    store = make_store(o.store, o.store_options, *metrics);
    solver = std::make_unique<SolverPool>(o.solver_threads, o.solver_queue);
    service = std::make_unique<TargetService>(o.service, *store, *solver, *metrics);
    server = std::make_unique<HttpServer>(
        *pool,
        [s = service.get()](HttpRequest& req, RequestContext& ctx) { return s->handle(req, ctx); },
        o.http);
    auto ep = server->listen(HostPort{"127.0.0.1", 0});
    address = HostPort{"127.0.0.1", ep.port()};
    pool->start();
  }
  ~Harness() {
    server->stop();
    pool->stop();
    pool->join();
    service->stop_workers(std::chrono::milliseconds(2000));
    server.reset();
    service.reset();
    solver.reset();
    store->close();
    store.reset();
    pool.reset();
  }

  HttpClientResponse fetch(std::string method, std::string target, std::string body = {},
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(10000),
                           error_code* ec_out = nullptr) {
    auto [ec, res] = http_fetch_sync(address, {.method = std::move(method),
                                               .target = std::move(target),
                                               .body = std::move(body),
                                               .timeout = timeout});
    if (ec_out) *ec_out = ec;
    return res;
  }

  std::unique_ptr<TargetMetrics> metrics;
  std::unique_ptr<IoPool> pool;
  std::unique_ptr<Store> store;
  std::unique_ptr<SolverPool> solver;
  std::unique_ptr<TargetService> service;
  std::unique_ptr<HttpServer> server;
  HostPort address;
};

// The value of one series in Prometheus text (exact series text, labels in sorted order), or
// nullopt when absent.
inline std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series, pos)) != std::string::npos) {
    const bool line_start = pos == 0 || text[pos - 1] == '\n';
    const std::size_t after = pos + series.size();
    if (line_start && after < text.size() && text[after] == ' ')
      return std::stod(text.substr(after + 1, text.find('\n', after) - after - 1));
    pos = after;
  }
  return std::nullopt;
}

}  // namespace faultline::target::test
