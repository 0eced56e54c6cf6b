// Every behavior's configuration: good attributes accepted (and echoed with defaults), each bad
// input rejected with an error naming its JSON path; toxic-level defaults and validation.
#include "proxy/behavior.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "proxy/behaviors/builtin.hpp"
#include "proxy/behaviors/match.hpp"

using namespace faultline;
using namespace faultline::proxy;

namespace {

struct Case {
  const char* name;
  Protocol protocol;
  json toxic;
  const char* error_path;  // nullptr: must be accepted
};

class BehaviorConfig : public ::testing::TestWithParam<Case> {};

TEST_P(BehaviorConfig, AcceptsOrRejectsWithPath) {
  Registry registry;
  register_builtin_behaviors(registry);
  const Case& c = GetParam();
  ConfigErrors errors;
  auto t = parse_toxic(c.toxic, "$", c.protocol, registry, errors);
  if (!c.error_path) {
    EXPECT_TRUE(t.has_value()) << errors.to_string();
    EXPECT_TRUE(errors.empty()) << errors.to_string();
  } else {
    EXPECT_FALSE(t.has_value());
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors.to_string().find(std::string(c.error_path) + ":"), std::string::npos)
        << errors.to_string();
  }
}

json tx(const char* type, json attrs) {
  return json{{"type", type}, {"attributes", std::move(attrs)}};
}

