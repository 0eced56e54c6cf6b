// `http_body_delay`: each piece of a body (a read, or `per_bytes` bytes) due `delay` ± `jitter`
// after the one before it, whichever is later of that and its own arrival.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(HttpBodyDelay, EachReadWaitsAfterTheOneBefore) {
  auto stage = make_body_stage("http_body_delay", {{"delay", 100}});
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto first = chunk("abc");
  stage->on_data(first, kT0, fx);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].due, kT0 + milliseconds(100));
  EXPECT_EQ(first[0].bytes, "abc");
  // Read while the first still waits: due 100 ms after it (a slow server, not a shifted one).
  auto second = chunk("de", kT0 + milliseconds(10));
  stage->on_data(second, kT0 + milliseconds(10), fx);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].due, kT0 + milliseconds(200));
  // Read long after: 100 ms after its own arrival.
  auto third = chunk("f", kT0 + milliseconds(1000));
  stage->on_data(third, kT0 + milliseconds(1000), fx);
  EXPECT_EQ(third[0].due, kT0 + milliseconds(1100));
  EXPECT_EQ(fx.added_delay, milliseconds(300));
  EXPECT_FALSE(fx.close_at);
  EXPECT_FALSE(fx.reset_at);
}

TEST(HttpBodyDelay, PerBytesCutsTheBodyIntoDelayedPieces) {
  auto stage = make_body_stage("http_body_delay", {{"delay", 10}, {"per_bytes", 4}});
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto pieces = chunk("abcdefghij");
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].bytes, "abcd");
  EXPECT_EQ(pieces[1].bytes, "efgh");
  EXPECT_EQ(pieces[2].bytes, "ij");
  EXPECT_EQ(pieces[0].due, kT0 + milliseconds(10));
  EXPECT_EQ(pieces[1].due, kT0 + milliseconds(20));
  EXPECT_EQ(pieces[2].due, kT0 + milliseconds(30));
  EXPECT_EQ(joined(pieces), "abcdefghij");
}

TEST(HttpBodyDelay, JitterStaysWithinItsBoundsAndIsSeeded) {
  auto a =
      make_body_stage("http_body_delay", {{"delay", 100}, {"jitter", 20}}, Stream::downstream, 11);
  auto b =
      make_body_stage("http_body_delay", {{"delay", 100}, {"jitter", 20}}, Stream::downstream, 11);
  ASSERT_TRUE(a && b);
  StreamEffects fa, fb;
  double sum_ms = 0;
  constexpr int kN = 2000;
  for (int i = 0; i < kN; ++i) {
    // Each read arrives after the previous piece went out: its delay alone sets its due time.
    const auto now = kT0 + std::chrono::seconds(i);
    auto pa = chunk("x", now), pb = chunk("x", now);
    a->on_data(pa, now, fa);
    b->on_data(pb, now, fb);
    ASSERT_EQ(pa[0].due, pb[0].due);
    const double ms = std::chrono::duration<double, std::milli>(pa[0].due - now).count();
    ASSERT_GE(ms, 80.0);
    ASSERT_LE(ms, 120.0);
    sum_ms += ms;
  }
  EXPECT_NEAR(sum_ms / kN, 100.0, 1.0);  // uniform on [80, 120]: sd of the mean ~0.26 ms
}

TEST(HttpBodyDelay, ActsOnTheToxicsStream) {
  // Stream upstream: the request body (the fault carries the stream the toxic names).
  auto stage = make_body_stage("http_body_delay", {{"delay", 5}}, Stream::upstream);
  ASSERT_TRUE(stage);
}
