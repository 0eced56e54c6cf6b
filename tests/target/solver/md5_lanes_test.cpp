// Every MD5 lane path (scalar, AVX2, AVX-512 when the CPU has them) against OpenSSL: RFC 1321
// vectors, random messages of every length 0..300 finished from a saved state, and the solver's
// search kernel (which candidates match) against OpenSSL digests of the real messages.
#include <openssl/evp.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "target/solver/md5_lanes.hpp"
#include "target/solver/solver.hpp"
#include "target/solver/solver_internal.hpp"

using namespace faultline::target;
namespace md5 = faultline::target::md5;

namespace {

std::array<unsigned char, 16> openssl_md5(std::string_view data) {
  std::array<unsigned char, 16> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_md5(), nullptr);
  return out;
}

std::array<unsigned char, 16> state_bytes(const md5::State& s) {
  std::array<unsigned char, 16> out{};
  for (int k = 0; k < 4; ++k) {
    for (int b = 0; b < 4; ++b)
      out[4 * k + b] = static_cast<unsigned char>(s.h[k] >> (8 * b));
  }
  return out;
}

// The message padded to whole blocks (RFC 1321 section 3.1-3.2).
std::vector<unsigned char> padded(std::string_view msg) {
  std::vector<unsigned char> out(msg.begin(), msg.end());
  out.push_back(0x80);
  while (out.size() % 64 != 56)
    out.push_back(0);
  std::uint64_t bits = static_cast<std::uint64_t>(msg.size()) * 8;
  for (int b = 0; b < 8; ++b)
    out.push_back(static_cast<unsigned char>(bits >> (8 * b)));
  return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xff);
  return s;
}

class Lanes : public ::testing::TestWithParam<md5::Isa> {
 protected:
  void SetUp() override {
    if (!md5::isa_supported(GetParam())) {
      GTEST_SKIP() << "CPU lacks " << md5::isa_name(GetParam());
    }
  }
};

std::string isa_param_name(const ::testing::TestParamInfo<md5::Isa>& info) {
  return std::string(md5::isa_name(info.param));
}

}  // namespace

TEST(Md5, Rfc1321Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"},
  };
  for (auto [msg, hex] : vectors) {
    EXPECT_EQ(md5_hex(msg), hex) << msg;
    // The scalar block function over the padded message gives the same digest.
    auto blocks = padded(msg);
    md5::State st = md5::kInitialState;
    for (std::size_t i = 0; i < blocks.size(); i += 64)
      md5::compress(st, blocks.data() + i);
    auto want = openssl_md5(msg);
    EXPECT_EQ(state_bytes(st), want) << msg;
  }
}

TEST(Md5, IsaNamesRoundTrip) {
  for (md5::Isa isa : {md5::Isa::scalar, md5::Isa::avx2, md5::Isa::avx512}) {
    EXPECT_EQ(md5::parse_isa(md5::isa_name(isa)), isa);
  }
  EXPECT_FALSE(md5::parse_isa("sse9"));
  EXPECT_TRUE(md5::isa_supported(md5::Isa::scalar));
  EXPECT_TRUE(md5::isa_supported(md5::best_isa()));
  EXPECT_EQ(md5::isa_lanes(md5::Isa::avx512), 16u);
}

