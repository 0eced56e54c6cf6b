#include "common/net.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "common/co_spawn.hpp"

namespace faultline {

bool is_disconnect(const error_code& ec) noexcept {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == asio::error::operation_aborted || ec == beast::http::error::end_of_stream ||
         ec == asio::error::not_connected || ec == asio::ssl::error::stream_truncated;
}

void LogException::operator()(std::exception_ptr ep) const {
  if (!ep) return;
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    spdlog::error("coroutine '{}' ended with an exception: {}", what, e.what());
  } catch (...) {
    spdlog::error("coroutine '{}' ended with an unknown exception", what);
  }
}

}  // namespace faultline
