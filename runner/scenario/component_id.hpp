// Who a component of a run is. Parsed once from the scenario's spelling ("redis:1", "target", a
// process name), it owns a component's names: the key the timeline, the run record and
// the resource series use, the log file, the words a message shows, and the names a process may
// not take.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::runner {

class ComponentId {
 public:
  enum class Kind { redis, target, proxy, process, load, prometheus };

  static ComponentId redis(std::size_t shard) { return {Kind::redis, shard, 1, ""}; }
  static ComponentId target() { return {Kind::target, 0, 1, ""}; }
  static ComponentId proxy() { return {Kind::proxy, 0, 1, ""}; }
  static ComponentId process(std::string name) { return {Kind::process, 0, 1, std::move(name)}; }
  // Load shard `index` of `shards` processes (one shard: plain "load").
  static ComponentId load(std::size_t index, std::size_t shards) {
    return {Kind::load, index, shards, ""};
  }
  static ComponentId prometheus() { return {Kind::prometheus, 0, 1, ""}; }

  // A timeline action's target as a scenario spells it: "redis:I", "target", or a process name
  // (anything else that is not reserved_name_reason's). nullopt for a malformed "redis:" form.
  static std::optional<ComponentId> parse(std::string_view text);
  // Why a process cannot be named `name` ("" when it can): a name another component uses for its
  // key or log file, or one that would not make a file name.
  static std::string reserved_name_reason(std::string_view name);

  Kind kind() const noexcept { return kind_; }
  std::size_t index() const noexcept { return index_; }
  const std::string& name() const noexcept { return name_; }

  // As the scenario, the run record's events and results.json spell it: "redis:1", "target",
  // "proxy", "load" (or "load-1" for a shard), "prometheus", a process name.
  std::string key() const;
  // Its log file's name without ".log": "redis-1", "target", "proxy", "load", "load-1", ...
  std::string log_name() const;
  // In a sentence: "redis shard 1", "the target", "the proxy", "load", "process api", ...
  std::string display() const;
  // The prefix of its per-second resource keys ("<prefix>_rss_bytes", "<prefix>_open_fds"): the
  // load's shards share "load" (their figures are summed); nullopt for what is not sampled.
  std::optional<std::string> resource_prefix() const;

  friend bool operator==(const ComponentId&, const ComponentId&) = default;

  // The per-second resource keys of a prefix (resource_prefix()): "<prefix>_rss_bytes" and
  // "<prefix>_open_fds", as the run record, results.json's series and the report read them.
  static std::string rss_key(std::string_view prefix) { return std::string(prefix) + "_rss_bytes"; }
  static std::string open_fds_key(std::string_view prefix) {
    return std::string(prefix) + "_open_fds";
  }

 private:
  ComponentId(Kind kind, std::size_t index, std::size_t of, std::string name)
      : kind_(kind), index_(index), of_(of), name_(std::move(name)) {}
  Kind kind_;
  std::size_t index_ = 0;
  std::size_t of_ = 1;  // load: how many shards
  std::string name_;
};

}  // namespace faultline::runner
