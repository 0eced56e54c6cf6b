// Pure parts of the load generator: the --stages grammar and arrival schedule, thresholds, the
// HTTP/1.1 response parser, workload validation (errors carry JSON paths) and the generator
// registry, results merging.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

#include "loadgen/detail/load_metrics.hpp"
#include "loadgen/generator.hpp"
#include "loadgen/http1.hpp"
#include "loadgen/merge.hpp"
#include "loadgen/stages.hpp"
#include "loadgen/stats.hpp"
#include "loadgen/threshold.hpp"
#include "loadgen/workload.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace std::chrono_literals;

TEST(Stages, ParsesStepsRampsAndCycles) {
  std::string err;
  auto s = parse_stages("30s:100, 2m:100>1000,1m:>0,10s:1|2|3", err);
  ASSERT_TRUE(s) << err;
  ASSERT_EQ(s->size(), 6u);
  EXPECT_DOUBLE_EQ((*s)[0].duration_seconds, 30);
  EXPECT_DOUBLE_EQ((*s)[0].from, 100);
  EXPECT_DOUBLE_EQ((*s)[0].to, 100);
  EXPECT_DOUBLE_EQ((*s)[1].duration_seconds, 120);
  EXPECT_DOUBLE_EQ((*s)[1].to, 1000);
  EXPECT_DOUBLE_EQ((*s)[2].from, 1000);  // ramp from the previous level
  EXPECT_DOUBLE_EQ((*s)[2].to, 0);
  EXPECT_DOUBLE_EQ((*s)[5].from, 3);
  auto k = parse_stages("1s:2k", err);
  ASSERT_TRUE(k);
  EXPECT_DOUBLE_EQ((*k)[0].from, 2000);
}

