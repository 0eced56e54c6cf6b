// http_rewrite through the protocol-http engine, as a client sees it: status and header changes
// with the body streaming unchanged, a JSON Patch (Content-Length and chunked upstreams, the
// connection kept alive), a replaced body, the response rules (status, Content-Type), each skip
// reason counted with the response left as it came, bodiless responses, and the framing headers
// and stream upstream refused with their JSON paths.
#include <gtest/gtest.h>

#include "tests/proxy/http_streaming_support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

const std::string kJson = R"J({"items":[{"price":5}],"total":5})J";

std::string response(const std::string& status, const std::string& type, const std::string& body,
                     const std::string& extra = "") {
  return "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nETag: \"v1\"\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Serves, per path: /json, /chunked (the same JSON, chunked), /text, /gzip (JSON-typed bytes
// with a Content-Encoding), /notjson, /missing (404), /empty (204); HEAD gets the head alone.
std::function<void(int)> upstream_script() {
  return [](int fd) {
    for (;;) {
      const std::string head = read_head(fd);
      if (head.empty()) return;
      const bool is_head = head.rfind("HEAD ", 0) == 0;
      const auto has = [&](const char* p) { return head.find(p) != std::string::npos; };
      std::string out;
      if (has("/chunked"))
        out =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
            "chunked\r\n\r\n" +
            chunk_of(kJson.substr(0, 10)) + chunk_of(kJson.substr(10)) + "0\r\n\r\n";
      else if (has("/text"))
        out = response("200 OK", "text/plain", "hello");
      else if (has("/gzip"))
        out = response("200 OK", "application/json", "\x1f\x8b not json",
                       "Content-Encoding: gzip\r\n");
      else if (has("/notjson"))
        out = response("200 OK", "application/json", "not json");
      else if (has("/missing"))
        out = response("404 Not Found", "application/json", R"J({"error":"none"})J");
      else if (has("/empty"))
        out = "HTTP/1.1 204 No Content\r\nETag: \"v1\"\r\n\r\n";
      else
        out = response("200 OK", "application/json; charset=utf-8", kJson);
      if (is_head) out = out.substr(0, out.find("\r\n\r\n") + 4);
      send_str(fd, out);
    }
  };
}

json rewrite(json attrs, const std::string& name = "rw") {
  return json{{"type", "http_rewrite"}, {"name", name}, {"attributes", std::move(attrs)}};
}

struct Got {
  std::string head, body, how;
};

Got get(Client& c, const std::string& path, const std::string& method = "GET") {
  EXPECT_TRUE(c.send_all(method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  StreamingReader r(c);
  Got g;
  if (!r.read_head()) return g;
  g.head = r.head();
  const auto cl = g.head.find("Content-Length: ");
  if (method == "HEAD" || g.head.find(" 204 ") != std::string::npos) return g;
  if (r.chunked())
    g.body = r.read_body(&g.how);
  else if (cl != std::string::npos)
    g.body = r.read_body_bytes(std::stoul(g.head.substr(cl + 16)));
  return g;
}

double rewrites(Harness& h) {
  return h.metric("faultline_proxy_faults_injected_total", "kind=\"http_rewrite\",proxy=\"api\"");
}
double skipped(Harness& h, const std::string& reason) {
  return h.metric("faultline_proxy_rewrites_skipped_total",
                  "proxy=\"api\",reason=\"" + reason + "\"");
}

}  // namespace

TEST(HttpRewrite, StatusAndHeadersWithTheBodyUnchanged) {
  ScriptUpstream up(upstream_script());
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"path_prefix", "/json"},
                            {"status", 500},
                            {"set_headers", {{"Retry-After", "3"}}},
                            {"remove_headers", {"ETag"}}}))
                .status,
            200);
  Client c(port, 10000ms);
  const Got g = get(c, "/json");
  EXPECT_EQ(g.head.substr(0, 35), "HTTP/1.1 500 Internal Server Error\r") << g.head;
  EXPECT_NE(g.head.find("Retry-After: 3\r\n"), std::string::npos) << g.head;
  EXPECT_EQ(g.head.find("ETag"), std::string::npos) << g.head;
  EXPECT_EQ(g.body, kJson);
  // Not matching the path: untouched, on the same connection.
  const Got other = get(c, "/text");
  EXPECT_EQ(other.head.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(other.head.find("ETag"), std::string::npos);
  EXPECT_EQ(other.body, "hello");
  EXPECT_EQ(rewrites(h), 1.0);
}

TEST(HttpRewrite, JsonPatchOnLengthAndChunkedBodiesKeepsTheConnection) {
  ScriptUpstream up(upstream_script());
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"json_patch",
                             {{{"op", "replace"}, {"path", "/items/0/price"}, {"value", nullptr}},
                              {{"op", "remove"}, {"path", "/total"}}}}}))
                .status,
            200);
  Client c(port, 10000ms);
  for (const char* path : {"/json", "/chunked", "/json"}) {
    const Got g = get(c, path);
    EXPECT_EQ(g.body, R"J({"items":[{"price":null}]})J") << path;
    EXPECT_NE(g.head.find("Content-Length: 26\r\n"), std::string::npos) << g.head;
    EXPECT_EQ(g.head.find("Transfer-Encoding"), std::string::npos) << g.head;
  }
  EXPECT_EQ(up.accepted(), 1);  // one upstream connection: every body was read to its end
  EXPECT_EQ(rewrites(h), 3.0);
}

