// One proxy: its settings (the Toxiproxy JSON shape plus faultline's extensions), its toxics, the
// acceptor (on the control loop) and the registry of its live connections (on the worker loops).
// Threading: every mutating method runs on the control loop (the REST API's thread); connections
// read the toxic list through a mutex-protected snapshot and a generation counter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config.hpp"
#include "common/io_pool.hpp"
#include "common/net.hpp"
#include "proxy/behavior.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/proxy_tls.hpp"

namespace faultline::proxy {

class Recorder;

// What every proxy shares: loops, metrics, behavior registry, knobs from the command line.
struct ProxyEnv {
  asio::io_context& control;
  IoPool& workers;
  ProxyMetrics& metrics;
  const Registry& registry;
  std::uint64_t seed = 1;
  std::chrono::milliseconds idle_timeout{3600 * 1000};
  std::chrono::milliseconds connect_timeout{5000};
  // tcp: move bulk data of a toxic-free direction with splice(2) (see tcp_connection.cpp).
  bool splice = true;
  // A TLS handshake (either side) not done within this closes its connection (outcome timeout).
  std::chrono::milliseconds tls_handshake_timeout{10000};
};

// A proxy as the API shows it.
struct ProxySettings {
  std::string name;
  std::string listen;    // as sent (after a bind to port 0: the real address)
  std::string upstream;  // host:port, resolved when a client connects
  bool enabled = true;
  Protocol protocol = Protocol::tcp;
  std::optional<std::int64_t> max_active_faults;
  std::optional<std::string> record;  // http: append every exchange to this JSON-lines file
  bool header_faults = false;         // http: honour x-faultline-* request headers
  // The share of requests a header fault applies to when the request names none or an invalid
  // one, and the cap of the one it names (Envoy's configured `percentage`).
  int header_fault_percentage = 100;
  std::optional<TlsSettings> tls;                   // terminate TLS from clients
  std::optional<UpstreamTlsSettings> upstream_tls;  // originate TLS to the upstream
  // The contexts built from tls/upstream_tls when they were parsed (null: neither is set).
  std::shared_ptr<const TlsRuntime> tls_runtime;
};

// Proxy and toxic names: 1 to 64 of [A-Za-z0-9._-], not "." or "..". Each name is then one URL
// path segment as sent, with nothing to percent-encode (what Toxiproxy's clients and tests use:
// "mysql_master", "redis-1"); anything else is rejected at creation, so no proxy is unreachable.
bool valid_name(std::string_view name);
inline constexpr const char* kNameRule =
    "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-' (and not \".\" or \"..\")";

// Where a proxy created without `listen` listens (the bound port is then shown in `listen`).
inline constexpr const char* kDefaultListen = "127.0.0.1:0";

// Parses a proxy object. `partial` (an update) leaves absent fields as in `base`. The toxics of a
// `toxics` member (allowed in --config and /populate) are parsed into `toxics`. TLS files come
// from ReadAheadFiles (proxy_tls.hpp) when an API call read them ahead, else from disk.
std::optional<ProxySettings> parse_proxy(const json& body, const std::string& path,
                                         const ProxySettings* base, const Registry& registry,
                                         std::vector<Toxic>* toxics, ConfigErrors& errors);

// A listen address that cannot be resolved or bound; what() says which and why: "cannot listen on
// 127.0.0.1:8000: Address already in use". The API answers 409 when the address is in use, else
// 400.
class ListenError : public std::runtime_error {
 public:
  ListenError(const std::string& listen, const std::string& reason, bool in_use)
      : std::runtime_error("cannot listen on " + listen + ": " + reason), in_use_(in_use) {}
  bool in_use() const noexcept { return in_use_; }

 private:
  bool in_use_;
};

// Resolves and binds `listen` (HOST:PORT) on `ioc`, listening. Throws ListenError.
std::shared_ptr<tcp::acceptor> bind_listener(asio::io_context& ioc, const std::string& listen);

// A toxic installed on a proxy, with its fault counter.
struct ProxyToxic {
  Toxic toxic;
  prometheus::Counter* faults = nullptr;
};
using ToxicList = std::vector<std::shared_ptr<const ProxyToxic>>;

// A live proxied connection, as its proxy sees it. Methods may be called from any thread: they post
// to the connection's own loop.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void close_async(CloseReason reason) = 0;
  virtual void toxics_changed_async() = 0;
};

