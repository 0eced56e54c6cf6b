// The session flags of `faultline load` (see session_flags.hpp).
#include "loadgen/session_flags.hpp"

#include <algorithm>

namespace faultline::loadgen {
namespace {

constexpr const char* kWsFlags[] = {"--ws-messages", "--ws-interval", "--ws-message", "--ws-binary",
                                    "--ws-subprotocol"};
constexpr const char* kSseFlags[] = {"--sse-events"};

}  // namespace

void SessionFlags::add_to(CLI::App& command) {
  command_ = &command;
  command
      .add_option("--ws-messages", ws_messages_,
                  "ws:// URL: messages per WebSocket session (one session per iteration)")
      ->capture_default_str();
  command.add_option("--ws-interval", ws_interval_, "ws:// URL: time between a session's messages")
      ->capture_default_str();
  command
      .add_option("--ws-message", ws_message_,
                  "ws:// URL: message template (${seq}, ${rand_hex:N}, ${rand_int:A:B}); the "
                  "reply is the message echoing it")
      ->capture_default_str();
  command.add_flag("--ws-binary", ws_binary_, "ws:// URL: send binary messages instead of text");
  command.add_option("--ws-subprotocol", ws_subprotocol_,
                     "ws:// URL: the Sec-WebSocket-Protocol to ask for");
  command.add_flag("--sse", sse_,
                   "Run server-sent-event sessions on the URL (GET, Accept: text/event-stream)");
  command.add_option("--sse-events", sse_events_, "--sse: events per session (one per iteration)")
      ->capture_default_str();
}

std::string SessionFlags::check(const TargetUrl& url, bool workload_given) const {
  const auto given = [&](const char* flag) { return command_->count(flag) > 0; };
  for (const char* f : kWsFlags)
    if (given(f) && (!url.websocket || workload_given))
      return std::string(f) + " applies to a ws:// or wss:// URL without --workload";
  for (const char* f : kSseFlags)
    if (given(f) && !sse_) return std::string(f) + " applies with --sse";
  if (sse_ && url.websocket) return "--sse needs an http:// or https:// URL";
  if (sse_ && workload_given)
    return "--sse cannot be combined with --workload (its \"sse\" entries do the same)";
  return "";
}

Workload SessionFlags::workload(const TargetUrl& url, ConfigErrors& errors) const {
  Workload w;
  if (sse_) {
    SsePlan plan;
    plan.target = Template(url.target);
    plan.events = sse_events_;
    add_session_entry(w, std::nullopt, std::move(plan));
    return w;
  }
  WsPlan plan;
  plan.target = Template(url.target);
  plan.messages = ws_messages_;
  const auto interval = parse_duration(ws_interval_);
  if (!interval || *interval > std::chrono::hours(24))
    errors.add("--ws-interval", "expected a duration up to 24h such as 100ms");
  else
    plan.interval = *interval;
  plan.message = Template::parse(ws_message_, "--ws-message", {}, errors);
  plan.binary = ws_binary_;
  if (!ws_subprotocol_.empty() &&
      !std::all_of(ws_subprotocol_.begin(), ws_subprotocol_.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      }))
    errors.add("--ws-subprotocol", "must be a token (letters, digits, -._~ ...)");
  plan.subprotocol = ws_subprotocol_;
  add_session_entry(w, std::move(plan), std::nullopt);
  return w;
}

}  // namespace faultline::loadgen
