// The Toxiproxy-compatible REST API of the real `faultline proxy` binary: every endpoint and status
// code, JSON shapes and defaults, validation naming the field, --config, --api-token, bad CLI
// input, /metrics through promtool, and toxic changes under heavy traffic never hanging the API.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "common/http_client.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

struct Reply {
  unsigned status = 0;
  json body;
  std::string raw;
};

Reply call(const HostPort& api, const std::string& method, const std::string& target,
           const json& body = nullptr,
           std::vector<std::pair<std::string, std::string>> headers = {},
           std::string raw_body = "") {
  HttpClientRequest req;
  req.method = method;
  req.target = target;
  req.timeout = 5000ms;
  if (!body.is_null()) req.body = body.dump();
  if (!raw_body.empty()) req.body = raw_body;
  if (!req.body.empty()) headers.emplace_back("Content-Type", "application/json");
  req.headers = std::move(headers);
  auto [ec, res] = http_fetch_sync(api, req);
  Reply r;
  if (ec) return r;
  r.status = res.status;
  r.raw = res.body;
  if (!res.body.empty()) r.body = json::parse(res.body, nullptr, false);
  return r;
}

class ProxyApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = test::start_faultline({"proxy", "--api", "127.0.0.1:0", "--seed", "1"});
    ASSERT_TRUE(p);
    proc = std::make_unique<test::RunningFaultline>(std::move(*p));
    api = proc->address;
  }
  Reply post_proxy(const std::string& name, const std::string& upstream,
                   const std::string& listen = "127.0.0.1:0") {
    return call(api, "POST", "/proxies",
                {{"name", name}, {"listen", listen}, {"upstream", upstream}});
  }
  std::unique_ptr<test::RunningFaultline> proc;
  HostPort api;
  EchoServer echo;
};

}  // namespace

TEST_F(ProxyApi, Version) {
  auto r = call(api, "GET", "/version");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.contains("version"));
}

