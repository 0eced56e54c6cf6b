// A 1 GiB download through an `http` proxy (issue #24): byte-exact, and the process's memory does
// not grow with the body (the relay holds one 64 KiB read, never the message). Its own test
// binary, SERIAL: the RSS figure must not see another test's allocations. Skipped under
// sanitizers (their shadow memory and quarantine make RSS say nothing about the relay).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <fstream>
#include <string>

#include "tests/proxy/http_streaming_support.hpp"

namespace faultline::proxy::test {
namespace {

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return -1;
}

char pattern(std::size_t i) {
  return static_cast<char>('a' + (i * 7 + i / 4096) % 26);
}

TEST(HttpStreamGiB, DownloadByteExactWithFlatRss) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "RSS means nothing under a sanitizer";
#endif
  constexpr std::size_t kGiB = std::size_t{1} << 30;
  ScriptUpstream up([&](int fd) {
    if (read_head(fd).empty()) return;
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kGiB) + "\r\n\r\n");
    std::string block(1 << 20, '\0');
    for (std::size_t off = 0; off < kGiB; off += block.size()) {
      for (std::size_t i = 0; i < block.size(); ++i)
        block[i] = pattern(off + i);
      if (!send_str(fd, block)) return;
    }
    read_head(fd);
  });
  Harness h;
  const auto port = h.create("gib", up.address(), "http");
  Client c(port, std::chrono::milliseconds(30000));
  ASSERT_TRUE(c.send_all("GET /gib HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The head, then the body checked as it comes (the test keeps one read, as the proxy should).
  std::string head;
  char ch = 0;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(c.fd(), &ch, 1, 0) == 1)
    head += ch;
  ASSERT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  ASSERT_NE(head.find("Content-Length: 1073741824"), std::string::npos) << head;
  std::string buf(1 << 16, '\0');
  std::size_t got = 0, first_bad = kGiB;
  long rss_early = 0, rss_peak = 0;
  while (got < kGiB) {
    const ssize_t n = ::recv(c.fd(), buf.data(), buf.size(), 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && first_bad == kGiB; ++i)
      if (buf[static_cast<std::size_t>(i)] != pattern(got + static_cast<std::size_t>(i)))
        first_bad = got + static_cast<std::size_t>(i);
    const std::size_t before = got;
    got += static_cast<std::size_t>(n);
    // Sampled every 64 MiB; the first sample after 64 MiB, when every buffer has been made.
    if (before / (64u << 20) != got / (64u << 20)) {
      const long now = rss_kib();
      if (rss_early == 0) rss_early = now;
      rss_peak = std::max(rss_peak, now);
    }
  }
  EXPECT_EQ(got, kGiB);
  EXPECT_EQ(first_bad, kGiB) << "first differing byte";
  ASSERT_GT(rss_early, 0);
  EXPECT_LT(rss_peak - rss_early, 16 * 1024)
      << "RSS " << rss_early << " KiB at 64 MiB, peak " << rss_peak << " KiB";
  std::printf("1 GiB relayed; RSS %ld KiB at 64 MiB, peak %ld KiB\n", rss_early, rss_peak);
}

}  // namespace
}  // namespace faultline::proxy::test