TEST(HttpRewrite, BodyReplacedWithItsOwnLength) {
  ScriptUpstream up(upstream_script());
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"body", "replaced"}, {"path_prefix", "/gzip"}}))
                .status,
            200);
  Client c(port, 10000ms);
  const Got g = get(c, "/gzip");
  EXPECT_EQ(g.body, "replaced");
  EXPECT_NE(g.head.find("Content-Length: 8\r\n"), std::string::npos) << g.head;
  EXPECT_EQ(g.head.find("Content-Encoding"), std::string::npos) << g.head;
  EXPECT_EQ(rewrites(h), 1.0);
}

TEST(HttpRewrite, ResponseRulesPickTheResponse) {
  ScriptUpstream up(upstream_script());
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"response_status", "2xx"},
                            {"content_type", "application/json"},
                            {"set_headers", {{"X-Rewritten", "yes"}}}}))
                .status,
            200);
  Client c(port, 10000ms);
  EXPECT_NE(get(c, "/json").head.find("X-Rewritten: yes"), std::string::npos);
  EXPECT_EQ(get(c, "/missing").head.find("X-Rewritten"), std::string::npos);  // 404
  EXPECT_EQ(get(c, "/text").head.find("X-Rewritten"), std::string::npos);     // text/plain
  ASSERT_EQ(
      h.call("POST", "/proxies/api/toxics",
             rewrite({{"response_status", json::array({404, "500-599"})}, {"status", 503}}, "rw2"))
          .status,
      200);
  EXPECT_EQ(get(c, "/missing").head.substr(0, 12), "HTTP/1.1 503");
  EXPECT_EQ(rewrites(h), 2.0);
}

TEST(HttpRewrite, SkipsLeaveTheResponseAsItCameAndAreCounted) {
  ScriptUpstream up(upstream_script());
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"status", 502},
                            {"json_patch",
                             {{{"op", "test"}, {"path", "/total"}, {"value", 6}},
                              {{"op", "remove"}, {"path", "/total"}}}}}))
                .status,
            200);
  Client c(port, 10000ms);
  const Got failed = get(c, "/json");  // the test op fails
  EXPECT_EQ(failed.head.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(failed.body, kJson);
  const Got not_json = get(c, "/notjson");
  EXPECT_EQ(not_json.head.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(not_json.body, "not json");
  const Got encoded = get(c, "/gzip");
  EXPECT_EQ(encoded.body, "\x1f\x8b not json");
  EXPECT_NE(encoded.head.find("Content-Encoding: gzip"), std::string::npos);
  EXPECT_EQ(skipped(h, "patch_failed"), 1.0);
  EXPECT_EQ(skipped(h, "not_json"), 1.0);
  EXPECT_EQ(skipped(h, "encoded"), 1.0);
  EXPECT_EQ(skipped(h, "too_large"), 0.0);
  EXPECT_EQ(rewrites(h), 0.0);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(HttpRewrite, BodyOver64MiBSkippedAndRelayedWhole) {
  const std::string big((65u << 20) + 17, 'a');
  ScriptUpstream up([&](int fd) {
    if (read_head(fd).empty()) return;
    send_str(fd, response("200 OK", "application/json", big));
  });
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"json_patch", {{{"op", "remove"}, {"path", "/x"}}}}}))
                .status,
            200);
  Client c(port, 20000ms);
  const Got g = get(c, "/big");
  EXPECT_EQ(g.body.size(), big.size());
  EXPECT_TRUE(g.body == big);
  EXPECT_EQ(skipped(h, "too_large"), 1.0);
}
#endif

TEST(HttpRewrite, BodilessResponsesGetHeadChangesOnly) {
  ScriptUpstream up(upstream_script());
  Harness h;
  const auto port = h.create("api", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/api/toxics",
                   rewrite({{"status", 500}, {"body", "x"}, {"set_headers", {{"X-R", "1"}}}}))
                .status,
            200);
  Client c(port, 10000ms);
  const Got head = get(c, "/json", "HEAD");
  EXPECT_EQ(head.head.substr(0, 12), "HTTP/1.1 500");
  EXPECT_NE(head.head.find("Content-Length: 33"), std::string::npos) << head.head;
  // A 204 turned into a 500 says its (empty) body's length, so the client does not wait for one.
  const Got empty = get(c, "/empty");
  EXPECT_EQ(empty.head.substr(0, 12), "HTTP/1.1 500");
  EXPECT_NE(empty.head.find("Content-Length: 0"), std::string::npos) << empty.head;
  const Got next = get(c, "/text");
  EXPECT_EQ(next.body, "x");
  EXPECT_EQ(rewrites(h), 3.0);
}

TEST(HttpRewrite, FramingHeadersAndStreamUpstreamRefusedWithPaths) {
  Harness h;
  h.create("api", "127.0.0.1:9", "http");
  const auto set_cl =
      h.call("POST", "/proxies/api/toxics", rewrite({{"set_headers", {{"Content-Length", "1"}}}}));
  EXPECT_EQ(set_cl.status, 400u);
  EXPECT_NE(set_cl.raw.find("$.attributes.set_headers.Content-Length: a framing header"),
            std::string::npos)
      << set_cl.raw;
  const auto rm_te = h.call("POST", "/proxies/api/toxics",
                            rewrite({{"remove_headers", {"ETag", "transfer-encoding"}}}));
  EXPECT_EQ(rm_te.status, 400u);
  EXPECT_NE(rm_te.raw.find("$.attributes.remove_headers[1]: a framing header"), std::string::npos)
      << rm_te.raw;
  json up = rewrite({{"status", 500}});
  up["stream"] = "upstream";
  const auto stream = h.call("POST", "/proxies/api/toxics", up);
  EXPECT_EQ(stream.status, 400u);
  EXPECT_NE(stream.raw.find("$.stream: http_rewrite rewrites responses"), std::string::npos)
      << stream.raw;
}
