// Dialling the upstream, shared by every protocol engine (declared in tcp_connection.hpp).
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "proxy/tcp_connection.hpp"

namespace faultline::proxy {

awaitable<std::pair<error_code, tcp::socket>> connect_upstream(std::string upstream,
                                                               std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto hp = parse_host_port(upstream);
  if (!hp) co_return std::pair{make_error_code(asio::error::invalid_argument), tcp::socket(ex)};
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  error_code aec;
  auto addr = asio::ip::make_address(hp->host, aec);
  if (!aec) {
    auto [cec] = co_await stream.async_connect(tcp::endpoint(addr, hp->port), use_nothrow);
    if (cec) co_return std::pair{cec, tcp::socket(ex)};
  } else {
    tcp::resolver resolver(ex);
    auto [rec, results] =
        co_await resolver.async_resolve(hp->host, std::to_string(hp->port), use_nothrow);
    if (rec) co_return std::pair{rec, tcp::socket(ex)};
    auto [cec, ep] = co_await stream.async_connect(results, use_nothrow);
    if (cec) co_return std::pair{cec, tcp::socket(ex)};
  }
  stream.expires_never();
  co_return std::pair{error_code{}, stream.release_socket()};
}

}  // namespace faultline::proxy
