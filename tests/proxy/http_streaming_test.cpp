// Streaming through the protocol-http engine (issue #24, docs/design/issue-24.md §1): response
// bodies are relayed as they arrive — chunked (server-sent events), content-length and
// close-delimited — byte-exact beyond the 64 MiB buffering cap, with keep-alive kept after a
// complete body and a truncation passed on when the upstream dies mid-body. Request bodies:
// http_streaming_upload_test.cpp; body behaviors: http_body_faults_test.cpp. Timing bounds are
// relative to the moment the upstream sent the bytes, with medians and generous margins (the
// machine running the suite may be loaded).
#include <gtest/gtest.h>

#include "tests/proxy/http_streaming_support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

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
  // The upstream can see the close before the proxy counts it: wait for the counter (bounded).
  const auto t1 = SteadyClock::now();
  while (h.metric("faultline_proxy_connections_closed_total",
                  "proxy=\"web\",reason=\"idle_timeout\"") < 1 &&
         SteadyClock::now() - t1 < 3s)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(
      h.metric("faultline_proxy_connections_closed_total", "proxy=\"web\",reason=\"idle_timeout\""),
      1);
}

// Runs `cmd` (a client printing the stream's lines as it reads them), checks it printed exactly
// sse_script's three events, and gives how long after the upstream sent each event the client
// printed it (ms). False (after gtest failures) when the output is not that.
static bool client_lags(const std::string& cmd, const Marks& sent, std::vector<double>& lags) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "cannot run " << cmd;
    return false;
  }
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
  if (arrived.size() != 3u || marks.size() != 3u) {
    ADD_FAILURE() << arrived.size() << " events read, " << marks.size() << " sent";
    return false;
  }
  for (std::size_t i = 0; i < 3; ++i)
    lags.push_back(ms_between(marks[i], arrived[i]));
  return true;
}

// curl --no-buffer prints each event as it arrives through the proxy.
TEST(HttpStreaming, CurlNoBufferReadsSseLive) {
  Marks sent;
  ScriptUpstream up(sse_script(sent));
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  const std::string cmd =
      "curl -sS --no-buffer http://127.0.0.1:" + std::to_string(port) + "/events";
  std::vector<double> lags;
  ASSERT_TRUE(client_lags(cmd, sent, lags));
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_LT(lags[i], 500.0) << "event " << i + 1;
  EXPECT_LE(median(lags), 50.0) << lags[0] << " " << lags[1] << " " << lags[2];
}

// Python's urllib reading the stream line by line (a client that is not curl) sees each event as
// the upstream sends it, not at the end.
TEST(HttpStreaming, PythonUrllibReadsSseLive) {
  Marks sent;
  ScriptUpstream up(sse_script(sent));
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  // Each line the client reads, with the time it read it (monotonic, ms) before it.
  const std::string cmd =
      "/usr/bin/python3 -u -c 'import sys, time, urllib.request\n"
      "with urllib.request.urlopen(sys.argv[1], timeout=10) as r:\n"
      "    for line in r:\n"
      "        print(line.decode().rstrip(), flush=True)' http://127.0.0.1:" +
      std::to_string(port) + "/events";
  std::vector<double> lags;
  ASSERT_TRUE(client_lags(cmd, sent, lags));
  // The first event may wait for the interpreter to start; the others came while it read.
  EXPECT_LE(median(lags), 50.0) << lags[0] << " " << lags[1] << " " << lags[2];
  EXPECT_LT(lags[2], 500.0);
}
