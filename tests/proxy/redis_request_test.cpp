// RedisRequestParser alone: the same commands whether the bytes arrive at once or one by one,
// Redis's limits, and inline splitting.
#include "proxy/redis_request.hpp"

#include <gtest/gtest.h>

using faultline::proxy::RedisRequestParser;
using faultline::proxy::split_inline_args;
using Status = RedisRequestParser::Status;

namespace {

// Every command (joined with '|', arguments with ' ') and the error, if any.
std::string parse_all(const std::string& input, bool byte_by_byte) {
  RedisRequestParser p;
  std::string out;
  auto drain = [&]() {
    for (;;) {
      std::vector<std::string> argv;
      std::string error;
      const Status s = p.next(argv, error);
      if (s == Status::need_more) return true;
      if (s == Status::error) {
        out += "ERR:" + error;
        return false;
      }
      std::string cmd;
      for (const auto& a : argv)
        cmd += (cmd.empty() ? "" : " ") + a;
      out += cmd + "|";
    }
  };
  if (byte_by_byte) {
    for (char c : input) {
      p.feed(&c, 1);
      if (!drain()) break;
    }
  } else {
    p.feed(input.data(), input.size());
    drain();
  }
  return out;
}

}  // namespace

TEST(RedisRequest, SameCommandsAtOnceOrByteByByte) {
  const std::string input =
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\r\nPING\r\n*0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n"
      "ECHO \"x\\ty\"\n*1\r\n$4\r\nPING\r\n";
  const std::string expected = "GET k|PING|SET a |ECHO x\ty|PING|";
  EXPECT_EQ(parse_all(input, false), expected);
  EXPECT_EQ(parse_all(input, true), expected);
}

TEST(RedisRequest, RejectsLikeRedis) {
  EXPECT_EQ(parse_all("*1\r\n$536870913\r\n", true),
            "ERR:-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(parse_all("*1\r\n$01\r\n", false), "ERR:-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(parse_all("*2147483648\r\n", false),
            "ERR:-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(parse_all(std::string(70000, 'a'), false),
            "ERR:-ERR Protocol error: too big inline request\r\n");
  EXPECT_EQ(parse_all("*1\r\n" + std::string(70000, '$'), false),
            "ERR:-ERR Protocol error: too big bulk count string\r\n");
  // A bulk at the limit is waited for, not rejected.
  EXPECT_EQ(parse_all("*1\r\n$536870912\r\nabc", false), "");
}

// fuzz/findings/fuzz_resp-multibulk-oom: with hiredis's reader on the request side, one line
// "*777777771" made the proxy allocate 777,777,771 element pointers (6.2 GB) before any element
// arrived. Redis accepts the count (up to INT_MAX) and so does the parser, but it allocates only
// for the arguments that really arrive.
TEST(RedisRequest, AHugeMultibulkCountAllocatesNothingUpFront) {
  EXPECT_EQ(parse_all("*777777771\r\n$4\r\nPING\r\n", false), "");
}

TEST(RedisRequest, InlineSplitting) {
  std::vector<std::string> out;
  EXPECT_TRUE(split_inline_args("  set  'it\\'s' \"\\x41\\n\"  ", out));
  EXPECT_EQ(out, (std::vector<std::string>{"set", "it's", "A\n"}));
  out.clear();
  EXPECT_FALSE(split_inline_args("\"open", out));
  EXPECT_FALSE(split_inline_args("'a'b", out));
}
