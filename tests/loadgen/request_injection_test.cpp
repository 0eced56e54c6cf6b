// Issue 22 #11: values a server returns must not split `faultline load`'s requests. A flow
// captures an `id` whose value holds CRLF, a header and a second request line; substituted as-is
// into the next request line or a header it used to send an injected header and a smuggled
// `GET /smuggled`. In a request target the value is percent-encoded (one request, its target
// encoded); in a header value it is refused (the request is not sent and counts as the error kind
// invalid_request). A generator that follows a returned url gets the same encoding.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;

namespace {

// What a malicious (or broken) server hands back as an id.
constexpr const char* kEvilId = "1 HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET /smuggled";

struct Seen {
  std::string target;
  bool injected = false;  // carried an X-Injected header
  std::string token;      // X-Token header
};

std::mutex g_seen_mu;
std::vector<Seen> g_seen;

awaitable<HttpResponse> evil_handler(HttpRequest& req, RequestContext&) {
  Seen s;
  s.target = std::string(req.target());
  s.injected = req.find("X-Injected") != req.end();
  if (auto it = req.find("X-Token"); it != req.end()) s.token = std::string(it->value());
  {
    std::lock_guard lock(g_seen_mu);
    g_seen.push_back(s);
  }
  HttpResponse res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  if (s.target == "/login" || s.target == "/pastes")
    res.body() = json{{"id", kEvilId}, {"url", std::string("/p/") + kEvilId}}.dump();
  else
    res.body() = "{}";
  res.prepare_payload();
  co_return res;
}

class EvilServer {
 public:
  EvilServer() : pool_(1) {
    std::lock_guard lock(g_seen_mu);
    g_seen.clear();
    server_ = std::make_unique<HttpServer>(pool_, evil_handler);
    port_ = server_->listen(HostPort{"127.0.0.1", 0}).port();
    pool_.start();
  }
  ~EvilServer() {
    server_->stop();
    pool_.stop();
    pool_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::vector<Seen> seen() const {
    std::lock_guard lock(g_seen_mu);
    return g_seen;
  }

 private:
  IoPool pool_;
  std::unique_ptr<HttpServer> server_;
  unsigned short port_ = 0;
};

std::uint64_t count_of(const json& results, const std::string& name, const char* kind) {
  const json& by = results["requests_by_name"];
  if (!by.contains(name)) return 0;
  const json& errors = by[name]["errors"];
  return errors.contains(kind) ? errors[kind].get<std::uint64_t>() : 0;
}

std::uint64_t total_of(const json& results, const std::string& name) {
  const json& by = results["requests_by_name"];
  return by.contains(name) ? by[name]["requests"]["total"].get<std::uint64_t>() : 0;
}

}  // namespace

TEST(LoadInjection, CapturedValuesCannotSplitRequests) {
  EvilServer server;
  TempDir dir;
  const json workload = {
      {"mix",
       {{{"name", "in_target"},
         {"flow",
          {{{"name", "login"}, {"url", "/login"}, {"capture", {{"id", {{"json", "/id"}}}}}},
           {{"name", "item"}, {"url", "/items/${id}"}}}}},
        {{"name", "in_header"},
         {"flow",
          {{{"name", "login"}, {"url", "/login"}, {"capture", {{"id", {{"json", "/id"}}}}}},
           {{"name", "item"}, {"url", "/h"}, {"headers", {{"X-Token", "t-${id}"}}}}}}}}}};
  write_file(dir.file("w.json"), workload.dump());
  auto [code, out] =
      run_faultline({"load", server.url(), "--workload", dir.file("w.json"), "--users", "2",
                     "--duration", "1s", "--seed", "5", "-q", "--out", dir.file("r.json")},
                    dir.file("err.txt"));
  ASSERT_EQ(code, 0) << slurp(dir.file("err.txt"));
  const json r = read_json(dir.file("r.json"));
  std::size_t encoded_items = 0;
  for (const Seen& s : server.seen()) {
    EXPECT_NE(s.target, "/smuggled");
    EXPECT_FALSE(s.injected) << s.target;
    EXPECT_TRUE(s.token.empty()) << s.token;  // never sent with the captured value
    EXPECT_EQ(s.target.find_first_of(" \r\n"), std::string::npos) << s.target;
    if (s.target.rfind("/items/", 0) == 0) {
      ++encoded_items;
      EXPECT_EQ(s.target, "/items/1%20HTTP/1.1%0D%0AX-Injected:%20yes%0D%0A%0D%0AGET%20/smuggled");
    }
  }
  // The target case: sent, once per iteration, encoded. The header case: refused, counted.
  EXPECT_GT(encoded_items, 0u);
  EXPECT_EQ(total_of(r, "in_target.item"), encoded_items);
  EXPECT_EQ(count_of(r, "in_target.item", "invalid_request"), 0u);
  EXPECT_GT(total_of(r, "in_header.item"), 0u);
  EXPECT_EQ(count_of(r, "in_header.item", "invalid_request"), total_of(r, "in_header.item"));
  EXPECT_EQ(r["errors"].value("invalid_request", std::uint64_t{0}), total_of(r, "in_header.item"));
}

// The story/paste generators follow a url the server returns: encoded the same way.
TEST(LoadInjection, GeneratorFollowingAReturnedUrlEncodesIt) {
  EvilServer server;
  TempDir dir;
  const json workload = {
      {"mix", {{{"name", "p"}, {"generator", "paste"}, {"read_back", true}, {"size", 10}}}}};
  write_file(dir.file("w.json"), workload.dump());
  auto [code, out] =
      run_faultline({"load", server.url(), "--workload", dir.file("w.json"), "--users", "1",
                     "--duration", "500ms", "-q", "--out", dir.file("r.json")},
                    dir.file("err.txt"));
  ASSERT_EQ(code, 0) << slurp(dir.file("err.txt"));
  std::size_t reads = 0;
  for (const Seen& s : server.seen()) {
    EXPECT_NE(s.target, "/smuggled");
    EXPECT_FALSE(s.injected) << s.target;
    if (s.target.rfind("/p/", 0) == 0) ++reads;
  }
  EXPECT_GT(reads, 0u);
}