// Counts in-flight faults against max_active_faults; a held slot is released on destruction.
class FaultSlot {
 public:
  FaultSlot() = default;
  explicit FaultSlot(std::shared_ptr<std::atomic<std::int64_t>> counter)
      : counter_(std::move(counter)) {}
  ~FaultSlot() {
    if (counter_) counter_->fetch_sub(1);
  }
  FaultSlot(FaultSlot&& o) noexcept = default;
  FaultSlot& operator=(FaultSlot&& o) noexcept {
    if (this != &o) {
      if (counter_) counter_->fetch_sub(1);
      counter_ = std::move(o.counter_);
    }
    return *this;
  }
  FaultSlot(const FaultSlot&) = delete;
  FaultSlot& operator=(const FaultSlot&) = delete;
  explicit operator bool() const noexcept { return counter_ != nullptr; }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> counter_;
};

class Proxy : public std::enable_shared_from_this<Proxy> {
 public:
  Proxy(ProxyEnv& env, ProxySettings settings);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // --- control loop only ---
  // A settings change made in two steps so that it is atomic: prepare() does everything that can
  // fail (binds the new listener, opens a new recording file) and changes nothing; commit() cannot
  // fail. Dropping a Prepared releases what it holds. /populate prepares every proxy before it
  // commits any.
  struct Prepared {
    ProxySettings settings;                   // with the bound port when `listen` had port 0
    std::shared_ptr<tcp::acceptor> acceptor;  // a new listener, or null: keep (or close) the old
    std::shared_ptr<Recorder> recorder;       // a new recording, or null
  };
  // Throws ListenError (bind/resolve) or std::system_error (recording file).
  Prepared prepare(ProxySettings next) const;
  // Applies a prepared change: swaps the listener, and closes the open connections (reason
  // proxy_disabled) when listen/upstream/protocol/record changed or the proxy was disabled.
  void commit(Prepared next);
  // Binds the listen address if enabled (throws like prepare()).
  void start() { commit(prepare(settings_)); }
  // prepare() + commit(): on failure the proxy is exactly as before (its listener still serves).
  void update(ProxySettings next) { commit(prepare(std::move(next))); }
  // Stops accepting and closes every connection (reason proxy_disabled).
  void stop();
  const ProxySettings& settings() const noexcept { return settings_; }
  json to_json() const;

  // Toxics. add: false when the name exists. replace/remove: false when it does not.
  bool add_toxic(Toxic toxic);
  bool replace_toxic(Toxic toxic);
  bool remove_toxic(const std::string& name);
  void clear_toxics();
  std::shared_ptr<const ProxyToxic> find_toxic(const std::string& name) const;

  // --- any thread ---
  const std::string& name() const noexcept { return name_; }
  bool header_faults() const noexcept { return header_faults_.load(std::memory_order_relaxed); }
  int header_fault_percentage() const noexcept {
    return header_fault_percentage_.load(std::memory_order_relaxed);
  }
  std::shared_ptr<const ToxicList> toxics() const;
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  ProxyEnv& env() noexcept { return env_; }
  const ProxyCounters& counters() const noexcept { return counters_; }
  // Tries to take a fault slot (always succeeds without max_active_faults); counts overflows.
  std::optional<FaultSlot> acquire_fault();
  // The upstream of new connections (snapshot; settings may change concurrently).
  std::string upstream() const;
  std::shared_ptr<Recorder> recorder() const;
  // The TLS contexts of new connections (null: plain on both sides).
  std::shared_ptr<const TlsRuntime> tls() const;
  void add_connection(const std::shared_ptr<Connection>& c);
  void remove_connection(const Connection* c);

 private:
  void publish(ToxicList next);
  void close_connections(CloseReason reason);
  ProxyEnv& env_;
  // The series' owner, kept apart from env_: the last holder of the proxy (a queued handler) may
  // release it after the ProxyEnv is gone, never after the ProxyMetrics.
  ProxyMetrics& metrics_;
  ProxySettings settings_;  // control loop only
  const std::string name_;
  std::atomic<bool> header_faults_{false};
  std::atomic<int> header_fault_percentage_{100};
  ProxyCounters counters_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::shared_ptr<std::atomic<std::int64_t>> active_faults_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::atomic<std::int64_t> max_active_faults_{-1};

  mutable std::mutex mu_;  // guards toxics_, upstream_, recorder_, tls_, connections_
  std::shared_ptr<const ToxicList> toxics_ = std::make_shared<ToxicList>();
  std::string upstream_;
  std::shared_ptr<Recorder> recorder_;
  std::shared_ptr<const TlsRuntime> tls_;
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> connections_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace faultline::proxy
