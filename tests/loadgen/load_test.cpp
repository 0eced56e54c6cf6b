// `faultline load` end to end over loopback: coordinated-omission correction against a server that
// stalls at a known time, exact stage accounting, closed model, flows and generators against
// `faultline target`, intervals + Prometheus endpoint + SIGTERM, replay timing (recording and
// HAR), shards + `report merge`, thresholds and exit codes, HTTPS. Error classification and
// awkward framing are in load_wire_test.cpp.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "common/histogram.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/line_segments.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;

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
  // On a loaded machine the very last arrival may still wait behind its predecessor when the run
  // ends: it is then counted unsent, never silently lost.
  const auto unsent = r["schedule"]["unsent"].get<std::uint64_t>();
  EXPECT_LE(unsent, 2u);
  EXPECT_EQ(r["requests"]["total"].get<std::uint64_t>() + unsent, 600u);
  EXPECT_EQ(r["requests"]["ok"], r["requests"]["total"]);
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
  EXPECT_EQ(total + unsent, 600u);
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
        "faultline_load_offered_rate_rps 100", "faultline_load_sent_requests_total",
        "faultline_load_unsent_requests_total 0", "process_resident_memory_bytes"})
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

TEST(Load, IntervalsRollIntoGzipSegmentsWithNothingLost) {
  // A 24-hour run rolls its intervals hourly; here every second. Every second's line is in exactly
  // one segment, and the segments hold the same requests as the results.
  TestServer server;
  TempDir dir;
  const std::string path = dir.file("i.jsonl");
  auto [code, out] =
      run_faultline({"load", server.url(), "--rate", "100", "--duration", "4s", "-q", "--out",
                     dir.file("r.json"), "--intervals-out", path, "--intervals-roll", "1s"});
  ASSERT_EQ(code, 0) << out;
  const auto segments = rolled_segments(path);
  EXPECT_GE(segments.size(), 3u);
  for (const auto& s : segments)
    EXPECT_EQ(s.extension(), ".gz") << s;
  std::uint64_t total = 0;
  std::vector<double> ts;
  std::string error;
  ASSERT_TRUE(for_each_line(
      path,
      [&](const std::string& l) {
        json j = json::parse(l);
        total += j["requests"]["total"].get<std::uint64_t>();
        ts.push_back(j["t"].get<double>());
      },
      error))
      << error;
  EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
  EXPECT_GE(ts.size(), 4u);
  json r = read_json(dir.file("r.json"));
  EXPECT_EQ(total, r["requests"]["total"].get<std::uint64_t>());
}

// RFC 6761: "localhost" is the loopback even where the resolver does not know it (a minimal
// system or chroot without /etc/hosts; seen in a fresh debootstrap root). Where there is an
// /etc/hosts, it is hidden in a private mount namespace (needs root and unshare); where there is
// none, faultline runs as it is. (`unshare -m` itself fails inside a chroot, whose root is not a
// mount point: seen in the fresh-root check.)
TEST(Load, LocalhostIsTheLoopbackWithoutEtcHosts) {
  TestServer server;
  std::string url = server.url();
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  TempDir dir;
  const std::string load = faultline_bin() + " load " + url + " --rate 20 --duration 500ms -q";
  std::string cmd = load;
  if (std::filesystem::exists("/etc/hosts")) {
    if (::geteuid() != 0 || std::system("unshare -m true >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "/etc/hosts exists and cannot be hidden (needs root and unshare -m)";
    cmd = "unshare -m sh -c 'mount --bind /dev/null /etc/hosts && " + load + "'";
  }
  cmd += " >" + dir.file("out.log") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << slurp(dir.file("out.log"));
}
