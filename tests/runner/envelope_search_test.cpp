// The envelope search against synthetic systems whose boundary is known: each trial is a function
// of the point, so the bisection, the null cases, the adaptive load levels, the band and
// non-monotone reporting and the budget are checked exactly and fast.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "runner/envelope/envelope.hpp"

namespace faultline::runner::envelope {
namespace {

// A system that holds its SLO while fault <= limit(load); each trial "takes" one second.
TrialFn system(std::function<double(double)> limit) {
  return [limit](const Point& p) -> std::optional<Trial> {
    Trial t;
    t.pass = p.fault <= limit(p.load);
    t.seconds = 1;
    t.margin = (limit(p.load) - p.fault) / 100;
    return t;
  };
}

SearchOptions options() {
  SearchOptions o;
  o.load = {100, 900};
  o.fault = {0, 200};
  o.integer_fault = true;
  o.resolution = 2;
  o.repeats = 1;
  o.max_levels = 7;
  return o;
}

TEST(EnvelopeSearch, FindsALinearBoundaryAtEveryLevelWithinTheResolution) {
  auto limit = [](double load) { return 180 - load / 10; };
  const auto r = search(options(), system(limit));
  ASSERT_GE(r.levels.size(), 3u);
  EXPECT_FALSE(r.budget_exhausted);
  for (const auto& l : r.levels) {
    ASSERT_EQ(l.holds, "up_to") << l.load;
    ASSERT_TRUE(l.fault && l.band);
    EXPECT_NEAR(*l.fault, limit(l.load), 1.0) << l.load;
    EXPECT_LE(l.band->first, limit(l.load));
    EXPECT_GT(l.band->second, limit(l.load));
    EXPECT_LE(l.band->second - l.band->first, 2.0);
    EXPECT_TRUE(l.complete);
    EXPECT_TRUE(l.non_monotone.empty());
  }
  EXPECT_TRUE(r.rising.empty());
  EXPECT_EQ(r.levels.front().load, 100);
  EXPECT_EQ(r.levels.back().load, 900);
}

TEST(EnvelopeSearch, NullCasesHoldThroughoutAndFailAtTheStart) {
  // Holds everything below 500 req/s, nothing above.
  auto limit = [](double load) { return load < 500 ? 1000.0 : -1.0; };
  const auto r = search(options(), system(limit));
  ASSERT_GE(r.levels.size(), 3u);
  for (const auto& l : r.levels) {
    EXPECT_FALSE(l.fault.has_value());
    EXPECT_FALSE(l.band.has_value());
    EXPECT_EQ(l.holds, l.load < 500 ? "whole_range" : "none") << l.load;
  }
  // The step between 100 and 900 draws levels towards 500.
  double below = 0, above = 1e9;
  for (const auto& l : r.levels) {
    if (l.load < 500) below = std::max(below, l.load);
    if (l.load >= 500) above = std::min(above, l.load);
  }
  EXPECT_LE(above - below, 200);
}

TEST(EnvelopeSearch, LevelsAreAddedWhereTheBoundaryMoves) {
  // Flat at 150 up to 600 req/s, then falls steeply to 0 at 700.
  auto limit = [](double load) {
    return load <= 600 ? 150.0 : std::max(0.0, 150 - (load - 600) * 1.5);
  };
  auto o = options();
  o.max_levels = 6;
  const auto r = search(o, system(limit));
  int in_bend = 0;
  for (const auto& l : r.levels)
    if (l.load > 500 && l.load < 900) ++in_bend;
  EXPECT_GE(in_bend, 2) << "levels should crowd where the boundary bends";
}

TEST(EnvelopeSearch, TheBudgetStopsTheSearchAndWhatWasReachedIsReported) {
  auto o = options();
  o.budget_seconds = 5;
  const auto r = search(o, system([](double) { return 97.0; }));
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_EQ(r.trials.size(), 5u);
  ASSERT_EQ(r.levels.size(), 1u);
  EXPECT_FALSE(r.levels[0].complete);
  ASSERT_TRUE(r.levels[0].band);
  EXPECT_LE(r.levels[0].band->first, 97);
  EXPECT_GT(r.levels[0].band->second, 97);
}

TEST(EnvelopeSearch, ASingleLoadLevelAndTrialCountsPerLevel) {
  auto o = options();
  o.load = {50, 50};
  const auto r = search(o, system([](double) { return 98.0; }));
  ASSERT_EQ(r.levels.size(), 1u);
  EXPECT_NEAR(*r.levels[0].fault, 98.5, 0.6);
  EXPECT_EQ(r.levels[0].trials, static_cast<int>(r.trials.size()));
  for (std::size_t i = 0; i < r.trials.size(); ++i)
    EXPECT_EQ(r.trials[i].id, static_cast<int>(i) + 1);
}

TEST(EnvelopeSearch, NonMonotoneTrialsWidenTheBandAndAreNamed) {
  std::vector<Trial> ts(4);
  const double faults[] = {10, 20, 30, 40};
  const bool passes[] = {true, false, true, false};
  std::vector<const Trial*> ptrs;
  for (int i = 0; i < 4; ++i) {
    ts[i].id = i + 1;
    ts[i].point = {100, faults[i]};
    ts[i].pass = passes[i];
    ptrs.push_back(&ts[i]);
  }
  const Level l = summarize_level(100, ptrs, Range{0, 100}, true);
  EXPECT_EQ(l.holds, "up_to");
  ASSERT_TRUE(l.band);
  EXPECT_EQ(l.band->first, 10);
  EXPECT_EQ(l.band->second, 40);
  EXPECT_EQ(l.non_monotone, (std::vector<int>{2, 3}));
}

TEST(EnvelopeSearch, ADisagreeingRepeatIsNamedAndTheBandNarrowedAgain) {
  // Holds up to 66; at 69 the first trial fails and its repeat holds (noise).
  int at69 = 0;
  TrialFn fn = [&](const Point& p) -> std::optional<Trial> {
    Trial t;
    t.seconds = 1;
    t.pass = p.fault <= 66 || (p.fault == 69 && at69++ > 0);
    return t;
  };
  auto o = options();
  o.load = {100, 100};
  o.fault = {0, 93};
  o.resolution = 3;
  const auto r = search(o, fn);
  ASSERT_EQ(r.levels.size(), 1u);
  const Level& l = r.levels[0];
  ASSERT_TRUE(l.band);
  EXPECT_EQ(l.band->first, 66);
  EXPECT_LE(l.band->second, 72) << "the band is bisected again after the disagreement";
  // The failure at 69 and both later passes there (the repeat, and the re-bisection landing on 69).
  EXPECT_EQ(l.non_monotone.size(), 3u);
}

TEST(EnvelopeSearch, ABoundaryThatRisesWithLoadIsReported) {
  auto limit = [](double load) { return load / 10; };
  const auto r = search(options(), system(limit));
  EXPECT_FALSE(r.rising.empty());
}

TEST(EnvelopeSearch, AnInterruptStopsTheSearch) {
  int n = 0;
  TrialFn fn = [&](const Point& p) -> std::optional<Trial> {
    if (++n > 3) return std::nullopt;
    Trial t;
    t.pass = p.fault < 50;
    return t;
  };
  const auto r = search(options(), fn);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.trials.size(), 3u);
}

}  // namespace
}  // namespace faultline::runner::envelope
