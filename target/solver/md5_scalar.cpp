// The scalar MD5 lane path (no SIMD: this file is built with -fno-tree-vectorize). The search
// kernel interleaves four candidates so the four independent dependency chains fill the integer
// ALUs; a single MD5 chain is latency-bound.
#include "target/solver/md5_core.hpp"

namespace faultline::target::md5::detail {

void finish_scalar(const State& saved, const unsigned char* blocks, std::size_t bpc,
                   std::size_t count, State* digests) {
  finish_impl<ScalarOps>(saved, blocks, bpc, count, digests);
}

unsigned scan_scalar(const SearchBlock& block, const std::uint32_t* fast, std::uint16_t* hits) {
  return scan_dispatch<ScalarOps, 4>(block, fast, hits);
}

}  // namespace faultline::target::md5::detail

namespace faultline::target::md5 {

void compress(State& state, const unsigned char* block) {
  std::uint32_t w[16];
  for (int j = 0; j < 16; ++j) {
    w[j] = static_cast<std::uint32_t>(block[4 * j]) |
           static_cast<std::uint32_t>(block[4 * j + 1]) << 8 |
           static_cast<std::uint32_t>(block[4 * j + 2]) << 16 |
           static_cast<std::uint32_t>(block[4 * j + 3]) << 24;
  }
  Md5Core<ScalarOps>::compress(state.h, w);
}

}  // namespace faultline::target::md5
