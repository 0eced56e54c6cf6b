// `http_rewrite` without sockets: attributes parsed and echoed, every refusal at its JSON path,
// the response rules (status ranges, Content-Type prefix), the head changes, and each body change
// and skip reason (proxy/response_rewrite.hpp).
#include <gtest/gtest.h>

#include "proxy/response_rewrite.hpp"
#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

namespace {

std::shared_ptr<const ResponseRewrite> rewrite_of(const json& attrs) {
  auto config = parse_behavior("http_rewrite", attrs, Protocol::http);
  if (!config) return nullptr;
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::downstream);
  EXPECT_EQ(f.kind, RequestFault::Kind::rewrite);
  return f.rewrite;
}

std::string errors_of(const json& attrs) {
  ConfigErrors errors;
  EXPECT_FALSE(parse_toxic(json{{"type", "http_rewrite"}, {"attributes", attrs}}, "$",
                           Protocol::http, builtin_registry(), errors));
  return errors.to_string();
}

}  // namespace

TEST(HttpRewriteBehavior, ResponseRulesMatchStatusRangesAndContentTypePrefix) {
  auto rw = rewrite_of({{"response_status", json::array({"2xx", 404, "500-503"})},
                        {"content_type", "application/json"},
                        {"status", 500}});
  ASSERT_TRUE(rw);
  EXPECT_TRUE(rw->matches(200, "application/json"));
  EXPECT_TRUE(rw->matches(299, "Application/JSON; charset=utf-8"));
  EXPECT_TRUE(rw->matches(404, "application/json"));
  EXPECT_TRUE(rw->matches(503, "application/json"));
  EXPECT_FALSE(rw->matches(504, "application/json"));
  EXPECT_FALSE(rw->matches(301, "application/json"));
  EXPECT_FALSE(rw->matches(200, "text/plain"));
  EXPECT_FALSE(rw->matches(200, ""));
  auto any = rewrite_of({{"status", 502}});
  EXPECT_TRUE(any->matches(100, ""));
}

TEST(HttpRewriteBehavior, HeadChanges) {
  auto rw = rewrite_of({{"status", 503},
                        {"set_headers", {{"Retry-After", "3"}, {"Cache-Control", "no-store"}}},
                        {"remove_headers", {"etag"}}});
  ASSERT_TRUE(rw);
  boost::beast::http::response_header<> res;
  res.result(200);
  res.set("ETag", "\"v\"");
  res.set("Cache-Control", "max-age=60");
  rw->rewrite_head(res);
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_EQ(res["Retry-After"], "3");
  EXPECT_EQ(res["Cache-Control"], "no-store");
  EXPECT_EQ(res.count("ETag"), 0u);
}

TEST(HttpRewriteBehavior, BodyChangesAndSkipReasons) {
  auto patch = rewrite_of({{"json_patch",
                            {{{"op", "add"}, {"path", "/b"}, {"value", {1, 2}}},
                             {{"op", "move"}, {"from", "/a"}, {"path", "/c"}}}}});
  ASSERT_TRUE(patch);
  std::string body = R"J({"a":1})J";
  EXPECT_FALSE(patch->rewrite_body(body, false));
  EXPECT_EQ(body, R"J({"b":[1,2],"c":1})J");
  std::string encoded = R"J({"a":1})J";
  EXPECT_EQ(patch->rewrite_body(encoded, true), RewriteSkip::encoded);
  EXPECT_EQ(encoded, R"J({"a":1})J");
  std::string text = "plain text";
  EXPECT_EQ(patch->rewrite_body(text, false), RewriteSkip::not_json);
  EXPECT_EQ(text, "plain text");
  std::string missing = R"J({"x":1})J";  // no /a to move
  EXPECT_EQ(patch->rewrite_body(missing, false), RewriteSkip::patch_failed);
  EXPECT_EQ(missing, R"J({"x":1})J");
  auto test_op = rewrite_of({{"json_patch", {{{"op", "test"}, {"path", "/a"}, {"value", 2}}}}});
  std::string one = R"J({"a":1})J";
  EXPECT_EQ(test_op->rewrite_body(one, false), RewriteSkip::patch_failed);
  auto replace = rewrite_of({{"body", "new"}});
  std::string any = "\x1f\x8b";
  EXPECT_FALSE(replace->rewrite_body(any, true));  // a replacement needs no decoding
  EXPECT_EQ(any, "new");
}