TEST(Stages, RejectsMalformed) {
  for (const char* bad : {"", "30s", "x:100", "30s:abc", "30s:1>", "0s:5", "30s:-1"}) {
    std::string err;
    EXPECT_FALSE(parse_stages(bad, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
    // The caller names the option ("--stages" or "$.load.stages"); the message does not.
    EXPECT_EQ(err.find("--stages"), std::string::npos) << bad << ": " << err;
  }
}

TEST(Profile, LevelsIntegralAndCutOrHold) {
  std::string err;
  Profile p(*parse_stages("10s:0>100,10s:100", err), 0);
  EXPECT_DOUBLE_EQ(p.end_seconds(), 20);
  EXPECT_DOUBLE_EQ(p.level_at(5), 50);
  EXPECT_DOUBLE_EQ(p.level_at(15), 100);
  EXPECT_DOUBLE_EQ(p.integral(10), 500);
  EXPECT_DOUBLE_EQ(p.integral(20), 1500);
  EXPECT_NEAR(*p.time_of_integral(125), 5.0, 1e-9);  // 125 = 0.5 * 5s * 50/s
  EXPECT_EQ(p.stage_at(9.99), 0u);
  EXPECT_EQ(p.stage_at(10), 1u);
  EXPECT_FALSE(p.time_of_integral(1500));
  // Cut: the ramp stops where it is at 5 s.
  Profile cut(*parse_stages("10s:0>100,10s:100", err), 5);
  ASSERT_EQ(cut.stages().size(), 1u);
  EXPECT_DOUBLE_EQ(cut.stages()[0].to, 50);
  // Hold: the last level continues to the requested duration.
  Profile held(*parse_stages("1s:10", err), 3);
  ASSERT_EQ(held.stages().size(), 2u);
  EXPECT_EQ(held.stages()[1].spec, "hold");
  EXPECT_DOUBLE_EQ(held.level_at(2.5), 10);
}

TEST(ArrivalSchedule, ExactCountsPerStageAndInterleavedSenders) {
  std::string err;
  Profile p(*parse_stages("1s:100,1s:300,1s:0>200", err), 0);
  // Two senders (threads) share the rate; together they produce exactly the integral.
  std::vector<double> all;
  for (std::size_t g = 0; g < 2; ++g) {
    ArrivalSchedule s(p, g, 2);
    while (auto t = s.next())
      all.push_back(*t);
  }
  std::sort(all.begin(), all.end());
  std::size_t counts[3] = {0, 0, 0};
  for (double t : all)
    ++counts[p.stage_at(t)];
  EXPECT_EQ(counts[0], 100u);
  EXPECT_EQ(counts[1], 300u);
  EXPECT_EQ(counts[2], 100u);
  // Constant-rate arrivals are evenly spaced (1/100 s apart in stage 0).
  for (std::size_t i = 1; i < 100; ++i)
    EXPECT_NEAR(all[i] - all[i - 1], 0.01, 1e-9);
}

TEST(Threshold, ParsesGrammar) {
  std::string err;
  auto t = parse_threshold("p99<200ms", err);
  ASSERT_TRUE(t) << err;
  EXPECT_EQ(t->metric, "p99");
  EXPECT_EQ(t->op, "<");
  EXPECT_DOUBLE_EQ(t->limit, 0.2);
  t = parse_threshold("error_ratio <= 1%", err);
  ASSERT_TRUE(t) << err;
  EXPECT_DOUBLE_EQ(t->limit, 0.01);
  EXPECT_EQ(t->op, "<=");
  t = parse_threshold("create:uncorrected.p90>=5ms", err);
  ASSERT_TRUE(t) << err;
  EXPECT_EQ(t->scope, "create");
  EXPECT_EQ(t->metric, "uncorrected.p90");
  t = parse_threshold("rps>2k", err);
  ASSERT_TRUE(t) << err;
  EXPECT_EQ(t->metric, "throughput_rps");
  EXPECT_DOUBLE_EQ(t->limit, 2000);
  t = parse_threshold("errors.reset<1", err);
  ASSERT_TRUE(t) << err;
  for (const char* bad : {"p99", "p98<1s", "p99<fast", "errors.nope<1", ":p99<1s", "p99=1s"}) {
    EXPECT_FALSE(parse_threshold(bad, err)) << bad;
    EXPECT_NE(err.find("--threshold"), std::string::npos);
  }
}

TEST(Threshold, EvaluatesOnResults) {
  Stats s;
  for (int i = 1; i <= 100; ++i)
    s.record(Outcome::ok, std::chrono::milliseconds(i), 1ms);
  s.record(Outcome::http_5xx, 1ms, 1ms);
  s.record(Outcome::reset, 0ms, 0ms);
  json r = s.to_json(10, false);
  r["requests_by_name"] = {{"get", s.to_json(10, false)}};
  std::string err;
  auto v = [&](const char* expr) {
    auto t = parse_threshold(expr, err);
    EXPECT_TRUE(t) << err;
    return std::make_pair(*threshold_value(*t, r), threshold_holds(*t, *threshold_value(*t, r)));
  };
  EXPECT_NEAR(v("p99<200ms").first, 0.099, 0.0001);
  EXPECT_TRUE(v("p99<200ms").second);
  EXPECT_FALSE(v("p50<10ms").second);
  EXPECT_NEAR(v("error_ratio<0.01").first, 2.0 / 102, 1e-12);
  EXPECT_FALSE(v("error_ratio<0.01").second);
  EXPECT_DOUBLE_EQ(v("rps>=10").first, 10.2);
  EXPECT_DOUBLE_EQ(v("errors.reset<=1").first, 1);
  EXPECT_TRUE(v("get:p99<200ms").second);
  auto missing = parse_threshold("nope:p99<1s", err);
  EXPECT_FALSE(threshold_value(*missing, r));
  // No completed request: error_ratio is 1 (the run proved nothing).
  json empty = Stats().to_json(1, false);
  EXPECT_DOUBLE_EQ(*threshold_value(*parse_threshold("error_ratio<0.5", err), empty), 1.0);
}

TEST(Threshold, UnsentArrivalsAndScheduleRatios) {
  // 90 completed (10 of them failed) and 10 arrivals never sent (6 unsent, 4 dropped) of 100.
  Stats s;
  for (int i = 0; i < 80; ++i)
    s.record(Outcome::ok, 1ms, 1ms);
  for (int i = 0; i < 10; ++i)
    s.record(Outcome::http_5xx, 1ms, 1ms);
  ScheduleCounts c{100, 90, 45, 4, 6};
  json r = s.to_json(1, false);
  r["schedule"] = c.to_json();
  add_never_sent(r, c.never_sent());
  EXPECT_EQ(r["requests"]["unsent"], 10);
  EXPECT_EQ(r["errors"]["unsent"], 10);
  EXPECT_EQ(r["requests"]["failed"], 10);  // on the wire only
  EXPECT_DOUBLE_EQ(r["error_ratio"].get<double>(), 20.0 / 100);
  EXPECT_DOUBLE_EQ(r["schedule"]["unsent_ratio"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(r["schedule"]["late_ratio"].get<double>(), 0.5);
  std::string err;
  auto value = [&](const char* expr) {
    auto t = parse_threshold(expr, err);
    EXPECT_TRUE(t) << expr << ": " << err;
    return t ? threshold_value(*t, r).value_or(-1) : -1.0;
  };
  EXPECT_DOUBLE_EQ(value("error_ratio<0.01"), 0.2);
  EXPECT_DOUBLE_EQ(value("unsent_ratio<0.01"), 0.1);
  EXPECT_DOUBLE_EQ(value("late_ratio<=50%"), 0.5);
  EXPECT_DOUBLE_EQ(value("errors.unsent<1"), 10);
  EXPECT_TRUE(threshold_holds(*parse_threshold("late_ratio<=50%", err), 0.5));
  EXPECT_FALSE(threshold_holds(*parse_threshold("unsent_ratio<0.01", err), 0.1));
  // Per request name there is no schedule: refused when parsed.
  EXPECT_FALSE(parse_threshold("get:unsent_ratio<0.01", err));
  EXPECT_NE(err.find("whole run"), std::string::npos) << err;
  // Nothing offered (ratios null): nothing was late or unsent.
  json none = Stats().to_json(1, false);
  none["schedule"] = ScheduleCounts{}.to_json();
  EXPECT_TRUE(none["schedule"]["unsent_ratio"].is_null());
  EXPECT_TRUE(none["schedule"]["late_ratio"].is_null());
  EXPECT_DOUBLE_EQ(*threshold_value(*parse_threshold("unsent_ratio<0.01", err), none), 0.0);
}

TEST(Http1, ParsesHeadsAndFraming) {
  ResponseHead h;
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello";
  ASSERT_EQ(parse_response_head(ok, h), Parse::done);
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(*h.content_length, 5u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.head_bytes, ok.size() - 5);
  EXPECT_EQ(*find_header(ok.substr(0, h.head_bytes), "x"), "y");
  ASSERT_EQ(parse_response_head("HTTP/1.0 404 Not Found\r\n\r\n", h), Parse::done);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.1 503 x\r\nConnection: close\r\n\r\n", h), Parse::done);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", h),
            Parse::done);
  EXPECT_TRUE(h.chunked);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Le", h), Parse::incomplete);
  for (const char* bad :
       {"garbage\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"})
    EXPECT_EQ(parse_response_head(bad, h), Parse::bad) << bad;
  EXPECT_EQ(parse_response_head(std::string(70000, 'x'), h), Parse::bad);
}

TEST(Http1, HeadSplitAtEveryByteBoundary) {
  // A head followed by its body and a second (pipelined) response: every prefix shorter than the
  // head is incomplete, every longer one parses to the same head, and the leftovers start exactly
  // at the second response.
  const std::string first =
      "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
  const std::string second = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  const std::string wire = first + second;
  const std::size_t head_len = first.size() - 5;
  for (std::size_t k = 0; k <= wire.size(); ++k) {
    ResponseHead h;
    const auto p = parse_response_head(std::string_view(wire).substr(0, k), h);
    if (k < head_len) {
      EXPECT_EQ(p, Parse::incomplete) << k;
      continue;
    }
    ASSERT_EQ(p, Parse::done) << k;
    EXPECT_EQ(h.status, 200u);
    EXPECT_EQ(h.head_bytes, head_len);
    EXPECT_EQ(*h.content_length, 5u);
    EXPECT_TRUE(h.keep_alive);
  }
  ResponseHead h;
  ASSERT_EQ(parse_response_head(std::string_view(wire).substr(first.size()), h), Parse::done);
  EXPECT_EQ(h.status, 404u);
  EXPECT_EQ(*h.content_length, 0u);
  EXPECT_EQ(h.head_bytes, second.size());
}

TEST(Http1, HeadFieldsCaseWhitespaceAndFraming) {
  ResponseHead h;
  // Names are case-insensitive, values trimmed of spaces and tabs.
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nCONTENT-length:\t 7 \t\r\n\r\n", h),
            Parse::done);
  EXPECT_EQ(*h.content_length, 7u);
  // Connection tokens: lists, any case; HTTP/1.0 keeps alive only when asked.
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nconnection: Upgrade, CLOSE\r\n\r\n", h),
            Parse::done);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", h),
            Parse::done);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", h),
            Parse::done);
  EXPECT_TRUE(h.keep_alive);
  // Chunked wins over Content-Length; a coding list ending in chunked is chunked.
  ASSERT_EQ(
      parse_response_head(
          "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", h),
      Parse::done);
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.content_length.has_value());
  // No framing header: the body runs to EOF (content_length empty, not chunked).
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\n\r\n", h), Parse::done);
  EXPECT_FALSE(h.content_length.has_value());
  EXPECT_FALSE(h.chunked);
  // Names that merely resemble framing headers are ignored.
  ASSERT_EQ(
      parse_response_head(
          "HTTP/1.1 200 OK\r\nContent-Lengtz: x\r\nX-Content-Length: y\r\nConnectio: close\r\n"
          "Content-Lengthy: z\r\n\r\n",
          h),
      Parse::done);
  EXPECT_FALSE(h.content_length.has_value());
  EXPECT_TRUE(h.keep_alive);
  // A bare LF inside a field does not end the line (only CRLF does).
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nX: a\nb\r\nContent-Length: 3\r\n\r\n", h),
            Parse::done);
  EXPECT_EQ(*h.content_length, 3u);
  // Interim responses parse like any head (the engine skips them).
  ASSERT_EQ(parse_response_head("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", h),
            Parse::done);
  EXPECT_EQ(h.status, 100u);
  EXPECT_EQ(h.head_bytes, 25u);
  // Equal duplicate Content-Length values are allowed.
  ASSERT_EQ(
      parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n", h),
      Parse::done);
  EXPECT_EQ(*h.content_length, 2u);
}

