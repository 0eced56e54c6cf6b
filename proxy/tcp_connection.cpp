// The protocol-tcp connection engine (see tcp_connection.hpp).
#include "proxy/tcp_connection.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <deque>
#include <tuple>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "common/co_spawn.hpp"
#include "common/tls.hpp"
#include "proxy/proxied_connection.hpp"
#include "proxy/stage_links.hpp"
#include "proxy/tls_handshake.hpp"
#include "proxy/tls_socket.hpp"

namespace faultline::proxy {

namespace {

// Bytes a direction may hold in its queue (delayed by toxics) before the reader stops reading;
// TCP flow control then pushes back on the sender.
constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;
constexpr std::size_t kReadBuffer = 64 * 1024;

// One read buffer per worker thread: a connection only borrows it between a readiness wait and
// the copy/send that follows, so idle connections hold no buffer at all.
thread_local std::array<char, kReadBuffer> tls_buffer;

// splice(2) for toxic-free bulk transfer. A direction starts splicing after a read filled the whole
// buffer (bulk data; request/response traffic in small messages keeps the copy path and never pays
// for a pipe), through its own pipe, socket → pipe → socket. The pipe is drained completely
// before the next read, so at every read the reader can choose again: a toxic added to a live
// connection (Toxiproxy applies new toxics to open connections) takes the next chunk through the
// user-space path and the toxic's stages, and removing it lets splicing resume.
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

using Item = StreamItem;

class TcpConnection : public ProxiedConnection, public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(std::shared_ptr<Proxy> proxy, tcp::socket client)
      : ProxiedConnection(std::move(proxy)),
        client_(std::move(client)),
        upstream_(client_.get_executor()),
        watch_(client_.get_executor()),
        dirs_{Dir(client_.get_executor()), Dir(client_.get_executor())},
        rng_(0) {
    for (auto& dir : dirs_)
      dir.no_pipe = !proxy_->env().splice;  // --no-splice: always copy
  }
  ~TcpConnection() override {
    for (auto& dir : dirs_)
      if (dir.pipe_r >= 0) {
        ::close(dir.pipe_r);
        ::close(dir.pipe_w);
      }
  }

  void close_async(CloseReason reason) override {
    asio::post(client_.get_executor(),
               [self = shared_from_this(), reason] { self->abort(reason); });
  }
  void toxics_changed_async() override {
    asio::post(client_.get_executor(), [self = shared_from_this()] {
      if (self->closing_) return;
      self->refresh_links();
      self->watch_.cancel();
    });
  }

  static awaitable<void> run(std::shared_ptr<TcpConnection> self, std::uint64_t seed);

 private:
  struct Dir {
    explicit Dir(const asio::any_io_executor& ex) : data_ready(ex), space_ready(ex), due(ex) {}
    StageLinks links;
    std::deque<Item> queue;
    std::size_t queued_bytes = 0;
    bool writer_busy = false;
    bool eof_sent = false;
    bool eof_held = false;           // the source's EOF, held back by a stage (timeout, hang)
    asio::steady_timer data_ready;   // cancelled to wake the writer
    asio::steady_timer space_ready;  // cancelled to wake the reader
    asio::steady_timer due;          // the writer's wait for the next piece's due time
    int pipe_r = -1, pipe_w = -1;    // splice pipe (created on the first full-buffer read)
    bool no_pipe = false;  // --no-splice, or creating a pipe failed (e.g. EMFILE): keep copying
  };

  static awaitable<void> reader(std::shared_ptr<TcpConnection> self, int d);
  // Moves one chunk src → pipe → dst with splice(2); false when the connection ended.
  static awaitable<bool> splice_chunk(std::shared_ptr<TcpConnection> self, int d);
  static awaitable<void> writer(std::shared_ptr<TcpConnection> self, int d);
  static awaitable<void> watcher(std::shared_ptr<TcpConnection> self);
  // TLS with the client / the upstream when the proxy terminates / originates it; false when
  // the connection ended.
  static awaitable<bool> accept_tls(std::shared_ptr<TcpConnection> self);
  static awaitable<bool> originate_tls(std::shared_ptr<TcpConnection> self, std::string upstream);

