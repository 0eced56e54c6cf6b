#include "target/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <thread>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>

#include "target/handoff.hpp"
#include "target/streams.hpp"

namespace faultline::target {

namespace {

using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Validates a prefix from the API; returns an error message or "" (and the lowercased prefix).
std::string check_prefix(std::string_view prefix, std::size_t max_hex, std::string& out) {
  if (prefix.empty()) return "prefix must not be empty";
  for (char c : prefix)
    if (!is_hex(c)) return "prefix must be hexadecimal (0-9, a-f)";
  if (prefix.size() > max_hex)
    return "prefix is " + std::to_string(prefix.size()) + " hex digits; the limit is " +
           std::to_string(max_hex) + " (--max-prefix-hex)";
  out = lower(prefix);
  return {};
}

HttpResponse method_not_allowed(const char* allow, unsigned version) {
  auto res = json_error(http::status::method_not_allowed,
                        std::string("method not allowed; use ") + allow, version);
  res.set(http::field::allow, allow);
  return res;
}

// Memory leaked on purpose by --debug-leak-bytes-per-request: kept reachable so leak checkers
// stay quiet, but never freed, so resident memory grows with the request count.
std::mutex g_leak_mu;
std::vector<std::unique_ptr<char[]>>* g_leaks = new std::vector<std::unique_ptr<char[]>>();

void leak(std::size_t bytes) {
  auto p = std::make_unique<char[]>(bytes);
  std::memset(p.get(), 0x5a, bytes);  // touch the pages so they count as resident
  std::lock_guard lock(g_leak_mu);
  g_leaks->push_back(std::move(p));
}

// Queues `fn` on the naive worker pool; the result is handed to `h`. A plain function on purpose:
// GCC 12 mishandles lambda init-captures of coroutine parameters.
template <typename T>
void post_job(asio::io_context& pool, std::atomic<std::size_t>* busy, std::function<T()> fn,
              std::shared_ptr<Handoff<T>> h) {
  asio::post(pool, [h = std::move(h), busy, fn = std::move(fn)]() mutable {
    busy->fetch_add(1);
    T value = fn();
    busy->fetch_sub(1);
    Handoff<T>::deliver(std::move(h), std::move(value));
  });
}

// Runs `fn` on the naive worker pool and waits for it without blocking the event loop. The
// request's coroutine is suspended for as long as the pool is busy: the time spent queued behind
// workers stuck in the store is part of the request's duration, as it was for Firefox Sync users.
template <typename T>
awaitable<T> on_worker(asio::io_context* pool, std::atomic<std::size_t>* busy,
                       std::function<T()> fn) {
  auto h = std::make_shared<Handoff<T>>(co_await asio::this_coro::executor);
  post_job<T>(*pool, busy, std::move(fn), h);
  co_await Handoff<T>::wait(h);
  co_return std::move(h->value());
}

std::function<PutOutcome()> put_job(Store* store, std::string id, std::string content) {
  return [store, id = std::move(id), content = std::move(content)] {
    return store->put_blocking(id, content);
  };
}

std::function<GetOutcome()> get_job(Store* store, std::string id) {
  return [store, id = std::move(id)] { return store->get_blocking(id); };
}

std::function<bool()> ready_job(Store* store, std::shared_ptr<std::vector<std::string>> detail) {
  return [store, detail = std::move(detail)] { return store->ready_blocking(*detail); };
}

ShardOutcome outcome_of(StoreCode c) {
  switch (c) {
    case StoreCode::ok:
    case StoreCode::not_found:
      return ShardOutcome::ok;
    case StoreCode::unavailable:
      return ShardOutcome::unavailable;
    case StoreCode::failed:
      return ShardOutcome::failed;
  }
  return ShardOutcome::failed;
}

}  // namespace

// Not asio::thread_pool: when its constructor cannot create a thread (EAGAIN) it joins the
// threads it did create, which never return, and the process hangs. This pool stops them first
// and lets the std::system_error through, so `faultline target` exits 2 with a message.
class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads) : guard_(asio::make_work_guard(ioc_)) {
    try {
      threads_.reserve(threads);
      for (unsigned i = 0; i < threads; ++i)
        threads_.emplace_back([this] { ioc_.run(); });
    } catch (...) {
      stop();
      join();
      throw;
    }
  }
  ~WorkerPool() {
    stop();
    join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  asio::io_context& context() { return ioc_; }
  // Queued jobs are dropped; running ones finish when the store answers.
  void stop() { ioc_.stop(); }
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

TargetService::TargetService(const ServiceOptions& options, Store& store, SolverPool& solver,
                             TargetMetrics& metrics)
    : options_(options), store_(store), solver_(solver), metrics_(metrics) {
  if (options_.mode == Mode::naive)
    workers_ = std::make_unique<WorkerPool>(std::max(1u, options_.naive_workers));
}

TargetService::~TargetService() {
  if (workers_) stop_workers(std::chrono::milliseconds(0));
}

bool TargetService::stop_workers(std::chrono::milliseconds grace) {
  if (!workers_) return true;
  workers_->stop();  // queued work is dropped; running work finishes when the store answers
  const auto until = Clock::now() + grace;
  while (workers_busy_.load() > 0 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (workers_busy_.load() > 0) {
    // Workers blocked forever in a hung dependency cannot be joined: leave them to process exit.
    spdlog::warn("{} naive workers are still blocked in the store", workers_busy_.load());
    (void)workers_.release();
    return false;
  }
  workers_->join();
  workers_.reset();
  return true;
}

std::uint64_t TargetService::body_limit(const ServiceOptions& options) {
  // /solve carries the content inside JSON, where escaping can make it up to 6 times longer.
  return static_cast<std::uint64_t>(options.max_paste_bytes) * 6 + 4096;
}

std::uint64_t TargetService::stored_content_limit(const ServiceOptions& options) {
  return static_cast<std::uint64_t>(options.max_paste_bytes) +
         max_suffix_bytes(options.max_prefix_hex);
}

awaitable<HttpResponse> TargetService::handle(HttpRequest& req, RequestContext& ctx) {
  const auto start = Clock::now();
  in_flight_.fetch_add(1);
  metrics_.in_flight().Increment();
  struct Done {
    TargetService* self;
    ~Done() {
      self->in_flight_.fetch_sub(1);
      self->metrics_.in_flight().Decrement();
    }
  } done{this};
  if (options_.leak_bytes_per_request > 0) {
    leak(options_.leak_bytes_per_request);
    metrics_.leaked(static_cast<double>(options_.leak_bytes_per_request));
  }
  Route route = Route::other;
  HttpResponse res = co_await dispatch(&req, &ctx, &route);
  metrics_.request_done(route, res.result_int(), since(start));
  co_return res;
}

awaitable<HttpResponse> TargetService::dispatch(HttpRequest* req, RequestContext* ctx,
                                                Route* route) {
  const unsigned v = req->version();
  std::string_view target = req->target();
  std::string_view path = target;
  std::string query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = std::string(target.substr(q + 1));
  }
  const auto method = req->method();
  // HEAD wherever GET is allowed (RFC 9110 §9.3.2): the server sends the same head, no body.
  const bool get_like = method == http::verb::get || method == http::verb::head;
  const auto start = Clock::now();

  if (path == "/pastes") {
    *route = Route::pastes_create;
    if (method != http::verb::post) co_return method_not_allowed("POST", v);
    co_return co_await create_paste(req, std::move(query), ctx, start);
  }
  if (path.starts_with("/p/")) {
    *route = Route::paste_get;
    if (!get_like) co_return method_not_allowed("GET, HEAD", v);
    co_return co_await get_paste(std::string(path.substr(3)), v, start);
  }
  if (path == "/solve") {
    *route = Route::solve;
    if (method != http::verb::post) co_return method_not_allowed("POST", v);
    co_return co_await solve(req, ctx);
  }
  if (path == "/healthz") {
    *route = Route::healthz;
    if (!get_like) co_return method_not_allowed("GET, HEAD", v);
    co_return json_response(http::status::ok, {{"status", "ok"}}, v);
  }
  if (path == "/readyz") {
    *route = Route::readyz;
    if (!get_like) co_return method_not_allowed("GET, HEAD", v);
    co_return co_await readyz(v);
  }
  if (path == "/events") {
    *route = Route::events;
    co_return serve_events(*req, query, *ctx);
  }
  if (path == "/ws/echo") {
    *route = Route::ws_echo;
    co_return serve_ws_echo(*req, *ctx);
  }
  if (path == "/metrics") {
    *route = Route::metrics;
    if (!get_like) co_return method_not_allowed("GET, HEAD", v);
    HttpResponse res{http::status::ok, v};
    res.set(http::field::content_type, kPrometheusContentType);
    res.body() = metrics_.serialize();
    res.prepare_payload();
    co_return res;
  }
  co_return json_error(http::status::not_found,
                       "no such route: " + std::string(path) +
                           " (try POST /pastes, GET /p/<id>, POST /solve, GET /healthz, "
                           "/readyz, /metrics, /events, /ws/echo)",
                       v);
}

HttpResponse TargetService::unavailable(std::size_t shard, const std::string& message,
                                        unsigned version) {
  auto res = json_error(http::status::service_unavailable, message, version);
  res.set(http::field::retry_after, std::to_string(store_.retry_after(shard).count()));
  return res;
}

awaitable<HttpResponse> TargetService::create_paste(HttpRequest* req, std::string query,
                                                    RequestContext* ctx, Clock::time_point start) {
  const unsigned v = req->version();
  if (req->body().size() > options_.max_paste_bytes)
    co_return json_error(http::status::payload_too_large,
                         "paste is " + std::to_string(req->body().size()) +
                             " bytes; the limit is " + std::to_string(options_.max_paste_bytes) +
                             " (--max-paste-bytes)",
                         v);
  std::optional<std::string> prefix;
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string_view item = std::string_view(query).substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    if (key != "prefix")
      co_return json_error(http::status::bad_request,
                           "unknown query parameter '" + std::string(key) + "' (only prefix=HEX)",
                           v);
    if (prefix) co_return json_error(http::status::bad_request, "prefix given more than once", v);
    std::string p;
    const std::string err =
        check_prefix(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1),
                     options_.max_prefix_hex, p);
    if (!err.empty()) co_return json_error(http::status::bad_request, err, v);
    prefix = std::move(p);
  }

  std::string content = std::move(req->body());
  std::optional<std::uint64_t> attempts;
  if (prefix) {
    SolveWait w = co_await run_solve(content, *prefix, ctx);
    if (auto failed = solve_failure(w, v)) co_return std::move(*failed);
    content += w.result.suffix;
    attempts = w.result.attempts;
  }

  std::string id = md5_hex(content);
  const std::size_t shard = store_.shard_of(id);
  const std::size_t bytes = content.size();
  PutOutcome out = co_await store_put(id, std::move(content));
  metrics_.shard_request(shard, outcome_of(out.code), since(start));
  if (out.code != StoreCode::ok) {
    if (out.code == StoreCode::unavailable) co_return unavailable(shard, out.message, v);
    co_return unavailable(shard, "store failed: " + out.message, v);
  }
  json body = {{"id", id}, {"url", "/p/" + id}, {"bytes", bytes}};
  if (attempts) body["attempts"] = *attempts;
  auto res = json_response(out.created ? http::status::created : http::status::ok, body, v);
  res.set(http::field::location, "/p/" + id);
  co_return res;
}

