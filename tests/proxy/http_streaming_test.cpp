// Streaming through the protocol-http engine (issue #24, docs/design/issue-24.md §1): response
// bodies are relayed as they arrive — chunked (server-sent events), content-length and
// close-delimited — byte-exact beyond the 64 MiB buffering cap, with keep-alive kept after a
// complete body and a truncation passed on when the upstream dies mid-body. The upstreams are raw
// sockets driven by a script, so every byte and every pause is the test's; timing bounds are
// relative to the moment the upstream sent the bytes, with medians and generous margins (the
// machine running the suite may be loaded).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t kLargeBody = 8u << 20;  // same code paths, a sanitizer-friendly size
#else
constexpr std::size_t kLargeBody = 100u << 20;  // above the 64 MiB buffering cap
#endif

bool send_str(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads one request head (up to and including the blank line) byte by byte; "" on EOF/timeout.
std::string read_head(int fd) {
  std::string head;
  char ch = 0;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &ch, 1, 0) != 1) return "";
    head += ch;
  }
  return head;
}

// A loopback upstream whose connections are served, one after the other, by `script` (called with
// the accepted socket, which has a 10 s receive timeout; the upstream closes it afterwards).
class ScriptUpstream {
 public:
  explicit ScriptUpstream(std::function<void(int)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptUpstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_.load(); }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      timeval tv{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      script_(c);
      ::close(c);
    }
  }
  std::function<void(int)> script_;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// When each of a script's marks happened (written by the upstream thread, read by the test).
class Marks {
 public:
  void mark() {
    std::lock_guard lock(mu_);
    times_.push_back(SteadyClock::now());
  }
  std::vector<SteadyClock::time_point> times() const {
    std::lock_guard lock(mu_);
    return times_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<SteadyClock::time_point> times_;
};

// A client reading one response from the proxy as it comes: its head, then its body decoded
// (chunked or not), with the time each decoded byte arrived.
class StreamingReader {
 public:
  explicit StreamingReader(Client& c) : c_(c) {}
  // Reads the head; false on EOF/timeout.
  bool read_head() {
    while (raw_.find("\r\n\r\n") == std::string::npos)
      if (!more()) return false;
    const auto end = raw_.find("\r\n\r\n") + 4;
    head_ = raw_.substr(0, end);
    raw_.erase(0, end);
    std::string lower = head_;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
    return true;
  }
  const std::string& head() const { return head_; }
  bool chunked() const { return chunked_; }
  // Reads until the decoded body contains `text` (true), or EOF/timeout/the end of a chunked body
  // (false); `at` is when the read that completed it returned.
  bool wait_for(const std::string& text, SteadyClock::time_point* at = nullptr) {
    for (;;) {
      decode();
      if (body_.find(text) != std::string::npos) {
        if (at) *at = last_read_;
        return true;
      }
      if (done_ || !more()) return false;
    }
  }
  // Reads to the end of the body: the terminating chunk (chunked) or EOF; `how` as
  // Client::read_to_end ("eof", "reset", "timeout") or "last-chunk".
  std::string read_body(std::string* how = nullptr) {
    for (;;) {
      decode();
      if (done_) {
        if (how) *how = "last-chunk";
        break;
      }
      if (!more(how)) break;
    }
    return body_;
  }
  // Reads until the decoded body has `n` bytes (fewer on EOF/timeout).
  std::string read_body_bytes(std::size_t n) {
    for (;;) {
      decode();
      if (body_.size() >= n || !more()) break;
    }
    return body_;
  }
  const std::string& body() const { return body_; }
  bool done() const { return done_; }

