// The protocol-redis engine: commands parsed with RedisRequestParser (RESP arrays and inline
// commands, accepted and rejected exactly as redis-server does), re-encoded with
// redisFormatCommandArgv and forwarded in batches, so pipelining is preserved; replies parsed with
// a second redisReader and handed back strictly in command order, with injected ones (redis_error,
// ...) slotted in at their command's place. Replies that answer no command (pub/sub messages) are
// passed on as they come.
#include "proxy/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/co_spawn.hpp"
#include "proxy/proxied_connection.hpp"
#include "proxy/redis_request.hpp"
#include "proxy/request_faults.hpp"
#include "proxy/tcp_connection.hpp"
#include "proxy/tls_stream.hpp"

namespace faultline::proxy {

namespace {

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
using ReaderPtr = std::unique_ptr<redisReader, ReaderDeleter>;
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// RESP2 encoding of a parsed reply.
void encode(const redisReply* r, std::string& out) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out += '$';
      out += std::to_string(r->len);
      out += "\r\n";
      out.append(r->str, r->len);
      out += "\r\n";
      return;
    case REDIS_REPLY_ARRAY:
      out += '*';
      out += std::to_string(r->elements);
      out += "\r\n";
      for (std::size_t i = 0; i < r->elements; ++i)
        encode(r->element[i], out);
      return;
    case REDIS_REPLY_INTEGER:
      out += ':';
      out += std::to_string(r->integer);
      out += "\r\n";
      return;
    case REDIS_REPLY_NIL:
      out += "$-1\r\n";
      return;
    case REDIS_REPLY_STATUS:
      out += '+';
      out.append(r->str, r->len);
      out += "\r\n";
      return;
    case REDIS_REPLY_ERROR:
      out += '-';
      out.append(r->str, r->len);
      out += "\r\n";
      return;
    default:
      out += "-ERR faultline: unsupported reply type\r\n";
  }
}

struct Slot {
  bool forwarded = false;           // waits for an upstream reply
  bool ready = false;               // `reply` is complete
  bool hang = false;                // never answered: holds every later reply
  Clock::duration delay{};          // extra wait once ready, holding every later reply ("server")
  Clock::duration network_delay{};  // from the reply's arrival ("network"): sets `due`
  Clock::time_point due{};          // not written before (once ready)
  std::string reply;
};

class RedisConnection : public ProxiedConnection,
                        public std::enable_shared_from_this<RedisConnection> {
 public:
  RedisConnection(std::shared_ptr<Proxy> proxy, tcp::socket client)
      : ProxiedConnection(std::move(proxy)),
        client_(std::move(client)),
        upstream_(tcp::socket(client_.get_executor())),
        wake_(client_.get_executor()),
        delay_(client_.get_executor()),
        idle_(client_.get_executor()),
        ureader_(redisReaderCreate()) {}
  void close_async(CloseReason reason) override {
    asio::post(client_.get_executor(),
               [self = shared_from_this(), reason] { self->close(reason); });
  }
  void toxics_changed_async() override {}

  static awaitable<void> run(std::shared_ptr<RedisConnection> self, std::uint64_t seed);

 private:
  static awaitable<void> client_reader(std::shared_ptr<RedisConnection> self, std::uint64_t seed);
  static awaitable<void> upstream_reader(std::shared_ptr<RedisConnection> self);
  static awaitable<void> client_writer(std::shared_ptr<RedisConnection> self);
  static awaitable<void> watcher(std::shared_ptr<RedisConnection> self);

  void close(CloseReason reason) {
    if (closing_) return;
    closing_ = true;
    reason_ = reason;
    error_code ec;
    client_.close(ec);
    upstream_.close(ec);
    wake_.cancel();
    delay_.cancel();
    idle_.cancel();
  }

  MaybeTlsStream<tcp::socket> client_;
  MaybeTlsStream<tcp::socket> upstream_;
  asio::steady_timer wake_;   // wakes the client writer
  asio::steady_timer delay_;  // the writer's injected delay
  asio::steady_timer idle_;
  ReaderPtr ureader_;
  std::deque<Slot> slots_;
  Clock::time_point last_activity_ = Clock::now();
  bool closing_ = false;
  bool close_after_flush_ = false;  // no more commands: close once the replies are written
  CloseReason reason_after_flush_ = CloseReason::client_closed;
  RedisRequestParser parser_;
};

