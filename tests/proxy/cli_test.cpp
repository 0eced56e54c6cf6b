// The command line: the Vaurien-style one-liner (--listen/--upstream/--protocol/--behavior) with
// its weighted draw checked against the binomial interval, its input errors (exit 2), and
// `faultline ctl` driving a running proxy through every subcommand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

awaitable<HttpResponse> ok_handler(HttpRequest& req, RequestContext&) {
  HttpResponse res{http::status::ok, req.version()};
  res.body() = "ok";
  res.prepare_payload();
  co_return res;
}

json get_json(const HostPort& api, const std::string& target) {
  HttpClientRequest req;
  req.target = target;
  auto [ec, res] = http_fetch_sync(api, req);
  return ec ? json() : json::parse(res.body, nullptr, false);
}

}  // namespace

TEST(ProxyOneLiner, WeightedBehaviorsFollowTheirPercents) {
  IoPool pool{1};
  HttpServer upstream(pool, ok_handler);
  const auto up = upstream.listen(HostPort{"127.0.0.1", 0}).port();
  pool.start();
  auto p = test::start_faultline({"proxy", "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0",
                                  "--upstream", "127.0.0.1:" + std::to_string(up), "--protocol",
                                  "http", "--behavior", "30:error,20:blackout", "--seed", "11"});
  ASSERT_TRUE(p);
  auto proxy = get_json(p->address, "/proxies/proxy");
  ASSERT_TRUE(proxy.is_object());
  const auto port = parse_host_port(proxy["listen"].get<std::string>())->port;
  constexpr int kN = 1000;
  int errors = 0, closed = 0, ok = 0;
  for (int i = 0; i < kN; ++i) {
    HttpClientRequest req;
    req.target = "/";
    req.timeout = 2000ms;
    auto [ec, res] = http_fetch_sync(HostPort{"127.0.0.1", port}, req);
    if (ec)
      ++closed;  // blackout: the connection closed without an answer
    else if (res.status == 503)
      ++errors;
    else if (res.status == 200)
      ++ok;
  }
  auto within = [](int hits, double prob) {
    const double mean = kN * prob, sd = std::sqrt(kN * prob * (1 - prob));
    return hits >= mean - 3.29 * sd && hits <= mean + 3.29 * sd;
  };
  EXPECT_TRUE(within(errors, 0.3)) << errors;
  EXPECT_TRUE(within(closed, 0.2)) << closed;
  EXPECT_EQ(errors + closed + ok, kN);
  upstream.stop();
  pool.stop();
  pool.join();
}

TEST(ProxyOneLiner, BadBehaviorsExitWithUsageErrors) {
  test::TempDir dir;
  const std::vector<std::vector<std::string>> bad = {
      {"--behavior", "80:delay,30:error", "--protocol", "http"},  // over 100 %
      {"--behavior", "20:error", "--protocol", "tcp"},            // error needs http/redis
      {"--behavior", "delay", "--protocol", "http"},              // no percent
      {"--behavior", "10:teleport", "--protocol", "http"},        // unknown behavior
      {"--behavior", "10:http_error", "--protocol", "redis"},     // foreign to the protocol
      {"--behavior", "10:redis_delay", "--protocol", "http"},
      {"--behavior", "10:http_abort", "--protocol", "tcp"},
      {"--behavior", "10:slicer", "--protocol", "redis"},
  };
  for (const auto& extra : bad) {
    std::vector<std::string> args{"proxy",       "--api",      "127.0.0.1:0", "--listen",
                                  "127.0.0.1:0", "--upstream", "127.0.0.1:9"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto [rc, out] = test::run_faultline(args, dir.file("err"));
    EXPECT_EQ(rc, 2) << extra[1];
    std::ifstream err(dir.file("err"));
    const std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("--behavior"), std::string::npos) << extra[1] << ": " << text;
  }
  auto [rc, out] = test::run_faultline({"proxy", "--listen", "127.0.0.1:0"}, dir.file("err"));
  EXPECT_EQ(rc, 2);  // --listen without --upstream
}

