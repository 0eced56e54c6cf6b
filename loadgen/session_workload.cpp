// Session entries of a workload: "websocket" and "sse" members parsed into WsPlan / SsePlan, every
// error with its JSON path; and the one-entry workload the --ws-* and --sse flags build (see
// workload.hpp).
#include <algorithm>

#include "loadgen/workload.hpp"

namespace faultline::loadgen {
namespace {

// At most this many messages or events per session (a run of a year at 30 a second).
constexpr std::int64_t kMaxPlanCount = 1'000'000'000;

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A session's url: an origin-form path (the host comes from the URL argument), built-ins only.
Template session_target(const json& obj, const std::string& path, ConfigErrors& errors) {
  auto u = get_string(obj, path, "url", errors, true);
  if (!u) return {};
  const auto upath = path_join(path, "url");
  if (u->empty() || u->front() != '/') {
    errors.add(upath, "must be a path starting with '/' (the host comes from the URL argument)");
    return {};
  }
  if (std::any_of(u->begin(), u->end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    errors.add(upath, "must not contain spaces or control characters (percent-encode them: %20)");
    return {};
  }
  return Template::parse(*u, upath, {}, errors);
}

// A count member (messages, events): 0..kMaxPlanCount.
void plan_count(const json& obj, const std::string& path, const char* key, std::uint64_t& into,
                ConfigErrors& errors) {
  if (auto n = get_integer(obj, path, key, errors)) {
    if (*n < 0 || *n > kMaxPlanCount)
      errors.add(path_join(path, key), "must be in 0.." + std::to_string(kMaxPlanCount));
    else
      into = static_cast<std::uint64_t>(*n);
  }
}

void parse_ws(const json& o, const std::string& path, WsPlan& plan, ConfigErrors& errors) {
  if (!o.is_object()) {
    errors.add(path, "must be an object {\"url\": \"/path\", \"messages\": N, ...}");
    return;
  }
  reject_unknown_keys(o, path,
                      {"url", "messages", "interval", "message", "binary", "subprotocol", "reply"},
                      errors);
  plan.target = session_target(o, path, errors);
  plan_count(o, path, "messages", plan.messages, errors);
  if (auto d = get_duration(o, path, "interval", errors)) {
    if (*d > std::chrono::hours(24))
      errors.add(path_join(path, "interval"), "must be at most 24h");
    else
      plan.interval = *d;
  }
  if (auto m = get_string(o, path, "message", errors))
    plan.message = Template::parse(*m, path_join(path, "message"), {}, errors);
  if (auto b = get_bool(o, path, "binary", errors)) plan.binary = *b;
  if (auto p = get_string(o, path, "subprotocol", errors)) {
    if (p->empty() || !std::all_of(p->begin(), p->end(), is_token_char))
      errors.add(path_join(path, "subprotocol"), "must be a token (letters, digits, -._~ ...)");
    plan.subprotocol = *p;
  }
  if (auto r = get_string(o, path, "reply", errors)) {
    if (*r != "echo" && *r != "next")
      errors.add(path_join(path, "reply"),
                 "must be \"echo\" (the message echoing the payload) or \"next\" (the next one)");
    plan.reply_next = *r == "next";
  }
}

void parse_sse(const json& o, const std::string& path, SsePlan& plan, ConfigErrors& errors) {
  if (!o.is_object()) {
    errors.add(path, "must be an object {\"url\": \"/path\", \"events\": N}");
    return;
  }
  reject_unknown_keys(o, path, {"url", "events"}, errors);
  plan.target = session_target(o, path, errors);
  plan_count(o, path, "events", plan.events, errors);
}

}  // namespace

// The default message: unique per message, so that an echo is matched to its message.
Template default_ws_message() {
  ConfigErrors unused;
  return Template::parse("faultline ${seq}", "$", {}, unused);
}

void parse_session_entry(const json& e, const std::string& path, Entry& entry, Workload& w,
                         ConfigErrors& errors) {
  const bool ws = e.contains("websocket");
  reject_unknown_keys(e, path, {"name", "weight", ws ? "websocket" : "sse"}, errors);
  entry.session = w.session_names.size();
  w.session_names.push_back(entry.name);
  if (ws) {
    WsPlan plan;
    plan.message = default_ws_message();
    parse_ws(e["websocket"], path_join(path, "websocket"), plan, errors);
    plan.connect_name = w.add_name(entry.name + ".connect");
    plan.message_name = w.add_name(entry.name + ".message");
    entry.ws = std::move(plan);
  } else {
    SsePlan plan;
    parse_sse(e["sse"], path_join(path, "sse"), plan, errors);
    plan.first_event_name = w.add_name(entry.name + ".first_event");
    plan.event_name = w.add_name(entry.name + ".event");
    entry.sse = std::move(plan);
  }
}

void add_session_entry(Workload& w, std::optional<WsPlan> ws, std::optional<SsePlan> sse) {
  Entry e;
  e.name = "default";
  e.session = w.session_names.size();
  w.session_names.push_back(e.name);
  if (ws) {
    ws->connect_name = w.add_name("default.connect");
    ws->message_name = w.add_name("default.message");
    e.ws = std::move(ws);
  } else {
    sse->first_event_name = w.add_name("default.first_event");
    sse->event_name = w.add_name("default.event");
    e.sse = std::move(sse);
  }
  w.entries.push_back(std::move(e));
  w.finish();
}

}  // namespace faultline::loadgen