const Case kCases[] = {
    // latency
    {"latency_ok", Protocol::tcp, tx("latency", {{"latency", 100}, {"jitter", 10}}), nullptr},
    {"latency_negative", Protocol::tcp, tx("latency", {{"latency", -1}}), "$.attributes.latency"},
    {"latency_string", Protocol::tcp, tx("latency", {{"latency", "x"}}), "$.attributes.latency"},
    {"latency_fraction", Protocol::tcp, tx("latency", {{"latency", 1.5}}), "$.attributes.latency"},
    {"latency_bad_jitter", Protocol::tcp, tx("latency", {{"jitter", -5}}), "$.attributes.jitter"},
    {"latency_unknown_attr", Protocol::tcp, tx("latency", {{"latencyy", 5}}),
     "$.attributes.latencyy"},
    // bandwidth
    {"bandwidth_ok", Protocol::tcp, tx("bandwidth", {{"rate", 100}}), nullptr},
    {"bandwidth_negative", Protocol::tcp, tx("bandwidth", {{"rate", -100}}), "$.attributes.rate"},
    {"bandwidth_unknown", Protocol::tcp, tx("bandwidth", {{"speed", 1}}), "$.attributes.speed"},
    // slow_close
    {"slow_close_ok", Protocol::tcp, tx("slow_close", {{"delay", 100}}), nullptr},
    {"slow_close_negative", Protocol::tcp, tx("slow_close", {{"delay", -1}}), "$.attributes.delay"},
    // timeout
    {"timeout_ok", Protocol::tcp, tx("timeout", {{"timeout", 0}}), nullptr},
    {"timeout_negative", Protocol::tcp, tx("timeout", {{"timeout", -3}}), "$.attributes.timeout"},
    {"timeout_bool", Protocol::tcp, tx("timeout", {{"timeout", true}}), "$.attributes.timeout"},
    // reset_peer
    {"reset_peer_ok", Protocol::tcp, tx("reset_peer", {{"timeout", 10}}), nullptr},
    {"reset_peer_negative", Protocol::tcp, tx("reset_peer", {{"timeout", -10}}),
     "$.attributes.timeout"},
    // slicer
    {"slicer_ok", Protocol::tcp,
     tx("slicer", {{"average_size", 64}, {"size_variation", 32}, {"delay", 10}}), nullptr},
    {"slicer_missing_size", Protocol::tcp, tx("slicer", {{"delay", 10}}),
     "$.attributes.average_size"},
    {"slicer_zero_size", Protocol::tcp, tx("slicer", {{"average_size", 0}}),
     "$.attributes.average_size"},
    {"slicer_variation_equal_accepted", Protocol::tcp,  // as Toxiproxy (was rejected)
     tx("slicer", {{"average_size", 10}, {"size_variation", 10}}), nullptr},
    {"slicer_negative_variation", Protocol::tcp,
     tx("slicer", {{"average_size", 10}, {"size_variation", -1}}), "$.attributes.size_variation"},
    {"slicer_negative_delay", Protocol::tcp, tx("slicer", {{"average_size", 10}, {"delay", -1}}),
     "$.attributes.delay"},
    // limit_data
    {"limit_data_ok", Protocol::tcp, tx("limit_data", {{"bytes", 1000}}), nullptr},
    {"limit_data_negative", Protocol::tcp, tx("limit_data", {{"bytes", -1}}), "$.attributes.bytes"},
    // http_body_delay
    {"http_body_delay_ok", Protocol::http,
     tx("http_body_delay",
        {{"delay", 100}, {"jitter", 10}, {"per_bytes", 1024}, {"path_prefix", "/x"}}),
     nullptr},
    {"http_body_delay_negative", Protocol::http, tx("http_body_delay", {{"delay", -1}}),
     "$.attributes.delay"},
    {"http_body_delay_jitter_string", Protocol::http, tx("http_body_delay", {{"jitter", "5"}}),
     "$.attributes.jitter"},
    {"http_body_delay_per_bytes_too_big", Protocol::http,
     tx("http_body_delay", {{"per_bytes", (std::int64_t{1} << 30) + 1}}), "$.attributes.per_bytes"},
    {"http_body_delay_too_long", Protocol::http,
     tx("http_body_delay", {{"delay", kMaxDurationMs + 1}}), "$.attributes.delay"},
    {"http_body_delay_unknown", Protocol::http, tx("http_body_delay", {{"bytes", 1}}),
     "$.attributes.bytes"},
    {"http_body_delay_on_tcp", Protocol::tcp, tx("http_body_delay", {{"delay", 1}}), "$.type"},
    // http_body_truncate
    {"http_body_truncate_ok", Protocol::http,
     tx("http_body_truncate", {{"bytes", 4096}, {"mode", "reset"}, {"method", "GET"}}), nullptr},
    {"http_body_truncate_defaults", Protocol::http, tx("http_body_truncate", json::object()),
     nullptr},
    {"http_body_truncate_bad_mode", Protocol::http, tx("http_body_truncate", {{"mode", "fin"}}),
     "$.attributes.mode"},
    {"http_body_truncate_negative", Protocol::http, tx("http_body_truncate", {{"bytes", -1}}),
     "$.attributes.bytes"},
    {"http_body_truncate_on_redis", Protocol::redis, tx("http_body_truncate", {{"bytes", 1}}),
     "$.type"},
    // http_body_rate
    {"http_body_rate_ok", Protocol::http, tx("http_body_rate", {{"rate", 100}}), nullptr},
    {"http_body_rate_missing", Protocol::http, tx("http_body_rate", json::object()),
     "$.attributes.rate"},
    {"http_body_rate_zero", Protocol::http, tx("http_body_rate", {{"rate", 0}}),
     "$.attributes.rate"},
    {"http_body_rate_too_big", Protocol::http, tx("http_body_rate", {{"rate", 1'000'000'001}}),
     "$.attributes.rate"},
    {"http_body_rate_bad_regex", Protocol::http,
     tx("http_body_rate", {{"rate", 1}, {"path_regex", "(("}}), "$.attributes.path_regex"},
    {"http_body_rate_on_tcp", Protocol::tcp, tx("http_body_rate", {{"rate", 1}}), "$.type"},
    {"weighted_http_body_truncate_ok", Protocol::http,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "http_body_truncate"}}}}}), nullptr},
    {"transient_http_body_rate_on_tcp", Protocol::tcp,
     tx("transient", {{"behavior", tx("http_body_rate", {{"rate", 1}})}}),
     "$.attributes.behavior.type"},
    // sse_drop_event, sse_delay_event
    {"sse_drop_event_ok", Protocol::http, tx("sse_drop_event", {{"path_prefix", "/events"}}),
     nullptr},
    {"sse_drop_event_unknown", Protocol::http, tx("sse_drop_event", {{"delay", 1}}),
     "$.attributes.delay"},
    {"sse_drop_event_on_redis", Protocol::redis, tx("sse_drop_event", json::object()), "$.type"},
    {"sse_delay_event_ok", Protocol::http, tx("sse_delay_event", {{"delay", 100}, {"jitter", 10}}),
     nullptr},
    {"sse_delay_event_missing", Protocol::http, tx("sse_delay_event", {{"jitter", 10}}),
     "$.attributes.delay"},
    {"sse_delay_event_too_long", Protocol::http,
     tx("sse_delay_event", {{"delay", kMaxDurationMs + 1}}), "$.attributes.delay"},
    {"sse_delay_event_on_tcp", Protocol::tcp, tx("sse_delay_event", {{"delay", 1}}), "$.type"},
    // http_rewrite
    {"http_rewrite_ok", Protocol::http,
     tx("http_rewrite", {{"response_status", "2xx"},
                         {"status", 500},
                         {"set_headers", {{"Retry-After", "3"}}},
                         {"json_patch", {{{"op", "remove"}, {"path", "/a"}}}}}),
     nullptr},
    {"http_rewrite_nothing", Protocol::http, tx("http_rewrite", {{"path_prefix", "/x"}}),
     "$.attributes"},
    {"http_rewrite_status_304", Protocol::http, tx("http_rewrite", {{"status", 304}}),
     "$.attributes.status"},
    {"http_rewrite_framing", Protocol::http,
     tx("http_rewrite", {{"set_headers", {{"Content-Length", "0"}}}}),
     "$.attributes.set_headers.Content-Length"},
    {"http_rewrite_bad_op", Protocol::http,
     tx("http_rewrite", {{"json_patch", {{{"op", "merge"}, {"path", "/a"}}}}}),
     "$.attributes.json_patch[0].op"},
    {"http_rewrite_on_tcp", Protocol::tcp, tx("http_rewrite", {{"status", 500}}), "$.type"},
    // toxic-level fields
    {"unknown_type", Protocol::tcp, tx("nope", json::object()), "$.type"},
    {"missing_type", Protocol::tcp, json{{"name", "x"}}, "$.type"},
    {"bad_stream", Protocol::tcp,
     json{{"type", "latency"}, {"stream", "sideways"}, {"attributes", json::object()}}, "$.stream"},
    {"toxicity_above_one", Protocol::tcp,
     json{{"type", "latency"}, {"toxicity", 1.5}, {"attributes", json::object()}}, "$.toxicity"},
    {"toxicity_negative", Protocol::tcp,
     json{{"type", "latency"}, {"toxicity", -0.1}, {"attributes", json::object()}}, "$.toxicity"},
    {"unknown_field", Protocol::tcp, json{{"type", "latency"}, {"colour", "red"}}, "$.colour"},
    {"attributes_not_object", Protocol::tcp, json{{"type", "latency"}, {"attributes", 3}},
     "$.attributes"},
    {"request_scope_on_tcp", Protocol::tcp, json{{"type", "latency"}, {"scope", "request"}},
     "$.scope"},
    {"bad_scope", Protocol::http, json{{"type", "latency"}, {"scope", "forever"}}, "$.scope"},
    // Stream toxics act on an http proxy's upgraded (WebSocket) connections, not on redis.
    {"stream_toxic_on_http_ok", Protocol::http, tx("slicer", {{"average_size", 10}}), nullptr},
    {"stream_toxic_on_redis", Protocol::redis, tx("slicer", {{"average_size", 10}}), "$.type"},
    // Wrappers × a protocol-foreign inner behavior: rejected at the inner `type`'s path.
    {"transient_http_ok", Protocol::http,
     tx("transient", {{"behavior", tx("http_error", {{"status", 502}})}}), nullptr},
    {"transient_redis_ok", Protocol::redis, tx("transient", {{"behavior", tx("redis_error", {})}}),
     nullptr},
    {"transient_tcp_ok", Protocol::tcp, tx("transient", {{"behavior", tx("latency", {})}}),
     nullptr},
    {"transient_http_error_on_tcp", Protocol::tcp,
     tx("transient", {{"behavior", tx("http_error", {})}}), "$.attributes.behavior.type"},
    {"transient_http_error_on_redis", Protocol::redis,
     tx("transient", {{"behavior", tx("http_error", {})}}), "$.attributes.behavior.type"},
    {"transient_redis_error_on_tcp", Protocol::tcp,
     tx("transient", {{"behavior", tx("redis_error", {})}}), "$.attributes.behavior.type"},
    {"transient_redis_delay_on_http", Protocol::http,
     tx("transient", {{"behavior", tx("redis_delay", {})}}), "$.attributes.behavior.type"},
    {"transient_slicer_on_http_ok", Protocol::http,
     tx("transient", {{"behavior", tx("slicer", {{"average_size", 10}})}}), nullptr},
    {"transient_bandwidth_on_redis", Protocol::redis,
     tx("transient", {{"behavior", tx("bandwidth", {{"rate", 1}})}}), "$.attributes.behavior.type"},
    {"weighted_http_ok", Protocol::http,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "http_abort"}}}}}), nullptr},
    {"weighted_http_error_on_tcp", Protocol::tcp,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "http_error"}}}}}),
     "$.attributes.choices[0].type"},
    {"weighted_http_delay_on_redis", Protocol::redis,
     tx("weighted", {{"choices",
                      {{{"percent", 10}, {"type", "redis_delay"}},
                       {{"percent", 10}, {"type", "http_delay"}}}}}),
     "$.attributes.choices[1].type"},
    {"weighted_redis_error_on_http", Protocol::http,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "redis_error"}}}}}),
     "$.attributes.choices[0].type"},
    {"weighted_redis_delay_on_tcp", Protocol::tcp,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "redis_delay"}}}}}),
     "$.attributes.choices[0].type"},
    {"weighted_limit_data_on_http_ok", Protocol::http,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "limit_data"}}}}}), nullptr},
    {"weighted_reset_peer_on_redis", Protocol::redis,
     tx("weighted", {{"choices", {{{"percent", 10}, {"type", "reset_peer"}}}}}),
     "$.attributes.choices[0].type"},
    // Nested wrappers: checked at any depth.
    {"transient_weighted_http_error_on_redis", Protocol::redis,
     tx("transient",
        {{"behavior", tx("weighted", {{"choices", {{{"percent", 50}, {"type", "http_error"}}}}})}}),
     "$.attributes.behavior.attributes.choices[0].type"},
    {"transient_weighted_redis_error_ok", Protocol::redis,
     tx("transient",
        {{"behavior",
          tx("weighted", {{"choices", {{{"percent", 50}, {"type", "redis_error"}}}}})}}),
     nullptr},
};

