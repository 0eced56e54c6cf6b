// `faultline load` on the wire, end to end over loopback: error classification against servers
// that refuse / reset / hang / send garbage / answer 4xx-5xx, connect timeouts, awkward framing
// (heads split anywhere, 1xx, chunked, pipelined leftovers), and never resending a request the
// server already answered.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "common/histogram.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;

namespace {

// ---- Raw loopback servers (no HTTP library, so they can misbehave exactly as a test needs): a
// listening socket and a thread that hands each accepted connection to `serve`.
class RawListener {
 public:
  explicit RawListener(int backlog = 16) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, backlog), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  virtual ~RawListener() { ::close(fd_); }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 protected:
  virtual void serve(int c) = 0;  // owns c: closes it (or keeps it, then closes it later)
  // The last statement of a derived constructor (serve must not run before the object is whole).
  void start() {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) serve(c);
      }
    });
  }
  // The first statement of a derived destructor.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<bool> stop_{false};

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

enum class Misbehave { reset, silent, garbage };

// Reads the request, then resets, answers garbage, or never answers.
class RawServer final : public RawListener {
 public:
  explicit RawServer(Misbehave mode, int backlog = 64) : RawListener(backlog), mode_(mode) {
    start();
  }
  ~RawServer() override {
    stop();
    for (int c : held_)
      ::close(c);
  }

 private:
  void serve(int c) override {
    char buf[4096];
    pollfd pc{c, POLLIN, 0};
    if (::poll(&pc, 1, 1000) > 0) (void)::read(c, buf, sizeof buf);
    if (mode_ == Misbehave::reset) {
      linger l{1, 0};  // close with RST
      ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::close(c);
    } else if (mode_ == Misbehave::garbage) {
      const char junk[] = "this is not http\r\n\r\n";
      (void)::write(c, junk, sizeof junk - 1);
      ::close(c);
    } else {
      held_.push_back(c);  // never answer
    }
  }
  Misbehave mode_;
  std::vector<int> held_;
};

// Calls `on_head(c, head)` for every request head that arrives on a connection until the client
// closes it or on_head returns false (then the connection is closed).
template <typename OnHead>
void for_each_request_head(int c, const std::atomic<bool>& stop, OnHead on_head) {
  std::string in;
  while (!stop) {
    pollfd pc{c, POLLIN, 0};
    if (::poll(&pc, 1, 50) <= 0) continue;
    char buf[4096];
    const auto got = ::read(c, buf, sizeof buf);
    if (got <= 0) break;
    in.append(buf, static_cast<std::size_t>(got));
    for (auto end = in.find("\r\n\r\n"); end != std::string::npos; end = in.find("\r\n\r\n")) {
      const std::string head = in.substr(0, end + 4);
      in.erase(0, end + 4);
      if (!on_head(c, head)) return;
    }
  }
}

// Answers with awkward but valid framing, cycling through: a Content-Length response written one
// byte per send; a 100 Continue then a chunked response, byte by byte; two responses in one send
// (the second one answers the next request, which the server then leaves unanswered) — so the
// client must parse heads split anywhere and keep pipelined leftovers for the next request.
class AwkwardServer final : public RawListener {
 public:
  AwkwardServer() { start(); }
  ~AwkwardServer() override { stop(); }
  int answered() const { return answered_.load(); }

 private:
  static void send_bytewise(int c, const std::string& s) {
    for (char ch : s)
      if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1) return;
  }
  void serve(int c) override {
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for_each_request_head(c, stop_, [this](int fd, const std::string&) {
      switch (seen_++ % 4) {
        case 0:
          send_bytewise(fd, "HTTP/1.1 200 OK\r\nServer: awkward\r\nContent-Length: 5\r\n\r\nhello");
          break;
        case 1:
          send_bytewise(fd,
                        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: "
                        "chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n");
          break;
        case 2: {
          const std::string two =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
              "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n";
          (void)::send(fd, two.data(), two.size(), MSG_NOSIGNAL);
          break;
        }
        default:
          break;  // answered by the second half of case 2
      }
      ++answered_;
      return true;
    });
    ::close(c);
  }
  std::uint64_t seen_ = 0;  // requests seen, over all connections
  std::atomic<int> answered_{0};
};

// Answers GETs (keep-alive) and refuses every POST at its head: 413 with Connection: close, then a
// close with RST (SO_LINGER 0) without reading the body, as servers with a body limit do. Counts
// the POST heads it saw.
class EarlyRefusalServer final : public RawListener {
 public:
  EarlyRefusalServer() { start(); }
  ~EarlyRefusalServer() override { stop(); }
  int posts() const { return posts_.load(); }

 private:
  void serve(int c) override {
    for_each_request_head(c, stop_, [this](int fd, const std::string& head) {
      if (head.rfind("POST", 0) == 0) {
        ++posts_;
        const std::string refuse =
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)::send(fd, refuse.data(), refuse.size(), MSG_NOSIGNAL);
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return false;
      }
      const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      (void)::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
      return true;
    });
    ::close(c);
  }
  std::atomic<int> posts_{0};
};

}  // namespace