TEST(ProxyCtl, EverySubcommand) {
  EchoServer echo;
  auto p = test::start_faultline({"proxy", "--api", "127.0.0.1:0"});
  ASSERT_TRUE(p);
  const std::string host = p->address.to_string();
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"ctl", "--host", "http://" + host});
    return test::run_faultline(args);
  };
  auto [rc, out] = ctl({"create", "db", "-l", "127.0.0.1:0", "-u", echo.address()});
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("Created proxy db"), std::string::npos) << out;
  std::tie(rc, out) = ctl({"list"});
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find(echo.address()), std::string::npos) << out;
  std::tie(rc, out) =
      ctl({"toxic", "add", "db", "-t", "latency", "-a", "latency=100", "-a", "jitter=5"});
  EXPECT_EQ(rc, 0) << out;
  auto proxy = get_json(p->address, "/proxies/db");
  ASSERT_EQ(proxy["toxics"].size(), 1u);
  EXPECT_EQ(proxy["toxics"][0]["attributes"], (json{{"latency", 100}, {"jitter", 5}}));
  std::tie(rc, out) = ctl({"toxic", "update", "db", "-n", "latency_downstream", "-a", "latency=7"});
  EXPECT_EQ(rc, 0) << out;
  proxy = get_json(p->address, "/proxies/db");
  EXPECT_EQ(proxy["toxics"][0]["attributes"], (json{{"latency", 7}, {"jitter", 5}}));
  std::tie(rc, out) = ctl({"toxic", "add", "db", "-t", "latency", "-a", "latency=-1"});
  EXPECT_EQ(rc, 1);  // the API refused it (400)
  std::tie(rc, out) = ctl({"inspect", "db"});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(json::parse(out)["name"], "db");
  std::tie(rc, out) = ctl({"toggle", "db"});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(get_json(p->address, "/proxies/db")["enabled"], false);
  std::tie(rc, out) = ctl({"toggle", "db"});
  EXPECT_EQ(get_json(p->address, "/proxies/db")["enabled"], true);
  std::tie(rc, out) = ctl({"toxic", "remove", "db", "-n", "latency_downstream"});
  EXPECT_EQ(rc, 0);
  std::tie(rc, out) = ctl({"toxic", "remove", "db", "-n", "latency_downstream"});
  EXPECT_EQ(rc, 1);  // 404
  std::tie(rc, out) = ctl({"delete", "db"});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(get_json(p->address, "/proxies").empty());
  auto [rc2, out2] = test::run_faultline({"ctl", "--host", "127.0.0.1:1", "list"});
  EXPECT_EQ(rc2, 2);  // unreachable
}

TEST(ProxyCtl, ToxicAddHelpListsTheRegistrysTypes) {
  proxy::Registry registry;
  proxy::register_builtin_behaviors(registry);
  auto [rc, out] = test::run_faultline({"ctl", "toxic", "add", "--help"});
  EXPECT_EQ(rc, 0);
  std::string names;
  for (const auto& n : registry.names())
    names += (names.empty() ? "" : ", ") + n;
  EXPECT_NE(out.find("toxic type: " + names), std::string::npos) << out;
}

// `faultline proxy` takes its API token from $FAULTLINE_API_TOKEN (as `run` and `ctl` do), so a
// Kubernetes Secret can hold it.
TEST(ProxyCli, ApiTokenFromTheEnvironment) {
  ::setenv("FAULTLINE_API_TOKEN", "from-env", 1);
  auto proxy = faultline::test::start_faultline({"proxy", "--api", "127.0.0.1:0"});
  ::unsetenv("FAULTLINE_API_TOKEN");
  ASSERT_TRUE(proxy);
  HttpClientRequest req;
  req.target = "/version";
  auto [ec, res] = http_fetch_sync(proxy->address, req);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 401u);
  req.headers.emplace_back("Authorization", "Bearer from-env");
  auto [ec2, res2] = http_fetch_sync(proxy->address, req);
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(res2.status, 200u);
}
