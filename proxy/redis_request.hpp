// Incremental parser of Redis client requests that accepts exactly what redis-server (7.x,
// networking.c: processMultibulkBuffer / processInlineBuffer) accepts and rejects the rest with
// Redis's own error text, so a client sees the same answer through the proxy as without it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace faultline::proxy {

class RedisRequestParser {
 public:
  enum class Status { need_more, command, error };

  void feed(const char* data, std::size_t n) { buf_.append(data, n); }
  // The next complete command into `argv` (never empty), or need_more, or error with `error` set
  // to the reply Redis sends before closing ("-ERR Protocol error: ...\r\n"). After an error the
  // parser is spent: Redis closes the connection.
  Status next(std::vector<std::string>& argv, std::string& error);

  // Redis's limits: PROTO_INLINE_MAX_SIZE and the default proto-max-bulk-len.
  static constexpr std::size_t kInlineMax = 64 * 1024;
  static constexpr long long kMaxBulk = 512LL * 1024 * 1024;

 private:
  Status fail(std::string& error, const std::string& what);
  Status parse_inline(std::vector<std::string>& argv, std::string& error);
  void compact();

  std::string buf_;
  std::size_t pos_ = 0;
  bool in_command_ = false;
  bool multibulk_ = false;
  long long args_left_ = -1;  // -1: the "*<n>" line is not read yet
  long long bulk_len_ = -1;   // -1: the "$<n>" line is not read yet
  std::vector<std::string> args_;
};

// Splits an inline command line like Redis's sdssplitargs (quotes, \xHH and \n-style escapes).
// False on unbalanced quotes or a closing quote not followed by a space.
bool split_inline_args(const std::string& line, std::vector<std::string>& out);

}  // namespace faultline::proxy
