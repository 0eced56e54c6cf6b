// Streamed request bodies through the protocol-http engine (issue #24): uploads reach the
// upstream as they are sent, chunked or with a Content-Length, with no size cap; local answers and
// the 502 of an unreachable upstream drain the body so that keep-alive stays in step; a client
// dying mid-upload closes the upstream connection; recording still keeps the request body.
#include <fstream>

#include <gtest/gtest.h>

#include "tests/proxy/http_streaming_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

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
