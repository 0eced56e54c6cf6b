// Short names for the networking stack every component uses, and the one completion token the
// project uses everywhere: `use_nothrow` makes expected network events (EOF, reset, timeout) come
// back as error_code values in a tuple instead of exceptions.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

namespace faultline {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

template <typename T = void>
using awaitable = asio::awaitable<T>;

inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// True for the errors a peer causes by going away: EOF, reset, broken pipe, aborted, a TLS peer
// closing without close_notify (stream_truncated).
bool is_disconnect(const error_code& ec) noexcept;

}  // namespace faultline