awaitable<HttpResponse> TargetService::get_paste(std::string id, unsigned v,
                                                 Clock::time_point start) {
  if (id.size() != 32 || !std::all_of(id.begin(), id.end(), is_hex))
    co_return json_error(http::status::bad_request,
                         "paste id must be 32 hexadecimal digits (an MD5)", v);
  for (char& c : id)  // ids are stored lowercase; `id` is our own copy
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  const std::size_t shard = store_.shard_of(id);
  GetOutcome out = co_await store_get(id);
  metrics_.shard_request(shard, outcome_of(out.code), since(start));
  switch (out.code) {
    case StoreCode::ok: {
      HttpResponse res{http::status::ok, v};
      res.set(http::field::content_type, "application/octet-stream");
      res.set("X-Content-Type-Options", "nosniff");
      res.body() = std::move(out.content);
      res.prepare_payload();
      co_return res;
    }
    case StoreCode::not_found:
      co_return json_error(http::status::not_found, "no paste with id " + id, v);
    case StoreCode::unavailable:
      co_return unavailable(shard, out.message, v);
    case StoreCode::failed:
      break;
  }
  co_return unavailable(shard, "store failed: " + out.message, v);
}

awaitable<HttpResponse> TargetService::solve(HttpRequest* req, RequestContext* ctx) {
  const unsigned v = req->version();
  json body = parse_json_or_discarded(req->body());
  if (body.is_discarded())
    co_return json_error(http::status::bad_request,
                         "body must be JSON: {\"content\": \"...\", \"prefix\": \"HEX\"}", v);
  if (!body.is_object()) co_return json_error(http::status::bad_request, "$: must be an object", v);
  ConfigErrors errors;
  reject_unknown_keys(body, "$", {"content", "prefix"}, errors);
  auto content = get_string(body, "$", "content", errors, true);
  auto prefix_in = get_string(body, "$", "prefix", errors, true);
  if (!errors.empty()) co_return json_error(http::status::bad_request, errors.to_string(), v);
  if (content->size() > options_.max_paste_bytes)
    co_return json_error(http::status::payload_too_large,
                         "$.content is " + std::to_string(content->size()) +
                             " bytes; the limit is " + std::to_string(options_.max_paste_bytes) +
                             " (--max-paste-bytes)",
                         v);
  std::string prefix;
  const std::string err = check_prefix(*prefix_in, options_.max_prefix_hex, prefix);
  if (!err.empty()) co_return json_error(http::status::bad_request, "$.prefix: " + err, v);

  SolveWait w = co_await run_solve(std::move(*content), prefix, ctx);
  if (auto failed = solve_failure(w, v)) co_return std::move(*failed);
  co_return json_response(http::status::ok,
                          {{"suffix", w.result.suffix},
                           {"id", w.result.id},
                           {"attempts", w.result.attempts},
                           {"seconds", w.result.seconds}},
                          v);
}

