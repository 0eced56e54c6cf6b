// Workload files (`--workload FILE`): a weighted mix of named requests, multi-step flows with
// captures, and built-in generators for the target's collision workloads. Parsed and validated
// once (every error names its JSON path); the engine then only picks entries and renders templates.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"
#include "loadgen/checks.hpp"

namespace faultline::loadgen {

using Rng = std::mt19937_64;
using Vars = std::vector<std::pair<std::string, std::string>>;

// Where a template is rendered, and so what a captured value (one a server returned) may put
// there: in a request target it is percent-encoded where a target may not hold it (a CRLF would
// otherwise end the request line and start a header, or a smuggled request); in a header value
// CR, LF or NUL refuse the request; a body takes it as it is (its length is counted).
enum class Slot { target, header, body };

// "text ${var} ${rand_hex:8} ${rand_int:1:100} ${seq}": variables are captures of earlier steps.
class Template {
 public:
  Template() = default;
  explicit Template(std::string literal);
  // Records errors at `path` (unknown variables, bad built-ins).
  static Template parse(std::string_view text, std::string_view path,
                        const std::vector<std::string>& known_vars, ConfigErrors& errors);
  bool is_static() const noexcept {
    return parts_.size() <= 1 && (parts_.empty() || parts_[0].kind == Kind::literal);
  }
  std::string literal() const { return parts_.empty() ? std::string() : parts_[0].text; }
  // False when a variable's value may not go into `slot` (a header value with CR, LF or NUL).
  bool render(std::string& out, const Vars& vars, Rng& rng, std::uint64_t seq, Slot slot) const;

 private:
  enum class Kind { literal, var, rand_hex, rand_int, seq };
  struct Part {
    Kind kind;
    std::string text;
    std::uint64_t a = 0, b = 0;
  };
  std::vector<Part> parts_;
};

struct Capture {
  std::string var;
  bool from_header = false;  // else a JSON pointer into the body
  std::string where;         // header name or JSON pointer
};

struct StepSpec {
  std::size_t name_index = 0;  // into Workload::request_names
  std::string method = "GET";
  Template url;  // origin-form target, "/p/${id}"
  std::vector<std::pair<std::string, Template>> headers;
  Template body;
  std::vector<Capture> captures;
  std::vector<CheckSpec> checks;  // response checks (loadgen/checks.hpp)
  std::string prerendered;        // whole request bytes when nothing is templated (hot path)
};

class Exchanger;  // the engine's side: sends one request on the current connection

// A built-in workload generator; one file per kind under loadgen/generators/ (see generator.hpp).
class Generator {
 public:
  virtual ~Generator() = default;
  // Runs one iteration through `ex` (coroutine). Must not capture: the engine owns `ex`.
  virtual awaitable<void> run(Exchanger* ex) = 0;
};

// A WebSocket session (workload "websocket" entries, or a ws:// URL with the --ws-* flags): the
// handshake (stats under NAME.connect), then `messages` messages `interval` apart, each awaiting
// its reply (RTT under NAME.message), then a close 1000.
struct WsPlan {
  Template target;  // origin-form path and query; host and TLS from the URL argument
  std::uint64_t messages = 10;
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  Template message;         // rendered per message (${seq} makes it unique)
  bool binary = false;      // binary frames instead of text
  std::string subprotocol;  // Sec-WebSocket-Protocol, empty = none
  bool reply_next = false;  // the next message is the reply (else: the one echoing the payload)
  std::size_t connect_name = 0, message_name = 0;  // into Workload::request_names
};

// An SSE session (workload "sse" entries, or --sse): GET with Accept: text/event-stream
// (Last-Event-ID after a reconnect), time to the first event under NAME.first_event, the gaps
// between events under NAME.event, done after `events` events.
struct SsePlan {
  Template target;
  std::uint64_t events = 10;
  std::size_t first_event_name = 0, event_name = 0;
};

struct Entry {
  std::string name;
  double weight = 1;
  std::vector<StepSpec> steps;  // one step = a plain request
  std::unique_ptr<Generator> generator;
  // A session entry (one iteration = one session): its plan and its index into
  // Workload::session_names.
  std::optional<WsPlan> ws;
  std::optional<SsePlan> sse;
  std::size_t session = 0;
};

struct Workload {
  std::vector<Entry> entries;
  std::vector<std::string> request_names;  // every name stats are kept under
  std::vector<std::string> check_names;    // every response check's name (checks.hpp)
  // The entries that run sessions (WebSocket or SSE), by entry name: what results' and interval
  // lines' "sessions" objects are keyed by (empty: the workload has none, no "sessions").
  std::vector<std::string> session_names;
  std::vector<double> cumulative;  // cumulative weights, for pick()

  std::size_t pick(Rng& rng) const;
  std::size_t add_name(std::string name);
  void finish();  // computes cumulative weights
};

class GeneratorRegistry;  // loadgen/generator.hpp

// Parses a workload document; errors are added with JSON paths ("$.mix[2].flow[0].url: ...").
// `request_names` of the result are the names stats are kept under (what thresholds and the
// runner's assertions may reference). Generator entries use the built-in generators, or those of
// `registry`. The Host header is added later, by prerender() and render_request().
Workload parse_workload(const json& doc, ConfigErrors& errors);
Workload parse_workload(const json& doc, const GeneratorRegistry& registry, ConfigErrors& errors);
// Reads and parses a workload file (`--workload FILE`); a file that cannot be read or is not JSON
// is one error at "$".
Workload load_workload_file(const std::string& file, ConfigErrors& errors);
// A session entry's "websocket" or "sse" member (the caller checked that `e` has one): fills
// `entry` and adds its names to `w`; errors with JSON paths (loadgen/session_workload.cpp).
void parse_session_entry(const json& e, const std::string& path, Entry& entry, Workload& w,
                         ConfigErrors& errors);
// "faultline ${seq}": a WebSocket session's message when none is given (unique per message).
Template default_ws_message();
// One session entry named "default" (the --ws-* and --sse flags): its names are added to `w`.
void add_session_entry(Workload& w, std::optional<WsPlan> ws, std::optional<SsePlan> sse);
// One GET (or METHOD) of `target`, named "default".
Workload single_request_workload(const std::string& method, const std::string& target,
                                 const std::string& body);
// Renders the request bytes of a step into `out`. False, and nothing to send, when a captured
// value would have put CR, LF or NUL into a header: the engine counts that request as
// Outcome::invalid_request instead of sending it.
bool render_request(std::string& out, const StepSpec& step, const std::string& host_header,
                    const Vars& vars, Rng& rng, std::uint64_t seq);

// Appends `value` to a request target, percent-encoding every byte a target may not hold (controls,
// space, non-ASCII, and "#<>\^`{|}); '%' and the rest pass, so a captured "/p/a%20b?x=1" keeps
// its meaning.
void append_to_target(std::string& out, std::string_view value);
// Whether `value` may be a header value as it is: no CR, LF or NUL.
bool header_value_ok(std::string_view value) noexcept;
void prerender(Workload& w, const std::string& host_header);

}  // namespace faultline::loadgen