awaitable<void> RedisConnection::client_reader(std::shared_ptr<RedisConnection> self,
                                               std::uint64_t seed) {
  Proxy& proxy = *self->proxy_;
  RequestFaultPicker picker(proxy, seed);
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await self->client_.async_read_some(asio::buffer(buf), use_nothrow);
    if (self->closing_ || self->close_after_flush_) co_return;
    if (ec == asio::error::eof) {
      // A half-closed client still gets the replies to the commands it sent.
      self->close_after_flush_ = true;
      self->wake_.cancel();
      co_return;
    }
    if (ec) {
      self->close(CloseReason::client_closed);
      co_return;
    }
    self->last_activity_ = Clock::now();
    proxy.counters().bytes_upstream->Increment(static_cast<double>(n));
    self->parser_.feed(buf.data(), n);
    std::string out;  // this batch's commands, forwarded in one write (pipelining kept)
    bool cut_after_forward = false;
    bool drop_now = false;
    bool protocol_error = false;
    std::vector<std::string> args;
    for (;;) {
      std::string error;
      const auto status = self->parser_.next(args, error);
      if (status == RedisRequestParser::Status::need_more) break;
      if (status == RedisRequestParser::Status::error) {
        // Redis answers the commands before the bad one, then the error, then closes.
        Slot s;
        s.ready = true;
        s.reply = std::move(error);
        self->slots_.push_back(std::move(s));
        protocol_error = true;
        break;
      }
      std::vector<const char*> argv;
      std::vector<std::size_t> argl;
      for (const auto& a : args) {
        argv.push_back(a.data());
        argl.push_back(a.size());
      }
      std::string name(argv[0], argl[0]);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      proxy.counters().requests->Increment();
      RequestInfo info{name, {}, {}};
      auto faults = picker.pick(info);
      const RequestPlan plan = plan_of(faults);
      Slot slot;
      slot.delay = plan.delay_request + plan.delay_response;
      slot.network_delay = plan.delay_response_from_arrival;
      if (slot.delay.count() > 0) count_injected_delay(proxy, slot.delay);
      if (slot.network_delay.count() > 0) count_injected_delay(proxy, slot.network_delay);
      if (plan.terminal) {
        using K = RequestFault::Kind;
        const auto kind = plan.terminal->kind;
        if (kind == K::error) {
          slot.ready = true;
          slot.due = Clock::now() + slot.network_delay;
          slot.reply = "-" + plan.terminal->body + "\r\n";
          self->slots_.push_back(std::move(slot));
          continue;
        }
        if (kind == K::abort) {
          drop_now = true;
          break;
        }
        if (kind == K::hang) {
          slot.hang = true;
          self->slots_.push_back(std::move(slot));
          continue;
        }
        if (kind == K::abort_upstream) cut_after_forward = true;
      }
      char* formatted = nullptr;
      const int len = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                             argl.data());
      if (len > 0) out.append(formatted, static_cast<std::size_t>(len));
      std::free(formatted);
      slot.forwarded = true;
      self->slots_.push_back(std::move(slot));
      if (cut_after_forward) break;
    }
    self->wake_.cancel();
    if (!out.empty()) {
      auto [wec, wn] = co_await asio::async_write(self->upstream_, asio::buffer(out), use_nothrow);
      if (self->closing_) co_return;
      if (wec) {
        self->close(CloseReason::upstream_closed);
        co_return;
      }
    }
    if (protocol_error) {
      self->close_after_flush_ = true;  // the writer sends the error, then closes
      self->wake_.cancel();
      co_return;
    }
    if (cut_after_forward || drop_now) {
      self->close(CloseReason::fault);
      co_return;
    }
  }
}

awaitable<void> RedisConnection::upstream_reader(std::shared_ptr<RedisConnection> self) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await self->upstream_.async_read_some(asio::buffer(buf), use_nothrow);
    if (self->closing_) co_return;
    if (ec == asio::error::eof) {
      // Replies already received (QUIT's +OK, ...) are delivered; commands still waiting for
      // an answer will never get one.
      auto lost = std::find_if(self->slots_.begin(), self->slots_.end(),
                               [](const Slot& s) { return s.forwarded && !s.ready; });
      self->slots_.erase(lost, self->slots_.end());
      self->close_after_flush_ = true;
      self->reason_after_flush_ = CloseReason::upstream_closed;
      self->wake_.cancel();
      co_return;
    }
    if (ec) {
      self->close(CloseReason::upstream_closed);
      co_return;
    }
    self->last_activity_ = Clock::now();
    self->proxy_->counters().bytes_downstream->Increment(static_cast<double>(n));
    if (redisReaderFeed(self->ureader_.get(), buf.data(), n) != REDIS_OK) {
      self->close(CloseReason::upstream_closed);
      co_return;
    }
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(self->ureader_.get(), &raw) != REDIS_OK) {
        self->close(CloseReason::upstream_closed);
        co_return;
      }
      if (!raw) break;
      ReplyPtr reply(static_cast<redisReply*>(raw));
      auto it = std::find_if(self->slots_.begin(), self->slots_.end(),
                             [](const Slot& s) { return s.forwarded && !s.ready; });
      if (it == self->slots_.end()) {
        Slot s;  // unsolicited (pub/sub): passed on in arrival order
        s.ready = true;
        encode(reply.get(), s.reply);
        self->slots_.push_back(std::move(s));
      } else {
        encode(reply.get(), it->reply);
        it->ready = true;
        if (it->network_delay.count() > 0) it->due = Clock::now() + it->network_delay;
      }
    }
    self->wake_.cancel();
  }
}

