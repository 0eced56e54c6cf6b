// HTTP wire fidelity of the protocol-http engine, checked on raw bytes: 1xx interim responses
// (103 Early Hints, 100 Continue) from the upstream are forwarded before the final response;
// injected 204/304 go out bodiless; injected status codes carry their registered reason phrase, or
// an empty one for unregistered codes (never Beast's "<unknown-status>").
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/proxy/harness.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

// A one-connection upstream that answers the first request head with fixed bytes, then waits for
// the peer to close.
class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedUpstream() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string head;
    char ch = 0;
    while (head.find("\r\n\r\n") == std::string::npos && ::recv(c, &ch, 1, 0) == 1)
      head += ch;
    ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    while (::recv(c, &ch, 1, 0) == 1) {
    }
    ::close(c);
  }
  std::string answer_;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

// Reads until `tail` has arrived (or EOF/timeout).
std::string read_until(Client& c, const std::string& tail) {
  std::string out;
  while (out.size() < tail.size() ||
         out.compare(out.size() - tail.size(), tail.size(), tail) != 0) {
    std::string more = c.read_n(1);
    if (more.empty()) break;
    out += more;
  }
  return out;
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kGetClose = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

std::string local_answer(Harness& h, unsigned short port, const std::string& request) {
  (void)h;
  Client c(port, 3000ms);
  EXPECT_TRUE(c.connected());
  c.send_all(request);
  std::string how;
  std::string out = c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  return out;
}

}  // namespace

TEST(HttpFidelity, EarlyHintsAreForwardedThenTheFinalResponse) {
  ScriptedUpstream up(
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 3000ms);
  c.send_all(kGet);
  const std::string got = read_until(c, "\r\n\r\nok");
  EXPECT_EQ(got.rfind("HTTP/1.1 103 Early Hints\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Link: </s.css>; rel=preload\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\n\r\nHTTP/1.1 200 OK\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.substr(got.size() - 2), "ok") << got;
}

TEST(HttpFidelity, UpstreamContinueIsForwardedThenTheFinalResponse) {
  ScriptedUpstream up(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew");
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 3000ms);
  c.send_all(kGet);
  const std::string got = read_until(c, "\r\n\r\nnew");
  EXPECT_EQ(got.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n", 0), 0u) << got;
}

TEST(HttpFidelity, InjectedNoContentAndNotModifiedAreBodiless) {
  ScriptedUpstream up("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  Harness h;
  const auto port = h.create("web", up.address(), "http", {{"header_faults", true}});
  for (const char* status : {"204", "304"}) {
    const std::string got =
        local_answer(h, port,
                     "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-faultline-abort: " +
                         std::string(status) + "\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 " + std::string(status) + " ", 0), 0u) << got;
    EXPECT_EQ(got.substr(got.size() - 4), "\r\n\r\n") << got;  // nothing after the head
    EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
  }
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   {{"type", "http_error"}, {"attributes", {{"status", 204}}}})
                .status,
            200);
  // Keep-alive: two bodiless answers on one connection.
  Client c(port, 3000ms);
  c.send_all(kGet + kGet);
  const std::string two = read_until(c, "\r\n\r\nHTTP/1.1 204 No Content\r\n");
  EXPECT_EQ(two.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << two;
}

TEST(HttpFidelity, InjectedStatusesCarryTheirReasonPhrase) {
  ScriptedUpstream up("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  Harness h;
  const auto port = h.create("web", up.address(), "http", {{"header_faults", true}});
  const std::pair<const char*, const char*> cases[] = {
      {"418", "HTTP/1.1 418 I'm a teapot\r\n"},
      {"425", "HTTP/1.1 425 Too Early\r\n"},
      {"599", "HTTP/1.1 599 \r\n"},
      {"503", "HTTP/1.1 503 Service Unavailable\r\n"}};
  for (const auto& [status, line] : cases) {
    const std::string got =
        local_answer(h, port,
                     "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-faultline-abort: " +
                         std::string(status) + "\r\n\r\n");
    EXPECT_EQ(got.rfind(line, 0), 0u) << got;
  }
}

// Review finding: an injected answer to HEAD carried its body, which a keep-alive client reads as
// the start of its next response. Two HEADs on one connection must give two bare heads.
TEST(HttpFidelity, InjectedAnswerToHeadHasNoBody) {
  ScriptedUpstream up("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  Harness h;
  const auto port = h.create("web", up.address(), "http", {{"header_faults", true}});
  const std::string head = "HEAD / HTTP/1.1\r\nHost: x\r\nx-faultline-abort: 503\r\n\r\n";
  const std::string head_close =
      "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-faultline-abort: 503\r\n\r\n";
  Client c(port, 3000ms);
  c.send_all(head + head_close);
  std::string how;
  const std::string got = c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  const auto second = got.find("HTTP/1.1 503", 1);
  ASSERT_NE(second, std::string::npos) << got;
  EXPECT_EQ(got.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << got;
  EXPECT_EQ(got.substr(second - 4, 4), "\r\n\r\n") << got;   // the first head ends right there
  EXPECT_EQ(got.substr(got.size() - 4), "\r\n\r\n") << got;  // nothing after the second head
  EXPECT_NE(got.find("Content-Length: "), std::string::npos) << got;
}
