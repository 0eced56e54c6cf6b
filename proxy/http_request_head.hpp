// Reading a client's request head on the http proxy with the same framing rules as faultline's
// own HTTP server (common/http_request_rules.hpp): obsolete line folding and untrustworthy
// Transfer-Encoding are request-smuggling vectors, answered with 400 (or 501) and a close instead
// of being forwarded or dropped silently; and which parse errors get an answer at all.
#pragma once

#include <algorithm>
#include <optional>
#include <utility>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "common/http_request_rules.hpp"
#include "common/http_server.hpp"
#include "common/net.hpp"
#include "proxy/proxy_metrics.hpp"

namespace faultline::proxy {

// As http::async_read_header, but a head with obsolete line folding ends with
// http::error::bad_field. Beast parses a head only once all of it is buffered, in one put, so the
// bytes that put used are the head. Returns the error and the head's size; bytes after the head
// stay in `buffer`.
template <class Stream, class Parser>
awaitable<std::pair<error_code, std::size_t>> read_request_head(Stream& stream,
                                                                beast::flat_buffer& buffer,
                                                                Parser& parser) {
  parser.eager(false);
  while (!parser.is_header_done()) {
    if (buffer.size() > 0) {
      error_code ec;
      const std::size_t used = parser.put(buffer.data(), ec);
      if (!ec && parser.is_header_done() &&
          http_rules::has_obs_fold(asio::buffer(buffer.data().data(), used)))
        co_return std::pair{error_code(http::error::bad_field), used};
      buffer.consume(used);
      if (!ec) co_return std::pair{error_code{}, used};
      if (ec != http::error::need_more) co_return std::pair{ec, std::size_t{0}};
    }
    const std::size_t room =
        std::clamp<std::size_t>(buffer.capacity() - buffer.size(), 4096, 65536);
    auto [rec, n] = co_await stream.async_read_some(buffer.prepare(room), use_nothrow);
    if (rec == asio::error::eof || rec == asio::ssl::error::stream_truncated)
      co_return std::pair{
          error_code(parser.got_some() ? http::error::partial_message : http::error::end_of_stream),
          std::size_t{0}};
    if (rec) co_return std::pair{rec, std::size_t{0}};
    buffer.commit(n);
  }
  co_return std::pair{error_code{}, std::size_t{0}};
}

// What the proxy answers to a request it will not forward.
struct Refusal {
  HttpResponse response;
  RejectReason reason;
};

// The answer to a request whose head or body failed to parse with `ec`: 431 or 413 over a limit,
// 400 for anything malformed; nullopt when the connection simply ended (EOF, reset, a timeout, a
// client gone mid-request), which gets no answer.
inline std::optional<Refusal> refusal_for(const error_code& ec, unsigned version) {
  if (ec.category() != error_code(http::error::bad_target).category() ||
      ec == http::error::end_of_stream || ec == http::error::partial_message)
    return std::nullopt;
  if (ec == http::error::header_limit)
    return Refusal{json_error(http::status::request_header_fields_too_large,
                              "request header fields too large", version),
                   RejectReason::too_large};
  if (ec == http::error::body_limit)
    return Refusal{json_error(http::status::payload_too_large, "request body too large", version),
                   RejectReason::too_large};
  // Beast's own refusals of ambiguous framing (a coding after chunked, conflicting lengths) are
  // smuggling attempts like those framing_refusal() finds.
  const bool framing = ec == http::error::bad_transfer_encoding ||
                       ec == http::error::bad_content_length ||
                       ec == http::error::multiple_content_length;
  return Refusal{
      json_error(http::status::bad_request, "malformed request: " + ec.message(), version),
      framing ? RejectReason::framing : RejectReason::malformed};
}

// The answer to a request whose framing cannot be trusted (common's rules), or nullopt. Only a
// Transfer-Encoding can make it untrustworthy; the rules take a whole message, so a head that
// has one is copied into one.
inline std::optional<Refusal> framing_refusal(const http::request_header<>& head) {
  if (head.find(http::field::transfer_encoding) == head.end()) return std::nullopt;
  if (auto res = http_rules::framing_error(HttpRequest(head)))
    return Refusal{std::move(*res), RejectReason::framing};
  return std::nullopt;
}

}  // namespace faultline::proxy