TEST_F(ProxyApi, CreateListGetUpdateDeleteProxy) {
  auto r = post_proxy("redis", echo.address());
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["name"], "redis");
  EXPECT_EQ(r.body["upstream"], echo.address());
  EXPECT_EQ(r.body["enabled"], true);
  EXPECT_EQ(r.body["toxics"], json::array());
  const std::string listen = r.body["listen"];
  auto hp = parse_host_port(listen);
  ASSERT_TRUE(hp);
  EXPECT_NE(hp->port, 0);  // port 0 → the real bound port
  {
    Client c(hp->port);
    c.send_all("x");
    EXPECT_EQ(c.read_n(1), "x");
  }
  // 409 on a duplicate name; 400 naming a missing field; 400 on bad JSON.
  EXPECT_EQ(post_proxy("redis", echo.address()).status, 409);
  r = call(api, "POST", "/proxies", {{"name", "x"}, {"listen", "127.0.0.1:0"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body["error"].get<std::string>().find("$.upstream"), std::string::npos) << r.raw;
  EXPECT_EQ(r.body["status"], 400);
  EXPECT_EQ(call(api, "POST", "/proxies", nullptr, {}, "{not json").status, 400);
  r = call(api, "POST", "/proxies",
           {{"name", "y"}, {"listen", "127.0.0.1:0"}, {"upstream", "a:1"}, {"bogus", 1}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.bogus"), std::string::npos);

  // An explicit listen address is echoed as sent.
  const auto fixed = free_loopback_port();
  const std::string fixed_listen = "127.0.0.1:" + std::to_string(fixed);
  r = post_proxy("fixed", echo.address(), fixed_listen);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["listen"], fixed_listen);

  r = call(api, "GET", "/proxies");
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.body.is_object());
  EXPECT_TRUE(r.body.contains("redis"));
  EXPECT_TRUE(r.body.contains("fixed"));
  EXPECT_EQ(r.body["redis"]["listen"], listen);

  EXPECT_EQ(call(api, "GET", "/proxies/redis").body["name"], "redis");
  r = call(api, "GET", "/proxies/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["error"], "proxy not found");
  EXPECT_EQ(r.body["status"], 404);

  r = call(api, "POST", "/proxies/redis", {{"enabled", false}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["enabled"], false);
  EXPECT_EQ(r.body["listen"], listen);
  r = call(api, "PATCH", "/proxies/redis", {{"enabled", true}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["enabled"], true);
  {
    Client c(hp->port);  // re-enabled on the same port at once
    c.send_all("y");
    EXPECT_EQ(c.read_n(1), "y");
  }
  EXPECT_EQ(call(api, "POST", "/proxies/redis", {{"upstream", "nohostport"}}).status, 400);
  // Toxiproxy's Go client posts the whole proxy back on Save(), toxics included: accepted.
  auto whole = call(api, "GET", "/proxies/redis").body;
  EXPECT_EQ(call(api, "POST", "/proxies/redis", whole).status, 200);

  EXPECT_EQ(call(api, "DELETE", "/proxies/redis").status, 204);
  EXPECT_EQ(call(api, "DELETE", "/proxies/redis").status, 404);
  EXPECT_EQ(call(api, "GET", "/proxies/redis").status, 404);
  EXPECT_FALSE(Client(hp->port).connected());
}

TEST_F(ProxyApi, UpstreamIsNotDialledUntilAClientConnects) {
  auto r = post_proxy("later", "127.0.0.1:1");
  EXPECT_EQ(r.status, 201) << r.raw;
}

TEST_F(ProxyApi, ToxicEndpoints) {
  ASSERT_EQ(post_proxy("p", echo.address()).status, 201);
  auto r = call(api, "POST", "/proxies/p/toxics",
                {{"type", "latency"}, {"attributes", {{"latency", 100}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, (json{{"name", "latency_downstream"},
                          {"type", "latency"},
                          {"stream", "downstream"},
                          {"toxicity", 1.0},
                          {"scope", "connection"},
                          {"attributes", {{"latency", 100}, {"jitter", 0}}}}));
  EXPECT_EQ(call(api, "POST", "/proxies/p/toxics", {{"type", "latency"}}).status, 409);
  r = call(api, "POST", "/proxies/p/toxics", {{"type", "teleport"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.type"), std::string::npos);
  r = call(api, "POST", "/proxies/p/toxics", {{"type", "latency"}, {"stream", "up"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.stream"), std::string::npos);
  // Toxiproxy's own types take what Toxiproxy takes (tcp_toxiproxy_compat_test); faultline's own
  // behaviors and wrong JSON types are refused with the field's path.
  r = call(api, "POST", "/proxies/p/toxics",
           {{"type", "corrupt"}, {"name", "neg"}, {"attributes", {{"bytes", -5}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.attributes.bytes"), std::string::npos);
  r = call(api, "POST", "/proxies/p/toxics",
           {{"type", "latency"}, {"name", "t"}, {"toxicity", "high"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.toxicity"), std::string::npos);
  r = call(api, "POST", "/proxies/p/toxics",
           {{"type", "corrupt"}, {"name", "u"}, {"attributes", {{"bytez", 5}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.attributes.bytez"), std::string::npos);
  EXPECT_EQ(call(api, "POST", "/proxies/missing/toxics", {{"type", "latency"}}).status, 404);
  // A wrapper around a behavior of another protocol (http_error on this tcp proxy): 400 at once.
  r = call(api, "POST", "/proxies/p/toxics",
           {{"type", "transient"}, {"attributes", {{"behavior", {{"type", "http_error"}}}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.attributes.behavior.type"), std::string::npos) << r.raw;
  r = call(api, "POST", "/proxies/p/toxics",
           {{"type", "weighted"},
            {"attributes", {{"choices", {{{"percent", 5}, {"type", "redis_error"}}}}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.attributes.choices[0].type"), std::string::npos) << r.raw;

  r = call(api, "POST", "/proxies/p/toxics",
           {{"type", "bandwidth"},
            {"name", "bw"},
            {"stream", "upstream"},
            {"toxicity", 0.5},
            {"attributes", {{"rate", 10}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  r = call(api, "GET", "/proxies/p/toxics");
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.body.is_array());
  EXPECT_EQ(r.body.size(), 2u);
  EXPECT_EQ(call(api, "GET", "/proxies/p").body["toxics"].size(), 2u);

  EXPECT_EQ(call(api, "GET", "/proxies/p/toxics/bw").body["attributes"]["rate"], 10);
  EXPECT_EQ(call(api, "GET", "/proxies/p/toxics/nope").status, 404);
  EXPECT_EQ(call(api, "GET", "/proxies/p/toxics/nope").body["error"], "toxic not found");

  // Partial update: only the given attribute changes; the others are kept.
  r = call(api, "POST", "/proxies/p/toxics/latency_downstream", {{"attributes", {{"jitter", 7}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["attributes"], (json{{"latency", 100}, {"jitter", 7}}));
  r = call(api, "PATCH", "/proxies/p/toxics/latency_downstream", {{"toxicity", 0.25}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["toxicity"], 0.25);
  EXPECT_EQ(r.body["attributes"], (json{{"latency", 100}, {"jitter", 7}}));
  r = call(api, "POST", "/proxies/p/toxics/latency_downstream",
           {{"attributes", {{"latency", 1.5}}}});
  EXPECT_EQ(r.status, 400);  // not an integer (Toxiproxy refuses it too)
  EXPECT_EQ(call(api, "POST", "/proxies/p/toxics/nope", {{"toxicity", 1}}).status, 404);

  EXPECT_EQ(call(api, "DELETE", "/proxies/p/toxics/bw").status, 204);
  EXPECT_EQ(call(api, "DELETE", "/proxies/p/toxics/bw").status, 404);
  EXPECT_EQ(call(api, "GET", "/proxies/p/toxics").body.size(), 1u);
}

TEST_F(ProxyApi, PopulateAndReset) {
  json list = json::array(
      {{{"name", "a"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}},
       {{"name", "b"},
        {"listen", "127.0.0.1:0"},
        {"upstream", echo.address()},
        {"enabled", false},
        {"toxics", json::array({{{"type", "latency"}, {"attributes", {{"latency", 1}}}}})}}});
  auto r = call(api, "POST", "/populate", list);
  ASSERT_EQ(r.status, 201) << r.raw;
  ASSERT_TRUE(r.body["proxies"].is_array());
  EXPECT_EQ(r.body["proxies"].size(), 2u);
  EXPECT_EQ(r.body["proxies"][1]["toxics"].size(), 1u);
  // A bad entry rejects the whole call and changes nothing.
  json bad = json::array({{{"name", "c"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}},
                          {{"name", "d"}, {"listen", "127.0.0.1:0"}}});
  r = call(api, "POST", "/populate", bad);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$[1].upstream"), std::string::npos) << r.raw;
  EXPECT_EQ(call(api, "GET", "/proxies/c").status, 404);

  r = call(api, "POST", "/reset");
  EXPECT_EQ(r.status, 204);
  auto b = call(api, "GET", "/proxies/b").body;
  EXPECT_EQ(b["enabled"], true);
  EXPECT_EQ(b["toxics"], json::array());
}

TEST_F(ProxyApi, MetricsArePromtoolClean) {
  ASSERT_EQ(post_proxy("m", echo.address()).status, 201);
  ASSERT_EQ(call(api, "POST", "/proxies/m/toxics", {{"type", "latency"}}).status, 200);
  auto r = call(api, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  for (const char* name : {"faultline_proxy_requests_total{proxy=\"m\"}",
                           "faultline_proxy_faults_injected_total{kind=\"latency\",proxy=\"m\"}",
                           "faultline_proxy_connections_closed_total{proxy=\"m\",reason=\"fault\"}",
                           "faultline_proxy_toxics_active{proxy=\"m\"} 1", "process_open_fds"})
    EXPECT_NE(r.raw.find(name), std::string::npos) << name << "\n" << r.raw;
  auto [rc, out] = test::promtool_check_metrics(r.raw);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(ProxyApi, ToxicChangesUnderHeavyTrafficNeverHangTheApi) {
  auto r = post_proxy("busy", echo.address());
  ASSERT_EQ(r.status, 201);
  const auto port = parse_host_port(r.body["listen"].get<std::string>())->port;
  std::atomic<bool> stop{false};
  std::vector<std::thread> traffic;
  for (int t = 0; t < 4; ++t) {
    traffic.emplace_back([&] {
      const std::string chunk(16384, 'z');
      while (!stop) {
        Client c(port, 1000ms);
        for (int i = 0; i < 20 && !stop; ++i) {
          if (!c.send_all(chunk)) break;
          if (c.read_n(chunk.size()).size() != chunk.size()) break;
        }
      }
    });
  }
  double worst = 0;
  const char* types[] = {"latency", "timeout", "slicer", "bandwidth", "limit_data"};
  const json attrs[] = {{{"latency", 5}},
                        {{"timeout", 0}},
                        {{"average_size", 100}, {"delay", 5}},
                        {{"rate", 100}},
                        {{"bytes", 1000}}};
  for (int i = 0; i < 100; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const int k = i % 5;
    auto add = call(api, "POST", "/proxies/busy/toxics",
                    {{"type", types[k]}, {"name", "t"}, {"attributes", attrs[k]}});
    auto del = call(api, "DELETE", "/proxies/busy/toxics/t");
    EXPECT_EQ(add.status, 200) << add.raw;
    EXPECT_EQ(del.status, 204);
    worst = std::max(worst,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  stop = true;
  for (auto& t : traffic)
    t.join();
  EXPECT_LT(worst, 1.0);
}

TEST(ProxyCli, ConfigFileTokenAndBadInput) {
  test::TempDir dir;
  EchoServer echo;
  const std::string config = dir.file("proxies.json");
  std::ofstream(config) << json::array({{{"name", "fromfile"},
                                         {"listen", "127.0.0.1:0"},
                                         {"upstream", echo.address()},
                                         {"toxics", json::array({{{"type", "latency"}}})}}})
                               .dump();
  auto p = test::start_faultline(
      {"proxy", "--api", "127.0.0.1:0", "--config", config, "--api-token", "s3cret"});
  ASSERT_TRUE(p);
  EXPECT_EQ(call(p->address, "GET", "/proxies").status, 401);
  EXPECT_EQ(
      call(p->address, "GET", "/proxies", nullptr, {{"Authorization", "Bearer wrong"}}).status,
      401);
  auto r =
      call(p->address, "GET", "/proxies/fromfile", nullptr, {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["toxics"].size(), 1u);

  EXPECT_EQ(p->process.terminate(), 0);  // SIGTERM: a clean stop, exit code 0

  auto [rc, out] = test::run_faultline({"proxy", "--api", "nonsense"}, dir.file("err1"));
  EXPECT_EQ(rc, 2);
  std::ofstream(dir.file("bad.json"))
      << json::array({{{"name", "x"},
                       {"listen", "127.0.0.1:0"},
                       {"upstream", "h:1"},
                       {"toxics",
                        json::array({{{"type", "latency"}, {"attributes", {{"latency", -1}}}}})}}})
             .dump();
  auto [rc2, out2] = test::run_faultline(
      {"proxy", "--api", "127.0.0.1:0", "--config", dir.file("bad.json")}, dir.file("err2"));
  EXPECT_EQ(rc2, 2);
  std::ifstream err(dir.file("err2"));
  std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("$[0].toxics[0].attributes.latency"), std::string::npos) << text;

  // --config with a redis proxy whose transient wraps an http_error: exit 2 naming the path.
  std::ofstream(dir.file("foreign.json"))
      << json::array(
             {{{"name", "r"},
               {"listen", "127.0.0.1:0"},
               {"upstream", "h:1"},
               {"protocol", "redis"},
               {"toxics",
                json::array({{{"type", "transient"},
                              {"attributes", {{"behavior", {{"type", "http_error"}}}}}}})}}})
             .dump();
  auto [rc3, out3] = test::run_faultline(
      {"proxy", "--api", "127.0.0.1:0", "--config", dir.file("foreign.json")}, dir.file("err3"));
  EXPECT_EQ(rc3, 2);
  std::ifstream err3(dir.file("err3"));
  text.assign((std::istreambuf_iterator<char>(err3)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("$[0].toxics[0].attributes.behavior.type"), std::string::npos) << text;
  EXPECT_NE(text.find("not available on a redis proxy"), std::string::npos) << text;
}
