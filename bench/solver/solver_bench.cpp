// Micro-benchmarks of the solver's lane kernels on one thread: candidates per second of md5::scan
// for each lane width the CPU has, next to OpenSSL's MD5 block rate (EVP over 8 KiB buffers).
#include <openssl/evp.h>

#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "target/solver/md5_lanes.hpp"

namespace md5 = faultline::target::md5;

namespace {

void BM_Scan(benchmark::State& state, md5::Isa isa, bool need_b) {
  if (!md5::isa_supported(isa)) {
    state.SkipWithError("CPU lacks this ISA");
    return;
  }
  md5::SearchBlock sb{};
  sb.saved = md5::kInitialState;
  for (int j = 0; j < 16; ++j)
    sb.m[j] = 0x20202020u + static_cast<std::uint32_t>(j);
  // Impossible-ish prefix so the hit path stays cold, like a real search.
  sb.mask_a = 0xffffffffu;
  sb.target_a = 0x12345678u;
  sb.mask_b = need_b ? 0xffffffffu : 0;
  sb.target_b = need_b ? 0x9abcdef0u : 0;
  std::uint16_t hits[md5::kFastCount];
  std::uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(md5::scan(isa, sb, hits));
    ++sb.m[11];  // next "hi" value, as the solver does
    n += md5::kFastCount;
  }
  state.counters["candidates_per_second"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}

void BM_OpenSslMd5Blocks(benchmark::State& state) {
  std::vector<unsigned char> buf(8192, 'x');
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::uint64_t blocks = 0;
  for (auto _ : state) {
    EVP_Digest(buf.data(), buf.size(), digest, &len, EVP_md5(), nullptr);
    benchmark::DoNotOptimize(digest);
    blocks += buf.size() / 64;
  }
  state.counters["blocks_per_second"] =
      benchmark::Counter(static_cast<double>(blocks), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Scan, scalar_prefix8, md5::Isa::scalar, false);
BENCHMARK_CAPTURE(BM_Scan, scalar_prefix16, md5::Isa::scalar, true);
BENCHMARK_CAPTURE(BM_Scan, avx2_prefix8, md5::Isa::avx2, false);
BENCHMARK_CAPTURE(BM_Scan, avx2_prefix16, md5::Isa::avx2, true);
BENCHMARK_CAPTURE(BM_Scan, avx512_prefix8, md5::Isa::avx512, false);
BENCHMARK_CAPTURE(BM_Scan, avx512_prefix16, md5::Isa::avx512, true);
BENCHMARK(BM_OpenSslMd5Blocks);

BENCHMARK_MAIN();
