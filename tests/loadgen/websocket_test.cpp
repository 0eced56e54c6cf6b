// `faultline load` WebSocket sessions end to end over loopback, against two peers that are not
// faultline's client: the target's Beast echo (GET /ws/echo, plain and TLS) and a
// python3-websockets server (tests/loadgen/ws_peer.py: echo, close after N messages or after a
// time with a given code, silence). Sessions in results and interval lines, reconnects, close
// codes, the open model, thresholds, and the errors of flags and workload entries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "loadgen/workload.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;

namespace {

// tests/loadgen/ws_peer.py on Debian's python (the PATH one may lack websockets).
struct PythonPeer {
  Subprocess process;
  std::string url;  // ws://127.0.0.1:PORT
  PythonPeer()
      : process(std::vector<std::string>{"/usr/bin/python3",
                                         source_dir() + "/tests/loadgen/ws_peer.py"}) {
    auto line = process.wait_for_line("listening on ", 15000ms);
    if (!line) throw std::runtime_error("ws_peer.py did not start: " + process.output());
    url = "ws://" + line->substr(line->find("listening on ") + 13);
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r'))
      url.pop_back();
  }
};

const json& session(const json& r, const std::string& name = "default") {
  return r["sessions"][name];
}

std::uint64_t u(const json& j) {
  return j.get<std::uint64_t>();
}

}  // namespace