TEST(Http1, BadHeadsAndLimit) {
  ResponseHead h;
  for (const char* bad :
       {"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 20\r\n\r\n", "\r\n\r\n"})
    EXPECT_EQ(parse_response_head(bad, h), Parse::bad) << bad;
  // A garbage status line is bad as soon as it is complete, before the rest of the head arrives.
  EXPECT_EQ(parse_response_head("SSH-2.0-OpenSSH\r\nmore", h), Parse::bad);
  // The limit applies to the whole head, blank line included.
  const std::string head = "HTTP/1.1 200 OK\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse_response_head(head, h, head.size()), Parse::done);
  EXPECT_EQ(parse_response_head(head, h, head.size() - 1), Parse::bad);
  EXPECT_EQ(parse_response_head(head.substr(0, 60), h, 50), Parse::bad);  // no end in sight
  EXPECT_EQ(parse_response_head(head.substr(0, 40), h, 50), Parse::incomplete);
}

TEST(Http1, DecodesChunkedIncrementally) {
  const std::string wire = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
  // Feed byte by byte: the decoder must cope with any split.
  ChunkedDecoder d;
  std::string body, pending;
  Parse last = Parse::incomplete;
  for (char c : wire) {
    pending += c;
    std::size_t used = 0;
    last = d.feed(pending, used, &body);
    pending.erase(0, used);
    if (last != Parse::incomplete) break;
  }
  EXPECT_EQ(last, Parse::done);
  EXPECT_EQ(body, "hello world");
  ChunkedDecoder bad;
  std::size_t used = 0;
  EXPECT_EQ(bad.feed("zz\r\n", used, nullptr), Parse::bad);
}