awaitable<void> RedisConnection::client_writer(std::shared_ptr<RedisConnection> self) {
  for (;;) {
    if (self->closing_) co_return;
    if (self->slots_.empty() && self->close_after_flush_) {
      self->close(self->reason_after_flush_);
      co_return;
    }
    if (self->slots_.empty() || !self->slots_.front().ready || self->slots_.front().hang) {
      self->wake_.expires_at(Clock::time_point::max());
      co_await self->wake_.async_wait(use_nothrow);
      continue;
    }
    if (self->slots_.front().delay.count() > 0) {
      self->delay_.expires_after(self->slots_.front().delay);
      self->slots_.front().delay = {};
      co_await self->delay_.async_wait(use_nothrow);
      continue;
    }
    if (self->slots_.front().due > Clock::now()) {
      // A "network" delay: later replies, which arrived later, are due later too.
      self->delay_.expires_at(self->slots_.front().due);
      co_await self->delay_.async_wait(use_nothrow);
      continue;
    }
    std::string out;
    const auto now = Clock::now();
    while (!self->slots_.empty() && self->slots_.front().ready && !self->slots_.front().hang &&
           self->slots_.front().delay.count() == 0 && self->slots_.front().due <= now) {
      out += self->slots_.front().reply;
      self->slots_.pop_front();
    }
    auto [ec, n] = co_await asio::async_write(self->client_, asio::buffer(out), use_nothrow);
    if (self->closing_) co_return;
    if (ec) {
      self->close(CloseReason::client_closed);
      co_return;
    }
    self->last_activity_ = Clock::now();
  }
}

awaitable<void> RedisConnection::watcher(std::shared_ptr<RedisConnection> self) {
  const auto idle = self->proxy_->env().idle_timeout;
  for (;;) {
    self->idle_.expires_at(self->last_activity_ + idle);
    co_await self->idle_.async_wait(use_nothrow);
    if (self->closing_) co_return;
    if (Clock::now() >= self->last_activity_ + idle) {
      self->close(CloseReason::idle_timeout);
      co_return;
    }
  }
}

awaitable<void> RedisConnection::run(std::shared_ptr<RedisConnection> self, std::uint64_t seed) {
  Proxy& proxy = *self->proxy_;
  const auto tls = proxy.tls();
  if (tls && tls->server) {
    Rng chaos_rng(seed ^ 0x5851f42d4c957f2dULL);  // apart from the command draws
    if (!co_await accept_tls(proxy, *tls, self->client_, chaos_rng)) {
      self->close(CloseReason::tls_failed);
      co_return;
    }
    if (self->closing_) co_return;
  }
  const std::string upstream = proxy.upstream();
  auto [ec, sock] = co_await connect_upstream(upstream, proxy.env().connect_timeout);
  if (self->closing_) co_return;
  if (ec) {
    self->proxy_->counters().connect_errors->Increment();
    self->close(CloseReason::upstream_connect_failed);
    co_return;
  }
  self->upstream_.next_layer() = std::move(sock);
  error_code ignored;
  self->upstream_.socket().set_option(tcp::no_delay(true), ignored);
  if (tls && tls->client && !co_await originate_tls(proxy, *tls, self->upstream_, upstream)) {
    self->close(CloseReason::tls_failed);
    co_return;
  }
  if (self->closing_) co_return;
  auto ex = self->client_.get_executor();
  asio::co_spawn(ex, client_reader(self, seed), log_exception("proxy redis client reader"));
  asio::co_spawn(ex, upstream_reader(self), log_exception("proxy redis upstream reader"));
  asio::co_spawn(ex, client_writer(self), log_exception("proxy redis writer"));
  asio::co_spawn(ex, watcher(self), log_exception("proxy redis watcher"));
}

std::atomic<std::uint64_t> g_redis_connections{0};

}  // namespace

void start_redis_connection(std::shared_ptr<Proxy> proxy, tcp::socket client) {
  const std::uint64_t seed = connection_seed(*proxy, 0xa0761d6478bd642fULL, g_redis_connections);
  spawn_connection<RedisConnection>(std::move(proxy), std::move(client), seed,
                                    "proxy redis connection");
}

}  // namespace faultline::proxy
