// Solver internals shared by solver.cpp and the tests: the suffix layout (see solver.cpp's header
// comment) and the job that SolverPool and solve() run.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "target/solver/md5_lanes.hpp"
#include "target/solver/solver.hpp"

namespace faultline::target {

namespace detail {

// Fewest base-6 digits for a prefix of `prefix_hex_len` hex digits (>= 4: the fast word).
std::size_t min_suffix_digits(std::size_t prefix_hex_len);
// Suffix length: content + suffix == 52 (mod 64), at least min_suffix_digits.
std::size_t suffix_length(std::size_t content_len, std::size_t prefix_hex_len);

// One suffix length's search space.
struct Segment {
  md5::State saved{};                     // state after every block before the final one
  std::array<unsigned char, 64> block{};  // final block with every digit ' ' (digit 0)
  std::size_t suffix_len = 0;
  std::size_t final_start = 0;    // offset of the final block in content + suffix
  unsigned first_digit_byte = 0;  // first suffix byte inside the final block
  std::uint64_t hi_count = 0;     // values of the digits above the fast word (capped at 2^50)
  std::uint64_t chunks = 0;
};
// `saved` is the state after the first `saved_at` bytes (a multiple of 64) of content + spaces.
Segment make_segment(std::string_view content, std::size_t suffix_len, const md5::State& saved,
                     std::size_t saved_at);
// The final block's words for the high digits `hi` (word kFastWord still holds "    ").
void fill_words(const Segment& seg, std::uint64_t hi, std::uint32_t* m);
std::string make_suffix(std::size_t suffix_len, std::uint64_t hi, unsigned lo);
void prefix_mask(std::string_view prefix_hex, std::uint32_t& mask_a, std::uint32_t& target_a,
                 std::uint32_t& mask_b, std::uint32_t& target_b);

}  // namespace detail

struct SolveJob {
  SolveJob(SolveRequest request, std::function<void(SolveResult)> on_done, md5::Isa lane_isa);

  // Runs on every participating thread until the job is over.
  void work();
  SolveResult result();
  void finish();  // calls done(result())

  SolveRequest req;
  std::function<void(SolveResult)> done;
  md5::Isa isa;
  std::uint32_t mask_a = 0, target_a = 0, mask_b = 0, target_b = 0;

  std::atomic<std::uint64_t> next_chunk{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> exhausted{false};
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<bool> pool_cancelled{false};

  std::mutex result_mu;
  bool found = false;
  std::string found_suffix, found_id;

  // SolverPool bookkeeping, guarded by the pool's mutex.
  std::uint64_t id = 0;
  unsigned active = 0;
  bool closed = false;
  bool finished = false;

 private:
  bool check_stop();
  void prepare();

  std::once_flag prepared_once;
  bool prepared = false;
  std::chrono::steady_clock::time_point started{};
  std::array<detail::Segment, 2> segments{};
};

}  // namespace faultline::target