  tcp::socket& src(int d) { return d == 0 ? client_ : upstream_; }
  tcp::socket& dst(int d) { return d == 0 ? upstream_ : client_; }
  // The TLS of the source/destination of direction `d` (null: plain TCP).
  TlsSocket* src_tls(int d) { return d == 0 ? ctls_.get() : utls_.get(); }
  TlsSocket* dst_tls(int d) { return d == 0 ? utls_.get() : ctls_.get(); }
  // The reason a failure on the socket of side `d`'s source/destination means.
  static CloseReason side_reason(bool client_side) {
    return client_side ? CloseReason::client_closed : CloseReason::upstream_closed;
  }

  void refresh_links();
  bool any_active(int d) const { return dirs_[d].links.any_active(); }
  bool holds_eof(int d) const { return dirs_[d].links.holds_eof(); }
  void push(int d, Item item) {
    dirs_[d].queued_bytes += item.bytes.size();
    dirs_[d].queue.push_back(std::move(item));
    dirs_[d].data_ready.cancel();
  }
  void abort(CloseReason reason, bool rst = false);
  void direction_done(int d, CloseReason why);

  tcp::socket client_;
  tcp::socket upstream_;
  std::shared_ptr<const TlsRuntime> tls_;  // the proxy's TLS when the connection started
  std::unique_ptr<TlsSocket> ctls_;        // declared after the sockets: freed before them
  std::unique_ptr<TlsSocket> utls_;
  asio::steady_timer watch_;
  std::array<Dir, 2> dirs_;  // 0: upstream (client → server), 1: downstream (server → client)
  Rng rng_;
  std::uint64_t seen_generation_ = 0;
  Clock::time_point last_activity_ = Clock::now();
  bool closing_ = false;
  bool first_close_recorded_ = false;
};

void TcpConnection::refresh_links() {
  const std::uint64_t gen = proxy_->generation();
  if (gen == seen_generation_) return;
  seen_generation_ = gen;
  auto list = proxy_->toxics();
  const auto now = Clock::now();
  for (int d = 0; d < 2; ++d) {
    const Stream stream = d == 0 ? Stream::upstream : Stream::downstream;
    dirs_[d].links.refresh(*proxy_, *list, stream, StageLinks::Kind::tcp, rng_, now);
    if (dirs_[d].eof_held && !holds_eof(d)) {  // the toxic holding the EOF was removed
      dirs_[d].eof_held = false;
      push(d, Item{now, Item::Kind::eof, {}});
    }
  }
}

void TcpConnection::abort(CloseReason reason, bool rst) {
  if (closing_) return;
  closing_ = true;
  if (!first_close_recorded_) {
    first_close_recorded_ = true;
    reason_ = reason;
  }
  error_code ec;
  if (rst) {
    client_.set_option(asio::socket_base::linger(true, 0), ec);
    upstream_.set_option(asio::socket_base::linger(true, 0), ec);
  }
  client_.close(ec);
  upstream_.close(ec);
  watch_.cancel();
  for (auto& dir : dirs_) {
    dir.data_ready.cancel();
    dir.space_ready.cancel();
    dir.due.cancel();
    dir.links.clear();  // releases fault slots now
  }
}

void TcpConnection::direction_done(int d, CloseReason why) {
  if (!first_close_recorded_) {
    first_close_recorded_ = true;
    reason_ = why;
  }
  dirs_[d].eof_sent = true;
  if (dirs_[0].eof_sent && dirs_[1].eof_sent) abort(reason_);
}

awaitable<void> TcpConnection::reader(std::shared_ptr<TcpConnection> self, int d) {
  Dir& dir = self->dirs_[d];
  tcp::socket& src = self->src(d);
  tcp::socket& dst = self->dst(d);
  prometheus::Counter* bytes =
      d == 0 ? self->proxy_->counters().bytes_upstream : self->proxy_->counters().bytes_downstream;
  const bool src_is_client = d == 0;
  TlsSocket* stls = self->src_tls(d);
  TlsSocket* dtls = self->dst_tls(d);
  TlsSocket::Want want = TlsSocket::Want::read;  // what the next TLS read waits for
  // TLS: OpenSSL may hold records it already read from the socket (read-ahead, or data that came
  // with the handshake), which no readiness wait would announce. So read without waiting first
  // and after every read that returned data; wait only once OpenSSL asked for more (WANT_READ /
  // WANT_WRITE). (SSL_has_pending() is no guide: it is also true for half a record, which would
  // spin here until the rest arrived, starving the thread.)
  bool tls_may_have_more = stls != nullptr;
  for (;;) {
    if (!tls_may_have_more) {
      auto [wec] = co_await src.async_wait(
          want == TlsSocket::Want::write ? tcp::socket::wait_write : tcp::socket::wait_read,
          use_nothrow);
      if (self->closing_) co_return;
      if (wec) {
        self->abort(side_reason(src_is_client));
        co_return;
      }
    }
    self->refresh_links();
    if (dir.pipe_w >= 0 && !self->any_active(d) && dir.queue.empty() && !dir.writer_busy) {
      if (!co_await splice_chunk(self, d)) co_return;
      continue;
    }
    error_code ec;
    std::size_t n = 0;
    if (stls) {
      want = TlsSocket::Want::nothing;
      n = stls->read(tls_buffer.data(), kReadBuffer, want, ec);
      tls_may_have_more = !ec && n > 0;
      if (!ec && n == 0) {
        if (want == TlsSocket::Want::nothing) want = TlsSocket::Want::read;
        continue;
      }
      want = TlsSocket::Want::read;
    } else {
      n = src.read_some(asio::buffer(tls_buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    }
    const auto now = Clock::now();
    self->last_activity_ = now;
    if (ec == asio::error::eof) {
      // Half-close: pass the EOF on once everything before it is written (slow_close may wait).
      if (self->holds_eof(d)) {
        dir.eof_held = true;
        co_return;
      }
      const Clock::duration extra = dir.links.on_eof();
      self->push(d, Item{now + extra, Item::Kind::eof, {}});
      co_return;
    }
    if (ec) {
      self->abort(side_reason(src_is_client));
      co_return;
    }
    bytes->Increment(static_cast<double>(n));

    if (!self->any_active(d) && dir.queue.empty() && !dir.writer_busy) {
      if (n == kReadBuffer && dir.pipe_w < 0 && !dir.no_pipe) {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
          dir.pipe_r = fds[0];
          dir.pipe_w = fds[1];
        } else {
          dir.no_pipe = true;
        }
      }
      // Fast path: no toxic on this direction and nothing queued: send now.
      std::size_t sent = 0;
      if (dtls) {
        TlsSocket::Want w = TlsSocket::Want::nothing;
        sent = dtls->write(tls_buffer.data(), n, w, ec);
      } else {
        sent = dst.send(asio::buffer(tls_buffer.data(), n), 0, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          sent = 0;
          ec = {};
        }
      }
      if (ec) {
        self->abort(side_reason(!src_is_client));
        co_return;
      }
      if (sent < n) {
        std::string rest(tls_buffer.data() + sent, n - sent);
        dir.writer_busy = true;
        error_code xec;
        if (dtls)
          xec = co_await dtls->write_all(dst, rest.data(), rest.size());
        else
          std::tie(xec, std::ignore) =
              co_await asio::async_write(dst, asio::buffer(rest), use_nothrow);
        dir.writer_busy = false;
        if (self->closing_) co_return;
        if (xec) {
          self->abort(side_reason(!src_is_client));
          co_return;
        }
        self->last_activity_ = Clock::now();
      }
      continue;
    }

    std::vector<Piece> pieces;
    pieces.push_back(Piece{now, std::string(tls_buffer.data(), n)});
    StreamEffects fx;
    dir.links.on_data(pieces, now, fx);
    if (fx.added_delay.count() > 0)
      self->proxy_->counters().injected_delay->Increment(
          std::chrono::duration<double>(fx.added_delay).count());
    for (auto& p : pieces)
      self->push(d, Item{p.due, Item::Kind::data, std::move(p.bytes)});
    if (fx.close_at) self->push(d, Item{*fx.close_at, Item::Kind::close, {}});
    if (fx.reset_at) self->push(d, Item{*fx.reset_at, Item::Kind::reset, {}});

    while (dir.queued_bytes > kMaxQueuedBytes && !self->closing_) {
      dir.space_ready.expires_at(Clock::time_point::max());
      co_await dir.space_ready.async_wait(use_nothrow);
    }
    if (self->closing_) co_return;
  }
}

awaitable<bool> TcpConnection::splice_chunk(std::shared_ptr<TcpConnection> self, int d) {
  Dir& dir = self->dirs_[d];
  tcp::socket& src = self->src(d);
  tcp::socket& dst = self->dst(d);
  const bool src_is_client = d == 0;
  const ssize_t n =
      ::splice(src.native_handle(), nullptr, dir.pipe_w, nullptr, kReadBuffer, kSpliceFlags);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) co_return true;  // spurious readiness
    self->abort(side_reason(src_is_client));
    co_return false;
  }
  const auto now = Clock::now();
  self->last_activity_ = now;
  if (n == 0) {
    // EOF with no toxic and nothing queued: the writer passes it on at once.
    self->push(d, Item{now, Item::Kind::eof, {}});
    co_return false;
  }
  (d == 0 ? self->proxy_->counters().bytes_upstream : self->proxy_->counters().bytes_downstream)
      ->Increment(static_cast<double>(n));
  auto left = static_cast<std::size_t>(n);
  while (left > 0) {
    const ssize_t m =
        ::splice(dir.pipe_r, nullptr, dst.native_handle(), nullptr, left, kSpliceFlags);
    if (m > 0) {
      left -= static_cast<std::size_t>(m);
      continue;
    }
    if (m < 0 && (errno == EAGAIN || errno == EINTR)) {
      // The destination is full: wait for room (the idle watcher bounds this wait).
      dir.writer_busy = true;
      auto [wec] = co_await dst.async_wait(tcp::socket::wait_write, use_nothrow);
      dir.writer_busy = false;
      if (self->closing_) co_return false;
      if (wec) {
        self->abort(side_reason(!src_is_client));
        co_return false;
      }
      continue;
    }
    self->abort(side_reason(!src_is_client));
    co_return false;
  }
  self->last_activity_ = Clock::now();
  co_return true;
}