INSTANTIATE_TEST_SUITE_P(All, BehaviorConfig, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ToxicDefaults, NameStreamToxicityScopeAndAttributes) {
  Registry registry;
  register_builtin_behaviors(registry);
  ConfigErrors errors;
  auto t = parse_toxic(json{{"type", "latency"}, {"attributes", {{"latency", 5}}}}, "$",
                       Protocol::tcp, registry, errors);
  ASSERT_TRUE(t) << errors.to_string();
  const json j = t->to_json();
  EXPECT_EQ(j["name"], "latency_downstream");
  EXPECT_EQ(j["stream"], "downstream");
  EXPECT_EQ(j["toxicity"], 1.0);
  EXPECT_EQ(j["scope"], "connection");
  EXPECT_EQ(j["attributes"], (json{{"latency", 5}, {"jitter", 0}}));
  auto h = parse_toxic(json{{"type", "latency"}, {"stream", "upstream"}}, "$", Protocol::http,
                       registry, errors);
  ASSERT_TRUE(h) << errors.to_string();
  EXPECT_EQ(h->name, "latency_upstream");
  EXPECT_EQ(h->scope, Scope::request);
}

TEST(ProbabilityTest, ExactThresholds) {
  Rng rng(1);
  Probability always(1.0), never(0.0), half(0.5);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(always.hit(rng));
    EXPECT_FALSE(never.hit(rng));
    hits += half.hit(rng);
  }
  // 99.9 % binomial interval for n = 10000, p = 0.5: 5000 +- 165.
  EXPECT_NEAR(hits, 5000, 165);
}

}  // namespace

// Issue 22 #6: a client's crafted path cannot make a path_regex backtrack for ever on a worker
// (std::regex took exponential time on `^/(a+)+$` against /aaaa...!); RE2 is linear.
TEST(RequestMatchRegex, PathRegexIsLinearAndRe2SyntaxIsChecked) {
  ConfigErrors errors;
  const auto m = proxy::parse_http_match({{"path_regex", "/(a+)+"}}, "$.attributes", errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  // Built in place: `"/" + std::string(...)` trips GCC 12's -Wrestrict false positive (PR105651).
  std::string hostile(50'001, 'a');
  hostile[0] = '/';
  hostile.push_back('!');
  proxy::RequestInfo req{"GET", hostile, nullptr};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(m.matches(req));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  const std::string fine = "/aaaaaaaaaa";
  EXPECT_TRUE(m.matches(proxy::RequestInfo{"GET", fine, nullptr}));
  ConfigErrors bad;
  proxy::parse_http_match({{"path_regex", "/(x)\\1"}}, "$.attributes", bad);
  ASSERT_EQ(bad.list().size(), 1u);
  EXPECT_NE(bad.list()[0].find("$.attributes.path_regex: invalid regex (RE2 syntax)"),
            std::string::npos)
      << bad.to_string();
}