TEST(Workload, ParsesMixFlowsAndGenerators) {
  json doc = json::parse(R"({"mix": [
    {"name": "home", "weight": 2, "url": "/"},
    {"name": "cr", "flow": [
      {"name": "create", "method": "POST", "url": "/pastes", "body": "x ${seq}",
       "capture": {"u": {"json": "/url"}, "loc": {"header": "Location"}}},
      {"name": "read", "url": "${u}", "headers": {"X-From": "${loc}"}}]},
    {"name": "p", "generator": "paste", "size": {"min": 10, "max": "1KiB"}, "read_back": true},
    {"name": "s", "generator": "story", "pages": 3}
  ]})");
  ConfigErrors errors;
  Workload w = parse_workload(doc, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  ASSERT_EQ(w.entries.size(), 4u);
  EXPECT_EQ(w.request_names, (std::vector<std::string>{"home", "cr.create", "cr.read", "p.create",
                                                       "p.read", "s.create", "s.read"}));
  // Rendering substitutes captures and sets framing headers.
  Rng rng(1);
  std::string out;
  render_request(out, w.entries[1].steps[1], "h:1", {{"u", "/p/abc"}, {"loc", "L"}}, rng, 7);
  EXPECT_EQ(out.rfind("GET /p/abc HTTP/1.1\r\nHost: h:1\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("X-From: L\r\n"), std::string::npos);
  render_request(out, w.entries[1].steps[0], "h", {}, rng, 7);
  EXPECT_NE(out.find("Content-Length: 3\r\n\r\nx 7"), std::string::npos) << out;
  // Weighted picks follow the weights (seeded).
  std::size_t home = 0;
  for (int i = 0; i < 5000; ++i)
    home += w.pick(rng) == 0;
  EXPECT_NEAR(static_cast<double>(home) / 5000, 2.0 / 5, 0.03);
}

TEST(Workload, RejectsBadFilesWithJsonPaths) {
  struct Case {
    const char* doc;
    const char* path;
  };
  const Case cases[] = {
      {R"([])", "$"},
      {R"({"mix": []})", "$.mix"},
      {R"({"mix": [{"url": "/"}]})", "$.mix[0].name"},
      {R"({"mix": [{"name": "a", "url": "x"}]})", "$.mix[0].url"},
      {R"({"mix": [{"name": "a", "url": "/", "weight": 0}]})", "$.mix[0].weight"},
      {R"({"mix": [{"name": "a", "url": "/"}, {"name": "a", "url": "/"}]})", "$.mix[1].name"},
      {R"({"mix": [{"name": "a", "flow": [{"url": "/${nope}"}]}]})", "$.mix[0].flow[0].url"},
      {R"({"mix": [{"name": "a", "flow": [{"url": "/", "capture": {"v": {"json": "bad"}}}]}]})",
       "$.mix[0].flow[0].capture.v.json"},
      {R"({"mix": [{"name": "a", "generator": "nope"}]})", "$.mix[0].generator"},
      {R"({"mix": [{"name": "a", "generator": "solve", "difficulty": 9}]})", "$.mix[0].difficulty"},
      {R"({"mix": [{"name": "a", "generator": "paste", "size": {"min": "x"}}]})",
       "$.mix[0].size.min"},
      {R"({"mix": [{"name": "a", "url": "/", "method": "get"}]})", "$.mix[0].method"},
      {R"({"mix": [{"name": "a", "url": "/", "headers": {"Host": "x"}}]})",
       "$.mix[0].headers.Host"},
      {R"({"mix": [{"name": "a", "url": "/", "bogus": 1}]})", "$.mix[0].bogus"},
      // A request line or header the file itself would split (issue 22 #11).
      {R"({"mix": [{"name": "a", "url": "/a b"}]})", "$.mix[0].url"},
      {R"({"mix": [{"name": "a", "url": "/a\r\nX: y"}]})", "$.mix[0].url"},
      {R"({"mix": [{"name": "a", "url": "/", "headers": {"X-A": "v\r\nX-B: w"}}]})",
       "$.mix[0].headers.X-A"},
  };
  for (const auto& c : cases) {
    ConfigErrors errors;
    parse_workload(json::parse(c.doc), errors);
    ASSERT_FALSE(errors.empty()) << c.doc;
    EXPECT_NE(errors.to_string().find(c.path), std::string::npos)
        << c.doc << " -> " << errors.to_string();
  }
}

// Issue 22 #11: a captured value goes into a request target percent-encoded where a target may
// not hold it, and into a header value only without CR, LF or NUL (else render_request refuses).
TEST(Workload, CapturedValuesCannotSplitARequest) {
  std::string target = "/p/";
  append_to_target(target, std::string("a b\r\n\0\x7f\xc3\xa9\"#<>\\^`{|}%/?=&:@", 26));
  EXPECT_EQ(target, "/p/a%20b%0D%0A%00%7F%C3%A9%22%23%3C%3E%5C%5E%60%7B%7C%7D%/?=&:@");
  EXPECT_TRUE(header_value_ok("token 1; a=b"));
  for (const std::string& bad : {std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3)})
    EXPECT_FALSE(header_value_ok(bad));

  ConfigErrors errors;
  Workload w = parse_workload(json::parse(R"({"mix": [{"name": "f", "flow": [
      {"url": "/login", "capture": {"id": {"json": "/id"}}},
      {"url": "/items/${id}", "headers": {"X-Id": "${id}"}, "body": "${id}"}]}]})"),
                              errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  const StepSpec& step = w.entries[0].steps[1];
  Rng rng(1);
  std::string out;
  EXPECT_TRUE(render_request(out, step, "h", {{"id", "a b"}}, rng, 1));
  EXPECT_EQ(out.rfind("GET /items/a%20b HTTP/1.1\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\nX-Id: a b\r\n"), std::string::npos) << out;
  EXPECT_FALSE(render_request(out, step, "h", {{"id", "1\r\nX-Injected: yes"}}, rng, 1));
  EXPECT_TRUE(out.empty());
}