TEST(HttpRewriteBehavior, AttributesEchoed) {
  const json attrs = {{"path_prefix", "/api"},
                      {"response_status", "2xx"},
                      {"content_type", "application/json"},
                      {"status", 500},
                      {"set_headers", {{"Retry-After", "3"}}},
                      {"remove_headers", {"ETag"}},
                      {"json_patch", {{{"op", "remove"}, {"path", "/total"}}}}};
  auto config = parse_behavior("http_rewrite", attrs, Protocol::http);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->attributes(), attrs);
}

TEST(HttpRewriteBehavior, RefusalsWithPaths) {
  EXPECT_NE(errors_of(json::object()).find("$.attributes: needs at least one change"),
            std::string::npos);
  EXPECT_NE(errors_of({{"status", 204}}).find("$.attributes.status: must be 200..599 and not 204"),
            std::string::npos);
  EXPECT_NE(errors_of({{"status", 500}, {"response_status", "6xx"}})
                .find("$.attributes.response_status: must be a status"),
            std::string::npos);
  EXPECT_NE(errors_of({{"status", 500}, {"response_status", json::array({200, "abc"})}})
                .find("$.attributes.response_status[1]: must be a status"),
            std::string::npos);
  EXPECT_NE(errors_of({{"set_headers", {{"Transfer-Encoding", "chunked"}}}})
                .find("$.attributes.set_headers.Transfer-Encoding: a framing header"),
            std::string::npos);
  EXPECT_NE(errors_of({{"set_headers", {{"X-A", "a\r\nX-B: b"}}}})
                .find("$.attributes.set_headers.X-A: the value must not contain CR, LF or NUL"),
            std::string::npos);
  EXPECT_NE(errors_of({{"remove_headers", {"Connection"}}})
                .find("$.attributes.remove_headers[0]: a framing header"),
            std::string::npos);
  EXPECT_NE(errors_of({{"body", "x"}, {"json_patch", {{{"op", "remove"}, {"path", "/a"}}}}})
                .find("$.attributes.json_patch: cannot be given with body"),
            std::string::npos);
  EXPECT_NE(errors_of({{"json_patch", {{{"op", "merge"}, {"path", "/a"}}}}})
                .find("$.attributes.json_patch[0].op: must be add, remove"),
            std::string::npos);
  EXPECT_NE(errors_of({{"json_patch", {{{"op", "add"}, {"path", "a"}, {"value", 1}}}}})
                .find("$.attributes.json_patch[0].path: must be a JSON pointer"),
            std::string::npos);
  EXPECT_NE(errors_of({{"json_patch", {{{"op", "replace"}, {"path", "/a"}}}}})
                .find("$.attributes.json_patch[0].value: required by \"replace\""),
            std::string::npos);
  EXPECT_NE(errors_of({{"json_patch", {{{"op", "copy"}, {"path", "/a"}}}}})
                .find("$.attributes.json_patch[0].from"),
            std::string::npos);
  json many = json::array();
  for (int i = 0; i < 1001; ++i)
    many.push_back({{"op", "remove"}, {"path", "/a"}});
  EXPECT_NE(errors_of({{"json_patch", many}}).find("$.attributes.json_patch: at most 1000"),
            std::string::npos);
  EXPECT_NE(errors_of({{"status", 500}, {"nope", 1}}).find("$.attributes.nope: unknown field"),
            std::string::npos);
}
