// `faultline load`'s session flags: --ws-messages, --ws-interval, --ws-message, --ws-binary,
// --ws-subprotocol (a ws:// or wss:// URL without --workload runs WebSocket sessions) and --sse,
// --sse-events (an http(s):// URL runs SSE sessions). They build a one-entry workload named
// "default" (stats under default.connect and default.message, or default.first_event and
// default.event).
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "loadgen/url.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen {

class SessionFlags {
 public:
  // Adds the flags to `command` (faultline load). `this` must outlive its parse.
  void add_to(CLI::App& command);
  // Whether the flags ask for a session workload (a ws:// URL, or --sse) instead of the single
  // request; "" when they are consistent with `url` and `workload_given`, else the usage error.
  std::string check(const TargetUrl& url, bool workload_given) const;
  bool sessions(const TargetUrl& url) const { return url.websocket || sse_; }
  // The one-entry session workload (after check() returned ""); errors (a bad --ws-message
  // template, --ws-interval) are added naming the flag.
  Workload workload(const TargetUrl& url, ConfigErrors& errors) const;

 private:
  std::uint64_t ws_messages_ = 10;
  std::string ws_interval_ = "1s";
  std::string ws_message_ = "faultline ${seq}";
  bool ws_binary_ = false;
  std::string ws_subprotocol_;
  bool sse_ = false;
  std::uint64_t sse_events_ = 10;
  CLI::App* command_ = nullptr;
};

}  // namespace faultline::loadgen