TEST(Workload, UnknownGeneratorListsTheRegisteredOnes) {
  ConfigErrors errors;
  parse_workload(json::parse(R"({"mix": [{"name": "a", "generator": "nope"}]})"), errors);
  ASSERT_EQ(errors.list().size(), 1u) << errors.to_string();
  // The list is the registry's names, sorted (so adding a generator needs no change here).
  std::string known;
  for (const auto& n : builtin_generators().names())
    known += (known.empty() ? "" : ", ") + n;
  EXPECT_EQ(errors.list()[0],
            "$.mix[0].generator: unknown generator \"nope\"; known generators: " + known);
  // A registry of one knows only that one.
  GeneratorRegistry only_solve;
  only_solve.add(*builtin_generators().find("solve"));
  ConfigErrors narrow;
  parse_workload(json::parse(R"({"mix": [{"name": "a", "generator": "paste"}]})"), only_solve,
                 narrow);
  ASSERT_EQ(narrow.list().size(), 1u) << narrow.to_string();
  EXPECT_EQ(narrow.list()[0],
            "$.mix[0].generator: unknown generator \"paste\"; known generators: solve");
}

TEST(GeneratorRegistry, EveryBuiltinHasADescriptionAndANameOnlyOnce) {
  const GeneratorRegistry& r = builtin_generators();
  for (const char* name : {"paste", "solve", "story", "vanity"})
    EXPECT_NE(r.find(name), nullptr) << name;
  for (const auto& name : r.names()) {
    ASSERT_NE(r.find(name), nullptr) << name;
    EXPECT_FALSE(r.find(name)->description.empty()) << name;
  }
  EXPECT_EQ(r.find("nope"), nullptr);
  GeneratorRegistry twice;
  twice.add(*r.find("paste"));
  EXPECT_THROW(twice.add(*r.find("paste")), std::logic_error);
}

