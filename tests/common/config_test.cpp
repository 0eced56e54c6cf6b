#include "common/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

using namespace faultline;
using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsUnitsAndCompounds) {
  EXPECT_EQ(parse_duration("500ms"), std::chrono::nanoseconds(500ms));
  EXPECT_EQ(parse_duration("30s"), std::chrono::nanoseconds(30s));
  EXPECT_EQ(parse_duration("5m"), std::chrono::nanoseconds(5min));
  EXPECT_EQ(parse_duration("24h"), std::chrono::nanoseconds(24h));
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::nanoseconds(90min));
  EXPECT_EQ(parse_duration("250us"), std::chrono::nanoseconds(250us));
  EXPECT_EQ(parse_duration("1.5s"), std::chrono::nanoseconds(1500ms));
  EXPECT_EQ(parse_duration("2"), std::chrono::nanoseconds(2s));
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* bad : {"", "abc", "5x", "-1s", "1h30", "ms", "1..2s"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(ParseRate, AcceptsSuffixes) {
  EXPECT_DOUBLE_EQ(*parse_rate("1000"), 1000);
  EXPECT_DOUBLE_EQ(*parse_rate("2k"), 2000);
  EXPECT_DOUBLE_EQ(*parse_rate("1.5k"), 1500);
  EXPECT_DOUBLE_EQ(*parse_rate("3M"), 3e6);
  EXPECT_FALSE(parse_rate("fast").has_value());
  EXPECT_FALSE(parse_rate("-5").has_value());
  EXPECT_FALSE(parse_rate("5q").has_value());
}

TEST(ParseBytes, AcceptsUnits) {
  EXPECT_EQ(*parse_bytes("512"), 512u);
  EXPECT_EQ(*parse_bytes("64KiB"), 65536u);
  EXPECT_EQ(*parse_bytes("1MiB"), 1048576u);
  EXPECT_EQ(*parse_bytes("1mb"), 1000000u);
  EXPECT_FALSE(parse_bytes("lots").has_value());
}

TEST(ParseHostPort, Forms) {
  auto a = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_host_port("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->to_string(), "[::1]:0");
  auto c = parse_host_port(":9000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "127.0.0.1");
  for (const char* bad : {"", "localhost", "host:99999", "::1:80", "host:x", "[::1]80"})
    EXPECT_FALSE(parse_host_port(bad).has_value()) << bad;
}

TEST(ConfigReaders, ReportEveryErrorWithItsPath) {
  json j = json::parse(R"({"name": 5, "rate": "x", "enabled": "yes", "extra": 1,
                           "delay": "soon", "count": 1.5})");
  ConfigErrors errors;
  get_string(j, "$.p", "name", errors);
  get_number(j, "$.p", "rate", errors);
  get_bool(j, "$.p", "enabled", errors);
  get_duration(j, "$.p", "delay", errors);
  get_integer(j, "$.p", "count", errors);
  get_string(j, "$.p", "missing", errors, /*required=*/true);
  reject_unknown_keys(j, "$.p", {"name", "rate", "enabled", "delay", "count"}, errors);
  const auto text = errors.to_string();
  for (const char* path : {"$.p.name", "$.p.rate", "$.p.enabled", "$.p.delay", "$.p.count",
                           "$.p.missing", "$.p.extra"})
    EXPECT_NE(text.find(path), std::string::npos) << path << " not in:\n" << text;
  EXPECT_EQ(errors.list().size(), 7u);
}

TEST(ConfigReaders, IntegerBeyondInt64IsShownAsGiven) {
  json j = json::parse(R"({"n": 9223372036854775808, "m": 9223372036854775807})");
  ConfigErrors errors;
  EXPECT_FALSE(get_integer(j, "$", "n", errors));
  EXPECT_EQ(get_integer(j, "$", "m", errors), std::numeric_limits<std::int64_t>::max());
  ASSERT_EQ(errors.list().size(), 1u);
  EXPECT_NE(errors.to_string().find("got 9223372036854775808"), std::string::npos)
      << errors.to_string();
}

TEST(ConfigReaders, DurationNumberUnit) {
  json j = json::parse(R"({"latency": 100, "neg": -1})");
  ConfigErrors errors;
  auto d = get_duration(j, "$", "latency", errors, false, std::chrono::milliseconds(1));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, std::chrono::nanoseconds(100ms));
  EXPECT_FALSE(get_duration(j, "$", "neg", errors, false, std::chrono::milliseconds(1)));
  EXPECT_EQ(errors.list().size(), 1u);
}

TEST(LoadJsonFile, NamesFileOnErrors) {
  try {
    load_json_file("/nonexistent/faultline.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/faultline.json"), std::string::npos);
  }
}

TEST(ParseJson, DepthLimitRefusesDeepNestingWithoutParsingIt) {
  // 0.6 MB of nested arrays crashed the proxy's API (issue 22): refused, not parsed.
  const std::string deep(600'000, '[');
  std::string error;
  EXPECT_FALSE(parse_json(deep, &error));
  EXPECT_NE(error.find("nested deeper than 128 levels"), std::string::npos) << error;
  std::string ok = std::string(128, '[') + std::string(128, ']');
  EXPECT_TRUE(parse_json(ok, &error)) << error;
  std::string over = std::string(129, '[') + std::string(129, ']');
  EXPECT_FALSE(parse_json(over));
  // Brackets inside strings (escaped quotes too) do not count.
  EXPECT_TRUE(parse_json(R"({"a": "[[[[[[\"[[[[", "b": [1, {"c": "}}}}"}]})", nullptr, 3));
  EXPECT_EQ(json_nesting_depth(R"({"a": "[[[[[[\"[[[[", "b": [1, {"c": "}}}}"}]})"), 3u);
  EXPECT_FALSE(parse_json("{\"a\": ", &error));
  EXPECT_FALSE(error.empty());
}

TEST(LoadJsonFile, RefusesNonRegularFilesDeepAndLargeDocuments) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("faultline-json-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A FIFO would block the reader forever: refused without opening it.
  EXPECT_THROW(load_json_file(fifo), ConfigError);
  EXPECT_THROW(load_json_file("/dev/zero"), ConfigError);
  EXPECT_THROW(load_json_file(dir.string()), ConfigError);
  const auto deep = (dir / "deep.json").string();
  std::ofstream(deep) << std::string(5000, '[') << std::string(5000, ']');
  try {
    load_json_file(deep);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper"), std::string::npos) << e.what();
  }
  const auto big = (dir / "big.json").string();
  std::ofstream(big) << "[" << std::string(2000, ' ') << "]";
  EXPECT_THROW(load_json_file(big, 1000), ConfigError);
  EXPECT_NO_THROW(load_json_file(big));
  std::filesystem::remove_all(dir);
}