TEST(LoadWebSocket, RttAgainstEchoServer) {
  auto target = start_faultline(
      {"target", "--listen", "127.0.0.1:0", "--threads", "1", "--solver-threads", "1"});
  ASSERT_TRUE(target);
  TempDir dir;
  auto [code, out] = run_faultline({"load", "ws://" + target->address.to_string() + "/ws/echo",
                                    "--users", "2", "--ws-messages", "5", "--ws-interval", "50ms",
                                    "--duration", "2s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r["url"], "ws://" + target->address.to_string() + "/ws/echo");
  const json& s = session(r);
  // 2 users × ~2 s of 0.25 s sessions; each ran its whole plan (the last cut by the end).
  EXPECT_GE(u(s["opened"]), 8u);
  EXPECT_EQ(s["completed"], s["opened"]);
  EXPECT_EQ(s["ended_early"], 0);
  EXPECT_EQ(s["reconnects"], 0);
  const json& by = r["requests_by_name"];
  EXPECT_EQ(by["default.connect"]["requests"]["ok"], s["opened"]);
  EXPECT_EQ(by["default.message"]["requests"]["failed"], 0);
  EXPECT_GE(u(by["default.message"]["requests"]["ok"]), 4 * u(s["opened"]) - 2);
  // Loopback RTT: far under the 50 ms between messages (a busy machine: generous).
  EXPECT_LT(by["default.message"]["latency_seconds"]["p50"].get<double>(), 0.04);
}

TEST(LoadWebSocket, WssWithTheSameTlsFlagsAsHttps) {
  TempDir dir;
  Subprocess gen(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.file("k.pem"),
       "-out", dir.file("c.pem"), "-days", "1", "-subj", "/CN=localhost"},
      dir.file("openssl.log"));
  ASSERT_EQ(gen.wait(20000ms), 0);
  auto target =
      start_faultline({"target", "--listen", "127.0.0.1:0", "--threads", "1", "--solver-threads",
                       "1", "--tls-cert", dir.file("c.pem"), "--tls-key", dir.file("k.pem")});
  ASSERT_TRUE(target);
  auto [code, out] =
      run_faultline({"load", "wss://" + target->address.to_string() + "/ws/echo", "--insecure",
                     "--users", "1", "--ws-messages", "3", "--ws-interval", "20ms", "--duration",
                     "1s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  EXPECT_GT(u(session(r)["completed"]), 0u);
  EXPECT_EQ(r["requests_by_name"]["default.message"]["requests"]["failed"], 0);
  EXPECT_EQ(r["tls"]["handshakes"], session(r)["opened"]);  // one connection per session
}

TEST(LoadWebSocket, ServerCloseIsEndedEarlyThenReconnect) {
  PythonPeer peer;
  TempDir dir;
  // The peer echoes 3 messages, then closes with 1012: between two messages (50 ms apart), so no
  // message fails; every session but each user's last (cut by the end of the run) ends early.
  auto [code, out] = run_faultline({"load", peer.url + "/close-after/3/1012", "--users", "2",
                                    "--ws-messages", "5", "--ws-interval", "50ms", "--duration",
                                    "2s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  const json& s = session(r);
  const auto opened = u(s["opened"]);
  EXPECT_GE(opened, 10u);
  EXPECT_EQ(u(s["completed"]) + u(s["ended_early"]), opened);
  EXPECT_GE(u(s["ended_early"]), opened - 2);
  // Each user's every session after its first follows an early end.
  EXPECT_EQ(u(s["reconnects"]), opened - 2);
  EXPECT_EQ(s["close_codes"]["1012"], s["ended_early"]);
  const json& msg = r["requests_by_name"]["default.message"];
  EXPECT_EQ(msg["requests"]["failed"], 0);
  // 3 replies per early session, up to 3 more in each user's last one.
  EXPECT_GE(u(msg["requests"]["ok"]), 3 * u(s["ended_early"]));
  EXPECT_LE(u(msg["requests"]["ok"]), 3 * u(s["ended_early"]) + 6);
}

TEST(LoadWebSocket, CloseCodesCounted) {
  PythonPeer peer;
  TempDir dir;
  // Closes 120 ms after each handshake with 4001, in the middle of a plan of 100 messages 20 ms
  // apart: the message awaiting its reply, if any, fails as `closed`.
  auto [code, out] = run_faultline({"load", peer.url + "/close-at/120/4001", "--users", "2",
                                    "--ws-messages", "100", "--ws-interval", "20ms", "--duration",
                                    "1500ms", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  const json& s = session(r);
  EXPECT_GE(u(s["ended_early"]), 8u);
  EXPECT_EQ(s["close_codes"]["4001"], s["ended_early"]);
  EXPECT_EQ(s["close_codes"].size(), 1u);
  const json& msg = r["requests_by_name"]["default.message"];
  EXPECT_LE(u(msg["errors"]["closed"]), u(s["ended_early"]));
  EXPECT_EQ(u(msg["requests"]["failed"]), u(msg["errors"]["closed"]));
  EXPECT_EQ(r["errors"]["closed"], msg["errors"]["closed"]);
  // A peer that never answers: the message times out and the session ends early.
  auto [code2, out2] =
      run_faultline({"load", peer.url + "/silent", "--users", "1", "--ws-messages", "3",
                     "--timeout", "300ms", "--duration", "1s", "-q", "--out", dir.file("t.json")});
  ASSERT_EQ(code2, 0);
  const json t = read_json(dir.file("t.json"));
  EXPECT_GE(u(session(t)["ended_early"]), 2u);
  EXPECT_EQ(t["requests_by_name"]["default.message"]["errors"]["read_timeout"],
            session(t)["ended_early"]);
  EXPECT_EQ(session(t)["close_codes"].size(), 0u);
}

TEST(LoadWebSocket, InvalidUtf8IsBadResponse) {
  PythonPeer peer;
  TempDir dir;
  // A text reply that is not UTF-8: Beast fails the read (and answers 1007), the message is
  // bad_response and the session ends early, with no close code of the server's.
  auto [code, out] = run_faultline({"load", peer.url + "/badutf8", "--users", "1", "--ws-messages",
                                    "3", "--ws-interval", "20ms", "--duration", "600ms", "-q",
                                    "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  const json& s = session(r);
  EXPECT_GE(u(s["ended_early"]), 2u);
  EXPECT_EQ(s["close_codes"].size(), 0u);
  const json& msg = r["requests_by_name"]["default.message"];
  EXPECT_EQ(msg["errors"]["bad_response"], s["ended_early"]);
  EXPECT_EQ(msg["requests"]["ok"], 0);
}

TEST(LoadWebSocket, ResultsAndIntervalsCarrySessions) {
  PythonPeer peer;
  TempDir dir;
  // Open model: 10 sessions a second, each 3 messages 20 ms apart, at the workload's entry.
  write_file(dir.file("w.json"), R"({"mix": [{"name": "chat", "websocket": {"url":
      "/close-after/2/1001", "messages": 3, "interval": "20ms", "message": "hi ${seq}"}}]})");
  auto [code, out] = run_faultline({"load", peer.url, "--workload", dir.file("w.json"), "--rate",
                                    "10", "--duration", "2s", "-q", "--out", dir.file("r.json"),
                                    "--intervals-out", dir.file("i.jsonl")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  const json& s = session(r, "chat");
  EXPECT_EQ(r["schedule"]["offered"], 20);
  EXPECT_EQ(r["requests_by_name"]["chat.connect"]["requests"]["ok"], s["opened"]);
  EXPECT_GE(u(s["opened"]), 19u);  // the last arrival may be unsent on a busy machine
  // The peer closes after 2 replies, before the third message: every session ends early but one
  // the end of the run may cut first.
  EXPECT_GE(u(s["ended_early"]) + 1, u(s["opened"]));
  EXPECT_EQ(u(s["completed"]) + u(s["ended_early"]), u(s["opened"]));
  EXPECT_EQ(s["close_codes"]["1001"], s["ended_early"]);
  EXPECT_EQ(r["requests_by_name"]["chat.message"]["requests"]["failed"], 0);
  // Every line carries every session entry, and the lines add up to the results.
  struct {
    std::uint64_t opened = 0, ended_early = 0, reconnects = 0, code_1001 = 0;
  } sum;
  const auto lines = read_lines(dir.file("i.jsonl"));
  ASSERT_GE(lines.size(), 2u);
  for (const json& line : lines) {
    ASSERT_TRUE(line.contains("sessions")) << line.dump();
    const json& c = line["sessions"]["chat"];
    for (const char* k : {"opened", "completed", "ended_early", "reconnects", "close_codes"})
      EXPECT_TRUE(c.contains(k)) << k;
    sum.opened += u(c["opened"]);
    sum.ended_early += u(c["ended_early"]);
    sum.reconnects += u(c["reconnects"]);
    if (c["close_codes"].contains("1001")) sum.code_1001 += u(c["close_codes"]["1001"]);
  }
  EXPECT_EQ(sum.opened, u(s["opened"]));
  EXPECT_EQ(sum.ended_early, u(s["ended_early"]));
  EXPECT_EQ(sum.reconnects, u(s["reconnects"]));
  EXPECT_EQ(sum.code_1001, u(s["ended_early"]));
  // Results merge by adding sessions (interval lines: IntervalMerger.AddsSessionsPerSecond).
  auto [code3, merged3] =
      run_faultline({"report", "merge", dir.file("r.json"), dir.file("r.json")});
  ASSERT_EQ(code3, 0);
  EXPECT_EQ(json::parse(merged3)["sessions"]["chat"]["opened"], 2 * u(s["opened"]));
}

TEST(LoadWebSocket, ThresholdReconnects) {
  PythonPeer peer;
  TempDir dir;
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"load",
                                     peer.url + "/close-after/1/1012",
                                     "--users",
                                     "1",
                                     "--ws-messages",
                                     "2",
                                     "--ws-interval",
                                     "20ms",
                                     "--duration",
                                     "600ms",
                                     "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_faultline(args, dir.file("err.txt")).first;
  };
  EXPECT_EQ(run({"--threshold", "reconnects<1", "--out", dir.file("r.json")}), 1);
  const json r = read_json(dir.file("r.json"));
  EXPECT_FALSE(r["thresholds"][0]["ok"].get<bool>());
  EXPECT_EQ(r["thresholds"][0]["value"], session(r)["reconnects"]);
  EXPECT_EQ(
      run({"--threshold", "default:reconnects<100000", "--threshold", "ended_early_ratio<=1"}), 0);
  EXPECT_EQ(run({"--threshold", "ended_early_ratio<0.5"}), 1);
  EXPECT_EQ(run({"--threshold", "nope:reconnects<1"}), 2);
  EXPECT_NE(slurp(dir.file("err.txt")).find("no session entry named \"nope\""), std::string::npos);
  // Without sessions the metric means nothing: refused before the run.
  TestServer http;
  EXPECT_EQ(run_faultline(
                {"load", http.url(), "--duration", "200ms", "-q", "--threshold", "reconnects<1"},
                dir.file("err.txt"))
                .first,
            2);
  EXPECT_NE(slurp(dir.file("err.txt")).find("has no sessions"), std::string::npos);
}

TEST(LoadWebSocket, FlagAndWorkloadErrorsNameTheirPlace) {
  TempDir dir;
  auto usage = [&](std::vector<std::string> args, const std::string& says) {
    args.insert(args.begin(), "load");
    const int code = run_faultline(args, dir.file("err.txt")).first;
    EXPECT_EQ(code, 2) << says;
    EXPECT_NE(slurp(dir.file("err.txt")).find(says), std::string::npos)
        << says << " in " << slurp(dir.file("err.txt"));
  };
  usage({"http://127.0.0.1:1/", "--ws-messages", "3"}, "--ws-messages applies to a ws://");
  usage({"ws://127.0.0.1:1/", "--ws-interval", "soon"}, "--ws-interval");
  usage({"ws://127.0.0.1:1/", "--ws-message", "${nope}"}, "--ws-message");
  usage({"ws://127.0.0.1:1/", "--sse"}, "--sse needs an http://");
  usage({"http://127.0.0.1:1/", "--sse-events", "3"}, "--sse-events applies with --sse");
  write_file(dir.file("w.json"), R"({"mix": [{"name": "chat", "websocket": {"url": "ws",
      "messages": -1, "interval": "x", "reply": "maybe", "subprotocol": "a b", "bogus": 1}},
      {"name": "ev", "sse": {"url": "/e", "events": "many"}},
      {"name": "both", "sse": {"url": "/e"}, "flow": [{"url": "/"}]}]})");
  const int code = run_faultline({"load", "http://127.0.0.1:1/", "--workload", dir.file("w.json")},
                                 dir.file("err.txt"))
                       .first;
  EXPECT_EQ(code, 2);
  const std::string err = slurp(dir.file("err.txt"));
  for (const char* path :
       {"$.mix[0].websocket.url", "$.mix[0].websocket.messages", "$.mix[0].websocket.interval",
        "$.mix[0].websocket.reply", "$.mix[0].websocket.subprotocol", "$.mix[0].websocket.bogus",
        "$.mix[1].sse.events", "$.mix[2]: has more than one of"})
    EXPECT_NE(err.find(path), std::string::npos) << path << " in " << err;
}

TEST(LoadWebSocket, WorkloadEntriesParse) {
  ConfigErrors errors;
  const auto w = loadgen::parse_workload(
      json::parse(R"({"mix": [{"name": "chat", "weight": 2, "websocket": {"url": "/ws?x=${seq}",
        "messages": 0, "interval": "0s", "binary": true, "subprotocol": "chat.v2",
        "reply": "next"}}, {"name": "plain", "url": "/"}]})"),
      errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.session_names, (std::vector<std::string>{"chat"}));
  ASSERT_TRUE(w.entries[0].ws);
  EXPECT_TRUE(w.entries[0].ws->binary);
  EXPECT_TRUE(w.entries[0].ws->reply_next);
  EXPECT_EQ(w.entries[0].ws->messages, 0u);
  EXPECT_EQ(w.request_names[w.entries[0].ws->message_name], "chat.message");
  EXPECT_EQ(w.request_names[w.entries[0].ws->connect_name], "chat.connect");
  EXPECT_FALSE(w.entries[1].ws);
}