awaitable<void> TcpConnection::writer(std::shared_ptr<TcpConnection> self, int d) {
  Dir& dir = self->dirs_[d];
  tcp::socket& dst = self->dst(d);
  const bool dst_is_client = d == 1;
  TlsSocket* dtls = self->dst_tls(d);
  for (;;) {
    while (dir.queue.empty()) {
      dir.writer_busy = false;
      if (self->closing_) co_return;
      dir.data_ready.expires_at(Clock::time_point::max());
      co_await dir.data_ready.async_wait(use_nothrow);
    }
    if (self->closing_) co_return;
    dir.writer_busy = true;
    if (dir.queue.front().due > Clock::now()) {
      dir.due.expires_at(dir.queue.front().due);
      co_await dir.due.async_wait(use_nothrow);
      if (self->closing_) co_return;
    }
    Item item = std::move(dir.queue.front());
    dir.queue.pop_front();
    dir.queued_bytes -= item.bytes.size();
    dir.space_ready.cancel();
    switch (item.kind) {
      case Item::Kind::data: {
        error_code ec;
        if (dtls)
          ec = co_await dtls->write_all(dst, item.bytes.data(), item.bytes.size());
        else
          std::tie(ec, std::ignore) =
              co_await asio::async_write(dst, asio::buffer(item.bytes), use_nothrow);
        if (self->closing_) co_return;
        if (ec) {
          self->abort(side_reason(dst_is_client));
          co_return;
        }
        self->last_activity_ = Clock::now();
        break;
      }
      case Item::Kind::eof: {
        error_code ec;
        if (dtls) dtls->send_close_notify();
        dst.shutdown(tcp::socket::shutdown_send, ec);
        self->direction_done(d, side_reason(!dst_is_client));
        dir.writer_busy = false;
        co_return;
      }
      case Item::Kind::close:
        self->abort(CloseReason::fault);
        co_return;
      case Item::Kind::reset:
        self->abort(CloseReason::fault, true);
        co_return;
    }
  }
}

