// The paste store behind `faultline target`: one interface, three implementations (memory, an
// append-only file log, sharded Redis). Every store offers an asynchronous API (resilient mode:
// the event loop never blocks on a dependency) and a blocking API (naive mode: a shared pool of
// worker threads calls the store synchronously, the Firefox Sync design).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "target/target_metrics.hpp"

namespace faultline::target {

enum class StoreCode {
  ok,           // the store answered (for get: found)
  not_found,    // get: no such paste
  unavailable,  // rejected without trying: circuit breaker open or shard in-flight cap reached
  failed,       // tried and failed: timeout, connection refused/reset, protocol error
};

struct PutOutcome {
  StoreCode code = StoreCode::failed;
  bool created = false;  // false when identical content was already stored
  std::string message;   // why, when code is unavailable/failed
};

struct GetOutcome {
  StoreCode code = StoreCode::failed;
  std::string content;
  std::string message;
};

// Shard of a paste id: the first 8 hex digits as a number, modulo the shard count. Ids are MD5
// hex, so shards are evenly loaded.
std::size_t shard_for(std::string_view id, std::size_t shards);

class Store {
 public:
  virtual ~Store() = default;

  virtual std::size_t shard_count() const = 0;
  std::size_t shard_of(std::string_view id) const { return shard_for(id, shard_count()); }
  // Stable, bounded label values for metrics: "0", "1", ...
  static std::string shard_label(std::size_t shard) { return std::to_string(shard); }

  // Asynchronous API (resilient mode). Runs on the caller's executor.
  virtual awaitable<PutOutcome> put(std::string id, std::string content) = 0;
  virtual awaitable<GetOutcome> get(std::string id) = 0;
  // True when every shard answers (GET /readyz); `detail` gets one entry per shard.
  virtual awaitable<bool> ready(std::shared_ptr<std::vector<std::string>> detail) = 0;

  // Blocking API (naive mode): called from worker threads, may block for as long as the
  // dependency does.
  virtual PutOutcome put_blocking(const std::string& id, const std::string& content) = 0;
  virtual GetOutcome get_blocking(const std::string& id) = 0;
  virtual bool ready_blocking(std::vector<std::string>& detail) = 0;

  // Seconds a client should wait before retrying a shard that answered `unavailable`.
  virtual std::chrono::seconds retry_after(std::size_t /*shard*/) {
    return std::chrono::seconds(1);
  }

  // Releases resources (background threads, connections). Idempotent.
  virtual void close() {}
};

enum class FsyncPolicy { always, interval };

struct StoreOptions {
  FsyncPolicy fsync = FsyncPolicy::always;
  std::chrono::milliseconds fsync_interval{1000};
  std::chrono::milliseconds redis_timeout{1000};     // connect and per-command deadline
  std::size_t shard_max_inflight = 64;               // bulkhead: concurrent commands per shard
  unsigned breaker_failures = 5;                     // consecutive failures that open it
  std::chrono::milliseconds breaker_cooldown{2000};  // open → half-open after this
  bool blocking_redis = false;                       // naive mode: hiredis blocking client
  // File store: the largest content it accepts (larger puts fail, unacknowledged). The service
  // sets TargetService::stored_content_limit; the log format itself holds up to 2^32-1 bytes.
  std::uint64_t max_content_bytes = 0xFFFFFFFFu;
};

struct StoreSpec {
  enum class Kind { memory, file, redis } kind = Kind::memory;
  std::string dir;                                           // file
  std::vector<std::pair<std::string, std::uint16_t>> redis;  // host, port per shard
};

// Parses "memory", "file:DIR", "redis://HOST:PORT[,redis://HOST:PORT...]". On error returns
// nullopt and sets `error`.
std::optional<StoreSpec> parse_store_spec(std::string_view text, std::string& error);

// Builds the store. Throws std::runtime_error on setup errors (unreadable directory, ...).
std::unique_ptr<Store> make_store(const StoreSpec& spec, const StoreOptions& options,
                                  TargetMetrics& metrics);

std::unique_ptr<Store> make_memory_store(TargetMetrics& metrics);
std::unique_ptr<Store> make_file_store(const std::string& dir, const StoreOptions& options,
                                       TargetMetrics& metrics);
std::unique_ptr<Store> make_redis_store(const StoreSpec& spec, const StoreOptions& options,
                                        TargetMetrics& metrics);
std::unique_ptr<Store> make_blocking_redis_store(const StoreSpec& spec, TargetMetrics& metrics);

}  // namespace faultline::target
