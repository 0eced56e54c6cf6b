// RESP request fidelity of the protocol-redis engine: every input is sent both to a real
// redis-server and through the proxy, and the two answers (bytes, then how the connection ended)
// must be identical — accepted inputs (inline commands, a bare CRLF, empty multibulks) and
// rejected ones (wrong argument type, oversized bulk, bad lengths, unbalanced quotes), plus replies
// to a half-closed client and redis-cli --pipe.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

struct Answer {
  std::string bytes;
  std::string how;
};

Answer exchange(unsigned short port, const std::string& input) {
  Client c(port, 3000ms);
  EXPECT_TRUE(c.connected());
  c.send_all(input);
  Answer a;
  a.bytes = c.read_to_end(&a.how);
  return a;
}

class RedisProtocol : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = h_.create("cache", "127.0.0.1:" + std::to_string(redis_.port()), "redis");
    ASSERT_NE(port_, 0);
  }
  void expect_same(const std::string& input) {
    SCOPED_TRACE(::testing::PrintToString(input));
    const Answer direct = exchange(redis_.port(), input);
    const Answer proxied = exchange(port_, input);
    EXPECT_EQ(proxied.bytes, direct.bytes);
    EXPECT_EQ(proxied.how, direct.how);
    EXPECT_EQ(direct.how, "eof");  // every input here ends with QUIT or a protocol error
  }
  test::RedisServer redis_;
  Harness h_;
  unsigned short port_ = 0;
};

}  // namespace

TEST_F(RedisProtocol, AcceptsWhatRedisAccepts) {
  expect_same("\r\nPING\r\nQUIT\r\n");  // a bare CRLF is an empty inline command: ignored
  expect_same("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\nQUIT\r\n");
  expect_same("SET k \"a b\\x41\"\nGET k\r\nECHO 'it''s'\r\nQUIT\r\n");
  expect_same("*2\r\n$4\r\nECHO\r\n$0\r\n\r\nquit\r\n");
}

TEST_F(RedisProtocol, RejectsWhatRedisRejectsAndCloses) {
  expect_same("*1\r\n*1\r\n$4\r\nPING\r\n");
  expect_same("*2\r\n$4\r\nECHO\r\n:5\r\n");
  expect_same("*2\r\n$4\r\nECHO\r\n+hi\r\n");
  expect_same("*1\r\n$1073741824\r\n");
  expect_same("*1\r\n$-1\r\n");
  expect_same("*x\r\n");
  expect_same("*1\r\n$4\r\nPING\r\n*1\r\n$+4\r\n");  // PONG first, then the error
  expect_same("SET k \"unbalanced\r\n");
  expect_same("ECHO \"a\"b\r\n");
}

TEST_F(RedisProtocol, HalfClosedClientStillGetsItsReplies) {
  Client c(port_, 3000ms);
  ASSERT_TRUE(c.connected());
  c.send_all("*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$2\r\nhc\r\n$1\r\n1\r\n");
  c.shutdown_write();
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "+PONG\r\n+OK\r\n");
  EXPECT_EQ(how, "eof");
  EXPECT_EQ(exchange(redis_.port(), "GET hc\r\nQUIT\r\n").bytes, "$1\r\n1\r\n+OK\r\n");
}

TEST_F(RedisProtocol, RedisCliPipeMode) {
  const std::string cmd = "printf 'SET p1 a\\r\\nSET p2 b\\r\\n' | redis-cli -h 127.0.0.1 -p " +
                          std::to_string(port_) + " --pipe 2>&1";
  std::FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("errors: 0, replies: 2"), std::string::npos) << out;
}
