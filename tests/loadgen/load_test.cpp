// `faultline load` end to end over loopback: coordinated-omission correction against a server that
// stalls at a known time, exact stage accounting, closed model, error classification against
// servers that refuse / reset / hang / send garbage / answer 4xx-5xx, flows and generators against
// `faultline target`, awkward framing (heads split anywhere, 1xx, chunked, pipelined leftovers),
// intervals + Prometheus endpoint + SIGTERM, replay timing (recording and
// HAR), shards + `report merge`, thresholds and exit codes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "common/histogram.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// ---- An HTTP test server with programmable behaviour (state is global: one server per test).
std::atomic<bool> g_stall_armed{false};
std::mutex g_mu;
std::optional<Clock::time_point> g_first;  // first request seen
std::vector<std::pair<std::string, Clock::time_point>> g_arrivals;
double g_stall_at = 1.0, g_stall_for = 0.5;

awaitable<HttpResponse> test_handler(HttpRequest& req, RequestContext&) {
  const auto now = Clock::now();
  Clock::time_point stall_end{};
  bool stall = false;
  {
    std::lock_guard lock(g_mu);
    if (!g_first) g_first = now;
    g_arrivals.emplace_back(std::string(req.target()), now);
    if (g_stall_armed) {
      const auto start = *g_first + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(g_stall_at));
      stall_end = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(g_stall_for));
      stall = now >= start && now < stall_end;
    }
  }
  if (stall) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_at(stall_end);
    co_await t.async_wait(use_nothrow);
  }
  const auto target = std::string(req.target());
  if (target == "/missing") co_return json_error(http::status::not_found, "no", req.version());
  if (target == "/fail")
    co_return json_error(http::status::service_unavailable, "down", req.version());
  HttpResponse res{http::status::ok, req.version()};
  res.body() = "ok";
  res.prepare_payload();
  co_return res;
}

class TestServer {
 public:
  TestServer() : pool_(1) {
    {
      std::lock_guard lock(g_mu);
      g_first.reset();
      g_arrivals.clear();
    }
    g_stall_armed = false;
    server_ = std::make_unique<HttpServer>(pool_, test_handler);
    port_ = server_->listen(HostPort{"127.0.0.1", 0}).port();
    pool_.start();
  }
  ~TestServer() {
    server_->stop();
    pool_.stop();
    pool_.join();
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<double> arrival_offsets(const std::string& prefix) {
    std::lock_guard lock(g_mu);
    std::vector<double> out;
    std::optional<Clock::time_point> t0;
    for (const auto& [target, t] : g_arrivals) {
      if (target.rfind(prefix, 0) != 0) continue;
      if (!t0) t0 = t;
      out.push_back(std::chrono::duration<double>(t - *t0).count());
    }
    return out;
  }

 private:
  IoPool pool_;
  std::unique_ptr<HttpServer> server_;
  unsigned short port_ = 0;
};

// ---- Raw loopback servers (no HTTP library, so they can misbehave exactly as a test needs): a
// listening socket and a thread that hands each accepted connection to `serve`.
class RawListener {
 public:
  explicit RawListener(int backlog = 16) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, backlog), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  virtual ~RawListener() { ::close(fd_); }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 protected:
  virtual void serve(int c) = 0;  // owns c: closes it (or keeps it, then closes it later)
  // The last statement of a derived constructor (serve must not run before the object is whole).
  void start() {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) serve(c);
      }
    });
  }
  // The first statement of a derived destructor.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<bool> stop_{false};

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

enum class Misbehave { reset, silent, garbage };

// Reads the request, then resets, answers garbage, or never answers.
class RawServer final : public RawListener {
 public:
  explicit RawServer(Misbehave mode, int backlog = 64) : RawListener(backlog), mode_(mode) {
    start();
  }
  ~RawServer() override {
    stop();
    for (int c : held_)
      ::close(c);
  }

