// co_spawn completion handlers. Every detached coroutine in faultline ends in `log_exception`, so
// an exception escaping a coroutine (always a bug: network events are error_codes) is logged with
// the coroutine's name instead of vanishing or terminating the process.
#pragma once

#include <exception>
#include <string_view>

namespace faultline {

struct LogException {
  std::string_view what;  // a string literal naming the coroutine
  void operator()(std::exception_ptr ep) const;
};

inline LogException log_exception(std::string_view what) {
  return LogException{what};
}

}  // namespace faultline
