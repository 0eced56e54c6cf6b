// The behavior (toxic) model of the proxy, in Envoy's three lifetimes:
//  - `BehaviorConfig`: one behavior type's parsed and validated attributes (immutable, shared);
//  - `Toxic`: a named behavior on one proxy (stream, toxicity, scope + its config), what the REST
//    API lists; counters live in the proxy's metrics under the behavior's type;
//  - `StreamStage`: the per-connection, per-direction state a TCP connection creates from a toxic.
// Behavior types are registered explicitly in a `Registry` (see behaviors/builtin.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"

namespace prometheus {
class Counter;
}

namespace faultline::proxy {

using Clock = std::chrono::steady_clock;

enum class Protocol { tcp, http, redis };
enum class Stream {
  upstream,
  downstream
};  // upstream: client → server; downstream: server → client
enum class Scope { connection, request };

std::string_view to_string(Protocol p);
std::string_view to_string(Stream s);
std::string_view to_string(Scope s);
std::optional<Protocol> parse_protocol(std::string_view s);

// The ranges of numeric attributes (docs/proxy.md#attribute-ranges). A duration is at most a
// year: a longer delay never ends within a test anyway, and `now + a year` is far from the limits
// of the clock's 64-bit nanoseconds, so no sum of a time point and a duration can wrap.
inline constexpr std::int64_t kMaxDurationMs = std::int64_t{365} * 24 * 3600 * 1000;
inline constexpr std::int64_t kMaxAttribute = INT64_MAX;  // counters with no other bound

// `t + d`, saturating at the clock's limits instead of wrapping (a wrapped deadline is in the
// past, and a delay that wraps acts at once).
inline Clock::time_point saturating_add(Clock::time_point t, Clock::duration d) {
  const auto max = Clock::time_point::max();
  if (d.count() > 0 && t > max - d) return max;
  if (d.count() < 0 && t < Clock::time_point::min() - d) return Clock::time_point::min();
  return t + d;
}

// `ms` milliseconds as a clock duration, saturating (callers pass values within their range).
inline Clock::duration millis(std::int64_t ms) {
  constexpr std::int64_t kMaxMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::duration::max()).count();
  return std::chrono::milliseconds(std::clamp<std::int64_t>(ms, -kMaxMs, kMaxMs));
}

// Seeded 64-bit generator (splitmix64: tiny state, good enough for fault draws, reproducible).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform integer in [0, n) (n > 0); the modulo bias is below 2^-40 for the sizes used here.
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  std::uint64_t state_;
};

// A delay of `delay_ms` ± a uniform `jitter_ms` (microsecond steps), never below 0: the draw of
// latency, http_body_delay and sse_delay_event.
inline Clock::duration jittered_delay(std::int64_t delay_ms, std::int64_t jitter_ms, Rng& rng) {
  std::int64_t us = delay_ms * 1000;
  if (jitter_ms > 0) {
    const auto span = static_cast<std::uint64_t>(2 * jitter_ms * 1000 + 1);
    us += static_cast<std::int64_t>(rng.below(span)) - jitter_ms * 1000;
  }
  return std::chrono::microseconds(std::max<std::int64_t>(us, 0));
}

// A probability as an exact integer threshold over 2^53: `hit()` compares a 53-bit draw against it,
// so p = 1 always hits, p = 0 never does, and no floating error accumulates across draws.
class Probability {
 public:
  Probability() = default;
  explicit Probability(double p);
  bool hit(Rng& rng) const { return (rng.next() >> 11) < threshold_; }
  double value() const noexcept { return value_; }

 private:
  std::uint64_t threshold_ = std::uint64_t{1} << 53;
  double value_ = 1.0;
};

// One slice of bytes waiting to be written, and when.
struct Piece {
  Clock::time_point due;
  std::string bytes;
};

// What a stream stage asks of its connection besides reshaping bytes.
struct StreamEffects {
  std::optional<Clock::time_point> close_at;  // close both sides (after the pieces before it)
  std::optional<Clock::time_point> reset_at;  // close both sides with a TCP RST
  Clock::duration added_delay{};              // delay injected into this chunk (for metrics)
};

