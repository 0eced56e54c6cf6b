// See http_body.hpp.
#include "proxy/http_body.hpp"

#include <algorithm>
#include <array>
#include <span>

#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

namespace faultline::proxy {

template <bool isRequest>
H1BodySource<isRequest>::H1BodySource(HttpStream& stream, beast::flat_buffer& buffer,
                                      Parser& parser, char* scratch, std::size_t size,
                                      std::chrono::milliseconds idle_timeout,
                                      prometheus::Counter* wire_bytes)
    : stream_(stream),
      buffer_(buffer),
      parser_(parser),
      scratch_(scratch),
      size_(size),
      idle_timeout_(idle_timeout),
      wire_bytes_(wire_bytes) {
  // Not eager: Beast's read would wait for the next chunk's header once a chunk's bytes are in,
  // holding a server-sent event until the next one arrives. next() parses on by itself instead,
  // as far as the bytes already buffered go.
  parser_.eager(false);
}

template <bool isRequest>
awaitable<std::pair<error_code, BodyChunk>> H1BodySource<isRequest>::next() {
  if (parser_.is_done()) co_return std::pair{error_code{}, BodyChunk{{}, true}};
  auto& body = parser_.get().body();
  body.data = scratch_;
  body.size = size_;
  body.more = true;
  // Beast reads as much as the buffer's free capacity (at least 512 bytes): after a head that is
  // 512-byte reads, a tenth of the throughput. The body reads a scratch's worth at a time.
  if (buffer_.capacity() - buffer_.size() < size_) buffer_.reserve(buffer_.size() + size_);
  stream_.expires_after(idle_timeout_);
  auto [ec, used] = co_await http::async_read_some(stream_, buffer_, parser_, use_nothrow);
  stream_.expires_never();
  // need_buffer: scratch is full, the rest stays buffered for the next call.
  if (ec == http::error::need_buffer) ec = {};
  // What is already buffered is parsed too (small chunks, the last chunk of a small body), so a
  // small response goes on in one write; never waiting for more bytes.
  while (!ec && !parser_.is_done() && body.size > 0 && buffer_.size() > 0) {
    error_code pec;
    const std::size_t n = parser_.put(buffer_.data(), pec);
    buffer_.consume(n);
    used += n;
    if (pec == http::error::need_more || pec == http::error::need_buffer || n == 0) break;
    ec = pec;
  }
  if (wire_bytes_ && used > 0) wire_bytes_->Increment(static_cast<double>(used));
  const std::size_t got = size_ - body.size;
  co_return std::pair{ec, BodyChunk{std::string_view(scratch_, got), !ec && parser_.is_done()}};
}

template class H1BodySource<true>;
template class H1BodySource<false>;

awaitable<error_code> H1BodySink::write(std::string_view bytes, bool last) {
  std::array<asio::const_buffer, 4> buffers;
  std::size_t count = 0;
  if (!head_.empty()) buffers[count++] = asio::buffer(head_);
  if (framing_ == BodyFraming::chunked) {
    // "<hex size>\r\n" <bytes> "\r\n", then the last chunk when the body ends here.
    char size_line[20];
    std::size_t len = 0;
    for (std::size_t n = bytes.size(); n > 0 || len == 0; n >>= 4)
      size_line[len++] = "0123456789abcdef"[n & 15];
    std::reverse(size_line, size_line + len);
    size_line[len++] = '\r';
    size_line[len++] = '\n';
    static constexpr std::string_view kEnd = "\r\n";
    static constexpr std::string_view kEndAndLast = "\r\n0\r\n\r\n";
    buffers[count++] = asio::buffer(size_line, len);
    buffers[count++] = asio::buffer(bytes.data(), bytes.size());
    const std::string_view tail = last ? kEndAndLast : kEnd;
    buffers[count++] = asio::buffer(tail.data(), tail.size());
    // The array refers to size_line: sent before it goes out of scope.
    co_return co_await send(buffers.data(), count);
  }
  buffers[count++] = asio::buffer(bytes.data(), bytes.size());
  co_return co_await send(buffers.data(), count);
}

awaitable<error_code> H1BodySink::finish() {
  static constexpr std::string_view kLast = "0\r\n\r\n";
  std::array<asio::const_buffer, 2> buffers;
  std::size_t count = 0;
  if (!head_.empty()) buffers[count++] = asio::buffer(head_);
  if (framing_ == BodyFraming::chunked) buffers[count++] = asio::buffer(kLast.data(), kLast.size());
  if (count == 0) co_return error_code{};
  co_return co_await send(buffers.data(), count);
}

awaitable<error_code> H1BodySink::flush() {
  if (head_.empty()) co_return error_code{};
  const asio::const_buffer head = asio::buffer(head_);
  co_return co_await send(&head, 1);
}

awaitable<error_code> H1BodySink::send(const asio::const_buffer* buffers, std::size_t count) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i)
    total += buffers[i].size();
  // Asio's TLS stream encrypts one buffer per write: a small gathered write would become as many
  // records and sends, so it is copied into one buffer first (plain TCP gathers with writev).
  constexpr std::size_t kLinearizeBelow = 16 * 1024;
  asio::const_buffer one;
  if (count > 1 && stream_.is_tls() && total <= kLinearizeBelow) {
    linear_.clear();
    for (std::size_t i = 0; i < count; ++i)
      linear_.append(static_cast<const char*>(buffers[i].data()), buffers[i].size());
    one = asio::buffer(linear_);
    buffers = &one;
    count = 1;
  }
  stream_.expires_after(idle_timeout_);
  auto [ec, n] = co_await asio::async_write(
      stream_, std::span<const asio::const_buffer>(buffers, count), use_nothrow);
  stream_.expires_never();
  if (written_ && n > 0) written_->Increment(static_cast<double>(n));
  if (!ec) head_.clear();
  co_return ec;
}

