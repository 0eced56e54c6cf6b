// The target's streaming routes against real sockets: GET /events (server-sent events, live, with
// Last-Event-ID, chunked or close-delimited) and GET /ws/echo (a WebSocket echo, Boost.Beast's
// client and python3-websockets as peers), and the HTTP server's take-over hook they use.
#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "tests/target/harness.hpp"

using namespace faultline;
using namespace faultline::target;
using namespace faultline::target::test;
using namespace std::chrono_literals;
namespace websocket = boost::beast::websocket;
using Clock = std::chrono::steady_clock;

namespace {

HarnessOptions memory_options() {
  HarnessOptions o;
  o.store.kind = StoreSpec::Kind::memory;
  return o;
}

// A blocking socket to the harness with a receive timeout.
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};
  explicit RawClient(const HostPort& at) {
    socket.connect(tcp::endpoint(asio::ip::make_address(at.host), at.port));
    timeval tv{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }
  // Reads until `needle` is in what was received (or EOF / timeout); returns all received.
  std::string until(std::string& received, const std::string& needle) {
    char buf[4096];
    while (received.find(needle) == std::string::npos) {
      error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec) break;
      received.append(buf, n);
    }
    return received;
  }
};

}  // namespace

TEST(TargetStreams, EventsArriveLiveOneIntervalApart) {
  Harness h(memory_options());
  RawClient c(h.address);
  const auto t0 = Clock::now();
  c.send("GET /events?interval=300ms&count=3 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  c.until(got, "id: 1\n");
  const auto first = Clock::now() - t0;
  ASSERT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(got.find("event: tick\ndata: {\"seq\":1}\n\n"), std::string::npos) << got;
  c.until(got, "id: 3\n");
  const auto third = Clock::now() - t0;
  c.until(got, "\r\n0\r\n\r\n");  // the body ends after `count` events
  EXPECT_NE(got.find("\r\n0\r\n\r\n"), std::string::npos) << got;
  // The first event comes at once, the third two intervals later: streamed, not buffered.
  EXPECT_LT(first, 250ms);
  EXPECT_GE(third - first, 550ms);
  EXPECT_LT(third - first, 3s);
  const auto text = h.metrics->serialize();
  EXPECT_EQ(metric_value(text, R"(faultline_target_requests_total{code="200",route="events"})"),
            1.0);
}

TEST(TargetStreams, LastEventIdResumesAfterIt) {
  Harness h(memory_options());
  RawClient c(h.address);
  c.send("GET /events?interval=10ms&count=2 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 41\r\n\r\n");
  std::string got;
  c.until(got, "\r\n0\r\n\r\n");
  EXPECT_EQ(got.find("id: 41\n"), std::string::npos) << got;
  EXPECT_NE(got.find("id: 42\n"), std::string::npos) << got;
  EXPECT_NE(got.find("id: 43\n"), std::string::npos) << got;
}

TEST(TargetStreams, Http10ClientGetsACloseDelimitedStream) {
  Harness h(memory_options());
  RawClient c(h.address);
  c.send("GET /events?interval=10ms&count=2 HTTP/1.0\r\n\r\n");
  std::string got;
  c.until(got, "\x01never");  // until the server closes
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  EXPECT_EQ(got.find("chunked"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\n\r\nid: 1\nevent: tick\ndata: {\"seq\":1}\n\nid: 2\n"), std::string::npos)
      << got;
}

TEST(TargetStreams, BadEventRequestsAreRefused) {
  Harness h(memory_options());
  EXPECT_EQ(h.fetch("GET", "/events?interval=0ms").status, 400u);
  EXPECT_EQ(h.fetch("GET", "/events?every=1s").status, 400u);
  EXPECT_EQ(h.fetch("GET", "/events?count=x").status, 400u);
  EXPECT_EQ(h.fetch("POST", "/events").status, 405u);
  const auto no_upgrade = h.fetch("GET", "/ws/echo");
  EXPECT_EQ(no_upgrade.status, 426u);
  // The server is still fine.
  EXPECT_EQ(h.fetch("GET", "/healthz").status, 200u);
}

TEST(TargetStreams, WebSocketEchoesTextAndBinary) {
  Harness h(memory_options());
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address(h.address.host), h.address.port));
  timeval tv{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  websocket::stream<tcp::socket&> ws(socket);
  websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/ws/echo");
  EXPECT_EQ(res.result_int(), 101u);
  EXPECT_EQ(res[http::field::server], "faultline-target");
  for (int i = 0; i < 3; ++i) {
    const std::string text = "hello " + std::to_string(i);
    ws.text(true);
    ws.write(asio::buffer(text));
    beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_TRUE(ws.got_text());
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), text);
  }
  const std::string binary("\x00\x01\xff\xfe", 4);
  ws.binary(true);
  ws.write(asio::buffer(binary));
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_TRUE(ws.got_binary());
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), binary);
  // A 1 MiB message comes back whole.
  const std::string big(1 << 20, 'x');
  ws.text(true);
  ws.write(asio::buffer(big));
  beast::flat_buffer big_buffer;
  ws.read(big_buffer);
  EXPECT_EQ(big_buffer.size(), big.size());
  // close() sends the close frame and returns once the server's close frame came back (else an
  // error: the receive timeout is 5 s).
  error_code ec;
  ws.close(websocket::close_code::normal, ec);
  EXPECT_FALSE(ec) << ec.message();
  const auto text = h.metrics->serialize();
  EXPECT_EQ(metric_value(text, R"(faultline_target_requests_total{code="101",route="ws_echo"})"),
            1.0);
}

// The same echo to a client that is not Beast: Debian's python3-websockets (another
// implementation of RFC 6455: masking, fragmentation of its own, the close handshake).
TEST(TargetStreams, WebSocketEchoToPythonWebsockets) {
  if (std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") != 0) {
    if (std::getenv("CI")) FAIL() << "python3-websockets is not installed";
    GTEST_SKIP() << "python3-websockets is not installed (scripts/install-deps)";
  }
  Harness h(memory_options());
  const std::string script = R"PY(
import asyncio, sys, websockets
async def main(url):
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        for m in ["hello", "h\u00e9llo \u2713", "x" * 200000]:
            await ws.send(m)
            r = await asyncio.wait_for(ws.recv(), 5)
            print("text", len(m), r == m)
        await ws.send(b"\x00\x01\xff")
        r = await asyncio.wait_for(ws.recv(), 5)
        print("binary", isinstance(r, bytes) and r == b"\x00\x01\xff")
        await ws.close(code=1000)
        print("closed", ws.close_code)
asyncio.run(main(sys.argv[1]))
)PY";
  const std::string cmd = "timeout 30 /usr/bin/python3 -c '" + script + "' ws://" + h.address.host +
                          ":" + std::to_string(h.address.port) + "/ws/echo 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p))
      out += buf;
    EXPECT_EQ(::pclose(p), 0) << out;
  }
  EXPECT_EQ(out, "text 5 True\ntext 7 True\ntext 200000 True\nbinary True\nclosed 1000\n");
}
