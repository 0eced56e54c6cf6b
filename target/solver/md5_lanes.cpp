// Run-time choice of the MD5 lane implementation and the dispatchers in front of the per-ISA
// translation units.
#include "target/solver/md5_lanes.hpp"

#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace faultline::target::md5 {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (isa_name(isa) == name) return isa;
  }
  return std::nullopt;
}

namespace {

// FAULTLINE_SOLVER_MAX_ISA=scalar|avx2 makes wider lanes count as unsupported: the fallback paths
// (and `--isa` errors) can be exercised on a CPU that has everything. Read once.
int max_isa_from_env() {
  static const int cap = [] {
    const char* env = std::getenv("FAULTLINE_SOLVER_MAX_ISA");
    if (env == nullptr) return static_cast<int>(Isa::avx512);
    auto isa = parse_isa(env);
    return static_cast<int>(isa ? *isa : Isa::avx512);
  }();
  return cap;
}

}  // namespace

bool isa_supported(Isa isa) {
  if (static_cast<int>(isa) > max_isa_from_env()) return false;
  // libgcc's checks include the OS side (XGETBV says the wide registers are saved).
  switch (isa) {
    case Isa::scalar:
      return true;
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") != 0;
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") != 0;
  }
  return false;
}

Isa best_isa() {
  if (isa_supported(Isa::avx512)) return Isa::avx512;
  if (isa_supported(Isa::avx2)) return Isa::avx2;
  return Isa::scalar;
}

unsigned isa_lanes(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return 1;
    case Isa::avx2:
      return 8;
    case Isa::avx512:
      return 16;
  }
  return 1;
}

namespace {

void require(Isa isa) {
  if (!isa_supported(isa)) {
    throw std::invalid_argument("this CPU does not support " + std::string(isa_name(isa)));
  }
}

struct FastTable {
  alignas(64) std::array<std::uint32_t, kFastCount> words{};
  FastTable() {
    static constexpr unsigned char kAlphabet[6] = {' ', '\t', '\n', '\v', '\f', '\r'};
    for (unsigned lo = 0; lo < kFastCount; ++lo) {
      unsigned v = lo;
      std::uint32_t w = 0;
      // Digit 0 (least significant) is the word's last byte: the suffix's last character.
      for (int byte = 3; byte >= 0; --byte) {
        w |= static_cast<std::uint32_t>(kAlphabet[v % 6]) << (8 * byte);
        v /= 6;
      }
      words[lo] = w;
    }
  }
};

}  // namespace

const std::uint32_t* fast_words() {
  static const FastTable table;
  return table.words.data();
}

void finish_blocks(Isa isa, const State& saved, const unsigned char* blocks,
                   std::size_t blocks_per_candidate, std::size_t count, State* digests) {
  require(isa);
  switch (isa) {
    case Isa::scalar:
      return detail::finish_scalar(saved, blocks, blocks_per_candidate, count, digests);
    case Isa::avx2:
      return detail::finish_avx2(saved, blocks, blocks_per_candidate, count, digests);
    case Isa::avx512:
      return detail::finish_avx512(saved, blocks, blocks_per_candidate, count, digests);
  }
}

unsigned scan(Isa isa, const SearchBlock& block, std::uint16_t* hits) {
  switch (isa) {
    case Isa::scalar:
      return detail::scan_scalar(block, fast_words(), hits);
    case Isa::avx2:
      require(isa);
      return detail::scan_avx2(block, fast_words(), hits);
    case Isa::avx512:
      require(isa);
      return detail::scan_avx512(block, fast_words(), hits);
  }
  return 0;
}

}  // namespace faultline::target::md5
