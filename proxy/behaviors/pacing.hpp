// The rate pacing stage shared by `bandwidth` (a TCP direction) and `http_body_rate` (an HTTP
// body): pieces are cut into at most 100 ms worth of bytes, so the flow is smooth, and each is due
// when the "link" has carried the ones before it: the link is busy until `free_`, and a piece of n
// bytes takes n / rate seconds after that (or after its own due time, whichever is later).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "proxy/behavior.hpp"

namespace faultline::proxy {

class PacingStage : public StreamStage {
 public:
  // `bytes_per_second` 0: unlimited (pieces pass unchanged). Callers bound it at 10^12, so
  // n * 10^9 / rate cannot overflow.
  explicit PacingStage(std::int64_t bytes_per_second) : bytes_per_second_(bytes_per_second) {}

  void on_data(std::vector<Piece>& pieces, Clock::time_point /*now*/,
               StreamEffects& /*fx*/) override {
    if (bytes_per_second_ <= 0) return;
    const auto max_piece =
        static_cast<std::size_t>(std::max<std::int64_t>(1, bytes_per_second_ / 10));
    std::vector<Piece> out;
    for (auto& p : pieces) {
      for (std::size_t off = 0; off < p.bytes.size();) {
        const std::size_t n = std::min(max_piece, p.bytes.size() - off);
        const Clock::time_point start = std::max(p.due, free_);
        free_ = start + std::chrono::nanoseconds(static_cast<std::int64_t>(n) * 1'000'000'000 /
                                                 bytes_per_second_);
        out.push_back({free_, p.bytes.substr(off, n)});
        off += n;
      }
    }
    pieces = std::move(out);
  }

 private:
  std::int64_t bytes_per_second_;
  Clock::time_point free_{};
};

}  // namespace faultline::proxy
