// Relaying an HTTP message body as it arrives (docs/design/issue-24.md §1.2): a `BodySource`
// yields the decoded bytes of a body, a `BodySink` writes them framed for the other side, and
// `relay_body` moves one to the other, one read at a time: read → write → read. No body is ever
// held whole; the memory per exchange is one read buffer, and a peer that stops reading stops the
// relay, so TCP flow control back-pressures the other peer by itself.
//
// The HTTP/1 pair: `H1BodySource` decodes with Beast's parser over a `buffer_body` (Beast's relay
// pattern: the head already read, each read lands in a caller-owned buffer), `H1BodySink` writes
// Content-Length and close-delimited bodies as they are, chunked ones re-chunked per read (chunk
// extensions and trailers are dropped). A later transport (HTTP/2, #25) plugs in its own pair.
// Every read and write runs under the idle timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <prometheus/counter.h>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "common/net.hpp"
#include "proxy/body_pipeline.hpp"
#include "proxy/tls_stream.hpp"

namespace faultline::proxy {

namespace http = beast::http;

// The stream of both sides of the http engine.
using HttpStream = MaybeTlsStream<beast::tcp_stream>;

// The read buffer of a body relay (one per direction and connection, made at its first body).
inline constexpr std::size_t kBodyBufferSize = 64 * 1024;

// Some decoded bytes of a body.
struct BodyChunk {
  std::string_view bytes;  // valid until the source's next call
  bool last = false;       // the body ends after these bytes
};

class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next bytes of the body (empty with `last` for a body that ends without more). An error:
  // the body ended before its end (the bytes returned with it arrived before the error).
  virtual awaitable<std::pair<error_code, BodyChunk>> next() = 0;
  // Whether next() can make progress without waiting for the network.
  virtual bool buffered() const = 0;
};

class BodySink {
 public:
  virtual ~BodySink() = default;
  // Writes `bytes` (not empty); `last`: they end the body (written with them, so a small body
  // goes out in one write).
  virtual awaitable<error_code> write(std::string_view bytes, bool last) = 0;
  // Ends the body when no write did.
  virtual awaitable<error_code> finish() = 0;
  // Writes what the sink holds back (a head waiting to go out with the first body bytes).
  virtual awaitable<error_code> flush() = 0;
};

// The decoded body of an HTTP/1 message whose head `parser` has read from `stream` (bytes read
// ahead in `buffer`). Each read lands in `scratch` (`size` bytes); `wire_bytes`, when set, counts
// the bytes consumed from the stream.
template <bool isRequest>
class H1BodySource final : public BodySource {
 public:
  using Parser = http::parser<isRequest, http::buffer_body>;
  H1BodySource(HttpStream& stream, beast::flat_buffer& buffer, Parser& parser, char* scratch,
               std::size_t size, std::chrono::milliseconds idle_timeout,
               prometheus::Counter* wire_bytes = nullptr);
  awaitable<std::pair<error_code, BodyChunk>> next() override;
  bool buffered() const override { return parser_.is_done() || buffer_.size() > 0; }

 private:
  HttpStream& stream_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  char* scratch_;
  std::size_t size_;
  std::chrono::milliseconds idle_timeout_;
  prometheus::Counter* wire_bytes_;
};

extern template class H1BodySource<true>;
extern template class H1BodySource<false>;

// A body held in memory (a recorded request's), given in one piece. `body` must outlive it.
class StringSource final : public BodySource {
 public:
  explicit StringSource(std::string_view body) : body_(body) {}
  awaitable<std::pair<error_code, BodyChunk>> next() override {
    const std::string_view out = std::exchange(body_, std::string_view());
    co_return std::pair{error_code{}, BodyChunk{out, true}};
  }
  bool buffered() const override { return true; }

 private:
  std::string_view body_;
};

// A body whose first bytes were read ahead (`prefix`, the whole body once `rest_done`), then the
// rest from `rest` (http_rewrite reads a body before it is sent, then gives it on, changed or not).
class PrefixedSource final : public BodySource {
 public:
  explicit PrefixedSource(BodySource& rest) : rest_(rest) {}
  std::string prefix;
  bool rest_done = false;  // `rest` has ended (the body is `prefix`)
  BodySource& rest() { return rest_; }
  awaitable<std::pair<error_code, BodyChunk>> next() override {
    if (!given_ && (!prefix.empty() || rest_done)) {
      given_ = true;
      co_return std::pair{error_code{}, BodyChunk{prefix, rest_done}};
    }
    co_return co_await rest_.next();
  }
  bool buffered() const override {
    return (!given_ && (!prefix.empty() || rest_done)) || rest_.buffered();
  }

 private:
  BodySource& rest_;
  bool given_ = false;
};

// How a sink frames the body on the wire.
enum class BodyFraming {
  none,     // no body (HEAD, 1xx, 204, 304, a zero length): the head alone
  raw,      // as it is: a Content-Length body, or a close-delimited one (the caller closes)
  chunked,  // re-chunked, one chunk per write, then the last chunk (no trailers)
};

// Writes `head` (the serialized head of the message, sent with the first body bytes or on
// flush()) and the body, framed, to `stream`; `written` counts the bytes written.
class H1BodySink final : public BodySink {
 public:
  H1BodySink(HttpStream& stream, std::string head, BodyFraming framing,
             std::chrono::milliseconds idle_timeout, prometheus::Counter* written = nullptr)
      : stream_(stream),
        head_(std::move(head)),
        framing_(framing),
        idle_timeout_(idle_timeout),
        written_(written) {}
  awaitable<error_code> write(std::string_view bytes, bool last) override;
  awaitable<error_code> finish() override;
  awaitable<error_code> flush() override;

 private:
  awaitable<error_code> send(const asio::const_buffer* buffers, std::size_t count);
  HttpStream& stream_;
  std::string head_;  // not sent yet while non-empty
  BodyFraming framing_;
  std::chrono::milliseconds idle_timeout_;
  prometheus::Counter* written_;
  std::string linear_;  // TLS: small gathered writes copied into one record
};

// How a relay ended.
struct RelayEnd {
  enum How {
    complete,       // the whole body was written
    source_failed,  // the body ended early on its side (peer closed or reset, a framing error)
    sink_failed,    // the other side could not be written (gone, or not reading within the idle
                    // timeout)
    truncated_by_fault,  // a body fault cut it (http_body_truncate): close the connection
    closing,             // the connection was closed meanwhile
  };
  How how = complete;
  error_code ec;                  // the source's or the sink's error
  std::uint64_t bytes = 0;        // body bytes written
  bool reset = false;             // truncated_by_fault: with a TCP RST rather than a FIN
  Clock::duration added_delay{};  // delay the body faults added (the injected-delay metric)
};

// Moves the body from `source` to `sink` until it ends or fails; `closing` is the connection's
// flag, checked after every wait. With a non-empty `faults` pipeline, each chunk goes through it
// and its pieces are written when due (waiting on `timer`, which the connection's close cancels),
// the head first when a piece has to wait.
awaitable<RelayEnd> relay_body(BodySource& source, BodySink& sink, const bool& closing,
                               BodyPipeline* faults = nullptr, asio::steady_timer* timer = nullptr);

}  // namespace faultline::proxy
