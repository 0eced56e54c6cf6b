// The SSE behaviors through the protocol-http engine, as a client sees them: sse_drop_event drops
// whole events, each drawn on its own (a 0.5 toxicity leaves about half of every response, never
// all or none of it), and leaves other responses alone; sse_delay_event holds each event, not the
// head, in order; both count each acted event in faults_injected_total.
#include <gtest/gtest.h>

#include <regex>

#include "tests/proxy/http_streaming_support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

json sse_toxic(const std::string& type, json attrs, double toxicity = 1.0) {
  return json{{"type", type}, {"name", type}, {"toxicity", toxicity}, {"attributes", attrs}};
}

// 400 events "data: <i>\n\n" (every tenth a comment-only heart-beat before it), sent in 100-byte
// chunks that cut events anywhere, as `type` (text/event-stream unless the path says /plain).
std::function<void(int)> many_events_script() {
  return [](int fd) {
    for (;;) {
      const std::string head = read_head(fd);
      if (head.empty()) return;
      const bool plain = head.find("/plain") != std::string::npos;
      std::string body;
      for (int i = 0; i < 400; ++i)
        body +=
            (i % 10 == 0 ? ": hb\n\n" : "") + std::string("data: ") + std::to_string(i) + "\n\n";
      send_str(fd, std::string("HTTP/1.1 200 OK\r\nContent-Type: ") +
                       (plain ? "text/plain" : "text/event-stream; charset=utf-8") +
                       "\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (std::size_t off = 0; off < body.size(); off += 100)
        send_str(fd, chunk_of(body.substr(off, 100)));
      send_str(fd, "0\r\n\r\n");
    }
  };
}

// The numbers of the data events in `body`; fails the test on anything but whole events.
std::vector<int> data_events(const std::string& body) {
  std::vector<int> out;
  static const std::regex event(R"((: hb\n\n)|data: (\d+)\n\n)");
  auto it = std::sregex_iterator(body.begin(), body.end(), event);
  std::size_t covered = 0;
  for (; it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(static_cast<std::size_t>(it->position()), covered) << "a broken event";
    covered = static_cast<std::size_t>(it->position() + it->length());
    if ((*it)[2].matched) out.push_back(std::stoi((*it)[2].str()));
  }
  EXPECT_EQ(covered, body.size());
  return out;
}

}  // namespace

TEST(HttpSseFaults, DropEventDrawsEachEventOnItsOwn) {
  ScriptUpstream up(many_events_script());
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/sse/toxics",
                   sse_toxic("sse_drop_event", {{"path_prefix", "/events"}}, 0.5))
                .status,
            200);
  Client c(port, 10000ms);
  std::size_t kept_total = 0;
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(c.send_all("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    StreamingReader r(c);
    ASSERT_TRUE(r.read_head());
    std::string how;
    const std::string body = r.read_body(&how);
    EXPECT_EQ(how, "last-chunk");
    const auto kept = data_events(body);
    EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
    // 440 events (400 data + 40 heart-beats) at 0.5: the data ones, Binomial(400, 0.5), mean 200,
    // sd 10; drawn per request instead, a response would keep all or none.
    EXPECT_GE(kept.size(), 160u) << round;
    EXPECT_LE(kept.size(), 240u) << round;
    std::size_t heart_beats = 0;
    for (auto at = body.find(": hb\n\n"); at != std::string::npos;
         at = body.find(": hb\n\n", at + 1))
      ++heart_beats;
    kept_total += kept.size() + heart_beats;
  }
  EXPECT_EQ(
      h.metric("faultline_proxy_faults_injected_total", "kind=\"sse_drop_event\",proxy=\"sse\""),
      static_cast<double>(2 * 440 - kept_total));
  // Not an event stream (and not matching the path): every byte passes.
  ASSERT_TRUE(c.send_all("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"));
  StreamingReader r(c);
  ASSERT_TRUE(r.read_head());
  EXPECT_EQ(data_events(r.read_body()).size(), 400u);
  EXPECT_EQ(h.metric("faultline_proxy_sse_oversized_events_total", "proxy=\"sse\""), 0.0);
}

TEST(HttpSseFaults, DropEventWithEveryEventDroppedLeavesAnEmptyStream) {
  ScriptUpstream up(many_events_script());
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  ASSERT_EQ(
      h.call("POST", "/proxies/sse/toxics", sse_toxic("sse_drop_event", json::object())).status,
      200);
  Client c(port, 10000ms);
  ASSERT_TRUE(c.send_all("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  StreamingReader r(c);
  ASSERT_TRUE(r.read_head());
  std::string how;
  EXPECT_EQ(r.read_body(&how), "");
  EXPECT_EQ(how, "last-chunk");  // the stream still ends properly, and the connection is kept
  EXPECT_EQ(
      h.metric("faultline_proxy_faults_injected_total", "kind=\"sse_drop_event\",proxy=\"sse\""),
      440.0);
}

// sse_delay_event holds each event 300 ms after the upstream sent it (3 events 1 s apart), not
// the head.
TEST(HttpSseFaults, DelayEventHoldsEachEventNotTheHead) {
  Marks sent;
  ScriptUpstream up(sse_script(sent));
  Harness h;
  const auto port = h.create("sse", up.address(), "http");
  ASSERT_EQ(
      h.call("POST", "/proxies/sse/toxics", sse_toxic("sse_delay_event", {{"delay", 300}})).status,
      200);
  const EventTimes t = read_sse_events(port, sent);
  ASSERT_EQ(t.lags.size(), 3u);
  EXPECT_EQ(t.body, "id: 1\ndata: event-1\n\nid: 2\ndata: event-2\n\nid: 3\ndata: event-3\n\n");
  EXPECT_LT(t.head_ms, 250.0);  // the head is not delayed
  EXPECT_GE(median(t.lags), 290.0) << t.lags[0] << " " << t.lags[1] << " " << t.lags[2];
  EXPECT_LE(median(t.lags), 450.0) << t.lags[0] << " " << t.lags[1] << " " << t.lags[2];
  EXPECT_EQ(
      h.metric("faultline_proxy_faults_injected_total", "kind=\"sse_delay_event\",proxy=\"sse\""),
      3.0);
}

TEST(HttpSseFaults, StreamUpstreamRefused) {
  Harness h;
  h.create("sse", "127.0.0.1:9", "http");
  json t = sse_toxic("sse_delay_event", {{"delay", 300}});
  t["stream"] = "upstream";
  const auto reply = h.call("POST", "/proxies/sse/toxics", t);
  EXPECT_EQ(reply.status, 400u);
  EXPECT_NE(reply.raw.find("$.stream: sse_delay_event acts on responses"), std::string::npos)
      << reply.raw;
}
