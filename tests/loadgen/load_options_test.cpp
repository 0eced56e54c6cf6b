// The load options' one set of rules: a scenario's `load` object (parse_load_options, errors at
// JSON paths) and `faultline load`'s flags (the same rule, naming the flag, exit 2) accept and
// refuse the same things; to_argv() round-trips through the flag parser.
#include "loadgen/load_options.hpp"

#include <gtest/gtest.h>

#include "common/subprocess.hpp"
#include "loadgen/load_flags.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::loadgen;

namespace {

struct Case {
  const char* name;
  json load;               // the scenario's `load` object
  const char* error_path;  // nullptr: must be accepted
  const char* message;     // part of the error message (nullptr: any)
};

class LoadOptionsJson : public ::testing::TestWithParam<Case> {};

TEST_P(LoadOptionsJson, AcceptsOrRejectsWithPath) {
  const Case& c = GetParam();
  ConfigErrors errors;
  (void)parse_load_options(c.load, "$.load", errors);
  if (!c.error_path) {
    EXPECT_TRUE(errors.empty()) << errors.to_string();
    return;
  }
  ASSERT_FALSE(errors.empty());
  const std::string all = errors.to_string();
  EXPECT_NE(all.find(std::string(c.error_path) + ": "), std::string::npos) << all;
  if (c.message) {
    EXPECT_NE(all.find(c.message), std::string::npos) << all;
  }
}

const Case kCases[] = {
    {"empty", json::object(), nullptr, nullptr},
    {"runner_members_ignored",
     {{"via", "edge"}, {"workload", "w.json"}, {"shards", 2}, {"apdex_t", "100ms"}},
     nullptr,
     nullptr},
    {"rate_number", {{"rate", 100}}, nullptr, nullptr},
    {"rate_fraction", {{"rate", 0.5}}, nullptr, nullptr},
    {"rate_string_k", {{"rate", "2k"}}, nullptr, nullptr},
    {"rate_zero", {{"rate", 0}}, "$.load.rate", "positive rate"},
    {"rate_negative", {{"rate", -5}}, "$.load.rate", "positive rate"},
    {"rate_malformed", {{"rate", "fast"}}, "$.load.rate", "positive rate"},
    {"rate_bool", {{"rate", true}}, "$.load.rate", "positive rate"},
    {"users_ok", {{"users", 10}}, nullptr, nullptr},
    {"users_string_k", {{"users", "1k"}}, nullptr, nullptr},
    {"users_zero", {{"users", 0}}, "$.load.users", ">= 1"},
    {"users_fraction", {{"users", 1.5}}, "$.load.users", "whole number"},
    {"users_too_many", {{"users", 200000}}, "$.load.users", "at most 100000 users"},
    {"rate_and_users", {{"rate", 10}, {"users", 10}}, "$.load.users", "not both"},
    {"stages_rate", {{"rate", 1}, {"stages", "30s:100,1m:100>1000"}}, nullptr, nullptr},
    {"stages_users", {{"users", 1}, {"stages", "10s:1|5|10"}}, nullptr, nullptr},
    // With stages, rate and users only pick the model: a level of 0 is the stages' business.
    {"stages_rate_zero", {{"rate", 0}, {"stages", "10s:5"}}, nullptr, nullptr},
    {"stages_users_zero", {{"users", 0}, {"stages", "10s:5"}}, nullptr, nullptr},
    {"stages_without_model", {{"stages", "30s:100"}}, "$.load.stages", "needs rate"},
    {"stages_blank", {{"rate", 1}, {"stages", " "}}, "$.load.stages", "got nothing"},
    {"stages_malformed", {{"rate", 1}, {"stages", "30s"}}, "$.load.stages", "DURATION:LEVEL"},
    {"stages_bad_duration", {{"rate", 1}, {"stages", "0s:5"}}, "$.load.stages", "bad duration"},
    {"stages_not_string", {{"rate", 1}, {"stages", 5}}, "$.load.stages", "must be a string"},
    {"stages_too_many_users",
     {{"users", 1}, {"stages", "1s:10,1s:200000"}},
     "$.load.stages",
     "at most 100000 users"},
    {"stages_many_rate_ok", {{"rate", 1}, {"stages", "1s:200000"}}, nullptr, nullptr},
    {"connections_ok", {{"connections", 100000}}, nullptr, nullptr},
    {"connections_too_many",
     {{"connections", 200000}},
     "$.load.connections",
     "must be between 1 and 100000"},
    {"connections_zero", {{"connections", 0}}, "$.load.connections", "between 1 and 100000"},
    {"connections_negative", {{"connections", -1}}, "$.load.connections", "between 1 and 100000"},
    {"connections_string", {{"connections", "50"}}, "$.load.connections", "whole number"},
    {"timeout_ok", {{"timeout", "500ms"}}, nullptr, nullptr},
    {"timeout_zero", {{"timeout", "0s"}}, "$.load.timeout", "duration > 0"},
    {"timeout_malformed", {{"timeout", "soon"}}, "$.load.timeout", "duration > 0"},
    {"timeout_number", {{"timeout", 2}}, "$.load.timeout", "must be a string"},
    {"seed_ok", {{"seed", 42}}, nullptr, nullptr},
    {"seed_large", {{"seed", 18446744073709551615ull}}, nullptr, nullptr},
    {"seed_negative", {{"seed", -1}}, "$.load.seed", ">= 0"},
    {"seed_string", {{"seed", "x"}}, "$.load.seed", ">= 0"},
    {"duration_ok", {{"duration", "1m"}}, nullptr, nullptr},
    {"duration_zero", {{"duration", "0s"}}, "$.load.duration", "duration > 0"},
};

INSTANTIATE_TEST_SUITE_P(All, LoadOptionsJson, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(LoadOptions, AllErrorsAtOnce) {
  ConfigErrors errors;
  (void)parse_load_options(
      json{{"rate", 10}, {"users", 5}, {"connections", 200000}, {"timeout", "0s"}}, "$.load",
      errors);
  EXPECT_EQ(errors.list().size(), 3u) << errors.to_string();
}

TEST(LoadOptions, ValuesAreRead) {
  ConfigErrors errors;
  const LoadOptions o = parse_load_options(
      json{{"rate", "2k"}, {"stages", "10s:5"}, {"connections", 7}, {"timeout", "2s"}, {"seed", 9}},
      "$.load", errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(o.rate, 2000.0);
  EXPECT_FALSE(o.users);
  EXPECT_EQ(o.stages, "10s:5");
  EXPECT_EQ(o.connections, 7);
  EXPECT_EQ(o.timeout, "2s");
  EXPECT_EQ(o.seed, 9u);
  EXPECT_FALSE(o.duration);
}

TEST(LoadOptions, TheSameRuleNamesTheFlagOnTheCommandLine) {
  LoadOptions too_many;
  too_many.connections = 200000;
  ConfigErrors errors;
  validate_load_options(too_many, OptionNames::flags(), errors);
  ASSERT_EQ(errors.list().size(), 1u);
  EXPECT_EQ(errors.list()[0], "--connections: must be between 1 and 100000");
  ConfigErrors json_errors;
  validate_load_options(too_many, OptionNames::json_path("$.load"), json_errors);
  ASSERT_EQ(json_errors.list().size(), 1u);
  EXPECT_EQ(json_errors.list()[0], "$.load.connections: must be between 1 and 100000");
  LoadOptions two_models;
  two_models.rate = 1;
  two_models.users = 1;
  ConfigErrors both;
  validate_load_options(two_models, OptionNames::flags(), both);
  ASSERT_EQ(both.list().size(), 1u);
  EXPECT_NE(both.list()[0].find("--rate"), std::string::npos) << both.list()[0];
}

// parse JSON -> to_argv -> faultline load's flag parser: the same options.
TEST(LoadOptions, ArgvRoundTripsThroughTheFlagParser) {
  const json forms[] = {
      json::object(),
      {{"rate", 100}},
      {{"rate", "2k"}, {"connections", 3}, {"timeout", "500ms"}, {"seed", 7}},
      {{"rate", 0.1}},
      {{"rate", 1e-5}},
      {{"rate", 123456.789}},
      {{"users", 10}, {"stages", "30s:10,1m:10>100,10s:1|2|3"}},
      {{"rate", 0}, {"stages", "10s:5"}, {"duration", "1h30m"}},
      {{"rate", 1}, {"stages", " 10s:5 , 5s:>1 "}, {"timeout", " 2s"}},
      {{"seed", 18446744073709551615ull}},
  };
  for (const auto& j : forms) {
    ConfigErrors errors;
    const LoadOptions o = parse_load_options(j, "$.load", errors);
    ASSERT_TRUE(errors.empty()) << j.dump() << ": " << errors.to_string();
    const auto argv = to_argv(o);
    ConfigErrors flag_errors;
    const LoadOptions back = parse_load_flags(argv, flag_errors);
    EXPECT_TRUE(flag_errors.empty()) << j.dump() << ": " << flag_errors.to_string();
    EXPECT_EQ(back, o) << j.dump();
  }
}

TEST(LoadOptions, ArgvHasTheFlags) {
  LoadOptions o;
  o.rate = 2000;
  o.connections = 4;
  o.timeout = "2s";
  const auto argv = to_argv(o);
  EXPECT_EQ(argv,
            (std::vector<std::string>{"--rate", "2000", "--connections", "4", "--timeout", "2s"}));
}

// The bad forms the runner's copy of the rules used to let through, on the command line: the
// same rule's error naming the flag, exit 2, before any connection is made.
TEST(LoadOptions, TheCommandLineRefusesTheSameForms) {
  using faultline::test::TempDir;
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"--connections", "200000"}, "--connections: must be between 1 and 100000"},
      {{"--rate", "10", "--timeout", "0s"}, "--timeout: expected a duration > 0"},
      {{"--stages", "10s:5"}, "--stages: needs --rate"},
      {{"--rate", "10", "--users", "2"}, "--users: give either --rate"},
  };
  for (const auto& [flags, message] : cases) {
    TempDir dir;
    std::vector<std::string> argv = {"load", "http://127.0.0.1:9/", "--duration", "200ms", "-q"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const int code = faultline::test::run_faultline(argv, dir.file("err.txt")).first;
    const std::string err = faultline::test::load::slurp(dir.file("err.txt"));
    EXPECT_EQ(code, 2) << message;
    EXPECT_NE(err.find(message), std::string::npos) << err;
  }
}

}  // namespace