namespace {

RelayEnd ended(RelayEnd end, RelayEnd::How how, error_code ec) {
  end.how = how;
  end.ec = ec;
  return end;
}

// Waits until `due` (a body fault's piece), the head written first so that only the body waits.
awaitable<error_code> wait_until(Clock::time_point due, BodySink& sink, asio::steady_timer& timer) {
  if (due <= Clock::now()) co_return error_code{};
  if (error_code ec = co_await sink.flush()) co_return ec;
  timer.expires_at(due);
  co_await timer.async_wait(use_nothrow);
  co_return error_code{};
}

// Writes the pieces of one chunk, each once it is due, then does what the faults asked for: the
// truncation of the body.
awaitable<RelayEnd> write_pieces(std::vector<Piece> pieces, StreamEffects fx, BodySink& sink,
                                 asio::steady_timer& timer, const bool& closing, RelayEnd end) {
  for (auto& piece : pieces) {
    if (piece.bytes.empty()) continue;
    error_code ec = co_await wait_until(piece.due, sink, timer);
    if (!ec && !closing) ec = co_await sink.write(piece.bytes, false);
    if (closing) co_return ended(end, RelayEnd::closing, ec);
    if (ec) co_return ended(end, RelayEnd::sink_failed, ec);
    end.bytes += piece.bytes.size();
  }
  if (!fx.close_at && !fx.reset_at) co_return end;
  const bool reset = fx.reset_at && (!fx.close_at || *fx.reset_at <= *fx.close_at);
  error_code ec = co_await wait_until(reset ? *fx.reset_at : *fx.close_at, sink, timer);
  // The head goes out even when the cut comes before any body byte: as with a dying server, the
  // client sees the response start, then the end of the connection.
  if (!ec && !closing) ec = co_await sink.flush();
  if (closing) co_return ended(end, RelayEnd::closing, ec);
  end.reset = reset;
  co_return ended(end, RelayEnd::truncated_by_fault, ec);
}

}  // namespace

awaitable<RelayEnd> relay_body(BodySource& source, BodySink& sink, const bool& closing,
                               BodyPipeline* faults, asio::steady_timer* timer) {
  const bool staged = faults && !faults->empty() && timer;
  RelayEnd end;
  for (;;) {
    // The head goes out at once when the body is not there yet (a server-sent event stream may
    // send its first event much later); otherwise it goes with the first bytes, in one write.
    if (!source.buffered()) {
      const error_code ec = co_await sink.flush();
      if (closing) co_return ended(end, RelayEnd::closing, ec);
      if (ec) co_return ended(end, RelayEnd::sink_failed, ec);
    }
    auto [sec, chunk] = co_await source.next();
    if (closing) co_return ended(end, RelayEnd::closing, sec);
    const bool last = !sec && chunk.last;
    error_code wec;
    if (staged && (!chunk.bytes.empty() || last || sec)) {
      // At the end (or the source's failure) the pipeline gives out what it holds: the tail of
      // an unfinished SSE event.
      StreamEffects fx;
      std::vector<Piece> pieces = faults->on_chunk(chunk.bytes, Clock::now(), fx, last || sec);
      end.added_delay += fx.added_delay;
      end = co_await write_pieces(std::move(pieces), fx, sink, *timer, closing, end);
      if (end.how != RelayEnd::complete) co_return end;
      if (last) wec = co_await sink.finish();
    } else if (!chunk.bytes.empty()) {
      wec = co_await sink.write(chunk.bytes, last);
      if (!wec) end.bytes += chunk.bytes.size();
    } else if (last) {
      wec = co_await sink.finish();
    }
    if (closing) co_return ended(end, RelayEnd::closing, wec);
    if (wec) co_return ended(end, RelayEnd::sink_failed, wec);
    if (sec) co_return ended(end, RelayEnd::source_failed, sec);
    if (last) co_return end;
  }
}

}  // namespace faultline::proxy