// Per-connection, per-direction state of one active toxic on a TCP (byte-stream) connection.
class StreamStage {
 public:
  virtual ~StreamStage() = default;
  // Reshapes the pieces of one chunk read at `now` (in order): may delay, split, drop or truncate.
  virtual void on_data(std::vector<Piece>& pieces, Clock::time_point now, StreamEffects& fx) = 0;
  // Extra wait before an EOF from the source is forwarded (slow_close).
  virtual Clock::duration on_eof() { return Clock::duration::zero(); }
  // A moment the connection must close even without traffic (timeout toxic).
  virtual std::optional<Clock::time_point> deadline() const { return std::nullopt; }
  // True while the source's EOF must not be passed on (timeout, hang: Toxiproxy's timeout drops
  // everything, the close included); the EOF follows once no active stage holds it.
  virtual bool holds_eof() const { return false; }
  // Metric `kind` when not the toxic's type (a weighted choice's type), as RequestFault::label.
  std::string label;
  // The direction the stage acts on, set by the TCP connection when it creates the stage.
  Stream stream = Stream::upstream;
};

// One piece of a server-sent event stream (common/sse.hpp) on its way to the client: a whole
// event, or bytes that are not one (blank lines, an oversized event, an unterminated tail), which
// event stages pass unchanged.
struct EventPiece {
  Clock::time_point due;
  std::string bytes;
  bool event = false;
};

// Per-exchange state of an SSE behavior (sse_*): acts on the whole events of a text/event-stream
// response, each drawn on its own with the toxic's toxicity.
class EventStage {
 public:
  virtual ~EventStage() = default;
  // Reshapes the pieces framed from one read at `now` (in order); returns how many events it
  // acted on (each counted as an injected fault).
  virtual std::uint64_t on_events(std::vector<EventPiece>& pieces, Clock::time_point now,
                                  StreamEffects& fx) = 0;
};

// A body behavior (http_body_*, sse_*): makes, per exchange, the stage its bytes go through. The
// stage sees the body's decoded bytes (never its framing) one read at a time, as a TCP stage sees
// a stream; `close_at`/`reset_at` cut the body there (the connection is closed).
class BodyFaultSpec {
 public:
  virtual ~BodyFaultSpec() = default;
  // nullptr for an SSE behavior (it makes an event stage instead).
  virtual std::unique_ptr<StreamStage> make(Rng& rng, Clock::time_point now) const = 0;
  // SSE behaviors: drawn per event, not per request (the picker leaves the draw to the stage);
  // the stage draws each event with `p` (the toxic's toxicity, or 1 when the toxic's scope is
  // connection and the connection's draw hit).
  virtual bool per_event() const { return false; }
  virtual std::unique_ptr<EventStage> make_event_stage(Rng& /*rng*/, Probability /*p*/) const {
    return nullptr;
  }
};

// What http_rewrite does to a response (proxy/response_rewrite.hpp).
struct ResponseRewrite;

// What one request/command-scoped behavior decided for one request (HTTP and Redis proxies).
struct RequestFault {
  enum class Kind {
    none,
    delay,           // wait `delay` (before the request is forwarded, or before the response)
    error,           // answer locally with `status`/`body`/`headers` (HTTP) or `body` (Redis)
    abort,           // close the client connection without an answer
    abort_upstream,  // forward the request, then cut the connection instead of answering (Vaurien)
    hang,            // read the request, never answer (until the client leaves)
    body,            // HTTP: pass the request (stream upstream) or response body through `body`
    rewrite,         // HTTP: change the upstream's response (`rewrite`; not terminal)
  };
  Kind kind = Kind::none;
  std::string label;  // metric `kind` when not the toxic's type (a weighted choice's type)
  bool after_response = false;  // delay: before the response instead of before the request
  // delay after_response, Redis: counted from this reply's own arrival ("network": each reply of a
  // pipeline is late by `delay`) instead of holding the reply stream ("server": later replies
  // wait behind it).
  bool from_arrival = false;
  Clock::duration delay{};
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<const BodyFaultSpec> body_fault;  // Kind::body (shared: stays copyable)
  Stream stream = Stream::downstream;  // Kind::body: the request's or the response's body
  // Kind::body with a per-event spec (sse_*): the draw of each event.
  Probability event_probability;
  // Faults counted when they act rather than when drawn (per-event ones: each acted event;
  // rewrites: once applied): their faults_injected_total{kind} counter, set by the picker.
  prometheus::Counter* counter = nullptr;
  std::shared_ptr<const ResponseRewrite> rewrite;  // Kind::rewrite
};

// The request a request-scoped behavior looks at.
struct RequestInfo {
  std::string_view method;  // HTTP method, or the Redis command name (upper case)
  std::string_view target;  // HTTP target; empty for Redis
  std::function<std::optional<std::string_view>(std::string_view)> header;  // HTTP header lookup
};

