#include "common/http_client.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/co_spawn.hpp"
#include "common/tls.hpp"

namespace faultline {

namespace http = boost::beast::http;

std::optional<std::string> HttpClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (boost::algorithm::iequals(k, name)) return v;
  return std::nullopt;
}

namespace {

// Writes the request and reads the response on a connected (and, for TLS, handshaken) stream.
template <class Stream>
awaitable<std::pair<error_code, HttpClientResponse>> exchange(Stream& stream,
                                                              const HostPort& server,
                                                              HttpClientRequest& request) {
  HttpClientResponse out;
  http::request<http::string_body> req;
  auto verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown)
    req.method_string(request.method);
  else
    req.method(verb);
  req.target(request.target);
  req.version(11);
  req.set(http::field::host, server.to_string());
  req.set(http::field::user_agent, "faultline");
  for (const auto& [k, v] : request.headers)
    req.set(k, v);
  req.body() = std::move(request.body);
  req.keep_alive(false);
  req.prepare_payload();

  auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
  if (wec) co_return std::make_pair(wec, out);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  auto [pec, pn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
  if (pec) co_return std::make_pair(pec, out);
  auto res = parser.release();
  out.status = res.result_int();
  out.body = std::move(res.body());
  for (const auto& f : res)
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  co_return std::make_pair(error_code{}, std::move(out));
}

}  // namespace

awaitable<std::pair<error_code, HttpClientResponse>> http_fetch(HostPort server,
                                                                HttpClientRequest request) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(server.host, std::to_string(server.port), use_nothrow);
  if (rec) co_return std::make_pair(rec, HttpClientResponse{});

  beast::tcp_stream stream(executor);
  stream.expires_after(request.timeout);
  auto [cec, ep] = co_await stream.async_connect(endpoints, use_nothrow);
  if (cec) co_return std::make_pair(cec, HttpClientResponse{});

  std::pair<error_code, HttpClientResponse> result;
  if (request.tls) {
    // The deadline set above still bounds the handshake, the write and the read.
    asio::ssl::stream<beast::tcp_stream&> tls_stream(stream, *request.tls);
    tls::ClientConfig check;
    check.verify = SSL_CTX_get_verify_mode(request.tls->native_handle()) != SSL_VERIFY_NONE;
    if (auto why = tls::prepare_client_ssl(tls_stream.native_handle(), check, server.host);
        !why.empty())
      co_return std::make_pair(asio::error::invalid_argument, HttpClientResponse{});
    auto [hec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (hec) co_return std::make_pair(hec, HttpClientResponse{});
    result = co_await exchange(tls_stream, server, request);
  } else {
    result = co_await exchange(stream, server, request);
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

std::pair<error_code, HttpClientResponse> http_fetch_sync(const HostPort& server,
                                                          HttpClientRequest request) {
  asio::io_context ioc(1);
  std::pair<error_code, HttpClientResponse> result;
  asio::co_spawn(ioc, http_fetch(server, std::move(request)),
                 [&result](std::exception_ptr ep, std::pair<error_code, HttpClientResponse> r) {
                   if (ep)
                     LogException{"http_fetch_sync"}(ep);
                   else
                     result = std::move(r);
                 });
  ioc.run();
  return result;
}

}  // namespace faultline
