// Fuzz target: the Redis proxy's client request parser (proxy/redis_request.hpp), the one
// redis_connection.cpp runs on every byte a client sends. The input is fed in three pieces (as
// separate reads would deliver it); every command must be non-empty, the parser must never return
// a command after an error, and memory must stay bounded by the input (ASan reports an allocation
// that is not).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/redis_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using faultline::proxy::RedisRequestParser;
  RedisRequestParser parser;
  const char* bytes = reinterpret_cast<const char*>(data);
  const std::size_t cuts[] = {0, size / 3, 2 * size / 3, size};
  std::vector<std::string> argv;
  std::string error;
  for (int piece = 0; piece < 3; ++piece) {
    parser.feed(bytes + cuts[piece], cuts[piece + 1] - cuts[piece]);
    for (;;) {
      argv.clear();
      const auto st = parser.next(argv, error);
      if (st == RedisRequestParser::Status::need_more) break;
      if (st == RedisRequestParser::Status::error) {
        if (error.rfind("-ERR ", 0) != 0) __builtin_trap();  // Redis's own error form
        return 0;                                            // the proxy closes here
      }
      if (argv.empty()) __builtin_trap();
    }
  }
  return 0;
}