awaitable<void> TcpConnection::watcher(std::shared_ptr<TcpConnection> self) {
  const auto idle = self->proxy_->env().idle_timeout;
  for (;;) {
    if (self->closing_) co_return;
    Clock::time_point deadline = self->last_activity_ + idle;
    bool fault_deadline = false;
    for (auto& dir : self->dirs_)
      if (auto t = dir.links.deadline(); t && *t < deadline) {
        deadline = *t;
        fault_deadline = true;
      }
    self->watch_.expires_at(deadline);
    auto [ec] = co_await self->watch_.async_wait(use_nothrow);
    if (self->closing_) co_return;
    if (ec) continue;  // toxics changed: recompute
    const auto now = Clock::now();
    if (fault_deadline && now >= deadline) {
      self->abort(CloseReason::fault);
      co_return;
    }
    if (now >= self->last_activity_ + idle) {
      self->abort(CloseReason::idle_timeout);
      co_return;
    }
  }
}

awaitable<void> TcpConnection::run(std::shared_ptr<TcpConnection> self, std::uint64_t seed) {
  self->rng_ = Rng(seed);
  // Toxics are linked (and toxicity drawn) when the client connects, before the upstream is
  // dialled.
  self->refresh_links();
  self->tls_ = self->proxy_->tls();
  if (self->tls_) {
    for (auto& dir : self->dirs_)
      dir.no_pipe = true;  // TLS bytes pass through user space
  }
  if (self->tls_ && self->tls_->server && !co_await accept_tls(self)) co_return;
  const std::string upstream = self->proxy_->upstream();
  auto [ec, sock] = co_await connect_upstream(upstream, self->proxy_->env().connect_timeout);
  if (self->closing_) co_return;
  if (ec) {
    spdlog::debug("proxy: upstream {} unreachable: {}", upstream, ec.message());
    self->proxy_->counters().connect_errors->Increment();
    self->abort(CloseReason::upstream_connect_failed);
    co_return;
  }
  self->upstream_ = std::move(sock);
  error_code ignored;
  self->upstream_.set_option(tcp::no_delay(true), ignored);
  self->upstream_.non_blocking(true, ignored);
  self->client_.non_blocking(true, ignored);
  if (self->tls_ && self->tls_->client && !co_await originate_tls(self, upstream)) co_return;
  self->last_activity_ = Clock::now();
  auto ex = self->client_.get_executor();
  for (int d = 0; d < 2; ++d) {
    asio::co_spawn(ex, reader(self, d), log_exception("proxy tcp reader"));
    asio::co_spawn(ex, writer(self, d), log_exception("proxy tcp writer"));
  }
  asio::co_spawn(ex, watcher(self), log_exception("proxy tcp watcher"));
}

