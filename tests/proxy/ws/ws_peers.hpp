// The python3-websockets peers of the WebSocket tests (tests/proxy/ws/echo_server.py as the
// upstream, ws_client.py as the client, which prints one line per step) and the helpers the
// WebSocket test files share.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

namespace faultline::proxy::ws_test {

using namespace std::chrono_literals;
using faultline::proxy::test::Harness;

// Debian's python (the one python3-websockets is installed for), whatever python3 PATH finds.
constexpr const char* kPython = "/usr/bin/python3";

inline bool have_websockets() {
  static const bool ok =
      std::system("/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1") == 0;
  return ok;
}

#define REQUIRE_WEBSOCKETS() \
  if (!have_websockets())    \
  GTEST_SKIP() << "python3-websockets for /usr/bin/python3 is missing (scripts/install-deps)"

inline std::string ws_script(const char* name) {
  return faultline::test::source_dir() + "/tests/proxy/ws/" + name;
}

// The python echo server, started on a free port.
class WsUpstream {
 public:
  explicit WsUpstream(std::vector<std::string> args = {}) : proc_(argv_of(std::move(args))) {
    auto line = proc_.wait_for_line("listening on ", 15s);
    if (line) address_ = line->substr(line->find("listening on ") + 13);
    while (!address_.empty() && (address_.back() == '\n' || address_.back() == '\r'))
      address_.pop_back();
  }
  const std::string& address() const { return address_; }
  // Waits for a line of the server's containing `needle`.
  bool saw(const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    if (proc_.output().find(needle) != std::string::npos) return true;
    return proc_.wait_for_line(needle, timeout).has_value();
  }
  const std::string& output() const { return proc_.output(); }

 private:
  static std::vector<std::string> argv_of(std::vector<std::string> args) {
    std::vector<std::string> argv{kPython, ws_script("echo_server.py")};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  Subprocess proc_;
  std::string address_;
};

// One run of the python client: its output lines.
struct ClientRun {
  std::vector<std::string> lines;
  std::string all;
  bool has(const std::string& line) const {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }
  // The first line starting with `prefix`, "" when none.
  std::string starting(const std::string& prefix) const {
    for (const auto& l : lines)
      if (l.rfind(prefix, 0) == 0) return l;
    return "";
  }
  std::vector<double> numbers(const std::string& prefix) const {
    std::vector<double> out;
    for (const auto& l : lines)
      if (l.rfind(prefix, 0) == 0) out.push_back(std::stod(l.substr(prefix.size())));
    return out;
  }
};

inline ClientRun run_client(const std::string& url, const json& steps,
                            std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{kPython, ws_script("ws_client.py"), url, steps.dump()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Subprocess p(argv);
  p.read_all(90s);
  p.wait(10s);
  ClientRun run;
  run.all = p.output();
  std::size_t start = 0;
  while (start < run.all.size()) {
    const auto nl = run.all.find('\n', start);
    run.lines.push_back(run.all.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return run;
}

inline std::string ws_url(unsigned short port, const std::string& path = "/chat") {
  return "ws://127.0.0.1:" + std::to_string(port) + path;
}

inline double upgrades(Harness& h, const std::string& proxy, const std::string& outcome) {
  return h.metric("faultline_proxy_ws_upgrades_total",
                  "outcome=\"" + outcome + "\",proxy=\"" + proxy + "\"");
}

inline double messages(Harness& h, const std::string& proxy, const std::string& stream) {
  return h.metric("faultline_proxy_ws_messages_total",
                  "proxy=\"" + proxy + "\",stream=\"" + stream + "\"");
}

inline json ws_toxic(const std::string& type, json attrs, const std::string& stream = "downstream",
                     double toxicity = 1.0) {
  return json{{"type", type},
              {"name", type + "_" + stream},
              {"stream", stream},
              {"toxicity", toxicity},
              {"attributes", std::move(attrs)}};
}

inline double injected(Harness& h, const std::string& kind) {
  return h.metric("faultline_proxy_faults_injected_total", "kind=\"" + kind + "\",proxy=\"ws\"");
}

inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace faultline::proxy::ws_test
