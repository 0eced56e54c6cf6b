// The HTTP API of `faultline target` over real loopback sockets: every route, every bad input,
// solver shedding, abandoned and timed-out solves, metrics through promtool.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <future>
#include <thread>

#include <boost/asio/write.hpp>

#include "target/file_log.hpp"
#include "target/solver/solver.hpp"
#include "tests/support/support.hpp"
#include "tests/target/harness.hpp"

using namespace faultline;
using namespace faultline::target;
using namespace faultline::target::test;
using namespace std::chrono_literals;

namespace {

HarnessOptions small_limits() {
  HarnessOptions o;
  o.service.max_paste_bytes = 1000;
  o.service.max_prefix_hex = 7;
  o.service.solve_timeout = 20s;
  return o;
}

bool only_whitespace(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r') return false;
  return true;
}

// Sends raw bytes and returns whatever comes back until the server closes (3 s at most).
std::string raw_exchange(const HostPort& where, const std::string& bytes) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address(where.host), where.port));
  asio::write(s, asio::buffer(bytes));
  timeval tv{3, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  error_code ec;
  for (;;) {
    const std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

void expect_error(const HttpClientResponse& res, unsigned status, const std::string& fragment) {
  EXPECT_EQ(res.status, status) << res.body;
  auto j = json::parse(res.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << res.body;
  EXPECT_EQ(j.value("status", 0u), status);
  EXPECT_NE(j.value("error", std::string()).find(fragment), std::string::npos) << res.body;
}

}  // namespace

TEST(TargetApi, CreateFetchAndDuplicate) {
  Harness h(small_limits());
  auto res = h.fetch("POST", "/pastes", "hello");
  ASSERT_EQ(res.status, 201u) << res.body;
  auto j = json::parse(res.body);
  EXPECT_EQ(j["id"], "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(j["url"], "/p/5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(j["bytes"], 5);
  EXPECT_FALSE(j.contains("attempts"));
  EXPECT_EQ(res.header("Location").value_or(""), "/p/5d41402abc4b2a76b9719d911017c592");

  auto again = h.fetch("POST", "/pastes", "hello");
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(json::parse(again.body)["id"], j["id"]);

  auto got = h.fetch("GET", "/p/5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.body, "hello");
  // Ids are case-insensitive hex.
  EXPECT_EQ(h.fetch("GET", "/p/5D41402ABC4B2A76B9719D911017C592").body, "hello");
}

TEST(TargetApi, BinaryContentRoundTrips) {
  Harness h(small_limits());
  std::string content;
  for (int i = 0; i < 256; ++i)
    content.push_back(static_cast<char>(i));
  auto res = h.fetch("POST", "/pastes", content);
  ASSERT_EQ(res.status, 201u);
  const std::string id = json::parse(res.body)["id"];
  EXPECT_EQ(id, md5_hex(content));
  auto got = h.fetch("GET", "/p/" + id);
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.body, content);
  // An empty paste is a paste too.
  auto empty = h.fetch("POST", "/pastes", "");
  EXPECT_EQ(empty.status, 201u);
  EXPECT_EQ(json::parse(empty.body)["id"], md5_hex(""));
}

TEST(TargetApi, VanityPaste) {
  Harness h(small_limits());
  auto res = h.fetch("POST", "/pastes?prefix=AbC", "vanity me");
  ASSERT_EQ(res.status, 201u) << res.body;
  auto j = json::parse(res.body);
  const std::string id = j["id"];
  EXPECT_EQ(id.substr(0, 3), "abc");
  EXPECT_GE(j["attempts"].get<std::uint64_t>(), 1u);
  auto got = h.fetch("GET", "/p/" + id);
  ASSERT_EQ(got.status, 200u);
  ASSERT_EQ(got.body.substr(0, 9), "vanity me");
  EXPECT_TRUE(only_whitespace(got.body.substr(9)));
  EXPECT_EQ(md5_hex(got.body), id);
  EXPECT_EQ(j["bytes"], got.body.size());
}

// Issue 12: with --max-paste-bytes 1GiB a vanity paste is 1 GiB + a whitespace suffix
// (1,073,741,876 bytes for a 1 GiB body), more than the log's old 1 GiB record cap.
TEST(TargetApi, StoredContentLimitCoversTheLargestVanityPaste) {
  ServiceOptions so;
  so.max_paste_bytes = std::size_t{1} << 30;
  so.max_prefix_hex = 16;
  const std::uint64_t limit = TargetService::stored_content_limit(so);
  EXPECT_GE(limit, 1073741876u);
  EXPECT_GE(limit, (std::uint64_t{1} << 30) + max_suffix_bytes(16));
  EXPECT_LE(limit, kLogFormatMaxContent);
}

// A vanity paste of the largest allowed size is acknowledged and replays after a restart.
TEST(TargetApi, LargestVanityPasteReplaysAfterRestart) {
  faultline::test::TempDir dir;
  HarnessOptions o = small_limits();
  o.service.max_paste_bytes = 64;
  o.store.kind = StoreSpec::Kind::file;
  o.store.dir = dir.file("store");
  std::string id;
  {
    Harness h(o);
    auto res = h.fetch("POST", "/pastes?prefix=abc", std::string(64, 'v'));
    ASSERT_EQ(res.status, 201u) << res.body;
    id = json::parse(res.body)["id"];
    EXPECT_GT(json::parse(res.body)["bytes"].get<std::size_t>(), 64u);
  }
  Harness again(o);
  auto got = again.fetch("GET", "/p/" + id);
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(md5_hex(got.body), id);
}

TEST(TargetApi, BadPasteRequests) {
  Harness h(small_limits());
  expect_error(h.fetch("POST", "/pastes?prefix=xyz", "a"), 400, "hexadecimal");
  expect_error(h.fetch("POST", "/pastes?prefix=", "a"), 400, "empty");
  expect_error(h.fetch("POST", "/pastes?prefix", "a"), 400, "empty");
  expect_error(h.fetch("POST", "/pastes?prefix=12345678", "a"), 400, "--max-prefix-hex");
  expect_error(h.fetch("POST", "/pastes?colour=red", "a"), 400, "unknown query parameter");
  expect_error(h.fetch("POST", "/pastes?prefix=1&prefix=2", "a"), 400, "more than once");
  expect_error(h.fetch("POST", "/pastes", std::string(1001, 'x')), 413, "--max-paste-bytes");
  EXPECT_EQ(h.fetch("POST", "/pastes", std::string(1000, 'x')).status, 201u);
  // Far above the limit: the HTTP layer refuses the body before it is all read.
  expect_error(h.fetch("POST", "/pastes", std::string(20000, 'x')), 413, "larger than");
  expect_error(h.fetch("GET", "/p/xyz"), 400, "32 hexadecimal");
  expect_error(h.fetch("GET", "/p/" + std::string(31, 'a') + "g"), 400, "32 hexadecimal");
  expect_error(h.fetch("GET", "/p/" + std::string(32, '0')), 404, "no paste");
  auto wrong = h.fetch("GET", "/pastes");
  expect_error(wrong, 405, "POST");
  EXPECT_EQ(wrong.header("Allow").value_or(""), "POST");
  expect_error(h.fetch("DELETE", "/p/" + std::string(32, '0')), 405, "GET");
  expect_error(h.fetch("GET", "/nope"), 404, "no such route");
}

TEST(TargetApi, SolveAndBadSolveRequests) {
  Harness h(small_limits());
  auto res = h.fetch("POST", "/solve", R"({"content": "collide", "prefix": "beef"})");
  ASSERT_EQ(res.status, 200u) << res.body;
  auto j = json::parse(res.body);
  const std::string suffix = j["suffix"];
  EXPECT_TRUE(only_whitespace(suffix));
  EXPECT_EQ(j["id"], md5_hex("collide" + suffix));
  EXPECT_EQ(j["id"].get<std::string>().substr(0, 4), "beef");
  EXPECT_GE(j["attempts"].get<std::uint64_t>(), 1u);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
  // /solve does not store.
  EXPECT_EQ(h.fetch("GET", "/p/" + j["id"].get<std::string>()).status, 404u);

  expect_error(h.fetch("POST", "/solve", "not json"), 400, "must be JSON");
  expect_error(h.fetch("POST", "/solve", "[1,2]"), 400, "object");
  expect_error(h.fetch("POST", "/solve", R"({"prefix": "ab"})"), 400, "$.content");
  expect_error(h.fetch("POST", "/solve", R"({"content": "x"})"), 400, "$.prefix");
  expect_error(h.fetch("POST", "/solve", R"({"content": 5, "prefix": "ab"})"), 400, "$.content");
  expect_error(h.fetch("POST", "/solve", R"({"content": "x", "prefix": "ab", "z": 1})"), 400,
               "$.z");
  expect_error(h.fetch("POST", "/solve", R"({"content": "x", "prefix": "zz"})"), 400, "$.prefix");
  expect_error(h.fetch("POST", "/solve", R"({"content": "x", "prefix": "123456789"})"), 400,
               "--max-prefix-hex");
  expect_error(
      h.fetch("POST", "/solve", json{{"content", std::string(1001, 'x')}, {"prefix", "a"}}.dump()),
      413, "--max-paste-bytes");
  expect_error(h.fetch("GET", "/solve"), 405, "POST");
}

TEST(TargetApi, HealthReadyAndHttpLimits) {
  HarnessOptions o = small_limits();
  o.http.header_limit = 1024;
  Harness h(o);
  EXPECT_EQ(h.fetch("GET", "/healthz").status, 200u);
  auto ready = h.fetch("GET", "/readyz");
  EXPECT_EQ(ready.status, 200u) << ready.body;
  EXPECT_EQ(json::parse(ready.body)["status"], "ready");

  const std::string big = raw_exchange(h.address, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                                      std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_NE(big.find("431"), std::string::npos) << big;
  const std::string bad = raw_exchange(h.address, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(bad.find("400"), std::string::npos) << bad;
}

// Issue 12: HEAD is allowed wherever GET is (same head, no body), and an absolute-form target
// is served as its path.
TEST(TargetApi, HeadAndAbsoluteFormAreServed) {
  Harness h(small_limits());
  const std::string head =
      raw_exchange(h.address, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(head.find("\r\n\r\n") + 4, head.size()) << "a HEAD answer has no body: " << head;
  auto created = h.fetch("POST", "/pastes", "head me");
  const std::string id = json::parse(created.body)["id"];
  const std::string paste = raw_exchange(
      h.address, "HEAD /p/" + id + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(paste.rfind("HTTP/1.1 200", 0), 0u) << paste;
  EXPECT_NE(paste.find("Content-Length: 7\r\n"), std::string::npos) << paste;
  const std::string wrong =
      raw_exchange(h.address, "HEAD /pastes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(wrong.rfind("HTTP/1.1 405", 0), 0u) << wrong;
  const std::string absolute = raw_exchange(
      h.address, "GET http://" + h.address.host + ":" + std::to_string(h.address.port) +
                     "/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(absolute.rfind("HTTP/1.1 200", 0), 0u) << absolute;
  expect_error(h.fetch("DELETE", "/healthz"), 405, "GET, HEAD");
}

TEST(TargetApi, SlowClientsAreCutOffAndConnectionsCapped) {
  HarnessOptions o = small_limits();
  o.http.header_timeout = 300ms;
  o.http.max_connections = 2;
  Harness h(o);
  asio::io_context ioc;
  // A client that never finishes its request head is disconnected after --header-timeout.
  tcp::socket slow(ioc);
  slow.connect(tcp::endpoint(asio::ip::make_address(h.address.host), h.address.port));
  asio::write(slow, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n")));
  timeval tv{3, 0};
  setsockopt(slow.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  char buf[256];
  error_code ec;
  slow.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // Above --max-connections a new connection is answered 503 and closed.
  tcp::socket a(ioc), b(ioc);
  a.connect(tcp::endpoint(asio::ip::make_address(h.address.host), h.address.port));
  b.connect(tcp::endpoint(asio::ip::make_address(h.address.host), h.address.port));
  std::this_thread::sleep_for(100ms);
  const std::string third = raw_exchange(h.address, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(third.find("503"), std::string::npos) << third;
  EXPECT_NE(third.find("Retry-After"), std::string::npos) << third;
}

TEST(TargetApi, SolveTimesOut) {
  HarnessOptions o = small_limits();
  o.service.max_prefix_hex = 16;
  o.service.solve_timeout = 300ms;
  Harness h(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto res = h.fetch("POST", "/solve", R"({"content": "x", "prefix": "0123456789abcdef"})");
  const auto took = std::chrono::steady_clock::now() - t0;
  expect_error(res, 503, "--solve-timeout");
  EXPECT_LT(took, 3s);
  auto m = h.metrics->serialize();
  EXPECT_EQ(metric_value(m, R"(faultline_target_solves_total{outcome="timed_out"})"), 1.0);
}

TEST(TargetApi, SolveAbandonedWhenClientDisconnects) {
  HarnessOptions o = small_limits();
  o.service.max_prefix_hex = 16;
  o.service.solve_timeout = 60s;
  o.solver_threads = 1;
  Harness h(o);
  {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address(h.address.host), h.address.port));
    const std::string body = R"({"content": "x", "prefix": "0123456789abcdef"})";
    asio::write(s, asio::buffer("POST /solve HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body));
    std::this_thread::sleep_for(200ms);
  }  // closed: nobody waits for the answer any more
  std::optional<double> cancelled;
  for (int i = 0; i < 100; ++i) {
    cancelled = metric_value(h.metrics->serialize(),
                             R"(faultline_target_solves_total{outcome="cancelled"})");
    if (cancelled == 1.0) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(cancelled, 1.0);
  // The single solver thread is free again.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(h.fetch("POST", "/solve", R"({"content": "y", "prefix": "a"})").status, 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(TargetApi, FullSolverQueueSheds) {
  HarnessOptions o = small_limits();
  o.service.max_prefix_hex = 16;
  o.service.solve_timeout = 2s;
  o.solver_threads = 1;
  o.solver_queue = 1;
  Harness h(o);
  const auto impossible = [&h](int i) {
    return h.fetch(
        "POST", "/solve",
        json{{"content", "job" + std::to_string(i)}, {"prefix", "0123456789abcdef"}}.dump());
  };
  // One job runs, one waits in the queue...
  auto running = std::async(std::launch::async, impossible, 0);
  std::this_thread::sleep_for(100ms);
  auto waiting = std::async(std::launch::async, impossible, 1);
  for (int i = 0; i < 150 && h.solver->queued() < 1; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(h.solver->queued(), 1u);
  // ...so the next ones are turned away at once.
  for (int i = 2; i < 4; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = impossible(i);
    expect_error(res, 503, "queue is full");
    EXPECT_EQ(res.header("Retry-After").value_or(""), "1");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
  expect_error(running.get(), 503, "--solve-timeout");
  expect_error(waiting.get(), 503, "--solve-timeout");
  EXPECT_EQ(
      metric_value(h.metrics->serialize(), R"(faultline_target_solves_total{outcome="rejected"})"),
      2.0);
}

TEST(TargetApi, MetricsPassPromtool) {
  HarnessOptions o = small_limits();
  o.service.leak_bytes_per_request = 4096;
  Harness h(o);
  ASSERT_EQ(h.fetch("POST", "/pastes", "m").status, 201u);
  ASSERT_EQ(h.fetch("GET", "/p/" + md5_hex("m")).status, 200u);
  ASSERT_EQ(h.fetch("GET", "/p/" + std::string(32, 'f')).status, 404u);
  auto res = h.fetch("GET", "/metrics");
  ASSERT_EQ(res.status, 200u);
  auto [rc, out] = faultline::test::promtool_check_metrics(res.body);
  EXPECT_EQ(rc, 0) << out;
  const std::string& m = res.body;
  EXPECT_EQ(metric_value(m, R"(faultline_target_requests_total{code="201",route="pastes_create"})"),
            1.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_requests_total{code="200",route="paste_get"})"),
            1.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_requests_total{code="404",route="paste_get"})"),
            1.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_requests_total{code="503",route="solve"})"), 0.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_shard_requests_total{outcome="ok",shard="0"})"),
            3.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_store_operations_total{op="put",shard="0"})"), 1.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_requests_in_flight)"), 1.0);  // this scrape
  EXPECT_EQ(metric_value(m, R"(faultline_target_debug_leaked_bytes_total)"), 4.0 * 4096);
  EXPECT_TRUE(metric_value(m, "process_resident_memory_bytes").has_value());
  EXPECT_TRUE(metric_value(m, "process_open_fds").has_value());
  EXPECT_TRUE(metric_value(m, "process_cpu_seconds_total").has_value());
}

TEST(TargetApi, NaiveModeServesTheSameApiOnItsWorkerPool) {
  faultline::test::TempDir dir;
  HarnessOptions o = small_limits();
  o.service.mode = Mode::naive;
  o.service.naive_workers = 2;
  o.store.kind = StoreSpec::Kind::file;
  o.store.dir = dir.file("store");
  Harness h(o);
  auto res = h.fetch("POST", "/pastes?prefix=ab", "naive");
  ASSERT_EQ(res.status, 201u) << res.body;
  const std::string id = json::parse(res.body)["id"];
  EXPECT_EQ(id.substr(0, 2), "ab");
  auto got = h.fetch("GET", "/p/" + id);
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(md5_hex(got.body), id);
  EXPECT_EQ(h.fetch("GET", "/p/" + std::string(32, 'e')).status, 404u);
  EXPECT_EQ(h.fetch("GET", "/readyz").status, 200u);
  EXPECT_EQ(h.fetch("POST", "/solve", R"({"content": "n", "prefix": "f"})").status, 200u);
}

// GET /p/<id> on one keep-alive connection, pipelined, for pastes of very different sizes: each
// answer carries its own paste (the server reuses its buffers between requests).
TEST(TargetApi, PipelinedGetsOfMixedSizes) {
  Harness h{HarnessOptions{}};
  const std::vector<std::string> pastes = {"a", std::string(1024, 'b'), std::string(300000, 'c'),
                                           std::string(7, 'd')};
  std::vector<std::string> ids;
  for (const auto& p : pastes) {
    auto res = h.fetch("POST", "/pastes", p);
    ASSERT_EQ(res.status, 201u) << res.body;
    ids.push_back(json::parse(res.body)["id"]);
  }
  std::string req;
  for (std::size_t i = 0; i < ids.size(); ++i)
    req += "GET /p/" + ids[i] + " HTTP/1.1\r\nHost: x\r\n" +
           (i + 1 == ids.size() ? "Connection: close\r\n" : "") + "\r\n";
  const std::string out = raw_exchange(h.address, req);
  std::size_t pos = 0;
  for (const auto& p : pastes) {
    const std::size_t head = out.find("HTTP/1.1 200 OK\r\n", pos);
    ASSERT_NE(head, std::string::npos) << out.substr(pos, 300);
    const std::size_t body = out.find("\r\n\r\n", head) + 4;
    EXPECT_NE(out.find("Content-Length: " + std::to_string(p.size()) + "\r\n", head),
              std::string::npos);
    EXPECT_EQ(out.compare(body, p.size(), p), 0);
    pos = body + p.size();
  }
  EXPECT_EQ(pos, out.size());
}