// The answer for a solve that did not produce a suffix (shed, abandoned, timed out); nullopt when
// it did. Shared by vanity pastes and POST /solve.
std::optional<HttpResponse> TargetService::solve_failure(const SolveWait& w, unsigned v) const {
  if (w.rejected) {
    auto res =
        json_error(http::status::service_unavailable, "solver queue is full; retry later", v);
    res.set(http::field::retry_after, "1");
    return res;
  }
  if (w.abandoned) {
    HttpResponse res = json_error(static_cast<http::status>(499), "client went away", v);
    res.keep_alive(false);
    return res;
  }
  if (w.result.status != SolveResult::Status::found)
    return json_error(
        http::status::service_unavailable,
        "no suffix found within --solve-timeout " + format_duration(options_.solve_timeout), v);
  return std::nullopt;
}

awaitable<TargetService::SolveWait> TargetService::run_solve(std::string content,
                                                             std::string prefix,
                                                             RequestContext* ctx) {
  SolveWait w;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto h = std::make_shared<Handoff<SolveResult>>(co_await asio::this_coro::executor);
  SolveRequest sr;
  sr.content = std::move(content);
  sr.prefix_hex = std::move(prefix);
  sr.cancelled = cancelled;
  sr.deadline = Clock::now() + options_.solve_timeout;
  TargetMetrics* metrics = &metrics_;
  const bool queued = solver_.submit(std::move(sr), [h, metrics](SolveResult r) {
    metrics->solve_done(r.status == SolveResult::Status::found       ? SolveOutcome::found
                        : r.status == SolveResult::Status::cancelled ? SolveOutcome::cancelled
                                                                     : SolveOutcome::timed_out,
                        r.attempts, r.seconds);
    Handoff<SolveResult>::deliver(h, std::move(r));
  });
  if (!queued) {
    metrics_.solve_done(SolveOutcome::rejected, 0, 0);
    w.rejected = true;
    co_return w;
  }
  if (options_.mode == Mode::naive) {
    // The naive server never notices a client that went away; the deadline still applies.
    co_await Handoff<SolveResult>::wait(h);
  } else {
    co_await (Handoff<SolveResult>::wait(h) || ctx->wait_disconnect());
  }
  if (!h->has_value()) {
    cancelled->store(true);  // the solver threads drop the job at their next check
    w.abandoned = true;
    co_return w;
  }
  w.result = std::move(h->value());
  co_return w;
}

