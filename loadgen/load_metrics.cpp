// The faultline_load_* Prometheus families and the --metrics-listen endpoint (see
// detail/load_metrics.hpp).
#include "loadgen/detail/load_metrics.hpp"

#include <algorithm>

#include "common/ready_line.hpp"

namespace faultline::loadgen::detail {

LoadMetrics::LoadMetrics() {
  auto& reg = metrics.registry();
  requests = &prometheus::BuildCounter()
                  .Name("faultline_load_requests_total")
                  .Help("Completed requests by outcome (ok or an error kind)")
                  .Register(reg);
  by_outcome.push_back(&requests->Add({{"outcome", "ok"}}));
  for (std::size_t k = 0; k < kErrorKinds; ++k)
    by_outcome.push_back(&requests->Add({{"outcome", error_kind_name(k)}}));
  errors = &prometheus::BuildCounter()
                .Name("faultline_load_errors_total")
                .Help("Failed requests by error kind")
                .Register(reg);
  for (std::size_t k = 0; k < kErrorKinds; ++k)
    by_kind.push_back(&errors->Add({{"kind", error_kind_name(k)}}));
  bounds = latency_buckets_seconds();
  duration = &prometheus::BuildHistogram()
                  .Name("faultline_load_request_duration_seconds")
                  .Help(
                      "Request latency from the intended send time (coordinated-omission "
                      "corrected), requests that got a response")
                  .Register(reg)
                  .Add({}, bounds);
  in_flight = &prometheus::BuildGauge()
                   .Name("faultline_load_in_flight_requests")
                   .Help("Requests sent and not yet answered")
                   .Register(reg)
                   .Add({});
  offered_rate = &prometheus::BuildGauge()
                      .Name("faultline_load_offered_rate_rps")
                      .Help("Arrival rate the open model is offering now (0 in other models)")
                      .Register(reg)
                      .Add({});
  backlog = &prometheus::BuildGauge()
                 .Name("faultline_load_backlog_requests")
                 .Help("Open model: arrivals waiting for a free connection")
                 .Register(reg)
                 .Add({});
  users = &prometheus::BuildGauge()
               .Name("faultline_load_users")
               .Help("Closed model: active virtual users (0 in other models)")
               .Register(reg)
               .Add({});
  sent = &prometheus::BuildCounter()
              .Name("faultline_load_sent_requests_total")
              .Help(
                  "Arrivals sent (open model: handed to a connection, a flow counting once; "
                  "closed and max: iterations started)")
              .Register(reg)
              .Add({});
  late = &prometheus::BuildCounter()
              .Name("faultline_load_late_requests_total")
              .Help("Open model: arrivals sent after waiting in the backlog for a free connection")
              .Register(reg)
              .Add({});
  dropped = &prometheus::BuildCounter()
                 .Name("faultline_load_dropped_requests_total")
                 .Help("Open model: arrivals not sent because the backlog was full")
                 .Register(reg)
                 .Add({});
  unsent = &prometheus::BuildCounter()
                .Name("faultline_load_unsent_requests_total")
                .Help(
                    "Open model: arrivals due and never sent (still queued when the run ended); "
                    "added at the end of the run")
                .Register(reg)
                .Add({});
}

void LoadMetrics::declare_checks(const std::vector<std::string>& names) {
  if (checks || names.empty()) return;
  checks = &prometheus::BuildCounter()
                .Name("faultline_load_checks_total")
                .Help(
                    "Response checks of the workload evaluated, by check name and result "
                    "(passed or failed); a failed check does not fail its request")
                .Register(metrics.registry());
  for (const auto& n : names) {
    check_passed.push_back(&checks->Add({{"check", n}, {"result", "passed"}}));
    check_failed.push_back(&checks->Add({{"check", n}, {"result", "failed"}}));
  }
}

void LoadMetrics::observe_checks(const CheckCounts& interval) {
  for (std::size_t i = 0; i < check_passed.size() && i < interval.passed.size(); ++i) {
    if (interval.passed[i] > 0) check_passed[i]->Increment(static_cast<double>(interval.passed[i]));
    if (interval.failed[i] > 0) check_failed[i]->Increment(static_cast<double>(interval.failed[i]));
  }
}

void LoadMetrics::declare_sessions(const std::vector<std::string>& names) {
  if (sessions || names.empty()) return;
  sessions = &prometheus::BuildCounter()
                  .Name("faultline_load_sessions_total")
                  .Help(
                      "WebSocket and SSE sessions by workload entry and event (opened, completed, "
                      "ended_early, reconnects)")
                  .Register(metrics.registry());
  for (const auto& n : names)
    session_events.push_back({&sessions->Add({{"name", n}, {"event", "opened"}}),
                              &sessions->Add({{"name", n}, {"event", "completed"}}),
                              &sessions->Add({{"name", n}, {"event", "ended_early"}}),
                              &sessions->Add({{"name", n}, {"event", "reconnects"}})});
  ws_close_codes = &prometheus::BuildCounter()
                        .Name("faultline_load_ws_close_codes_total")
                        .Help(
                            "Close frames WebSocket servers started, by code (1000-1015 as they "
                            "are, 3xxx, 4xxx, other)")
                        .Register(metrics.registry());
}

void LoadMetrics::observe_sessions(const std::vector<SessionCounts>& interval) {
  for (std::size_t i = 0; i < interval.size() && i < session_events.size(); ++i) {
    const SessionCounts& c = interval[i];
    const std::uint64_t counts[4] = {c.opened, c.completed, c.ended_early, c.reconnects};
    for (std::size_t k = 0; k < 4; ++k)
      if (counts[k] > 0) session_events[i][k]->Increment(static_cast<double>(counts[k]));
    for (const auto& [code, n] : c.close_codes)
      ws_close_codes->Add({{"code", ws_close_code_label(code)}}).Increment(static_cast<double>(n));
  }
}

std::string ws_close_code_label(std::uint16_t code) {
  if (code >= 1000 && code <= 1015) return std::to_string(code);
  if (code >= 3000 && code <= 3999) return "3xxx";
  if (code >= 4000 && code <= 4999) return "4xxx";
  return "other";
}

void LoadMetrics::observe(const Stats& interval) {
  by_outcome[0]->Increment(static_cast<double>(interval.ok));
  for (std::size_t k = 0; k < kErrorKinds; ++k) {
    by_outcome[k + 1]->Increment(static_cast<double>(interval.errors[k]));
    by_kind[k]->Increment(static_cast<double>(interval.errors[k]));
  }
  if (interval.latency.empty()) return;
  // Re-bucket the interval's HDR histogram into the Prometheus buckets.
  std::vector<double> increments(bounds.size() + 1, 0.0);
  interval.latency.for_each_bucket([&](std::size_t idx, std::uint64_t count) {
    const double v = static_cast<double>(Histogram::lowest_equivalent(idx)) / 1e9;
    const auto pos = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                              bounds.begin());
    increments[pos] += static_cast<double>(count);
  });
  duration->ObserveMultiple(
      increments, interval.latency.mean_seconds() * static_cast<double>(interval.latency.count()));
}

MetricsEndpoint::MetricsEndpoint(const HostPort& where) {
  server_ = std::make_unique<HttpServer>(
      control_, [this](HttpRequest& req, RequestContext& ctx) { return handle(req, ctx); },
      HttpServerOptions{});
  tcp::endpoint bound;
  try {
    bound = server_->listen(where);
  } catch (const std::exception& ex) {
    throw ConfigError("--metrics-listen " + where.to_string() + ": " + ex.what());
  }
  ready_line::print_listening(bound);
}

MetricsEndpoint::~MetricsEndpoint() {
  stop();
}

void MetricsEndpoint::start() {
  control_.start();
}

void MetricsEndpoint::stop() {
  if (stopped_) return;
  stopped_ = true;
  server_->stop();
  control_.stop();
  control_.join();
}

awaitable<HttpResponse> MetricsEndpoint::handle(HttpRequest& req, RequestContext&) {
  if (req.target() != "/metrics")
    co_return json_error(http::status::not_found, "only GET /metrics here", req.version());
  HttpResponse res{http::status::ok, req.version()};
  res.set(http::field::content_type, kPrometheusContentType);
  res.body() = metrics_.metrics.serialize();
  res.prepare_payload();
  co_return res;
}

}  // namespace faultline::loadgen::detail
