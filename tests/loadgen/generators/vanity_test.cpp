// Generator "vanity": its workload members and the request it sends: POST /pastes?prefix=HEX
// (`difficulty` hex digits) with a random text body.
#include <gtest/gtest.h>

#include <cctype>

#include "tests/loadgen/generators/fake_exchanger.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace faultline::loadgen::test;

TEST(VanityGenerator, RejectsBadMembersWithTheirPaths) {
  ConfigErrors errors;
  parse_entry({{"name", "v"},
               {"generator", "vanity"},
               {"difficulty", 9},
               {"size", {{"distribution", "zipf"}}},
               {"read_back", true}},
              errors);
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].difficulty")) << errors.to_string();
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].size.distribution")) << errors.to_string();
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].read_back")) << errors.to_string();
}

TEST(VanityGenerator, AsksForAPrefixOfTheDifficulty) {
  ConfigErrors errors;
  Workload w = parse_entry({{"name", "v"}, {"generator", "vanity"}, {"difficulty", 2}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.request_names, (std::vector<std::string>{"v"}));
  FakeExchanger ex;
  run_iteration(*w.entries[0].generator, ex);
  ASSERT_EQ(ex.sent.size(), 1u);
  const GeneratedRequest& r = ex.sent[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body.size(), 256u);  // the default size
  const std::string marker = "/pastes?prefix=";
  ASSERT_EQ(r.target.rfind(marker, 0), 0u) << r.target;
  const auto prefix = r.target.substr(marker.size());
  ASSERT_EQ(prefix.size(), 2u);
  for (char c : prefix)
    EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << prefix;
}