awaitable<PutOutcome> TargetService::store_put(std::string id, std::string content) {
  if (!workers_) co_return co_await store_.put(std::move(id), std::move(content));
  auto job = put_job(&store_, std::move(id), std::move(content));
  co_return co_await on_worker<PutOutcome>(&workers_->context(), &workers_busy_, std::move(job));
}

awaitable<GetOutcome> TargetService::store_get(std::string id) {
  if (!workers_) co_return co_await store_.get(std::move(id));
  auto job = get_job(&store_, std::move(id));
  co_return co_await on_worker<GetOutcome>(&workers_->context(), &workers_busy_, std::move(job));
}

awaitable<HttpResponse> TargetService::readyz(unsigned v) {
  auto detail = std::make_shared<std::vector<std::string>>();
  bool ok = false;
  if (!workers_) {
    ok = co_await store_.ready(detail);
  } else {
    auto job = ready_job(&store_, detail);
    ok = co_await on_worker<bool>(&workers_->context(), &workers_busy_, std::move(job));
  }
  json body = {{"status", ok ? "ready" : "not ready"}, {"stores", *detail}};
  if (ok) co_return json_response(http::status::ok, body, v);
  body["error"] = "a store is not reachable";
  body["status"] = 503;
  body["stores"] = *detail;
  co_return json_response(http::status::service_unavailable, body, v);
}

}  // namespace faultline::target