 private:
  bool more(std::string* how = nullptr) {
    char buf[65536];
    const ssize_t n = ::recv(c_.fd(), buf, sizeof buf, 0);
    if (n > 0) {
      raw_.append(buf, static_cast<std::size_t>(n));
      last_read_ = SteadyClock::now();
      return true;
    }
    if (how)
      *how = n == 0 ? "eof" : (errno == EAGAIN || errno == EWOULDBLOCK ? "timeout" : "reset");
    return false;
  }
  // Moves what can be decoded from raw_ to body_.
  void decode() {
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    while (!done_) {
      if (chunk_left_ > 0) {
        const std::size_t n = std::min(chunk_left_, raw_.size());
        body_.append(raw_, 0, n);
        raw_.erase(0, n);
        chunk_left_ -= n;
        if (chunk_left_ > 0) return;
        need_crlf_ = true;
      }
      if (need_crlf_) {
        if (raw_.size() < 2) return;
        EXPECT_EQ(raw_.substr(0, 2), "\r\n");
        raw_.erase(0, 2);
        need_crlf_ = false;
      }
      const auto eol = raw_.find("\r\n");
      if (eol == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (size == 0) {
        // The last chunk: no trailers are relayed, so a blank line follows at once.
        if (raw_.size() < eol + 4) return;
        EXPECT_EQ(raw_.substr(eol, 4), "\r\n\r\n");
        raw_.erase(0, eol + 4);
        done_ = true;
        return;
      }
      raw_.erase(0, eol + 2);
      chunk_left_ = size;
    }
  }
  Client& c_;
  std::string raw_, head_, body_;
  bool chunked_ = false, done_ = false, need_crlf_ = false;
  std::size_t chunk_left_ = 0;
  SteadyClock::time_point last_read_{};
};

std::string hex(std::size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

std::string chunk_of(const std::string& data) {
  return hex(data.size()) + "\r\n" + data + "\r\n";
}

double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

// An SSE upstream: per request, the head, then `events` events 1 s apart (each marked when sent),
// then the last chunk.
std::function<void(int)> sse_script(Marks& marks, int events = 3) {
  return [&marks, events](int fd) {
    if (read_head(fd).empty()) return;
    send_str(fd, kSseHead);
    for (int i = 1; i <= events; ++i) {
      if (i > 1) std::this_thread::sleep_for(1s);
      marks.mark();
      send_str(
          fd, chunk_of("id: " + std::to_string(i) + "\ndata: event-" + std::to_string(i) + "\n\n"));
    }
    send_str(fd, "0\r\n\r\n");
    std::string rest = read_head(fd);  // until the proxy closes (or a 10 s timeout)
  };
}

const std::string kGet = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST(HttpStreaming, SseFirstEventArrivesBeforeTheStreamEnds) {
  Marks sent;
  ScriptUpstream up(sse_script(sent));
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  ASSERT_NE(port, 0);
  Client c(port, 10000ms);
  ASSERT_TRUE(c.send_all(kGet));
  StreamingReader r(c);
  ASSERT_TRUE(r.read_head());
  EXPECT_EQ(r.head().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.head();
  EXPECT_TRUE(r.chunked()) << r.head();
  std::vector<SteadyClock::time_point> arrived(3);
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(r.wait_for("data: event-" + std::to_string(i) + "\n\n", &arrived[i - 1]))
        << "event " << i << "; body so far: " << r.body();
  std::string how;
  EXPECT_EQ(r.read_body(&how),
            "id: 1\ndata: event-1\n\nid: 2\ndata: event-2\n\nid: 3\ndata: event-3\n\n");
  EXPECT_EQ(how, "last-chunk");
  const auto marks = sent.times();
  ASSERT_EQ(marks.size(), 3u);
  std::vector<double> lags;
  for (std::size_t i = 0; i < 3; ++i) {
    lags.push_back(ms_between(marks[i], arrived[i]));
    // Far below the 1 s between events: no event waits for the next one (or the end).
    EXPECT_LT(lags.back(), 500.0) << "event " << i + 1;
  }
  // The bound: an event reaches the client within 50 ms of the upstream sending it.
  EXPECT_LE(median(lags), 50.0) << lags[0] << " " << lags[1] << " " << lags[2];
  EXPECT_LE(lags[0], 50.0 * 4) << "first event";
}

TEST(HttpStreaming, ContentLengthBodyRelayedAsItArrives) {
  Marks sent;
  ScriptUpstream up([&sent](int fd) {
    if (read_head(fd).empty()) return;
    sent.mark();
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nfirst-half");
    std::this_thread::sleep_for(1s);
    sent.mark();
    send_str(fd, "secondhalf");
    read_head(fd);
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  ASSERT_TRUE(c.send_all("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
  StreamingReader r(c);
  ASSERT_TRUE(r.read_head());
  EXPECT_NE(r.head().find("Content-Length: 20\r\n"), std::string::npos) << r.head();
  SteadyClock::time_point first{}, second{};
  ASSERT_TRUE(r.wait_for("first-half", &first)) << r.body();
  ASSERT_TRUE(r.wait_for("first-halfsecondhalf", &second)) << r.body();
  const auto marks = sent.times();
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_LT(ms_between(marks[0], first), 500.0);  // before the second half was even sent
  EXPECT_LT(first, marks[1]);
  EXPECT_LT(ms_between(marks[1], second), 500.0);
}

TEST(HttpStreaming, CloseDelimitedBodyStreams) {
  Marks sent;
  ScriptUpstream up([&sent](int fd) {
    if (read_head(fd).empty()) return;
    sent.mark();
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\npart-1;");
    std::this_thread::sleep_for(1s);
    sent.mark();
    send_str(fd, "part-2;");
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  ASSERT_TRUE(c.send_all("GET /log HTTP/1.1\r\nHost: x\r\n\r\n"));
  StreamingReader r(c);
  ASSERT_TRUE(r.read_head());
  EXPECT_FALSE(r.chunked()) << r.head();
  EXPECT_EQ(r.head().find("Content-Length"), std::string::npos) << r.head();
  SteadyClock::time_point first{};
  ASSERT_TRUE(r.wait_for("part-1;", &first)) << r.body();
  std::string how;
  EXPECT_EQ(r.read_body(&how), "part-1;part-2;");
  EXPECT_EQ(how, "eof");  // the end of a close-delimited body is the close
  const auto marks = sent.times();
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_LT(ms_between(marks[0], first), 500.0);
  EXPECT_LT(first, marks[1]);
}

// A body far above the 64 MiB cap the proxy keeps for what it buffers: relayed byte for byte,
// once with a Content-Length and once chunked.
TEST(HttpStreaming, BodyOver64MiBPasses) {
  auto pattern = [](std::size_t i) { return static_cast<char>('a' + (i * 7 + i / 4096) % 26); };
  std::string block(1 << 20, '\0');
  ScriptUpstream up([&](int fd) {
    for (int request = 0; request < 2; ++request) {
      if (read_head(fd).empty()) return;
      const bool chunked = request == 1;
      send_str(fd, chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kLargeBody) +
                                 "\r\n\r\n");
      for (std::size_t off = 0; off < kLargeBody; off += block.size()) {
        for (std::size_t i = 0; i < block.size(); ++i)
          block[i] = pattern(off + i);
        if (!send_str(fd, chunked ? chunk_of(block) : block)) return;
      }
      if (chunked) send_str(fd, "0\r\n\r\n");
    }
    read_head(fd);
  });
  Harness h;
  const auto port = h.create("big", up.address(), "http");
  Client c(port, 20000ms);
  for (int request = 0; request < 2; ++request) {
    ASSERT_TRUE(c.send_all("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    StreamingReader r(c);
    ASSERT_TRUE(r.read_head()) << request;
    EXPECT_EQ(r.head().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.head();
    EXPECT_EQ(r.chunked(), request == 1) << r.head();
    std::string body;
    if (request == 0) {
      body = r.read_body_bytes(kLargeBody);
    } else {
      std::string how;
      body = r.read_body(&how);
      EXPECT_EQ(how, "last-chunk");
    }
    ASSERT_EQ(body.size(), kLargeBody) << request;
    std::size_t first_bad = kLargeBody;
    for (std::size_t i = 0; i < kLargeBody && first_bad == kLargeBody; ++i)
      if (body[i] != pattern(i)) first_bad = i;
    EXPECT_EQ(first_bad, kLargeBody) << "request " << request << ": first differing byte";
  }
  EXPECT_EQ(up.accepted(), 1);  // kept alive after each complete body
}

TEST(HttpStreaming, KeepAliveAfterStreamedResponse) {
  Marks sent;
  ScriptUpstream up([&sent](int fd) {
    for (int request = 0; request < 3; ++request) {
      if (read_head(fd).empty()) return;
      sent.mark();
      send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_of("one,"));
      std::this_thread::sleep_for(100ms);
      send_str(fd, chunk_of("two") + "0\r\n\r\n");
    }
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  for (int request = 0; request < 3; ++request) {
    ASSERT_TRUE(c.send_all("GET /r HTTP/1.1\r\nHost: x\r\n\r\n"));
    StreamingReader r(c);
    ASSERT_TRUE(r.read_head()) << request;
    std::string how;
    EXPECT_EQ(r.read_body(&how), "one,two") << request;
    EXPECT_EQ(how, "last-chunk");
  }
  EXPECT_EQ(up.accepted(), 1);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"web\""), 3);
  EXPECT_EQ(h.metric("faultline_proxy_connections_accepted_total", "proxy=\"web\""), 1);
}

// The upstream dies in the middle of a body: the client's connection is closed without the last
// chunk (chunked) or short of the Content-Length, so the client sees a truncation, as it would
// without the proxy — never a complete-looking body.
TEST(HttpStreaming, UpstreamDiesMidBodyClientSeesTruncation) {
  ScriptUpstream up([](int fd) {
    const std::string head = read_head(fd);
    if (head.find("/chunked") != std::string::npos)
      send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_of("partial"));
    else
      send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    std::this_thread::sleep_for(200ms);
    // Closed by the ScriptUpstream: FIN.
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  for (const char* path : {"/chunked", "/length"}) {
    Client c(port, 10000ms);
    ASSERT_TRUE(c.send_all(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    StreamingReader r(c);
    ASSERT_TRUE(r.read_head()) << path;
    std::string how;
    EXPECT_EQ(r.read_body(&how), "partial") << path;
    EXPECT_EQ(how, "eof") << path;  // not "last-chunk", not a 10 s timeout
  }
  EXPECT_EQ(h.metric("faultline_proxy_bodies_truncated_total", "by=\"upstream\",proxy=\"web\""), 2);
  EXPECT_EQ(h.metric("faultline_proxy_connections_closed_total",
                     "proxy=\"web\",reason=\"upstream_closed\""),
            2);
}

// An HTTP/1.0 client cannot read chunked: a chunked body reaches it close-delimited.
TEST(HttpStreaming, Http10ClientGetsCloseDelimited) {
  ScriptUpstream up([](int fd) {
    if (read_head(fd).empty()) return;
    send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_of("hello ") +
                     chunk_of("world") + "0\r\n\r\n");
    read_head(fd);
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  ASSERT_TRUE(c.send_all("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
  std::string how;
  const std::string got = c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  const auto end = got.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << got;
  EXPECT_EQ(got.find("chunked"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.substr(end + 4), "hello world");
}

// HEAD, 204 and 304 have no body whatever their head says: the proxy relays the head alone and
// the connection stays in step for the next request.
TEST(HttpStreaming, HeadAnd204And304Bodiless) {
  ScriptUpstream up([](int fd) {
    for (;;) {
      const std::string head = read_head(fd);
      if (head.empty()) return;
      if (head.rfind("HEAD", 0) == 0)
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      else if (head.find("/204") != std::string::npos)
        send_str(fd, "HTTP/1.1 204 No Content\r\n\r\n");
      else if (head.find("/304") != std::string::npos)
        send_str(fd, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
      else
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
    }
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  ASSERT_TRUE(
      c.send_all("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: "
                 "close\r\n\r\n"));
  std::string how;
  const std::string got = c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  EXPECT_EQ(got,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "HTTP/1.1 204 No Content\r\n\r\n"
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone");
}

// A client that stops reading a never-ending body: the proxy stops reading the upstream (TCP
// back-pressure, no unbounded buffer) and closes both at the idle timeout.
TEST(HttpStreaming, ClientThatNeverReadsClosedAtIdleTimeout) {
  std::atomic<std::size_t> sent_bytes{0};
  std::atomic<bool> upstream_saw_close{false};
  ScriptUpstream up([&](int fd) {
    if (read_head(fd).empty()) return;
    send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string block = chunk_of(std::string(64 * 1024, 'x'));
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const auto until = SteadyClock::now() + 8s;
    while (SteadyClock::now() < until) {
      const ssize_t n = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL);
      if (n > 0) {
        sent_bytes += static_cast<std::size_t>(n);
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) continue;  // blocked: back-pressure
      upstream_saw_close = true;
      return;
    }
  });
  Harness h(42, 2, 1500ms);
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  int small = 4096;  // a small receive buffer, so that the client side fills up quickly
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_TRUE(c.send_all("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(1000ms);
  const std::size_t at_1s = sent_bytes.load();
  std::this_thread::sleep_for(400ms);
  // Back-pressure: what the upstream got out is bounded by socket buffers, not growing for ever.
  EXPECT_LT(sent_bytes.load(), 64u << 20) << at_1s;
  // Closed at the idle timeout (1.5 s with nothing written to the client); the upstream sees it.
  const auto t0 = SteadyClock::now();
  while (!upstream_saw_close && SteadyClock::now() - t0 < 6s)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(upstream_saw_close.load());
  EXPECT_EQ(
      h.metric("faultline_proxy_connections_closed_total", "proxy=\"web\",reason=\"idle_timeout\""),
      1);
}

// curl --no-buffer prints each event as it arrives through the proxy.
TEST(HttpStreaming, CurlNoBufferReadsSseLive) {
  Marks sent;
  ScriptUpstream up(sse_script(sent));
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  const std::string cmd =
      "curl -sS --no-buffer http://127.0.0.1:" + std::to_string(port) + "/events";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::vector<SteadyClock::time_point> arrived;
  std::string all;
  char line[256];
  while (std::fgets(line, sizeof line, p)) {
    all += line;
    if (std::string(line).rfind("data: event-", 0) == 0) arrived.push_back(SteadyClock::now());
  }
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(all, "id: 1\ndata: event-1\n\nid: 2\ndata: event-2\n\nid: 3\ndata: event-3\n\n");
  const auto marks = sent.times();
  ASSERT_EQ(arrived.size(), 3u);
  ASSERT_EQ(marks.size(), 3u);
  std::vector<double> lags;
  for (std::size_t i = 0; i < 3; ++i) {
    lags.push_back(ms_between(marks[i], arrived[i]));
    EXPECT_LT(lags.back(), 500.0) << "event " << i + 1;
  }
  EXPECT_LE(median(lags), 50.0) << lags[0] << " " << lags[1] << " " << lags[2];
}

// ---- Request bodies ----

// An upload reaches the upstream as the client sends it, chunked and with a Content-Length: the
// first part before the client has sent the second.
TEST(HttpStreaming, UploadReachesUpstreamBeforeItEnds) {
  Marks got_first;
  std::atomic<int> bodies_ok{0};
  ScriptUpstream up([&](int fd) {
    for (int request = 0; request < 2; ++request) {
      const std::string head = read_head(fd);
      if (head.empty()) return;
      const bool chunked = head.find("Transfer-Encoding: chunked") != std::string::npos;
      std::string body;
      char buf[4096];
      while (body.find("part-1") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        body.append(buf, static_cast<std::size_t>(n));
      }
      got_first.mark();
      const std::string end = chunked ? "0\r\n\r\n" : "part-2";
      while (body.size() < end.size() ||
             body.compare(body.size() - end.size(), end.size(), end) != 0) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        body.append(buf, static_cast<std::size_t>(n));
      }
      const std::string want =
          chunked ? "part-1" : "part-1part-2";  // (chunked: re-chunked per read, checked below)
      if (body.find(want) != std::string::npos && body.find("part-2") != std::string::npos)
        ++bodies_ok;
      send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    read_head(fd);
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 10000ms);
  std::vector<SteadyClock::time_point> sent_first;
  for (const bool chunked : {true, false}) {
    const std::string head =
        chunked ? "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                : "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n";
    sent_first.push_back(SteadyClock::now());
    ASSERT_TRUE(c.send_all(head + (chunked ? chunk_of("part-1") : "part-1")));
    std::this_thread::sleep_for(1s);
    ASSERT_TRUE(c.send_all(chunked ? chunk_of("part-2") + "0\r\n\r\n" : "part-2"));
    StreamingReader r(c);
    ASSERT_TRUE(r.read_head()) << chunked;
    EXPECT_EQ(r.head().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.head();
    EXPECT_EQ(r.read_body_bytes(2), "ok");
  }
  const auto marks = got_first.times();
  ASSERT_EQ(marks.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_LT(ms_between(sent_first[i], marks[i]), 500.0) << (i == 0 ? "chunked" : "length");
  EXPECT_EQ(bodies_ok.load(), 2);
  EXPECT_EQ(up.accepted(), 1);
}

// An upload far above the 64 MiB cap passes byte for byte (it used to be answered 413).
TEST(HttpStreaming, UploadOver64MiBPasses) {
  auto pattern = [](std::size_t i) { return static_cast<char>('A' + (i * 13 + i / 1000) % 26); };
  std::atomic<std::size_t> received{0}, first_bad{SIZE_MAX};
  ScriptUpstream up([&](int fd) {
    if (read_head(fd).empty()) return;
    std::vector<char> buf(1 << 16);
    std::size_t got = 0;
    while (got < kLargeBody) {
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i)
        if (buf[static_cast<std::size_t>(i)] != pattern(got + static_cast<std::size_t>(i)) &&
            first_bad == SIZE_MAX)
          first_bad = got + static_cast<std::size_t>(i);
      got += static_cast<std::size_t>(n);
    }
    received = got;
    send_str(fd, "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone");
    read_head(fd);
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  Client c(port, 20000ms);
  ASSERT_TRUE(c.send_all("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(kLargeBody) + "\r\n\r\n"));
  std::string block(1 << 20, '\0');
  for (std::size_t off = 0; off < kLargeBody; off += block.size()) {
    for (std::size_t i = 0; i < block.size(); ++i)
      block[i] = pattern(off + i);
    ASSERT_TRUE(c.send_all(block)) << off;
  }
  StreamingReader r(c);
  ASSERT_TRUE(r.read_head());
  EXPECT_EQ(r.head().rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << r.head();
  EXPECT_EQ(received.load(), kLargeBody);
  EXPECT_EQ(first_bad.load(), SIZE_MAX);
}

// A local answer (http_error) reads the request body first, so the client's next request on the
// connection is read from where it starts — with a Content-Length, chunked, and after
// "Expect: 100-continue"; and so does the 502 of an unreachable upstream.
TEST(HttpStreaming, ErrorDrainsUploadAndKeepsAlive) {
  ScriptUpstream up([](int fd) {
    for (;;) {
      const std::string head = read_head(fd);
      if (head.empty()) return;
      send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nupstream");
    }
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   {{"type", "http_error"},
                    {"attributes", {{"status", 503}, {"body", "no"}}},
                    {"name", "e"},
                    {"toxicity", 1.0}})
                .status,
            200);
  // The bodies look like requests: read as such, they would answer differently.
  const std::string fake = "GET /fake HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string get_close = "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::vector<std::string> uploads = {
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(fake.size()) + "\r\n\r\n" +
          fake,
      "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_of(fake) +
          "0\r\n\r\n",
      "POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
          std::to_string(fake.size()) + "\r\n\r\n" + fake,
  };
  for (const auto& upload : uploads) {
    Client c(port, 5000ms);
    ASSERT_TRUE(c.send_all(upload + get_close));
    std::string how;
    const std::string got = c.read_to_end(&how);
    EXPECT_EQ(how, "eof");
    std::size_t answers = 0;
    for (auto at = got.find("HTTP/1.1 503 "); at != std::string::npos;
         at = got.find("HTTP/1.1 503 ", at + 1))
      ++answers;
    EXPECT_EQ(answers, 2u) << got;  // the POST and the GET, nothing for the body
    EXPECT_EQ(got.find("HTTP/1.1 400"), std::string::npos) << got;
  }
  ASSERT_EQ(h.call("DELETE", "/proxies/web/toxics/e").status, 204);
  unsigned short dead;
  {
    ScriptUpstream gone([](int) {});
    dead = static_cast<unsigned short>(std::stoi(gone.address().substr(10)));
  }
  const auto down = h.create("down", "127.0.0.1:" + std::to_string(dead), "http");
  Client d(down, 5000ms);
  ASSERT_TRUE(d.send_all(uploads[0] + get_close));
  const std::string got = d.read_to_end();
  EXPECT_EQ(got.rfind("HTTP/1.1 502 ", 0), 0u) << got;
  EXPECT_NE(got.find("HTTP/1.1 502 ", 1), std::string::npos) << got;  // the GET's own 502
  EXPECT_EQ(got.find("HTTP/1.1 400"), std::string::npos) << got;
}

// A client that dies in the middle of its upload: the upstream's connection is closed too (it
// has part of a request), not left waiting for the rest.
TEST(HttpStreaming, ClientDiesMidUploadUpstreamClosed) {
  std::atomic<bool> upstream_saw_eof{false};
  std::atomic<std::size_t> body_bytes{0};
  ScriptUpstream up([&](int fd) {
    if (read_head(fd).empty()) return;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) upstream_saw_eof = true;
      if (n <= 0) return;
      body_bytes += static_cast<std::size_t>(n);
    }
  });
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  {
    Client c(port, 5000ms);
    ASSERT_TRUE(c.send_all("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial"));
    std::this_thread::sleep_for(300ms);
  }  // closed short of the Content-Length
  const auto t0 = SteadyClock::now();
  while (!upstream_saw_eof && SteadyClock::now() - t0 < 5s)
    std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(upstream_saw_eof.load());
  EXPECT_EQ(body_bytes.load(), 7u);
}

// Recording keeps the request body: it is read whole (then forwarded from memory) and recorded.
TEST(HttpStreaming, RecordingKeepsRequestBody) {
  std::mutex mu;
  std::string upstream_saw;
  ScriptUpstream up([&](int fd) {
    for (;;) {
      std::string head = read_head(fd);
      if (head.empty()) return;
      std::string body;
      if (head.find("chunked") != std::string::npos) {
        while (body.size() < 5 || body.compare(body.size() - 5, 5, "0\r\n\r\n") != 0) {
          char ch = 0;
          if (::recv(fd, &ch, 1, 0) != 1) return;
          body += ch;
        }
      } else {
        body = std::string(11, '\0');
        if (::recv(fd, body.data(), body.size(), MSG_WAITALL) != 11) return;
      }
      {
        std::lock_guard lock(mu);
        upstream_saw += head + body;
      }
      send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  Harness h;
  test::TempDir dir;
  const std::string file = dir.file("rec.jsonl");
  const auto port = h.create("web", up.address(), "http", {{"record", file}});
  Client c(port, 5000ms);
  ASSERT_TRUE(c.send_all(
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
      "POST /q HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      chunk_of("hello ") + chunk_of("chunks") + "0\r\n\r\n"));
  std::string how;
  const std::string got = c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  EXPECT_NE(got.find("ok"), std::string::npos) << got;
  {
    std::lock_guard lock(mu);
    EXPECT_NE(upstream_saw.find("hello world"), std::string::npos) << upstream_saw;
    EXPECT_NE(upstream_saw.find("c\r\nhello chunks\r\n0\r\n\r\n"), std::string::npos)
        << upstream_saw;
  }
  std::ifstream in(file);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["body"], "hello world");
  EXPECT_EQ(lines[1]["body"], "hello chunks");
  EXPECT_EQ(lines[1]["status"], 200);
}
