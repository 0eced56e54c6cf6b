// The MD5 step templates shared by the lane implementations. Included ONLY by md5_scalar.cpp,
// md5_avx2.cpp and md5_avx512.cpp, each compiled with different -m flags: everything here lives in
// an anonymous namespace so every translation unit keeps its own copy and the linker can never pick
// an AVX-512 instantiation for the scalar path (no std:: calls either, for the same reason).
//
// An `Ops` class supplies the lane type V and its primitives: kLanes, set1, load, store, add,
// rotl<S>, f/g/h/i (the four MD5 round functions) and match (bit per lane where (x&m)==t).
#pragma once

#include <cstddef>
#include <cstdint>

#include "target/solver/md5_lanes.hpp"

#define FL_MD5_INLINE inline __attribute__((always_inline))

namespace faultline::target::md5 {
namespace {

// RFC 1321: T[i] = floor(2^32 * |sin(i + 1)|), per-step rotations and message word order.
constexpr std::uint32_t kT[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr int kRot[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                          5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                          4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                          6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
constexpr int kMsg[64] = {0, 1, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                          1, 6, 11, 0,  5,  10, 15, 4,  9,  14, 3,  8,  13, 2,  7,  12,
                          5, 8, 11, 14, 1,  4,  7,  10, 13, 0,  3,  6,  9,  12, 15, 2,
                          0, 7, 14, 5,  12, 3,  10, 1,  8,  15, 6,  13, 4,  11, 2,  9};

// Plain 32-bit words: the scalar lane type (also used for the steps shared by all lanes).
struct ScalarOps {
  using V = std::uint32_t;
  static constexpr unsigned kLanes = 1;
  static FL_MD5_INLINE V set1(std::uint32_t x) { return x; }
  static FL_MD5_INLINE V load(const std::uint32_t* p) { return *p; }
  static FL_MD5_INLINE void store(std::uint32_t* p, V x) { *p = x; }
  static FL_MD5_INLINE V add(V a, V b) { return a + b; }
  template <int S>
  static FL_MD5_INLINE V rotl(V x) {
    return (x << S) | (x >> (32 - S));
  }
  static FL_MD5_INLINE V f(V b, V c, V d) { return d ^ (b & (c ^ d)); }
  static FL_MD5_INLINE V g(V b, V c, V d) { return c ^ (d & (b ^ c)); }
  static FL_MD5_INLINE V h(V b, V c, V d) { return b ^ c ^ d; }
  static FL_MD5_INLINE V i(V b, V c, V d) { return c ^ (b | ~d); }
  static FL_MD5_INLINE unsigned match(V x, V mask, V target) {
    return (x & mask) == target ? 1u : 0u;
  }
};

template <class O>
struct Md5Core {
  using V = typename O::V;

  // Step I on state st (roles rotate: step I updates st[(4 - I % 4) % 4]); km = T[I] + M[...].
  template <int I>
  static FL_MD5_INLINE void step(V* st, V km) {
    constexpr int ia = (4 - I % 4) % 4;
    constexpr int ib = (ia + 1) % 4, ic = (ia + 2) % 4, id = (ia + 3) % 4;
    V fn;
    if constexpr (I < 16) {
      fn = O::f(st[ib], st[ic], st[id]);
    } else if constexpr (I < 32) {
      fn = O::g(st[ib], st[ic], st[id]);
    } else if constexpr (I < 48) {
      fn = O::h(st[ib], st[ic], st[id]);
    } else {
      fn = O::i(st[ib], st[ic], st[id]);
    }
    st[ia] = O::add(st[ib], O::template rotl<kRot[I]>(O::add(O::add(st[ia], fn), km)));
  }

  // Steps [I, End) with every message word a lane vector.
  template <int I, int End>
  static FL_MD5_INLINE void steps_full(V* st, const V* w) {
    if constexpr (I < End) {
      step<I>(st, O::add(O::set1(kT[I]), w[kMsg[I]]));
      steps_full<I + 1, End>(st, w);
    }
  }

  // One block into st (feed-forward included).
  static FL_MD5_INLINE void compress(V* st, const V* w) {
    V x[4] = {st[0], st[1], st[2], st[3]};
    steps_full<0, 64>(x, w);
    for (int k = 0; k < 4; ++k)
      st[k] = O::add(st[k], x[k]);
  }

  // Search steps [I, End) on S interleaved streams (independent dependency chains keep the ALUs
  // busy). km[I] = T[I] + M[kMsg[I]] for the words shared by all lanes; word kFastWord comes from
  // fast[s] (per lane).
  template <int S, int I, int End>
  static FL_MD5_INLINE void steps_search(V (*st)[4], const std::uint32_t* km, const V* fast) {
    if constexpr (I < End) {
      const V k = O::set1(km[I]);
#pragma GCC unroll 8
      for (int s = 0; s < S; ++s) {
        if constexpr (kMsg[I] == static_cast<int>(kFastWord)) {
          step<I>(st[s], O::add(k, fast[s]));
        } else {
          step<I>(st[s], k);
        }
      }
      steps_search<S, I + 1, End>(st, km, fast);
    }
  }
};

// finish_blocks for one lane type: candidates in groups of kLanes (the last group padded by
// repeating its last candidate), words transposed through a small buffer.
template <class O>
void finish_impl(const State& saved, const unsigned char* blocks, std::size_t bpc,
                 std::size_t count, State* digests) {
  using V = typename O::V;
  constexpr unsigned L = O::kLanes;
  alignas(64) std::uint32_t words[16][L];
  alignas(64) std::uint32_t out[4][L];
  for (std::size_t first = 0; first < count; first += L) {
    V st[4];
    for (int k = 0; k < 4; ++k)
      st[k] = O::set1(saved.h[k]);
    for (std::size_t b = 0; b < bpc; ++b) {
      for (unsigned lane = 0; lane < L; ++lane) {
        std::size_t cand = first + lane < count ? first + lane : count - 1;
        const unsigned char* p = blocks + (cand * bpc + b) * 64;
        for (int j = 0; j < 16; ++j) {
          words[j][lane] = static_cast<std::uint32_t>(p[4 * j]) |
                           static_cast<std::uint32_t>(p[4 * j + 1]) << 8 |
                           static_cast<std::uint32_t>(p[4 * j + 2]) << 16 |
                           static_cast<std::uint32_t>(p[4 * j + 3]) << 24;
        }
      }
      V w[16];
      for (int j = 0; j < 16; ++j)
        w[j] = O::load(words[j]);
      Md5Core<O>::compress(st, w);
    }
    for (int k = 0; k < 4; ++k)
      O::store(out[k], st[k]);
    for (unsigned lane = 0; lane < L && first + lane < count; ++lane) {
      for (int k = 0; k < 4; ++k)
        digests[first + lane].h[k] = out[k][lane];
    }
  }
}

// scan for one lane type with S interleaved streams; NeedB when the prefix reaches digest word B.
template <class O, int S, bool NeedB>
unsigned scan_impl(const SearchBlock& sb, const std::uint32_t* fast, std::uint16_t* hits) {
  using V = typename O::V;
  constexpr unsigned L = O::kLanes;
  static_assert(kFastCount % (L * S) == 0, "lane groups must tile the 1296 fast values");

  // Steps 0..11 only see words shared by every candidate: once, scalar.
  std::uint32_t head[4] = {sb.saved.h[0], sb.saved.h[1], sb.saved.h[2], sb.saved.h[3]};
  std::uint32_t km[64];
  for (int k = 0; k < 64; ++k) {
    km[k] = kT[k] + (kMsg[k] == static_cast<int>(kFastWord) ? 0u : sb.m[kMsg[k]]);
  }
  Md5Core<ScalarOps>::steps_full<0, static_cast<int>(kFastWord)>(head, sb.m);

  const V h0 = O::set1(sb.saved.h[0]), h1 = O::set1(sb.saved.h[1]);
  const V mask_a = O::set1(sb.mask_a), target_a = O::set1(sb.target_a);
  const V mask_b = O::set1(sb.mask_b), target_b = O::set1(sb.target_b);
  unsigned found = 0;
  for (unsigned base = 0; base < kFastCount; base += L * S) {
    V st[S][4];
    V fv[S];
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      fv[s] = O::load(fast + base + static_cast<unsigned>(s) * L);
      for (int k = 0; k < 4; ++k)
        st[s][k] = O::set1(head[k]);
    }
    // Digest word A is final after step 60 (B after 63); the feed-forward adds the saved state.
    Md5Core<O>::template steps_search<S, static_cast<int>(kFastWord), NeedB ? 64 : 61>(st, km, fv);
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      unsigned bits = O::match(O::add(st[s][0], h0), mask_a, target_a);
      if constexpr (NeedB) bits &= O::match(O::add(st[s][1], h1), mask_b, target_b);
      while (bits != 0) {
        unsigned lane = static_cast<unsigned>(__builtin_ctz(bits));
        bits &= bits - 1;
        hits[found++] = static_cast<std::uint16_t>(base + static_cast<unsigned>(s) * L + lane);
      }
    }
  }
  return found;
}

template <class O, int S>
unsigned scan_dispatch(const SearchBlock& sb, const std::uint32_t* fast, std::uint16_t* hits) {
  return sb.mask_b == 0 ? scan_impl<O, S, false>(sb, fast, hits)
                        : scan_impl<O, S, true>(sb, fast, hits);
}

}  // namespace
}  // namespace faultline::target::md5
