// `weighted`: one draw picks at most one choice by its percent; the rest passes untouched.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(Weighted, PicksChoicesInProportionAndLabelsThem) {
  auto config = parse_behavior(
      "weighted",
      {{"choices",
        {{{"percent", 25}, {"type", "http_error"}}, {{"percent", 50}, {"type", "http_abort"}}}}},
      Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(5);
  int errors = 0, aborts = 0, none = 0;
  for (int i = 0; i < 4000; ++i) {
    const RequestFault f = config->request_fault(rng, Stream::upstream);
    switch (f.kind) {
      case RequestFault::Kind::error:
        ++errors;
        EXPECT_EQ(f.label, "http_error");
        break;
      case RequestFault::Kind::abort:
        ++aborts;
        EXPECT_EQ(f.label, "http_abort");
        break;
      case RequestFault::Kind::none:
        ++none;
        break;
      default:
        ADD_FAILURE() << "unexpected kind";
    }
  }
  // Seeded: exact counts are reproducible; these bounds are ±10% of the expectation.
  EXPECT_NEAR(errors, 1000, 100);
  EXPECT_NEAR(aborts, 2000, 200);
  EXPECT_NEAR(none, 1000, 100);
  EXPECT_EQ(config->extra_kinds(), (std::vector<std::string>{"http_error", "http_abort"}));
}

TEST(Weighted, AHundredPercentChoiceAlwaysMakesItsStage) {
  auto config =
      parse_behavior("weighted", {{"choices", {{{"percent", 100}, {"type", "limit_data"}}}}});
  ASSERT_TRUE(config);
  Rng rng(5);
  for (int i = 0; i < 10; ++i)
    EXPECT_NE(config->make_stream_stage(rng, kT0), nullptr);
}