TEST(Workload, LoadsAWorkloadFileOrSaysWhyNot) {
  const std::string file = ::testing::TempDir() + "loadgen_units_workload.json";
  std::ofstream(file) << R"({"mix": [{"name": "home", "url": "/"},
                                   {"name": "p", "generator": "paste", "read_back": true}]})";
  ConfigErrors errors;
  Workload w = load_workload_file(file, errors);
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.request_names, (std::vector<std::string>{"home", "p.create", "p.read"}));
  ConfigErrors missing;
  load_workload_file(file + ".missing", missing);
  ASSERT_EQ(missing.list().size(), 1u);
  EXPECT_EQ(missing.list()[0].rfind("$: ", 0), 0u) << missing.list()[0];
}

TEST(Merge, AddsHistogramsInsteadOfAveragingPercentiles) {
  // Shard A fast, shard B slow: the merged p50 must come from the combined distribution.
  Stats a, b;
  for (int i = 0; i < 900; ++i)
    a.record(Outcome::ok, 1ms, 1ms);
  for (int i = 0; i < 100; ++i)
    b.record(Outcome::ok, 100ms, 100ms);
  b.record(Outcome::read_timeout, 0ms, 0ms);
  auto doc = [](const Stats& s, double d) {
    json j = s.to_json(d, true);
    j["duration_seconds"] = d;
    j["model"] = "open";
    j["stages"] = json::array({s.to_json(d, true)});
    j["stages"][0]["index"] = 0;
    j["stages"][0]["duration_seconds"] = d;
    j["requests_by_name"] = {{"x", s.to_json(d, true)}};
    return j;
  };
  json m = merge_results({doc(a, 10), doc(b, 9.5)}, {"a.json", "b.json"});
  EXPECT_EQ(m["requests"]["total"], 1001);
  EXPECT_EQ(m["errors"]["read_timeout"], 1);
  EXPECT_DOUBLE_EQ(m["duration_seconds"].get<double>(), 10);
  EXPECT_NEAR(m["latency_seconds"]["p50"].get<double>(), 0.001, 0.00001);
  EXPECT_NEAR(m["latency_seconds"]["p99"].get<double>(), 0.1, 0.0001);
  EXPECT_DOUBLE_EQ(m["throughput_rps"].get<double>(), 100.1);
  EXPECT_EQ(m["stages"][0]["requests"]["total"], 1001);
  EXPECT_EQ(m["requests_by_name"]["x"]["requests"]["ok"], 1000);
  EXPECT_THROW(merge_results({json::object()}, {"bad.json"}), ConfigError);
  json other = doc(a, 1);
  other["model"] = "closed";
  EXPECT_THROW(merge_results({doc(a, 1), other}, {"a", "b"}), ConfigError);
}

