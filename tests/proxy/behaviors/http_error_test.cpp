// `http_error`: matching requests answered locally with `status`, `body`, `headers`.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(HttpError, DefaultIsA503WithAJsonBody) {
  auto config = parse_behavior("http_error", json::object(), Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::downstream);
  EXPECT_EQ(f.kind, RequestFault::Kind::error);
  EXPECT_EQ(f.status, 503u);
  EXPECT_EQ(json::parse(f.body), (json{{"error", "injected by faultline"}, {"status", 503}}));
  EXPECT_TRUE(f.headers.empty());
  Rng r2(1);
  EXPECT_EQ(config->make_stream_stage(r2, kT0), nullptr);
}

TEST(HttpError, StatusBodyAndHeadersAsGiven) {
  auto config = parse_behavior(
      "http_error", {{"status", 429}, {"body", "slow down"}, {"headers", {{"retry-after", "3"}}}},
      Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::upstream);
  EXPECT_EQ(f.status, 429u);
  EXPECT_EQ(f.body, "slow down");
  ASSERT_EQ(f.headers.size(), 1u);
  EXPECT_EQ(f.headers[0], (std::pair<std::string, std::string>{"retry-after", "3"}));
}

TEST(HttpError, MatchesByMethodAndPathPrefix) {
  auto config =
      parse_behavior("http_error", {{"method", "POST"}, {"path_prefix", "/api/"}}, Protocol::http);
  ASSERT_TRUE(config);
  auto no_header = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };
  EXPECT_TRUE(config->matches(RequestInfo{"POST", "/api/orders", no_header}));
  EXPECT_FALSE(config->matches(RequestInfo{"GET", "/api/orders", no_header}));
  EXPECT_FALSE(config->matches(RequestInfo{"POST", "/health", no_header}));
}

// Review finding: header names and values were written raw, so a value with CR LF split the
// response (response splitting by configuration).
TEST(HttpError, HeaderNamesMustBeTokensAndValuesSingleLine) {
  for (const json& headers : {json{{"x-a", "1\r\nSet-Cookie: s=1"}}, json{{"x a", "1"}},
                              json{{"x-a", std::string("a\0b", 3)}}, json{{"x:a", "1"}}}) {
    ConfigErrors errors;
    EXPECT_FALSE(parse_toxic(json{{"type", "http_error"}, {"attributes", {{"headers", headers}}}},
                             "$", Protocol::http, builtin_registry(), errors))
        << headers.dump();
    EXPECT_NE(errors.to_string().find("$.attributes.headers."), std::string::npos)
        << errors.to_string();
  }
}
