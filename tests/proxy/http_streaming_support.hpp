// Helpers of the streaming tests (http_streaming_test.cpp, http_streaming_upload_test.cpp,
// http_body_faults_test.cpp): a loopback upstream driven by a script on raw sockets, so that
// every byte and every pause is the test's; the moments its script marks; and a client reading a
// response as it comes (its head, then its body decoded, with the time each read returned).
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/proxy/harness.hpp"

namespace faultline::proxy::test {

using SteadyClock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr std::size_t kLargeBody = 8u << 20;  // same code paths, a sanitizer-friendly size
#else
inline constexpr std::size_t kLargeBody = 100u << 20;  // above the 64 MiB buffering cap
#endif

inline bool send_str(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads one request head (up to and including the blank line) byte by byte; "" on EOF/timeout.
inline std::string read_head(int fd) {
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

inline std::string hex(std::size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

inline std::string chunk_of(const std::string& data) {
  return hex(data.size()) + "\r\n" + data + "\r\n";
}

inline double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

inline const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

// An SSE upstream: per request, the head, then `events` events 1 s apart (each marked when sent),
// then the last chunk.
inline std::function<void(int)> sse_script(Marks& marks, int events = 3) {
  return [&marks, events](int fd) {
    if (read_head(fd).empty()) return;
    send_str(fd, kSseHead);
    for (int i = 1; i <= events; ++i) {
      if (i > 1) std::this_thread::sleep_for(std::chrono::seconds(1));
      marks.mark();
      send_str(
          fd, chunk_of("id: " + std::to_string(i) + "\ndata: event-" + std::to_string(i) + "\n\n"));
    }
    send_str(fd, "0\r\n\r\n");
    std::string rest = read_head(fd);  // until the proxy closes (or a 10 s timeout)
  };
}

inline const std::string kGet = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";

// What a client sees of sse_script's events through the proxy at `port`: how long the head took
// (ms), how long after the upstream sent it each event arrived (ms), and the whole body (which
// must end with its last chunk).
struct EventTimes {
  double head_ms = 0;
  std::vector<double> lags;
  std::string body;
};
inline EventTimes read_sse_events(unsigned short port, const Marks& sent, int events = 3) {
  EventTimes out;
  Client c(port, std::chrono::milliseconds(10000));
  const auto asked = SteadyClock::now();
  EXPECT_TRUE(c.send_all(kGet));
  StreamingReader r(c);
  if (!r.read_head()) {
    ADD_FAILURE() << "no response head";
    return out;
  }
  out.head_ms = ms_between(asked, SteadyClock::now());
  std::vector<SteadyClock::time_point> arrived(static_cast<std::size_t>(events));
  for (int i = 1; i <= events; ++i) {
    if (!r.wait_for("data: event-" + std::to_string(i) + "\n\n",
                    &arrived[static_cast<std::size_t>(i - 1)])) {
      ADD_FAILURE() << "event " << i << " never arrived";
      return out;
    }
  }
  std::string how;
  out.body = r.read_body(&how);
  EXPECT_EQ(how, "last-chunk");
  const auto marks = sent.times();
  EXPECT_EQ(marks.size(), arrived.size());
  for (std::size_t i = 0; i < std::min(marks.size(), arrived.size()); ++i)
    out.lags.push_back(ms_between(marks[i], arrived[i]));
  return out;
}

}  // namespace faultline::proxy::test