// RFC vectors through the lanes: all candidates start from the initial state.
TEST_P(Lanes, Rfc1321VectorsFromInitialState) {
  const char* msgs[] = {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz"};
  for (const char* msg : msgs) {
    auto block = padded(msg);
    ASSERT_EQ(block.size(), 64u);
    // 21 copies: more than one lane group, with a partial last group.
    std::vector<unsigned char> blocks;
    for (int i = 0; i < 21; ++i)
      blocks.insert(blocks.end(), block.begin(), block.end());
    std::vector<md5::State> out(21);
    md5::finish_blocks(GetParam(), md5::kInitialState, blocks.data(), 1, 21, out.data());
    for (const auto& st : out)
      EXPECT_EQ(state_bytes(st), openssl_md5(msg)) << msg;
  }
}

// Random messages of every length 0..300, each lane a different message of that length; the
// final block(s) are finished from the state saved after the shared full blocks, and separately
// the whole message from the initial state.
TEST_P(Lanes, RandomMessagesEveryLengthMatchOpenSsl) {
  std::mt19937 rng(20261125);
  constexpr std::size_t kCandidates = 37;  // not a multiple of 8 or 16
  for (std::size_t len = 0; len <= 300; ++len) {
    const std::string shared = random_bytes(rng, len);
    const std::size_t full = len / 64 * 64;  // bytes hashed once into the saved state
    md5::State saved = md5::kInitialState;
    for (std::size_t i = 0; i < full; i += 64) {
      md5::compress(saved, reinterpret_cast<const unsigned char*>(shared.data()) + i);
    }
    std::vector<std::string> msgs;
    std::vector<unsigned char> tails, wholes;
    for (std::size_t c = 0; c < kCandidates; ++c) {
      // Candidates share the full blocks and differ in the tail.
      std::string m = shared.substr(0, full) + random_bytes(rng, len - full);
      auto p = padded(m);
      tails.insert(tails.end(), p.begin() + static_cast<std::ptrdiff_t>(full), p.end());
      wholes.insert(wholes.end(), p.begin(), p.end());
      msgs.push_back(std::move(m));
    }
    const std::size_t tail_blocks = (padded(msgs[0]).size() - full) / 64;
    const std::size_t whole_blocks = padded(msgs[0]).size() / 64;
    std::vector<md5::State> from_saved(kCandidates), from_start(kCandidates);
    md5::finish_blocks(GetParam(), saved, tails.data(), tail_blocks, kCandidates,
                       from_saved.data());
    md5::finish_blocks(GetParam(), md5::kInitialState, wholes.data(), whole_blocks, kCandidates,
                       from_start.data());
    for (std::size_t c = 0; c < kCandidates; ++c) {
      auto want = openssl_md5(msgs[c]);
      ASSERT_EQ(state_bytes(from_saved[c]), want) << "len " << len << " candidate " << c;
      ASSERT_EQ(state_bytes(from_start[c]), want) << "len " << len << " candidate " << c;
    }
  }
}

// The search kernel: for real messages (content + a solver suffix), the set of fast-word values
// it reports must be exactly the set whose OpenSSL digest satisfies the masks. Masks on one hex
// digit of word A (and one of word B, for the 64-step path) give ~5 or ~1296/256 hits per scan.
TEST_P(Lanes, SearchKernelMatchesOpenSsl) {
  std::mt19937 rng(7);
  const std::size_t lengths[] = {0, 1, 3, 27, 40, 51, 52, 53, 55, 63, 64, 100, 171, 300};
  for (std::size_t len : lengths) {
    const std::string content = random_bytes(rng, len);
    for (std::size_t prefix_len : {std::size_t{2}, std::size_t{12}}) {
      std::size_t suffix_len = detail::suffix_length(len, prefix_len);
      for (std::size_t extra : {std::size_t{0}, std::size_t{64}}) {
        auto seg = detail::make_segment(content, suffix_len + extra, md5::kInitialState, 0);
        ASSERT_EQ((len + seg.suffix_len) % 64, 52u);
        for (int round = 0; round < 3; ++round) {
          std::uint64_t hi = rng() % seg.hi_count;
          // OpenSSL digest of every candidate.
          std::vector<std::array<unsigned char, 16>> digests(md5::kFastCount);
          for (unsigned lo = 0; lo < md5::kFastCount; ++lo) {
            digests[lo] = openssl_md5(content + detail::make_suffix(seg.suffix_len, hi, lo));
          }
          auto word = [&](unsigned lo, int k) {
            std::uint32_t w = 0;
            for (int b = 0; b < 4; ++b)
              w |= std::uint32_t{digests[lo][4 * k + b]} << (8 * b);
            return w;
          };
          md5::SearchBlock sb{};
          sb.saved = seg.saved;
          detail::fill_words(seg, hi, sb.m);
          const unsigned pick = static_cast<unsigned>(rng() % md5::kFastCount);
          sb.mask_a = 0x000000f0u;
          sb.target_a = word(pick, 0) & sb.mask_a;
          if (prefix_len > 8) {
            sb.mask_b = 0x0000000fu;
            sb.target_b = word(pick, 1) & sb.mask_b;
          }
          std::set<unsigned> want;
          for (unsigned lo = 0; lo < md5::kFastCount; ++lo) {
            if ((word(lo, 0) & sb.mask_a) == sb.target_a &&
                (word(lo, 1) & sb.mask_b) == sb.target_b) {
              want.insert(lo);
            }
          }
          std::uint16_t hits[md5::kFastCount];
          unsigned n = md5::scan(GetParam(), sb, hits);
          std::set<unsigned> got(hits, hits + n);
          ASSERT_EQ(got.size(), n) << "duplicate hits";
          ASSERT_TRUE(std::is_sorted(hits, hits + n));
          ASSERT_EQ(got, want) << "len " << len << " suffix " << seg.suffix_len << " hi " << hi;
          ASSERT_TRUE(want.count(pick));
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Lanes,
                         ::testing::Values(md5::Isa::scalar, md5::Isa::avx2, md5::Isa::avx512),
                         isa_param_name);