// A WebSocket message as the message behaviors (ws_*) see it, at its first fragment.
struct MessageInfo {
  Stream stream = Stream::downstream;  // upstream: from the client; downstream: to it
  bool text = false;
  std::uint64_t index = 0;  // the message's number in its stream, from 0
};

// What one message behavior does to one message (toxicity already drawn and hit).
struct MessageFault {
  bool drop = false;        // not relayed
  Clock::duration delay{};  // held this long (later messages of its stream wait behind it)
  bool corrupt = false;     // a text message's first payload byte replaced with 0xFF
  std::string label;        // metric `kind` when not the toxic's type (a weighted choice's type)
};

// ws_close: the connection closed by the proxy with `code`/`reason` sent to the side of the
// toxic's stream (downstream: the client, as if from the server) and 1001 to the other, after
// `after_messages` messages of that stream or `after` from the upgrade (whichever comes first).
struct WsClose {
  std::uint16_t code = 1001;
  std::string reason;
  std::optional<std::uint64_t> after_messages;
  std::optional<Clock::duration> after;
};

// The certificates `tls_bad_cert` can serve instead of the configured one.
enum class BadCert { expired, wrong_host, self_signed };
inline constexpr std::size_t kBadCerts = 3;

// A certificate with its key and chain (proxy/cert_minter.hpp).
struct CertAndKey;

// What a certificate-chaos behavior (tls_*) does to one TLS handshake from a client.
struct HandshakeFault {
  Clock::duration delay{};          // wait before answering the client hello
  int alert = 0;                    // fail the handshake with this TLS alert (0: no)
  std::optional<BadCert> bad_cert;  // serve this certificate instead of the configured one
  std::shared_ptr<const CertAndKey> given_cert;  // or this one (tls_bad_cert's cert/key files)
};

// One behavior type's parsed attributes.
class BehaviorConfig;

// A behavior wrapped inside another one (`transient`'s `behavior`, a `weighted` choice): its JSON
// path relative to the wrapper's attributes object (".behavior", ".choices[0]"), type and config.
struct NestedBehavior {
  std::string path;
  std::string type;
  std::shared_ptr<const BehaviorConfig> config;
};

class BehaviorConfig {
 public:
  virtual ~BehaviorConfig() = default;
  // Attributes echoed by the API (every attribute, defaults filled in).
  virtual json attributes() const = 0;
  // TCP: a stage for a new connection direction, or nullptr when the behavior has none.
  virtual std::unique_ptr<StreamStage> make_stream_stage(Rng& rng, Clock::time_point now) const;
  // HTTP: a stage for a new direction of an upgraded (WebSocket) connection, acting on its bytes
  // below the WebSocket framing: the stream toxics' own stage (latency, bandwidth, slicer,
  // limit_data, slow_close, timeout, reset_peer, corrupt), nullptr for every other behavior.
  virtual std::unique_ptr<StreamStage> make_upgraded_stage(Rng& /*rng*/,
                                                           Clock::time_point /*now*/) const {
    return nullptr;
  }
  // Metric `kind` labels this behavior may report besides its own type (pre-created).
  virtual std::vector<std::string> extra_kinds() const { return {}; }
  // Wrappers: the behaviors they wrap, so `parse_toxic` can check each against the proxy's
  // protocol (a wrapper's own parser does not know the protocol).
  virtual std::vector<NestedBehavior> nested() const { return {}; }
  // HTTP: drawn per SSE event by its stage rather than per request by the picker (sse_*).
  virtual bool per_event() const { return false; }
  // HTTP/Redis: whether the request is one this behavior applies to (matching rules).
  virtual bool matches(const RequestInfo& /*req*/) const { return true; }
  // HTTP/Redis: the fault for one request (toxicity already drawn and hit); `stream` is the
  // toxic's stream (upstream: act on the request, downstream: on the response).
  virtual RequestFault request_fault(Rng& rng, Stream stream) const;
  // Proxies that terminate TLS: the fault for one client handshake (toxicity already drawn and
  // hit), or nullopt for behaviors that do not act on handshakes.
  virtual std::optional<HandshakeFault> handshake_fault() const { return std::nullopt; }
  // HTTP WebSocket relays: the fault for one message of the toxic's stream (toxicity already
  // drawn and hit), or nullopt for behaviors that do not act on messages.
  virtual std::optional<MessageFault> message_fault(Rng& /*rng*/, const MessageInfo& /*m*/) const {
    return std::nullopt;
  }
  // HTTP WebSocket relays: ws_close's plan, drawn once per connection at the upgrade.
  virtual std::optional<WsClose> ws_close() const { return std::nullopt; }
};

