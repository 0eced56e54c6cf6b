// MD5 compression for several candidates at once: a scalar path, AVX2 (8 x 32-bit lanes) and
// AVX-512F (16 lanes), each compiled in its own translation unit with its own -m flags and chosen
// at run time. Exposed for the solver, the tests (every path against OpenSSL) and the benchmark.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace faultline::target::md5 {

enum class Isa { scalar, avx2, avx512 };

std::string_view isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);  // "scalar", "avx2", "avx512"
// CPU (and OS) support via __builtin_cpu_supports, capped by the environment variable
// FAULTLINE_SOLVER_MAX_ISA (scalar|avx2|avx512) if set, for testing the fallbacks.
bool isa_supported(Isa isa);
Isa best_isa();               // avx512 > avx2 > scalar
unsigned isa_lanes(Isa isa);  // 1, 8, 16

// MD5 chaining state (A, B, C, D); a digest is the final state, little-endian word by word.
struct State {
  std::uint32_t h[4];
};
inline constexpr State kInitialState{{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u}};

// One 64-byte block into `state` (scalar; used to hash the fixed part of a message once).
void compress(State& state, const unsigned char* block);

// Final-block digests from a saved state: candidate i's remaining `blocks_per_candidate` blocks
// (already padded, 64 bytes each) start at blocks + i * blocks_per_candidate * 64; `digests[i]`
// receives the state after them. Runs `count` candidates through `isa`'s lanes.
void finish_blocks(Isa isa, const State& saved, const unsigned char* blocks,
                   std::size_t blocks_per_candidate, std::size_t count, State* digests);

// The solver's search kernel. The candidate's final block is `m` with word kFastWord replaced by
// fast_words()[lo] for every lo in [0, kFastCount): four base-6 whitespace digits. Only message
// word 12 varies between candidates, so steps 0..11 are computed once (scalar) and the lanes run
// the rest; with a prefix of at most 8 hex digits only digest word A matters, so steps 61..63 are
// skipped.
inline constexpr unsigned kFastWord = 12;
inline constexpr unsigned kFastCount = 1296;  // 6^4
struct SearchBlock {
  State saved;             // state before the final block
  std::uint32_t m[16];     // the final block's words (m[kFastWord] is ignored)
  std::uint32_t mask_a;    // a candidate matches when (A & mask_a) == target_a
  std::uint32_t target_a;  // and (B & mask_b) == target_b (A, B: digest words)
  std::uint32_t mask_b;    // 0 when the prefix has at most 8 hex digits
  std::uint32_t target_b;
};
// The 1296 values of word kFastWord: lo's base-6 digits d0 (least significant) .. d3 as the bytes
// " \t\n\v\f\r"[d], d0 in the word's last byte (the suffix's last character).
const std::uint32_t* fast_words();
// Writes every matching lo (ascending) to `hits` (room for kFastCount) and returns how many.
unsigned scan(Isa isa, const SearchBlock& block, std::uint16_t* hits);

// Per-ISA entry points (md5_scalar.cpp, md5_avx2.cpp, md5_avx512.cpp); call through the
// dispatchers above, which check isa_supported.
namespace detail {
void finish_scalar(const State& saved, const unsigned char* blocks, std::size_t bpc,
                   std::size_t count, State* digests);
void finish_avx2(const State& saved, const unsigned char* blocks, std::size_t bpc,
                 std::size_t count, State* digests);
void finish_avx512(const State& saved, const unsigned char* blocks, std::size_t bpc,
                   std::size_t count, State* digests);
unsigned scan_scalar(const SearchBlock& block, const std::uint32_t* fast, std::uint16_t* hits);
unsigned scan_avx2(const SearchBlock& block, const std::uint32_t* fast, std::uint16_t* hits);
unsigned scan_avx512(const SearchBlock& block, const std::uint32_t* fast, std::uint16_t* hits);
}  // namespace detail

}  // namespace faultline::target::md5
