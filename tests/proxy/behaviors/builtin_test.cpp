// The built-in list (proxy/behaviors/builtin.cpp): every behavior registered once, and the
// Registry's names are what error messages offer as the known types.
#include <gtest/gtest.h>

#include <algorithm>

#include "proxy/one_liner.hpp"
#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

namespace {
const std::vector<std::string> kBuiltin = {
    "abort",           "bandwidth",      "blackout",
    "corrupt",         "hang",           "http_abort",
    "http_body_delay", "http_body_rate", "http_body_truncate",
    "http_delay",      "http_error",     "latency",
    "limit_data",      "redis_delay",    "redis_error",
    "reset_peer",      "slicer",         "slow_close",
    "timeout",         "transient",      "weighted"};
}  // namespace

TEST(Builtin, RegistersEveryBehaviorSortedByName) {
  const auto names = builtin_registry().names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (const auto& name : kBuiltin)  // a new behavior adds to the list; none may go missing
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  for (const auto& name : names) {
    const BehaviorType* bt = builtin_registry().find(name);
    ASSERT_NE(bt, nullptr) << name;
    EXPECT_EQ(bt->name, name);
    EXPECT_FALSE(bt->description.empty()) << name;
    EXPECT_TRUE(bt->parse) << name;
    EXPECT_TRUE(bt->tcp || bt->http || bt->redis) << name;
  }
}

TEST(Builtin, UnknownTypeErrorListsTheRegistrysNames) {
  ConfigErrors errors;
  auto t = parse_toxic(json{{"type", "latencyy"}}, "$", Protocol::tcp, builtin_registry(), errors);
  EXPECT_FALSE(t.has_value());
  std::string known;
  for (const auto& n : builtin_registry().names())
    known += (known.empty() ? "" : ", ") + n;
  EXPECT_NE(known.find("abort, bandwidth, blackout"), std::string::npos) << known;
  EXPECT_NE(
      errors.to_string().find("$.type: unknown toxic type \"latencyy\" (known: " + known + ")"),
      std::string::npos)
      << errors.to_string();
}

TEST(Builtin, OneLinerUnknownBehaviorListsTheRegistrysNamesButWrappers) {
  ConfigErrors errors;
  auto p =
      one_liner_proxy("127.0.0.1:0", "127.0.0.1:1", "tcp", "10:nope", builtin_registry(), errors);
  EXPECT_FALSE(p.has_value());
  std::string known = "delay, error";
  for (const auto& n : builtin_registry().names())
    if (n != "transient" && n != "weighted") known += ", " + n;
  EXPECT_NE(known.find("latency"), std::string::npos) << known;
  EXPECT_NE(errors.to_string().find("unknown behavior \"nope\" (known: " + known + ")"),
            std::string::npos)
      << errors.to_string();
}

TEST(Builtin, AStandaloneRegistryKnowsOnlyWhatWasAdded) {
  Registry registry;
  registry.add({.name = "only", .description = "d", .parse = nullptr});
  ConfigErrors errors;
  EXPECT_FALSE(parse_toxic(json{{"type", "latency"}}, "$", Protocol::tcp, registry, errors));
  EXPECT_NE(errors.to_string().find("(known: only)"), std::string::npos) << errors.to_string();
}
