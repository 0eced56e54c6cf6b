// Shared by the `faultline load` end-to-end tests (load_test.cpp, load_wire_test.cpp,
// schedule_test.cpp): an HTTP test server with programmable behaviour (a stall at a known time, a
// fixed delay, arrival times by path) and small file helpers for the results, intervals and
// workload files.
#pragma once

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "common/http_server.hpp"
#include "common/io_pool.hpp"

namespace faultline::test::load {

using Clock = std::chrono::steady_clock;

// ---- An HTTP test server with programmable behaviour (state is global: one server per test).
inline std::atomic<bool> g_stall_armed{false};
inline std::mutex g_mu;
inline std::optional<Clock::time_point> g_first;  // first request seen
inline std::vector<std::pair<std::string, Clock::time_point>> g_arrivals;
inline double g_stall_at = 1.0, g_stall_for = 0.5;
inline std::atomic<int> g_delay_ms{0};  // every answer waits this long (0 = none)

inline awaitable<HttpResponse> test_handler(HttpRequest& req, RequestContext&) {
  const auto now = Clock::now();
  Clock::time_point stall_end{};
  bool stall = false;
  {
    std::lock_guard lock(g_mu);
    if (!g_first) g_first = now;
    g_arrivals.emplace_back(std::string(req.target()), now);
    if (g_stall_armed) {
      const auto start = *g_first + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(g_stall_at));
      stall_end = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(g_stall_for));
      stall = now >= start && now < stall_end;
    }
  }
  if (stall) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_at(stall_end);
    co_await t.async_wait(use_nothrow);
  }
  if (const int delay = g_delay_ms.load(); delay > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(delay));
    co_await t.async_wait(use_nothrow);
  }
  const auto target = std::string(req.target());
  if (target == "/missing") co_return json_error(http::status::not_found, "no", req.version());
  if (target == "/fail")
    co_return json_error(http::status::service_unavailable, "down", req.version());
  HttpResponse res{http::status::ok, req.version()};
  res.body() = "ok";
  res.prepare_payload();
  co_return res;
}

class TestServer {
 public:
  TestServer() : pool_(1) {
    {
      std::lock_guard lock(g_mu);
      g_first.reset();
      g_arrivals.clear();
    }
    g_stall_armed = false;
    g_delay_ms = 0;
    server_ = std::make_unique<HttpServer>(pool_, test_handler);
    port_ = server_->listen(HostPort{"127.0.0.1", 0}).port();
    pool_.start();
  }
  ~TestServer() {
    server_->stop();
    pool_.stop();
    pool_.join();
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<double> arrival_offsets(const std::string& prefix) {
    std::lock_guard lock(g_mu);
    std::vector<double> out;
    std::optional<Clock::time_point> t0;
    for (const auto& [target, t] : g_arrivals) {
      if (target.rfind(prefix, 0) != 0) continue;
      if (!t0) t0 = t;
      out.push_back(std::chrono::duration<double>(t - *t0).count());
    }
    return out;
  }

 private:
  IoPool pool_;
  std::unique_ptr<HttpServer> server_;
  unsigned short port_ = 0;
};

inline json read_json(const std::string& file) {
  std::ifstream in(file);
  return json::parse(in);
}

inline std::vector<json> read_lines(const std::string& file) {
  std::ifstream in(file);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

inline std::string slurp(const std::string& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& file, const std::string& text) {
  std::ofstream(file) << text;
}

}  // namespace faultline::test::load