TEST(Merge, SumsScheduleCountersAndRecomputesRatios) {
  Stats a;
  for (int i = 0; i < 10; ++i)
    a.record(Outcome::ok, 1ms, 1ms);
  auto doc = [&](const ScheduleCounts& c) {
    json j = a.to_json(1, true);
    j["duration_seconds"] = 1.0;
    j["model"] = "open";
    j["schedule"] = c.to_json();
    add_never_sent(j, c.never_sent());
    j["stages"] = json::array({a.to_json(1, true)});
    j["stages"][0]["index"] = 0;
    j["stages"][0]["schedule"] = c.to_json();
    return j;
  };
  json old = doc({20, 10, 2, 0, 10});
  old["schedule"].erase("sent");  // an older file: sent = offered - dropped - unsent
  json m = merge_results({doc({20, 10, 5, 4, 6}), old}, {"a.json", "b.json"});
  const json& s = m["schedule"];
  EXPECT_EQ(s["offered"], 40);
  EXPECT_EQ(s["sent"], 20);
  EXPECT_EQ(s["late"], 7);
  EXPECT_EQ(s["dropped"], 4);
  EXPECT_EQ(s["unsent"], 16);
  EXPECT_DOUBLE_EQ(s["unsent_ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s["late_ratio"].get<double>(), 7.0 / 20);
  EXPECT_EQ(m["errors"]["unsent"], 20);
  EXPECT_EQ(m["requests"]["unsent"], 20);
  EXPECT_DOUBLE_EQ(m["error_ratio"].get<double>(), 20.0 / 40);
  EXPECT_EQ(m["stages"][0]["schedule"]["unsent"], 16);
  EXPECT_EQ(m["stages"][0]["errors"]["unsent"], 20);
}

namespace faultline::loadgen {
namespace {

TEST(Stages, ScaleMultipliesDurationsAndKeepsLevels) {
  std::string err;
  auto s = scale_stages("30s:100,2m:100>1000, 10s:1|2|3", 0.5, err);
  ASSERT_TRUE(s) << err;
  EXPECT_EQ(*s, "15s:100,1m:100>1000,5s:1|2|3");
  auto parsed = parse_stages(*s, err);
  ASSERT_TRUE(parsed) << err;
  EXPECT_DOUBLE_EQ((*parsed)[1].duration_seconds, 60);
  EXPECT_FALSE(scale_stages("30s:abc", 2, err));
  EXPECT_NE(err.find("abc"), std::string::npos);
}

}  // namespace
}  // namespace faultline::loadgen
