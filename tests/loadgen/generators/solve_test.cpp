// Generator "solve": its workload members (difficulty 1..7, size) and the request it sends:
// POST /solve with JSON {"content", "prefix"} where the prefix has `difficulty` hex digits.
#include <gtest/gtest.h>

#include <cctype>

#include "tests/loadgen/generators/fake_exchanger.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace faultline::loadgen::test;

TEST(SolveGenerator, AcceptsDifficultyAndSize) {
  ConfigErrors errors;
  Workload w = parse_entry(
      {{"name", "s"}, {"generator", "solve"}, {"difficulty", 5}, {"size", 32u}}, errors);
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.request_names, (std::vector<std::string>{"s"}));
}

TEST(SolveGenerator, RejectsBadMembersWithTheirPaths) {
  for (const json& bad : {json(0), json(8), json("3")}) {
    ConfigErrors errors;
    parse_entry({{"name", "s"}, {"generator", "solve"}, {"difficulty", bad}}, errors);
    EXPECT_TRUE(has_error_at(errors, "$.mix[0].difficulty")) << bad << errors.to_string();
  }
  ConfigErrors errors;
  parse_entry({{"name", "s"}, {"generator", "solve"}, {"pages", 3}}, errors);
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].pages")) << errors.to_string();
}

TEST(SolveGenerator, SendsContentAndAHexPrefixOfTheDifficulty) {
  ConfigErrors errors;
  Workload w = parse_entry(
      {{"name", "s"}, {"generator", "solve"}, {"difficulty", 5}, {"size", 32u}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  FakeExchanger ex;
  run_iteration(*w.entries[0].generator, ex);
  ASSERT_EQ(ex.sent.size(), 1u);
  const GeneratedRequest& r = ex.sent[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/solve");
  EXPECT_EQ(r.content_type, "application/json");
  const json body = json::parse(r.body);
  EXPECT_EQ(body["content"].get<std::string>().size(), 32u);
  const auto prefix = body["prefix"].get<std::string>();
  ASSERT_EQ(prefix.size(), 5u);
  for (char c : prefix)
    EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << prefix;
}

TEST(SolveGenerator, DefaultsToThreeDigitsAnd64Bytes) {
  ConfigErrors errors;
  Workload w = parse_entry({{"name", "s"}, {"generator", "solve"}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  FakeExchanger ex;
  run_iteration(*w.entries[0].generator, ex);
  ASSERT_EQ(ex.sent.size(), 1u);
  const json body = json::parse(ex.sent[0].body);
  EXPECT_EQ(body["prefix"].get<std::string>().size(), 3u);
  EXPECT_EQ(body["content"].get<std::string>().size(), 64u);
}
