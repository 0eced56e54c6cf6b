// The AVX-512F MD5 lane path: 16 x 32-bit lanes, three interleaved streams (48 candidates in
// flight; measured faster than one or nine). vprold rotates in one instruction and vpternlogd
// computes each round function in one. Built with -mavx512f; only called after
// isa_supported(Isa::avx512).
#include <immintrin.h>

#include "target/solver/md5_core.hpp"

namespace faultline::target::md5 {
namespace {

struct Avx512Ops {
  using V = __m512i;
  static constexpr unsigned kLanes = 16;
  static FL_MD5_INLINE V set1(std::uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static FL_MD5_INLINE V load(const std::uint32_t* p) { return _mm512_loadu_si512(p); }
  static FL_MD5_INLINE void store(std::uint32_t* p, V x) { _mm512_storeu_si512(p, x); }
  static FL_MD5_INLINE V add(V a, V b) { return _mm512_add_epi32(a, b); }
  template <int S>
  static FL_MD5_INLINE V rotl(V x) {
    // The masked form with an all-ones mask is the same vprold; the unmasked intrinsic trips GCC
    // 12's -Wmaybe-uninitialized on its _mm512_undefined_epi32() pass-through operand.
    return _mm512_mask_rol_epi32(x, static_cast<__mmask16>(0xffff), x, S);
  }
  // Truth tables over (b, c, d) = (0xf0, 0xcc, 0xaa).
  static FL_MD5_INLINE V f(V b, V c, V d) { return _mm512_ternarylogic_epi32(b, c, d, 0xca); }
  static FL_MD5_INLINE V g(V b, V c, V d) { return _mm512_ternarylogic_epi32(b, c, d, 0xe4); }
  static FL_MD5_INLINE V h(V b, V c, V d) { return _mm512_ternarylogic_epi32(b, c, d, 0x96); }
  static FL_MD5_INLINE V i(V b, V c, V d) { return _mm512_ternarylogic_epi32(b, c, d, 0x39); }
  static FL_MD5_INLINE unsigned match(V x, V mask, V target) {
    return static_cast<unsigned>(_mm512_cmpeq_epi32_mask(_mm512_and_si512(x, mask), target));
  }
};

}  // namespace

namespace detail {

void finish_avx512(const State& saved, const unsigned char* blocks, std::size_t bpc,
                   std::size_t count, State* digests) {
  finish_impl<Avx512Ops>(saved, blocks, bpc, count, digests);
}

unsigned scan_avx512(const SearchBlock& block, const std::uint32_t* fast, std::uint16_t* hits) {
  return scan_dispatch<Avx512Ops, 3>(block, fast, hits);
}

}  // namespace detail
}  // namespace faultline::target::md5