// How a behavior type turns a toxic's `attributes` object into a config. `path` is the JSON path
// of the attributes object; every problem is recorded in `errors` with its path.
using BehaviorParser = std::function<std::shared_ptr<const BehaviorConfig>(
    const json& attributes, const std::string& path, ConfigErrors& errors)>;

// For a toxic type Toxiproxy has too: what its REST API accepts that faultline's own inputs do
// not (see parse_toxic's `toxiproxy_warnings`). Toxiproxy decodes attributes into a struct, so an
// unknown attribute is ignored, and a negative duration, rate or size acts as 0 (time.After of a
// negative duration fires at once; a rate <= 0 is unlimited; a negative timeout never fires).
//
// Values above an attribute's range (`at_most`) but within int64 are clamped to it with a
// warning: Toxiproxy's clients may send what Toxiproxy accepts (any int64), and the strict parse
// refuses them. Beyond int64 Toxiproxy refuses the body too: so does faultline (400).
struct ToxiproxyAttributes {
  std::vector<std::string> known;             // every attribute Toxiproxy's struct has
  std::vector<std::string> negative_as_zero;  // integers whose negative values act as 0 there
  std::vector<std::pair<std::string, std::int64_t>> at_most;  // each integer's upper bound
};

struct BehaviorType {
  std::string name;
  std::string description;
  BehaviorParser parse;
  bool tcp = true;   // usable on `protocol: tcp` proxies (byte stream)
  bool http = true;  // usable on `protocol: http` proxies
  bool redis = true;
  // Set for behaviors that act on responses only: a toxic with stream "upstream" is refused with
  // this message at `$.stream`.
  const char* downstream_only = nullptr;
  std::optional<ToxiproxyAttributes> toxiproxy;  // set for Toxiproxy's own toxic types
};

// Whether a behavior type may be used on a proxy of `protocol`.
bool available_on(const BehaviorType& bt, Protocol protocol);

class Registry {
 public:
  void add(BehaviorType type);
  const BehaviorType* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, BehaviorType, std::less<>> types_;
};

// A named behavior on a proxy, as the REST API shows it.
struct Toxic {
  std::string name;
  std::string type;
  Stream stream = Stream::downstream;
  double toxicity = 1.0;
  Probability probability;
  Scope scope = Scope::connection;
  std::shared_ptr<const BehaviorConfig> config;

  json to_json() const;
};

// The name a toxic gets when its object has none (Toxiproxy's rule): `<type>_<stream>`.
std::string default_toxic_name(std::string_view type, Stream stream);

// Parses a toxic object (`{"name", "type", "stream", "toxicity", "scope", "attributes"}`) for a
// proxy of `protocol`. Defaults: name `default_toxic_name`, stream downstream, toxicity 1, scope
// `connection` for tcp and `request` for http/redis. Returns nullopt after recording errors.
//
// `toxiproxy_warnings` non-null (the REST API): accept what Toxiproxy's API accepts, so its clients
// work unchanged — any number as `toxicity` (shown as sent, acting as 0 below 0 and 1 above 1),
// and for Toxiproxy's own toxic types unknown attributes (dropped) and negative values where they
// act as 0 there (shown as 0). Each such leniency adds a warning ("$.toxicity: 1.5 acts as 1").
// Null (scenarios, --config, ctl's checks): every such value is an error, as a typo must be.
std::optional<Toxic> parse_toxic(const json& body, const std::string& path, Protocol protocol,
                                 const Registry& registry, ConfigErrors& errors,
                                 std::vector<std::string>* toxiproxy_warnings = nullptr);

// A partial update of the toxic `current` (`POST /proxies/P/toxics/NAME`): absent fields and
// absent attributes keep their current values; the name and type cannot change. Returns the
// updated toxic, or nullopt after recording errors (paths under `path`).
std::optional<Toxic> update_toxic(const Toxic& current, const json& update, const std::string& path,
                                  Protocol protocol, const Registry& registry, ConfigErrors& errors,
                                  std::vector<std::string>* toxiproxy_warnings = nullptr);

// Attribute readers for behavior parsers: an integer from 0 to `max` (Toxiproxy's attribute type,
// within faultline's range), recording "<path>.<key>: must be >= 0" / "must be at most MAX" style
// errors; `fallback` when absent.
std::int64_t attr_nonneg_int(const json& attrs, const std::string& path, const char* key,
                             std::int64_t fallback, ConfigErrors& errors,
                             std::int64_t max = kMaxAttribute);

}  // namespace faultline::proxy
