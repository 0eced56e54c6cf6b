// The MD5 prefix solver. A candidate suffix is a base-6 numeral over the alphabet
// " \t\n\v\f\r" (space is digit 0, so unused high digits are spaces). Its length L is chosen so
// that content + suffix ends at byte 52 of its last 64-byte block: the padding (0x80 at byte 52,
// the length at 56) never moves, the four least significant digits are always message word 12 (the
// lanes' "fast" word), and everything before the final block is hashed once. The counter space is
// cut into chunks of kHiPerChunk x 1296 candidates that the threads take from an atomic counter.
#include "target/solver/solver.hpp"

#include <openssl/evp.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "target/solver/md5_lanes.hpp"
#include "target/solver/solver_internal.hpp"

namespace faultline::target {

namespace {

constexpr char kAlphabet[6] = {' ', '\t', '\n', '\v', '\f', '\r'};
constexpr std::uint64_t kHiPerChunk = 8;
constexpr std::uint64_t kMaxHi = std::uint64_t{1} << 50;  // per segment: 1.4e18 candidates
using Clock = std::chrono::steady_clock;

// State after the 64-byte blocks [from, to) of content followed by spaces.
md5::State advance(md5::State st, std::string_view content, std::size_t from, std::size_t to) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(content.data());
  for (std::size_t pos = from; pos < to; pos += 64) {
    if (pos + 64 <= content.size()) {
      md5::compress(st, bytes + pos);
    } else {
      unsigned char block[64];
      std::memset(block, ' ', sizeof block);
      if (pos < content.size()) std::memcpy(block, bytes + pos, content.size() - pos);
      md5::compress(st, block);
    }
  }
  return st;
}

std::uint64_t pow6_capped(std::size_t digits) {
  std::uint64_t v = 1;
  for (std::size_t i = 0; i < digits && v < kMaxHi; ++i)
    v *= 6;
  return std::min(v, kMaxHi);
}

}  // namespace

namespace detail {

std::size_t min_suffix_digits(std::size_t prefix_hex_len) {
  // 6^D >= 16^k * 2^6: the chance that no suffix of this length matches is below e^-64.
  const double bits = 4.0 * static_cast<double>(prefix_hex_len) + 6.0;
  std::size_t d = 4;
  while (static_cast<double>(d) * std::log2(6.0) < bits)
    ++d;
  return d;
}

}  // namespace detail

std::size_t max_suffix_bytes(std::size_t prefix_hex_len) {
  // Segment 0's suffix is shorter than min_suffix_digits + 64 (suffix_length); segment 1, tried
  // only if segment 0 runs dry, is 64 bytes longer.
  return detail::min_suffix_digits(prefix_hex_len) + 63 + 64;
}