 private:
  void serve(int c) override {
    char buf[4096];
    pollfd pc{c, POLLIN, 0};
    if (::poll(&pc, 1, 1000) > 0) (void)::read(c, buf, sizeof buf);
    if (mode_ == Misbehave::reset) {
      linger l{1, 0};  // close with RST
      ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::close(c);
    } else if (mode_ == Misbehave::garbage) {
      const char junk[] = "this is not http\r\n\r\n";
      (void)::write(c, junk, sizeof junk - 1);
      ::close(c);
    } else {
      held_.push_back(c);  // never answer
    }
  }
  Misbehave mode_;
  std::vector<int> held_;
};

// Calls `on_head(c, head)` for every request head that arrives on a connection until the client
// closes it or on_head returns false (then the connection is closed).
template <typename OnHead>
void for_each_request_head(int c, const std::atomic<bool>& stop, OnHead on_head) {
  std::string in;
  while (!stop) {
    pollfd pc{c, POLLIN, 0};
    if (::poll(&pc, 1, 50) <= 0) continue;
    char buf[4096];
    const auto got = ::read(c, buf, sizeof buf);
    if (got <= 0) break;
    in.append(buf, static_cast<std::size_t>(got));
    for (auto end = in.find("\r\n\r\n"); end != std::string::npos; end = in.find("\r\n\r\n")) {
      const std::string head = in.substr(0, end + 4);
      in.erase(0, end + 4);
      if (!on_head(c, head)) return;
    }
  }
}

// Answers with awkward but valid framing, cycling through: a Content-Length response written one
// byte per send; a 100 Continue then a chunked response, byte by byte; two responses in one send
// (the second one answers the next request, which the server then leaves unanswered) — so the
// client must parse heads split anywhere and keep pipelined leftovers for the next request.
class AwkwardServer final : public RawListener {
 public:
  AwkwardServer() { start(); }
  ~AwkwardServer() override { stop(); }
  int answered() const { return answered_.load(); }

 private:
  static void send_bytewise(int c, const std::string& s) {
    for (char ch : s)
      if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1) return;
  }
  void serve(int c) override {
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for_each_request_head(c, stop_, [this](int fd, const std::string&) {
      switch (seen_++ % 4) {
        case 0:
          send_bytewise(fd, "HTTP/1.1 200 OK\r\nServer: awkward\r\nContent-Length: 5\r\n\r\nhello");
          break;
        case 1:
          send_bytewise(fd,
                        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: "
                        "chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n");
          break;
        case 2: {
          const std::string two =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
              "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n";
          (void)::send(fd, two.data(), two.size(), MSG_NOSIGNAL);
          break;
        }
        default:
          break;  // answered by the second half of case 2
      }
      ++answered_;
      return true;
    });
    ::close(c);
  }
  std::uint64_t seen_ = 0;  // requests seen, over all connections
  std::atomic<int> answered_{0};
};

// Answers GETs (keep-alive) and refuses every POST at its head: 413 with Connection: close, then a
// close with RST (SO_LINGER 0) without reading the body, as servers with a body limit do. Counts
// the POST heads it saw.
class EarlyRefusalServer final : public RawListener {
 public:
  EarlyRefusalServer() { start(); }
  ~EarlyRefusalServer() override { stop(); }
  int posts() const { return posts_.load(); }

 private:
  void serve(int c) override {
    for_each_request_head(c, stop_, [this](int fd, const std::string& head) {
      if (head.rfind("POST", 0) == 0) {
        ++posts_;
        const std::string refuse =
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)::send(fd, refuse.data(), refuse.size(), MSG_NOSIGNAL);
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return false;
      }
      const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      (void)::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
      return true;
    });
    ::close(c);
  }
  std::atomic<int> posts_{0};
};

json read_json(const std::string& file) {
  std::ifstream in(file);
  return json::parse(in);
}

std::vector<json> read_lines(const std::string& file) {
  std::ifstream in(file);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string slurp(const std::string& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& file, const std::string& text) {
  std::ofstream(file) << text;
}

}  // namespace

