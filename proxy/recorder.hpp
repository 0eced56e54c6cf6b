// Records HTTP exchanges as JSON lines (the input of `faultline load --replay`):
// {"ts": <s since recording start, monotonic>, "method", "target", "headers": [[k, v], ...],
//  "body" (UTF-8) or "body_base64", "status", "latency_seconds"}.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace faultline::proxy {

struct RecordedExchange {
  std::chrono::steady_clock::time_point started;
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  unsigned status = 0;
  double latency_seconds = 0;
};

class Recorder {
 public:
  // Opens `file` for appending; throws std::system_error when it cannot.
  explicit Recorder(const std::string& file);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  // Appends one line and flushes it (thread-safe).
  void record(const RecordedExchange& e);

 private:
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Whether `s` is valid UTF-8 (JSON strings must be).
bool valid_utf8(const std::string& s);
std::string base64_encode(const std::string& s);

}  // namespace faultline::proxy