TEST(Load, ClassifiesErrors) {
  struct Case {
    std::string url;
    const char* kind;
  };
  RawServer reset(Misbehave::reset), silent(Misbehave::silent), garbage(Misbehave::garbage);
  // A port nobody listens on.
  std::string refused_url;
  {
    RawServer gone(Misbehave::reset);
    refused_url = gone.url();
  }
  const Case cases[] = {{refused_url, "connect_refused"},
                        {reset.url(), "reset"},
                        {silent.url(), "read_timeout"},
                        {garbage.url(), "bad_response"}};
  for (const auto& c : cases) {
    TempDir dir;
    auto [code, out] = run_faultline({"load", c.url, "--duration", "700ms", "-c", "2", "-t", "1",
                                      "--timeout", "250ms", "-q", "--out", dir.file("r.json")});
    ASSERT_EQ(code, 0) << c.kind;
    json r = read_json(dir.file("r.json"));
    EXPECT_GT(r["errors"][c.kind].get<int>(), 0) << c.kind << " " << r["errors"].dump();
    EXPECT_EQ(r["errors"][c.kind], r["requests"]["failed"]) << c.kind << r["errors"].dump();
    EXPECT_EQ(r["requests"]["ok"], 0) << c.kind;
  }
  // HTTP status classes, per request name.
  TestServer server;
  TempDir dir;
  write_file(dir.file("w.json"), R"({"mix": [{"name": "gone", "url": "/missing"},
                                             {"name": "down", "url": "/fail"},
                                             {"name": "fine", "url": "/"}]})");
  auto [code, out] =
      run_faultline({"load", server.url(), "--workload", dir.file("w.json"), "--rate", "150",
                     "--duration", "1s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  const auto& by = r["requests_by_name"];
  EXPECT_EQ(by["gone"]["errors"]["http_4xx"], by["gone"]["requests"]["total"]);
  EXPECT_EQ(by["down"]["errors"]["http_5xx"], by["down"]["requests"]["total"]);
  EXPECT_EQ(by["fine"]["requests"]["ok"], by["fine"]["requests"]["total"]);
  EXPECT_GT(by["gone"]["requests"]["total"].get<int>(), 10);
  EXPECT_EQ(r["requests"]["total"], 150);
}

TEST(Load, ParsesSplitInterimChunkedAndPipelinedResponses) {
  AwkwardServer server;
  TempDir dir;
  auto [code, out] = run_faultline({"load", server.url(), "--duration", "700ms", "-c", "1", "-t",
                                    "1", "--timeout", "2s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0) << out;
  json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r["requests"]["failed"], 0) << r["errors"].dump();
  EXPECT_EQ(r["requests"]["ok"], r["requests"]["total"]);
  EXPECT_GE(r["requests"]["total"].get<int>(), 8);  // two full cycles at least
}

// A request whose write failed after the server had it (here: refused at its head, the body
// still being sent) is never sent again: only a request of which no byte left is retried on a
// fresh connection.

TEST(Load, NeverResendsARequestTheServerAlreadyAnswered) {
  EarlyRefusalServer server;
  TempDir dir;
  const json workload = {{"mix",
                          {{{"name", "f"},
                            {"flow",
                             {{{"name", "get"}, {"method", "GET"}, {"url", "/a"}},
                              {{"name", "post"},
                               {"method", "POST"},
                               {"url", "/b"},
                               {"body", std::string(std::size_t{8} << 20, 'x')}}}}}}}};
  write_file(dir.file("w.json"), workload.dump());
  auto [code, out] = run_faultline({"load", server.url(), "--workload", dir.file("w.json"),
                                    "--users", "1", "--duration", "1s", "-t", "1", "--timeout",
                                    "2s", "-q", "--out", dir.file("r.json")});
  (void)code;  // every POST fails (413 or reset): the threshold-free exit code is not the point
  json r = read_json(dir.file("r.json"));
  const int posts = r["requests_by_name"]["f.post"]["requests"]["total"].get<int>();
  EXPECT_GE(posts, 1);
  EXPECT_EQ(server.posts(), posts) << r["errors"].dump();
}

TEST(Load, ClassifiesConnectTimeout) {
  // A listener with a full accept queue that never accepts: further SYNs are dropped, so the
  // connect never completes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(100ms);
  TempDir dir;
  auto [code, out] = run_faultline({"load", "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)),
                                    "--duration", "600ms", "-c", "1", "-t", "1", "--timeout",
                                    "200ms", "-q", "--out", dir.file("r.json")});
  for (int c : fillers)
    ::close(c);
  ::close(fd);
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  EXPECT_GT(r["errors"]["connect_timeout"].get<int>(), 0) << r["errors"].dump();
  EXPECT_EQ(r["requests"]["ok"], 0);
}