TEST(Load, CoordinatedOmissionIsCorrected) {
  // 200 req/s for 3 s over one connection; the server stalls 0.5 s at t = 1 s. The ~100 arrivals
  // during the stall wait behind it: measured from their intended send times they take 0.5 s
  // down to 0, so p99 over 600 requests is analytically 0.5 - 6/200 = 0.47 s. Measured from
  // when they were actually sent, only the one request caught in the stall is slow: p99 small.
  TestServer server;
  g_stall_at = 1.0;
  g_stall_for = 0.5;
  g_stall_armed = true;
  TempDir dir;
  auto [code, out] = run_faultline({"load", server.url(), "--rate", "200", "--duration", "3s",
                                    "--connections", "1", "--threads", "1", "-q", "--out",
                                    dir.file("r.json"), "--intervals-out", dir.file("i.jsonl")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r["requests"]["total"], 600);
  EXPECT_EQ(r["requests"]["ok"], 600);
  const double p99 = r["latency_seconds"]["p99"].get<double>();
  const double p99_uncorrected = r["latency_uncorrected_seconds"]["p99"].get<double>();
  EXPECT_NEAR(p99, 0.47, 0.07);
  EXPECT_LT(p99_uncorrected, 0.15);
  EXPECT_GT(r["latency_seconds"]["max"].get<double>(), 0.45);
  EXPECT_LT(r["latency_seconds"]["p50"].get<double>(), 0.1);
  EXPECT_GT(r["schedule"]["late"].get<int>(), 50);  // the backlog was visible
  EXPECT_EQ(r["schedule"]["dropped"], 0);
  // The per-second histograms add up, losslessly, to the run's.
  Histogram merged;
  std::uint64_t total = 0;
  auto lines = read_lines(dir.file("i.jsonl"));
  EXPECT_GE(lines.size(), 3u);
  for (const auto& l : lines) {
    merged.merge(Histogram::from_json(l["histogram"]));
    total += l["requests"]["total"].get<std::uint64_t>();
    for (const char* k : {"t", "throughput_rps", "errors", "latency_seconds", "requests_by_name"})
      EXPECT_TRUE(l.contains(k)) << k;
    EXPECT_TRUE(l["requests_by_name"]["default"].contains("histogram"));
  }
  EXPECT_EQ(total, 600u);
  EXPECT_EQ(merged.to_json(), Histogram::from_json(r["histograms"]["latency"]).to_json());
}

TEST(Load, StagesGetExactArrivalsAndOwnStats) {
  TestServer server;
  TempDir dir;
  auto [code, out] =
      run_faultline({"load", server.url(), "--rate", "1", "--stages", "1s:50,1s:150,1s:100>0",
                     "--threads", "2", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  ASSERT_EQ(r["stages"].size(), 3u);
  EXPECT_EQ(r["stages"][0]["requests"]["total"], 50);
  EXPECT_EQ(r["stages"][1]["requests"]["total"], 150);
  EXPECT_EQ(r["stages"][2]["requests"]["total"], 50);  // ramp 100→0 over 1 s
  EXPECT_EQ(r["stages"][1]["spec"], "1s:150");
  EXPECT_DOUBLE_EQ(r["stages"][1]["start_seconds"].get<double>(), 1.0);
  EXPECT_NEAR(r["stages"][1]["throughput_rps"].get<double>(), 150, 1);
  EXPECT_EQ(r["requests"]["total"], 250);
  EXPECT_EQ(r["schedule"]["offered"], 250);
  EXPECT_TRUE(r["stages"][0].contains("histograms"));
}

TEST(Load, ClosedModelHonoursUsersAndThinkTime) {
  TestServer server;
  TempDir dir;
  auto [code, out] = run_faultline({"load", server.url(), "--users", "3", "--think-time", "100ms",
                                    "--duration", "1s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r["model"], "closed");
  // 3 users × (1 s / ~100 ms per iteration) ≈ 30, never more than 33.
  EXPECT_GE(r["requests"]["total"].get<int>(), 12);
  EXPECT_LE(r["requests"]["total"].get<int>(), 33);
  // Users per stage: 2 then 4 users, each ~10 iterations per second.
  auto [code2, out2] = run_faultline({"load", server.url(), "--users", "1", "--stages", "1s:2,1s:4",
                                      "--think-time", "100ms", "-q", "--out", dir.file("s.json")});
  ASSERT_EQ(code2, 0);
  json s = read_json(dir.file("s.json"));
  ASSERT_EQ(s["stages"].size(), 2u);
  EXPECT_NEAR(s["stages"][0]["requests"]["total"].get<double>(), 20, 6);
  EXPECT_NEAR(s["stages"][1]["requests"]["total"].get<double>(), 40, 10);
  EXPECT_DOUBLE_EQ(s["stages"][1]["target"]["to"].get<double>(), 4);
}

TEST(Load, ClassifiesErrors) {
  struct Case {
    std::string url;
    const char* kind;
  };
  RawServer reset(Misbehave::reset), silent(Misbehave::silent), garbage(Misbehave::garbage);
  // A port nobody listens on.
  std::string refused_url;
  {
    RawServer gone(Misbehave::reset);
    refused_url = gone.url();
  }
  const Case cases[] = {{refused_url, "connect_refused"},
                        {reset.url(), "reset"},
                        {silent.url(), "read_timeout"},
                        {garbage.url(), "bad_response"}};
  for (const auto& c : cases) {
    TempDir dir;
    auto [code, out] = run_faultline({"load", c.url, "--duration", "700ms", "-c", "2", "-t", "1",
                                      "--timeout", "250ms", "-q", "--out", dir.file("r.json")});
    ASSERT_EQ(code, 0) << c.kind;
    json r = read_json(dir.file("r.json"));
    EXPECT_GT(r["errors"][c.kind].get<int>(), 0) << c.kind << " " << r["errors"].dump();
    EXPECT_EQ(r["errors"][c.kind], r["requests"]["failed"]) << c.kind << r["errors"].dump();
    EXPECT_EQ(r["requests"]["ok"], 0) << c.kind;
  }
  // HTTP status classes, per request name.
  TestServer server;
  TempDir dir;
  write_file(dir.file("w.json"), R"({"mix": [{"name": "gone", "url": "/missing"},
                                             {"name": "down", "url": "/fail"},
                                             {"name": "fine", "url": "/"}]})");
  auto [code, out] =
      run_faultline({"load", server.url(), "--workload", dir.file("w.json"), "--rate", "150",
                     "--duration", "1s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  const auto& by = r["requests_by_name"];
  EXPECT_EQ(by["gone"]["errors"]["http_4xx"], by["gone"]["requests"]["total"]);
  EXPECT_EQ(by["down"]["errors"]["http_5xx"], by["down"]["requests"]["total"]);
  EXPECT_EQ(by["fine"]["requests"]["ok"], by["fine"]["requests"]["total"]);
  EXPECT_GT(by["gone"]["requests"]["total"].get<int>(), 10);
  EXPECT_EQ(r["requests"]["total"], 150);
}

TEST(Load, ParsesSplitInterimChunkedAndPipelinedResponses) {
  AwkwardServer server;
  TempDir dir;
  auto [code, out] = run_faultline({"load", server.url(), "--duration", "700ms", "-c", "1", "-t",
                                    "1", "--timeout", "2s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0) << out;
  json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r["requests"]["failed"], 0) << r["errors"].dump();
  EXPECT_EQ(r["requests"]["ok"], r["requests"]["total"]);
  EXPECT_GE(r["requests"]["total"].get<int>(), 8);  // two full cycles at least
}

// A request whose write failed after the server had it (here: refused at its head, the body
// still being sent) is never sent again: only a request of which no byte left is retried on a
// fresh connection.
TEST(Load, NeverResendsARequestTheServerAlreadyAnswered) {
  EarlyRefusalServer server;
  TempDir dir;
  const json workload = {{"mix",
                          {{{"name", "f"},
                            {"flow",
                             {{{"name", "get"}, {"method", "GET"}, {"url", "/a"}},
                              {{"name", "post"},
                               {"method", "POST"},
                               {"url", "/b"},
                               {"body", std::string(std::size_t{8} << 20, 'x')}}}}}}}};
  write_file(dir.file("w.json"), workload.dump());
  auto [code, out] = run_faultline({"load", server.url(), "--workload", dir.file("w.json"),
                                    "--users", "1", "--duration", "1s", "-t", "1", "--timeout",
                                    "2s", "-q", "--out", dir.file("r.json")});
  (void)code;  // every POST fails (413 or reset): the threshold-free exit code is not the point
  json r = read_json(dir.file("r.json"));
  const int posts = r["requests_by_name"]["f.post"]["requests"]["total"].get<int>();
  EXPECT_GE(posts, 1);
  EXPECT_EQ(server.posts(), posts) << r["errors"].dump();
}

TEST(Load, ClassifiesConnectTimeout) {
  // A listener with a full accept queue that never accepts: further SYNs are dropped, so the
  // connect never completes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(100ms);
  TempDir dir;
  auto [code, out] = run_faultline({"load", "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)),
                                    "--duration", "600ms", "-c", "1", "-t", "1", "--timeout",
                                    "200ms", "-q", "--out", dir.file("r.json")});
  for (int c : fillers)
    ::close(c);
  ::close(fd);
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  EXPECT_GT(r["errors"]["connect_timeout"].get<int>(), 0) << r["errors"].dump();
  EXPECT_EQ(r["requests"]["ok"], 0);
}

TEST(Load, FlowsAndGeneratorsAgainstTarget) {
  auto target = start_faultline(
      {"target", "--listen", "127.0.0.1:0", "--threads", "1", "--solver-threads", "1"});
  ASSERT_TRUE(target);
  const std::string url = "http://" + target->address.to_string();
  TempDir dir;
  auto [code, out] = run_faultline(
      {"load", url, "--workload", source_dir() + "/scenarios/workloads/pastebin-mix.json", "--rate",
       "60", "--duration", "1500ms", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  const auto& by = r["requests_by_name"];
  // Every created paste was read back through the captured url and id.
  const int created = by["create_read.create"]["requests"]["ok"].get<int>();
  EXPECT_GT(created, 10);
  EXPECT_EQ(by["create_read.read"]["requests"]["ok"].get<int>(), created);
  EXPECT_EQ(by["create_read.read_again"]["requests"]["ok"].get<int>(), created);
  EXPECT_EQ(by["random_pastes.read"]["requests"]["ok"],
            by["random_pastes.create"]["requests"]["ok"]);
  EXPECT_EQ(by["missing"]["errors"]["http_4xx"], by["missing"]["requests"]["total"]);

  auto [code2, out2] = run_faultline(
      {"load", url, "--workload", source_dir() + "/scenarios/workloads/collisions.json", "--users",
       "2", "--duration", "1500ms", "-q", "--out", dir.file("c.json")});
  ASSERT_EQ(code2, 0);
  json c = read_json(dir.file("c.json"));
  const auto& cb = c["requests_by_name"];
  EXPECT_GT(cb["solve"]["requests"]["ok"].get<int>(), 0);
  EXPECT_GT(cb["vanity"]["requests"]["ok"].get<int>(), 0);
  // Readers followed whole chains: each story writes and reads 5 pages.
  EXPECT_GT(cb["story.read"]["requests"]["ok"].get<int>(), 0);
  EXPECT_EQ(cb["story.read"]["requests"]["ok"].get<int>() % 5, 0);
  EXPECT_EQ(c["requests"]["failed"], 0);
}

TEST(Load, MetricsIntervalsAndSigterm) {
  TestServer server;
  TempDir dir;
  auto load = start_faultline({"load", server.url(), "--rate", "100", "--duration", "30s",
                               "--metrics-listen", "127.0.0.1:0", "--intervals-out",
                               dir.file("i.jsonl"), "--out", dir.file("r.json"), "-q"});
  ASSERT_TRUE(load);
  std::this_thread::sleep_for(2300ms);
  auto [ec, res] = http_fetch_sync(load->address, HttpClientRequest{.target = "/metrics"});
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 200u);
  for (const char* m :
       {"faultline_load_requests_total{outcome=\"ok\"}",
        "faultline_load_errors_total{kind=\"reset\"}",
        "faultline_load_request_duration_seconds_bucket", "faultline_load_in_flight_requests",
        "faultline_load_offered_rate_rps 100", "process_resident_memory_bytes"})
    EXPECT_NE(res.body.find(m), std::string::npos) << m;
  auto [pcode, pout] = promtool_check_metrics(res.body);
  EXPECT_EQ(pcode, 0) << pout;
  // Two full seconds went to the intervals file, one line each, flushed as they happened.
  auto lines = read_lines(dir.file("i.jsonl"));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_NEAR(lines[0]["t"].get<double>(), 1.0, 0.2);
  EXPECT_NEAR(lines[1]["requests"]["total"].get<double>(), 100, 15);
  const int status = load->process.terminate(5000ms);
  EXPECT_EQ(status, 0);
  json r = read_json(dir.file("r.json"));
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_LT(r["duration_seconds"].get<double>(), 10);
  EXPECT_GT(r["requests"]["total"].get<int>(), 150);
}

TEST(Load, ReplaysRecordingAndHarWithTiming) {
  TestServer server;
  TempDir dir;
  write_file(
      dir.file("rec.jsonl"),
      R"({"ts": 0.0, "method": "GET", "target": "/r/a", "headers": [["Host","orig"],["X-A","1"]], "status": 200, "latency_seconds": 0.001}
{"ts": 0.4, "method": "POST", "target": "/r/b", "headers": [], "body": "hi", "status": 200, "latency_seconds": 0.001}
{"ts": 0.8, "method": "POST", "target": "/r/c", "body_base64": "aGVsbG8=", "status": 200, "latency_seconds": 0.001}
)");
  auto [code, out] = run_faultline(
      {"load", server.url(), "--replay", dir.file("rec.jsonl"), "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  auto t = server.arrival_offsets("/r/");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_NEAR(t[1], 0.4, 0.1);
  EXPECT_NEAR(t[2], 0.8, 0.1);
  json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r["requests"]["ok"], 3);
  EXPECT_TRUE(r["requests_by_name"].contains("POST /r"));
  // In order at a fixed rate instead: the run ends when the recording is exhausted.
  auto [code3, out3] = run_faultline({"load", server.url(), "--replay", dir.file("rec.jsonl"),
                                      "--rate", "20", "-q", "--out", dir.file("r3.json")});
  ASSERT_EQ(code3, 0);
  json r3 = read_json(dir.file("r3.json"));
  EXPECT_EQ(r3["requests"]["ok"], 3);
  EXPECT_LT(r3["duration_seconds"].get<double>(), 1.0);

  // HAR, twice as fast: 0.6 s apart in the archive → 0.3 s.
  TestServer server2;
  write_file(dir.file("a.har"), R"({"log": {"version": "1.2", "entries": [
    {"startedDateTime": "2026-11-25T10:00:00.000Z", "request": {"method": "GET", "url": "https://example.com/h/1", "headers": [{"name": ":authority", "value": "x"}]}},
    {"startedDateTime": "2026-11-25T10:00:00.600Z", "request": {"method": "GET", "url": "https://example.com/h/2?q=1", "headers": []}},
    {"startedDateTime": "2026-11-25T11:00:01.200+01:00", "request": {"method": "POST", "url": "https://example.com/h/3", "headers": [], "postData": {"mimeType": "text/plain", "text": "x"}}}
  ]}})");
  auto [code2, out2] = run_faultline({"load", server2.url(), "--har", dir.file("a.har"), "--speed",
                                      "2", "-q", "--out", dir.file("h.json")});
  ASSERT_EQ(code2, 0);
  auto h = server2.arrival_offsets("/h/");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_NEAR(h[1], 0.3, 0.08);
  EXPECT_NEAR(h[2], 0.6, 0.08);
}

TEST(Load, ShardsMergeLosslessly) {
  TestServer server;
  TempDir dir;
  for (const char* shard : {"0/2", "1/2"}) {
    auto [code, out] =
        run_faultline({"load", server.url(), "--rate", "100", "--duration", "1s", "--shard", shard,
                       "-q", "--out", dir.file(std::string("s") + shard[0] + ".json")});
    ASSERT_EQ(code, 0);
    EXPECT_EQ(read_json(dir.file(std::string("s") + shard[0] + ".json"))["requests"]["total"], 50);
  }
  auto [code, out] = run_faultline({"report", "merge", dir.file("s0.json"), dir.file("s1.json")});
  ASSERT_EQ(code, 0);
  json m = json::parse(out);
  EXPECT_EQ(m["requests"]["total"], 100);
  EXPECT_EQ(Histogram::from_json(m["histograms"]["latency"]).count(), 100u);
  EXPECT_EQ(m["merged_from"], 2);
  EXPECT_NEAR(m["stages"][0]["target"]["from"].get<double>(), 100, 1e-9);
  auto [bad, bad_out] = run_faultline({"report", "merge", dir.file("nope.json")});
  EXPECT_EQ(bad, 2);
}

TEST(Load, ThresholdsAndExitCodes) {
  TestServer server;
  TempDir dir;
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"load",       server.url(), "--rate", "50",
                                     "--duration", "500ms",      "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_faultline(args, dir.file("err.txt")).first;
  };
  EXPECT_EQ(run({"--threshold", "p99<5s", "--threshold", "error_ratio<0.01"}), 0);
  EXPECT_EQ(run({"--threshold", "p50<1us", "--out", dir.file("r.json")}), 1);
  json r = read_json(dir.file("r.json"));
  EXPECT_FALSE(r["thresholds"][0]["ok"].get<bool>());
  EXPECT_EQ(run({"--threshold", "p99<<1s"}), 2);
  EXPECT_NE(slurp(dir.file("err.txt")).find("--threshold"), std::string::npos);
  EXPECT_EQ(run({"--threshold", "nope:p99<1s"}), 2);
  EXPECT_EQ(run({"--rate", "10", "--users", "2"}), 2);
  EXPECT_EQ(run({"--shard", "2/2"}), 2);
  EXPECT_EQ(run({"--stages", "1s:x"}), 2);
  EXPECT_EQ(run_faultline({"load", "ftp://x"}).first, 2);
  // A bad workload names the JSON path of the problem.
  write_file(dir.file("w.json"), R"({"mix": [{"name": "a", "flow": [{"url": "/${id}"}]}]})");
  EXPECT_EQ(run({"--workload", dir.file("w.json")}), 2);
  EXPECT_NE(slurp(dir.file("err.txt")).find("$.mix[0].flow[0].url"), std::string::npos);
}

TEST(Load, HttpsVerifiesCertificatesUnlessInsecure) {
  // openssl s_server -www: a TLS server answering every request with an HTTP/1.0 status page.
  TempDir dir;
  Subprocess gen(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.file("k.pem"),
       "-out", dir.file("c.pem"), "-days", "1", "-subj", "/CN=localhost"},
      dir.file("openssl.log"));
  ASSERT_EQ(gen.wait(20000ms), 0);
  const unsigned short port = free_loopback_port();
  Subprocess server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                     dir.file("c.pem"), "-key", dir.file("k.pem"), "-www"},
                    dir.file("s_server.log"));
  ASSERT_TRUE(server.wait_for_line("ACCEPT", 10000ms));
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/";
  auto [code, out] = run_faultline({"load", url, "--insecure", "--duration", "700ms", "-c", "2",
                                    "-t", "1", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  json r = read_json(dir.file("r.json"));
  EXPECT_GT(r["requests"]["ok"].get<int>(), 0);
  EXPECT_EQ(r["requests"]["failed"], 0);
  // Self-signed: verification (the default) fails the handshake.
  auto [code2, out2] = run_faultline({"load", url, "--duration", "500ms", "-c", "1", "-t", "1",
                                      "-q", "--out", dir.file("v.json")});
  ASSERT_EQ(code2, 0);
  json v = read_json(dir.file("v.json"));
  EXPECT_EQ(v["requests"]["ok"], 0);
  EXPECT_GT(v["errors"]["bad_response"].get<int>(), 0);
}
