// Drives a load generator without sockets: a fake Exchanger that records every request and answers
// from a test-supplied function, a seeded Rng, and helpers to parse one workload entry and to run
// one iteration to completion. Shared by tests/loadgen/generators/*_test.cpp.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "common/config.hpp"
#include "loadgen/exchange.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen::test {

class FakeExchanger final : public Exchanger {
 public:
  explicit FakeExchanger(std::uint64_t seed = 42) : rng_(seed) {}

  // Answers each request; default: 200 with an empty body.
  std::function<StepResult(const GeneratedRequest&)> respond;
  std::vector<GeneratedRequest> sent;

  awaitable<StepResult> exchange(GeneratedRequest request) override {
    StepResult r;
    if (respond) {
      r = respond(request);
    } else {
      r.outcome = Outcome::ok;
      r.status = 200;
    }
    sent.push_back(std::move(request));
    co_return r;
  }
  Rng& rng() override { return rng_; }

 private:
  Rng rng_;
};

inline StepResult ok_with_body(std::string body) {
  StepResult r;
  r.outcome = Outcome::ok;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

// Parses a workload whose mix is the one entry `entry`.
inline Workload parse_entry(const json& entry, ConfigErrors& errors) {
  return parse_workload(json{{"mix", json::array({entry})}}, errors);
}

// Whether some error is about `path` (errors read "PATH: message").
inline bool has_error_at(const ConfigErrors& errors, const std::string& path) {
  for (const auto& e : errors.list())
    if (e.rfind(path + ": ", 0) == 0) return true;
  return false;
}

// Runs one iteration of `g` to completion (rethrows what it threw).
inline void run_iteration(Generator& g, FakeExchanger& ex) {
  asio::io_context ioc;
  asio::co_spawn(ioc, g.run(&ex), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.run();
}

}  // namespace faultline::loadgen::test
