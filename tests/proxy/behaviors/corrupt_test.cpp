// `corrupt`: `bytes` random positions per chunk replaced (xor, never a no-op) or injected.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

namespace {
std::size_t differing(const std::string& a, const std::string& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    n += a[i] != b[i];
  return n;
}
}  // namespace

TEST(Corrupt, ReplaceChangesOneByteByDefault) {
  auto stage = make_stage("corrupt", json::object());
  ASSERT_TRUE(stage);
  const std::string data(64, 'a');
  for (int i = 0; i < 50; ++i) {
    auto pieces = chunk(data);
    StreamEffects fx;
    stage->on_data(pieces, kT0, fx);
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_EQ(pieces[0].bytes.size(), data.size());
    EXPECT_EQ(differing(pieces[0].bytes, data), 1u);
    EXPECT_EQ(pieces[0].due, kT0);
  }
}

TEST(Corrupt, ReplaceChangesAtMostBytesPositions) {
  auto stage = make_stage("corrupt", {{"mode", "replace"}, {"bytes", 3}});
  ASSERT_TRUE(stage);
  const std::string data(1000, 'a');
  auto pieces = chunk(data);
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  const auto n = differing(pieces[0].bytes, data);
  EXPECT_GE(n, 1u);  // two draws may hit the same position (and even restore it: xor twice)
  EXPECT_LE(n, 3u);
}

TEST(Corrupt, InjectAddsBytesAndKeepsTheOriginalInOrder) {
  auto stage = make_stage("corrupt", {{"mode", "inject"}, {"bytes", 2}});
  ASSERT_TRUE(stage);
  const std::string data = "0123456789";
  auto pieces = chunk(data);
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  const std::string& out = pieces[0].bytes;
  ASSERT_EQ(out.size(), data.size() + 2);
  // `data` is a subsequence of `out`.
  std::size_t j = 0;
  for (std::size_t i = 0; i < out.size() && j < data.size(); ++i)
    if (out[i] == data[j]) ++j;
  EXPECT_EQ(j, data.size());
}

TEST(Corrupt, EmptyPiecesStayEmpty) {
  auto stage = make_stage("corrupt", {{"mode", "inject"}});
  ASSERT_TRUE(stage);
  auto pieces = chunk("");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_TRUE(pieces[0].bytes.empty());
}

TEST(Corrupt, SameSeedSameDamageOtherSeedOtherDamage) {
  const std::string data(256, 'a');
  auto run = [&](std::uint64_t seed) {
    auto stage = make_stage("corrupt", {{"bytes", 4}}, seed);
    auto pieces = chunk(data);
    StreamEffects fx;
    stage->on_data(pieces, kT0, fx);
    return pieces[0].bytes;
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

// Issue 22 #3: the work per chunk is bounded by the chunk (a huge `bytes` pinned a worker).
TEST(Corrupt, AChunkGetsAtMostAsManyChangesAsItHasBytes) {
  auto stage = make_stage("corrupt", {{"mode", "inject"}, {"bytes", 1 << 20}});
  ASSERT_TRUE(stage);
  auto pieces = chunk("0123456789");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  EXPECT_EQ(pieces[0].bytes.size(), 20u);
  ConfigErrors errors;
  EXPECT_FALSE(parse_toxic(json{{"type", "corrupt"}, {"attributes", {{"bytes", (1 << 20) + 1}}}},
                           "$", Protocol::tcp, builtin_registry(), errors));
  EXPECT_NE(errors.to_string().find("$.attributes.bytes: must be at most 1048576"),
            std::string::npos)
      << errors.to_string();
}