awaitable<bool> TcpConnection::accept_tls(std::shared_ptr<TcpConnection> self) {
  Proxy& proxy = *self->proxy_;
  HandshakeChaos chaos = draw_handshake_chaos(proxy, self->rng_);
  if (chaos.fault.delay.count() > 0) {
    // tls_handshake_delay: the client hello waits unanswered (the timeout starts after it).
    self->watch_.expires_after(chaos.fault.delay);
    co_await self->watch_.async_wait(use_nothrow);
    if (self->closing_) co_return false;
  }
  self->ctls_ = std::make_unique<TlsSocket>(self->tls_->server->native_handle());
  self->ctls_->attach(self->client_, true);
  arm_server_chaos(self->ctls_->ssl(), *self->tls_, chaos.fault, local_address(self->client_),
                   proxy.counters());
  HandshakeScope scope(proxy, self->client_, TlsSide::client);
  const error_code ec = co_await self->ctls_->handshake(self->client_);
  if (!scope.finish(ec, self->ctls_->ssl())) {
    self->abort(CloseReason::tls_failed);
    co_return false;
  }
  co_return !self->closing_;
}

awaitable<bool> TcpConnection::originate_tls(std::shared_ptr<TcpConnection> self,
                                             std::string upstream) {
  self->utls_ = std::make_unique<TlsSocket>(self->tls_->client->native_handle());
  self->utls_->attach(self->upstream_, false);
  const std::string err = tls::prepare_client_ssl(self->utls_->ssl(), self->tls_->client_config,
                                                  upstream_host(upstream));
  HandshakeScope scope(*self->proxy_, self->upstream_, TlsSide::upstream);
  error_code ec = asio::error::invalid_argument;
  if (err.empty()) ec = co_await self->utls_->handshake(self->upstream_);
  if (!scope.finish(ec, self->utls_->ssl())) {
    self->abort(CloseReason::tls_failed);
    co_return false;
  }
  co_return !self->closing_;
}

std::atomic<std::uint64_t> g_connection_counter{0};

}  // namespace

void start_tcp_connection(std::shared_ptr<Proxy> proxy, tcp::socket client) {
  const std::uint64_t seed = connection_seed(*proxy, 0x9e3779b97f4a7c15ULL, g_connection_counter);
  spawn_connection<TcpConnection>(std::move(proxy), std::move(client), seed,
                                  "proxy tcp connection");
}

}  // namespace faultline::proxy
