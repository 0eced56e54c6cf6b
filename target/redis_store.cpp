// `--store redis://...` in resilient mode: Redis shards spoken to with hiredis's RESP formatter and
// reader, all I/O on Asio. Per shard: a connection pool (one idle list per event loop, so a
// connection never crosses threads), a deadline on connect and on every command, an in-flight cap
// (bulkhead) and a circuit breaker. A shard that fails answers "unavailable" at once instead of
// tying up the event loops, so the other shards are never delayed.
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "target/store.hpp"

namespace faultline::target {

namespace {

using Clock = std::chrono::steady_clock;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};

std::string format_command(std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const int n =
      redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (n < 0 || !cmd) throw std::bad_alloc();
  std::string out(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
  return out;
}

// Plain functions: GCC 12 cannot keep an initializer_list inside a coroutine frame.
std::string set_command(const std::string& id, const std::string& content) {
  return format_command({"SET", "paste:" + id, content, "NX"});
}
std::string get_command(const std::string& id) {
  return format_command({"GET", "paste:" + id});
}
std::string ping_command() {
  return format_command({"PING"});
}

struct Connection {
  explicit Connection(asio::any_io_executor ex)
      : stream(std::move(ex)), reader(redisReaderCreate()) {
    if (!reader) throw std::bad_alloc();
  }
  beast::tcp_stream stream;
  std::unique_ptr<redisReader, ReaderDeleter> reader;
};

struct CommandResult {
  StoreCode code = StoreCode::failed;
  StoreError error = StoreError::io;
  Reply reply;
  std::string message;
};

CommandResult io_failure(const error_code& ec, const char* what, std::size_t shard,
                         const std::string& name) {
  CommandResult r;
  r.code = StoreCode::failed;
  r.error = ec == beast::error::timeout ? StoreError::timeout : StoreError::io;
  r.message = "redis shard " + std::to_string(shard) + " (" + name + "): " + what + ": " +
              (ec == beast::error::timeout ? std::string("timed out") : ec.message());
  return r;
}

struct Shard {
  std::size_t index = 0;
  std::string host;
  std::uint16_t port = 0;
  tcp::endpoint endpoint;
  std::atomic<std::size_t> in_flight{0};

  std::mutex breaker_mu;
  BreakerState state = BreakerState::closed;
  unsigned failures = 0;
  Clock::time_point open_until{};
  bool probing = false;

  std::mutex pools_mu;  // guards the map; each list is used only by its own event loop's thread
  std::unordered_map<const void*, std::vector<std::unique_ptr<Connection>>> idle;

  std::string name() const { return host + ":" + std::to_string(port); }
};

class RedisStore final : public Store {
 public:
  RedisStore(const StoreSpec& spec, const StoreOptions& options, TargetMetrics& metrics)
      : options_(options), metrics_(metrics) {
    for (std::size_t i = 0; i < spec.redis.size(); ++i) {
      auto s = std::make_unique<Shard>();
      s->index = i;
      s->host = spec.redis[i].first;
      s->port = spec.redis[i].second;
      error_code ec;
      auto addr = asio::ip::make_address(s->host, ec);
      if (ec) {
        // Names are resolved once at start-up (blocking, before serving).
        asio::io_context ioc;
        tcp::resolver resolver(ioc);
        auto results = resolver.resolve(s->host, std::to_string(s->port), ec);
        if (ec || results.empty())
          throw std::runtime_error("cannot resolve redis host " + s->host + ": " + ec.message());
        s->endpoint = results.begin()->endpoint();
      } else {
        s->endpoint = tcp::endpoint(addr, s->port);
      }
      metrics_.breaker(i, BreakerState::closed);
      shards_.push_back(std::move(s));
    }
  }

  std::size_t shard_count() const override { return shards_.size(); }

  awaitable<PutOutcome> put(std::string id, std::string content) override {
    const std::size_t s = shard_of(id);
    metrics_.store_op(s, StoreOp::put);
    std::string cmd = set_command(id, content);
    auto r = co_await run(s, std::move(cmd));
    if (r.code != StoreCode::ok) co_return PutOutcome{r.code, false, std::move(r.message)};
    if (r.reply->type == REDIS_REPLY_STATUS) co_return PutOutcome{StoreCode::ok, true, {}};
    if (r.reply->type == REDIS_REPLY_NIL) co_return PutOutcome{StoreCode::ok, false, {}};
    metrics_.store_error(s, StoreError::protocol);
    co_return PutOutcome{StoreCode::failed, false,
                         "unexpected reply to SET: " + describe(*r.reply)};
  }

  awaitable<GetOutcome> get(std::string id) override {
    const std::size_t s = shard_of(id);
    metrics_.store_op(s, StoreOp::get);
    std::string cmd = get_command(id);
    auto r = co_await run(s, std::move(cmd));
    if (r.code != StoreCode::ok) co_return GetOutcome{r.code, {}, std::move(r.message)};
    if (r.reply->type == REDIS_REPLY_STRING)
      co_return GetOutcome{StoreCode::ok, std::string(r.reply->str, r.reply->len), {}};
    if (r.reply->type == REDIS_REPLY_NIL) co_return GetOutcome{StoreCode::not_found, {}, {}};
    metrics_.store_error(s, StoreError::protocol);
    co_return GetOutcome{StoreCode::failed, {}, "unexpected reply to GET: " + describe(*r.reply)};
  }

  awaitable<bool> ready(std::shared_ptr<std::vector<std::string>> detail) override {
    bool all = true;
    for (auto& shard : shards_) {
      metrics_.store_op(shard->index, StoreOp::ping);
      std::string cmd = ping_command();
      auto r = co_await run(shard->index, std::move(cmd));
      const bool ok = r.code == StoreCode::ok && r.reply->type == REDIS_REPLY_STATUS;
      detail->push_back("redis shard " + std::to_string(shard->index) + " (" + shard->name() +
                        "): " + (ok ? std::string("ok") : r.message));
      all = all && ok;
    }
    co_return all;
  }

  PutOutcome put_blocking(const std::string&, const std::string&) override {
    throw std::logic_error("the asynchronous Redis store has no blocking API");
  }
  GetOutcome get_blocking(const std::string&) override {
    throw std::logic_error("the asynchronous Redis store has no blocking API");
  }
  bool ready_blocking(std::vector<std::string>&) override {
    throw std::logic_error("the asynchronous Redis store has no blocking API");
  }

  // Retry-After for an unavailable shard: until the breaker may let a probe through.
  std::chrono::seconds retry_after(std::size_t s) override {
    auto& shard = *shards_[s];
    std::lock_guard lock(shard.breaker_mu);
    if (shard.state != BreakerState::open) return std::chrono::seconds(1);
    auto left = std::chrono::ceil<std::chrono::seconds>(shard.open_until - Clock::now());
    return std::max(left, std::chrono::seconds(1));
  }

 private:
  static std::string describe(const redisReply& r) {
    if (r.type == REDIS_REPLY_ERROR) return std::string(r.str, r.len);
    return "type " + std::to_string(r.type);
  }

  // Breaker admission. Returns false (and why) when the shard must not be tried now.
  bool admit(Shard& shard, std::string& why) {
    std::lock_guard lock(shard.breaker_mu);
    if (shard.state == BreakerState::closed) return true;
    if (shard.state == BreakerState::open) {
      if (Clock::now() < shard.open_until) {
        why = "circuit breaker open for redis shard " + std::to_string(shard.index);
        return false;
      }
      shard.state = BreakerState::half_open;
      metrics_.breaker(shard.index, BreakerState::half_open);
    }
    if (shard.probing) {
      why = "circuit breaker half-open for redis shard " + std::to_string(shard.index) +
            ": a probe is in flight";
      return false;
    }
    shard.probing = true;  // this request is the probe
    return true;
  }

  void record(Shard& shard, bool success) {
    std::lock_guard lock(shard.breaker_mu);
    const BreakerState before = shard.state;
    if (success) {
      shard.failures = 0;
      if (shard.state == BreakerState::half_open) shard.state = BreakerState::closed;
      shard.probing = false;
    } else {
      ++shard.failures;
      if (shard.state == BreakerState::half_open ||
          (shard.state == BreakerState::closed && shard.failures >= options_.breaker_failures)) {
        shard.state = BreakerState::open;
        shard.open_until = Clock::now() + options_.breaker_cooldown;
        shard.probing = false;
      }
    }
    if (shard.state != before) {
      metrics_.breaker(shard.index, shard.state);
      spdlog::warn("redis shard {} ({}): circuit breaker {}", shard.index, shard.name(),
                   shard.state == BreakerState::open ? "opened" : "closed");
    }
  }

  std::vector<std::unique_ptr<Connection>>& idle_list(Shard& shard, const void* loop) {
    std::lock_guard lock(shard.pools_mu);
    return shard.idle[loop];
  }

  // Runs one command on shard `s`: bulkhead, breaker, pooled connection, deadline.
  awaitable<CommandResult> run(std::size_t s, std::string command) {
    Shard& shard = *shards_[s];
    CommandResult r;
    if (shard.in_flight.fetch_add(1) >= options_.shard_max_inflight) {
      shard.in_flight.fetch_sub(1);
      metrics_.store_error(s, StoreError::bulkhead_full);
      r.code = StoreCode::unavailable;
      r.message = "redis shard " + std::to_string(s) + " has " +
                  std::to_string(options_.shard_max_inflight) + " commands in flight";
      co_return r;
    }
    std::string why;
    if (!admit(shard, why)) {
      shard.in_flight.fetch_sub(1);
      metrics_.store_error(s, StoreError::breaker_open);
      r.code = StoreCode::unavailable;
      r.message = std::move(why);
      co_return r;
    }

    auto ex = co_await asio::this_coro::executor;
    const void* loop = &asio::query(ex, asio::execution::context);
    auto& idle = idle_list(shard, loop);
    std::unique_ptr<Connection> conn;
    bool reused = false;
    if (!idle.empty()) {
      conn = std::move(idle.back());
      idle.pop_back();
      reused = true;
    } else {
      conn = co_await connect(ex, &shard, &r);
    }
    if (conn) r = co_await exchange(conn.get(), command, s, shard.name());
    if (reused && r.code == StoreCode::failed && r.error == StoreError::io) {
      // An idle connection the server closed meanwhile (restart, idle timeout) is not a sign of
      // a failing shard: retry once on a fresh connection before counting a failure.
      conn = co_await connect(ex, &shard, &r);
      if (conn) r = co_await exchange(conn.get(), std::move(command), s, shard.name());
    }
    shard.in_flight.fetch_sub(1);
    if (r.code == StoreCode::ok) {
      record(shard, true);
      if (idle.size() < 64) idle.push_back(std::move(conn));
    } else {
      metrics_.store_error(s, r.error);
      record(shard, false);
    }
    co_return r;
  }

  // A new connection to `shard` (connect deadline: --redis-timeout); null with `r` filled in on
  // failure.
  awaitable<std::unique_ptr<Connection>> connect(asio::any_io_executor ex, Shard* shard,
                                                 CommandResult* r) {
    auto conn = std::make_unique<Connection>(ex);
    conn->stream.expires_after(options_.redis_timeout);
    auto [cec] = co_await conn->stream.async_connect(shard->endpoint, use_nothrow);
    if (!cec) co_return conn;
    r->code = StoreCode::failed;
    r->error = cec == beast::error::timeout ? StoreError::timeout : StoreError::connect;
    r->message = "redis shard " + std::to_string(shard->index) + " (" + shard->name() +
                 "): connect: " + (cec == beast::error::timeout ? "timed out" : cec.message());
    co_return nullptr;
  }

  awaitable<CommandResult> exchange(Connection* c, std::string command, std::size_t s,
                                    std::string name) {
    CommandResult r;
    c->stream.expires_after(options_.redis_timeout);  // one deadline for the whole command
    auto [wec, wn] = co_await asio::async_write(c->stream, asio::buffer(command), use_nothrow);
    if (wec) {
      r = io_failure(wec, "write", s, name);
      co_return r;
    }
    char buf[16384];
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(c->reader.get(), &reply) != REDIS_OK) {
        r.code = StoreCode::failed;
        r.error = StoreError::protocol;
        r.message = "redis shard " + std::to_string(s) + ": protocol error: " + c->reader->errstr;
        co_return r;
      }
      if (reply) {
        r.reply.reset(static_cast<redisReply*>(reply));
        if (r.reply->type == REDIS_REPLY_ERROR) {
          r.code = StoreCode::failed;
          r.error = StoreError::protocol;
          r.message = "redis shard " + std::to_string(s) + ": " + describe(*r.reply);
          co_return r;
        }
        r.code = StoreCode::ok;
        c->stream.expires_never();
        co_return r;
      }
      auto [rec, n] = co_await c->stream.async_read_some(asio::buffer(buf), use_nothrow);
      if (rec) {
        r = io_failure(rec, "read", s, name);
        co_return r;
      }
      if (redisReaderFeed(c->reader.get(), buf, n) != REDIS_OK) {
        r.code = StoreCode::failed;
        r.error = StoreError::protocol;
        r.message = "redis shard " + std::to_string(s) + ": protocol error";
        co_return r;
      }
    }
  }

  StoreOptions options_;
  TargetMetrics& metrics_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace

std::unique_ptr<Store> make_redis_store(const StoreSpec& spec, const StoreOptions& options,
                                        TargetMetrics& metrics) {
  return std::make_unique<RedisStore>(spec, options, metrics);
}

}  // namespace faultline::target