namespace detail {

std::size_t suffix_length(std::size_t content_len, std::size_t prefix_hex_len) {
  std::size_t len = (52 + 64 - content_len % 64) % 64;  // content + suffix ends at byte 52 (mod 64)
  if (len < min_suffix_digits(prefix_hex_len)) len += 64;
  return len;
}

Segment make_segment(std::string_view content, std::size_t suffix_len, const md5::State& saved,
                     std::size_t saved_at) {
  Segment seg;
  seg.suffix_len = suffix_len;
  const std::size_t total = content.size() + suffix_len;  // == 52 (mod 64)
  const std::size_t final_start = total - 52;
  seg.saved = advance(saved, content, saved_at, final_start);
  seg.final_start = final_start;
  for (std::size_t p = 0; p < 52; ++p) {
    std::size_t idx = final_start + p;
    seg.block[p] = idx < content.size() ? static_cast<unsigned char>(content[idx]) : ' ';
  }
  seg.block[52] = 0x80;
  seg.block[53] = seg.block[54] = seg.block[55] = 0;
  const std::uint64_t bits = static_cast<std::uint64_t>(total) * 8;
  for (int b = 0; b < 8; ++b)
    seg.block[56 + b] = static_cast<unsigned char>(bits >> (8 * b));
  seg.first_digit_byte =
      content.size() > final_start ? static_cast<unsigned>(content.size() - final_start) : 0u;
  seg.hi_count = pow6_capped(52 - seg.first_digit_byte - 4);
  seg.chunks = (seg.hi_count + kHiPerChunk - 1) / kHiPerChunk;
  return seg;
}

void fill_words(const Segment& seg, std::uint64_t hi, std::uint32_t* m) {
  std::array<unsigned char, 64> block = seg.block;
  for (int p = 47; hi != 0 && p >= static_cast<int>(seg.first_digit_byte); --p) {
    block[static_cast<std::size_t>(p)] = static_cast<unsigned char>(kAlphabet[hi % 6]);
    hi /= 6;
  }
  for (int j = 0; j < 16; ++j) {
    m[j] = static_cast<std::uint32_t>(block[4 * j]) |
           static_cast<std::uint32_t>(block[4 * j + 1]) << 8 |
           static_cast<std::uint32_t>(block[4 * j + 2]) << 16 |
           static_cast<std::uint32_t>(block[4 * j + 3]) << 24;
  }
}

std::string make_suffix(std::size_t suffix_len, std::uint64_t hi, unsigned lo) {
  std::string s(suffix_len, ' ');
  std::size_t pos = suffix_len;
  for (int j = 0; j < 4; ++j) {
    s[--pos] = kAlphabet[lo % 6];
    lo /= 6;
  }
  while (hi != 0 && pos > 0) {
    s[--pos] = kAlphabet[hi % 6];
    hi /= 6;
  }
  return s;
}

void prefix_mask(std::string_view prefix_hex, std::uint32_t& mask_a, std::uint32_t& target_a,
                 std::uint32_t& mask_b, std::uint32_t& target_b) {
  mask_a = target_a = mask_b = target_b = 0;
  for (std::size_t i = 0; i < prefix_hex.size(); ++i) {
    char c = prefix_hex[i];
    std::uint32_t v = static_cast<std::uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    // Hex digit i is byte i/2 of the digest (high nibble first); words are little-endian.
    unsigned byte = static_cast<unsigned>(i / 2) % 4;
    unsigned shift = 8 * byte + (i % 2 == 0 ? 4 : 0);
    if (i < 8) {
      mask_a |= 0xfu << shift;
      target_a |= v << shift;
    } else {
      mask_b |= 0xfu << shift;
      target_b |= v << shift;
    }
  }
}

}  // namespace detail

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr) != 1 || len != 16) {
    throw std::runtime_error("EVP_Digest(md5) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (unsigned i = 0; i < 16; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

bool valid_prefix_hex(std::string_view prefix_hex) {
  if (prefix_hex.empty() || prefix_hex.size() > 16) return false;
  return std::all_of(prefix_hex.begin(), prefix_hex.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ---- SolveJob -------------------------------------------------------------------------------

SolveJob::SolveJob(SolveRequest request, std::function<void(SolveResult)> on_done,
                   md5::Isa lane_isa)
    : req(std::move(request)), done(std::move(on_done)), isa(lane_isa) {
  if (!valid_prefix_hex(req.prefix_hex)) {
    throw std::invalid_argument("prefix must be 1 to 16 lowercase hex digits, got \"" +
                                req.prefix_hex + "\"");
  }
  detail::prefix_mask(req.prefix_hex, mask_a, target_a, mask_b, target_b);
}

bool SolveJob::check_stop() {
  if (stop.load(std::memory_order_acquire)) return true;
  if ((req.cancelled && req.cancelled->load(std::memory_order_relaxed)) ||
      Clock::now() >= req.deadline) {
    stop.store(true, std::memory_order_release);
    return true;
  }
  return false;
}

void SolveJob::prepare() {
  std::call_once(prepared_once, [this] {
    started = Clock::now();
    if (check_stop()) return;  // e.g. the deadline passed while queued: don't hash the content
    const std::size_t len = detail::suffix_length(req.content.size(), req.prefix_hex.size());
    segments[0] = detail::make_segment(req.content, len, md5::kInitialState, 0);
    // Only reached if segment 0 runs dry (probability < e^-64, or after 1.4e18 candidates).
    segments[1] =
        detail::make_segment(req.content, len + 64, segments[0].saved, segments[0].final_start);
    prepared = true;
  });
}

void SolveJob::work() {
  prepare();
  if (!prepared) return;
  md5::SearchBlock sb{};
  sb.mask_a = mask_a;
  sb.target_a = target_a;
  sb.mask_b = mask_b;
  sb.target_b = target_b;
  std::uint16_t hits[md5::kFastCount];
  std::uint64_t local = 0;
  while (!check_stop()) {
    std::uint64_t chunk = next_chunk.fetch_add(1, std::memory_order_relaxed);
    const detail::Segment* seg = nullptr;
    if (chunk < segments[0].chunks) {
      seg = &segments[0];
    } else if (chunk - segments[0].chunks < segments[1].chunks) {
      seg = &segments[1];
      chunk -= segments[0].chunks;
    } else {
      exhausted.store(true);
      stop.store(true, std::memory_order_release);
      break;
    }
    sb.saved = seg->saved;
    const std::uint64_t hi_end = std::min(seg->hi_count, (chunk + 1) * kHiPerChunk);
    for (std::uint64_t hi = chunk * kHiPerChunk; hi < hi_end; ++hi) {
      if (hi != chunk * kHiPerChunk && check_stop()) break;
      detail::fill_words(*seg, hi, sb.m);
      unsigned n = md5::scan(isa, sb, hits);
      local += md5::kFastCount;
      for (unsigned k = 0; k < n; ++k) {
        std::string suffix = detail::make_suffix(seg->suffix_len, hi, hits[k]);
        std::string digest = md5_hex(req.content + suffix);
        if (digest.compare(0, req.prefix_hex.size(), req.prefix_hex) != 0) {
          // A lane kernel disagrees with OpenSSL: a bug (the tests check every path).
          spdlog::error("solver: {} lane reported a false match", md5::isa_name(isa));
          continue;
        }
        std::lock_guard lk(result_mu);
        if (!found) {
          found = true;
          found_suffix = std::move(suffix);
          found_id = std::move(digest);
        }
        stop.store(true, std::memory_order_release);
        break;
      }
      if (stop.load(std::memory_order_acquire)) break;
    }
  }
  attempts.fetch_add(local, std::memory_order_relaxed);
}

SolveResult SolveJob::result() {
  SolveResult r;
  r.attempts = attempts.load();
  auto start = started == Clock::time_point{} ? Clock::now() : started;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::lock_guard lk(result_mu);
  if (found) {
    r.status = SolveResult::Status::found;
    r.suffix = found_suffix;
    r.id = found_id;
  } else if (pool_cancelled || (req.cancelled && req.cancelled->load())) {
    r.status = SolveResult::Status::cancelled;
  } else {
    // The deadline passed (or, unreachable in practice, both segments ran dry).
    r.status = SolveResult::Status::timed_out;
  }
  return r;
}

void SolveJob::finish() {
  SolveResult r = result();
  try {
    if (done) done(std::move(r));
  } catch (const std::exception& e) {
    spdlog::error("solver: completion callback threw: {}", e.what());
  }
}

// ---- solve ----------------------------------------------------------------------------------

SolveResult solve(const SolveRequest& req, unsigned threads, md5::Isa isa) {
  SolveJob job(req, nullptr, isa);
  threads = std::max(1u, threads);
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  try {
    for (unsigned t = 1; t < threads; ++t)
      helpers.emplace_back([&job] { job.work(); });
  } catch (...) {
    // A thread that cannot be created (EAGAIN): stop the ones that were, then report it.
    job.stop.store(true);
    for (auto& t : helpers)
      t.join();
    throw;
  }
  job.work();
  for (auto& t : helpers)
    t.join();
  return job.result();
}

SolveResult solve(const SolveRequest& req, unsigned threads) {
  return solve(req, threads, md5::best_isa());
}

// ---- SolverPool -----------------------------------------------------------------------------

SolverPool::SolverPool(unsigned threads, std::size_t max_queue) : max_queue_(max_queue) {
  threads = std::max(1u, threads);
  workers_.reserve(threads);
  try {
    for (unsigned t = 0; t < threads; ++t)
      workers_.emplace_back([this] { worker_loop(); });
  } catch (...) {
    // A thread that cannot be created (EAGAIN): stop the ones that were, then report it.
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_)
      w.join();
    throw;
  }
}

SolverPool::~SolverPool() {
  std::deque<std::shared_ptr<SolveJob>> leftovers;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    if (current_) {
      current_->pool_cancelled = true;
      current_->stop.store(true);
    }
    for (auto& job : waiting_)
      job->pool_cancelled = true;
    leftovers.swap(waiting_);
  }
  cv_.notify_all();
  for (auto& t : workers_)
    t.join();
  // A current job no worker had joined yet is finished here; one that workers ran was finished
  // by the last of them.
  if (current_ && !current_->finished) {
    current_->finished = true;
    current_->finish();
  }
  for (auto& job : leftovers)
    job->finish();
}

bool SolverPool::submit(SolveRequest req, std::function<void(SolveResult)> done) {
  auto job = std::make_shared<SolveJob>(std::move(req), std::move(done), md5::best_isa());
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    if (current_ && max_queue_ != 0 && waiting_.size() >= max_queue_) return false;
    job->id = next_job_id_++;
    if (!current_) {
      current_ = std::move(job);
    } else {
      waiting_.push_back(std::move(job));
    }
  }
  cv_.notify_all();
  return true;
}

std::size_t SolverPool::queued() const {
  std::lock_guard lk(mu_);
  return waiting_.size();
}

void SolverPool::worker_loop() {
  pthread_setname_np(pthread_self(), "solver");  // visible in top -H, perf and gdb
  std::uint64_t last_job = 0;
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || (current_ && current_->id != last_job); });
    if (stopping_) return;
    std::shared_ptr<SolveJob> job = current_;
    last_job = job->id;
    ++job->active;
    lk.unlock();
    job->work();
    lk.lock();
    // work() returns only once the job is over (found, stopped or exhausted): no one else may
    // join it, and the next job starts on the threads already free.
    if (!job->closed) {
      job->closed = true;
      if (current_ == job) {
        current_.reset();
        if (!waiting_.empty()) {
          current_ = std::move(waiting_.front());
          waiting_.pop_front();
        }
        cv_.notify_all();
      }
    }
    if (--job->active == 0 && !job->finished) {
      job->finished = true;
      lk.unlock();
      job->finish();
      lk.lock();
    }
  }
}

}  // namespace faultline::target
