// `--store memory`: pastes in a striped hash map (no durability). One metrics shard, "0".
#include <array>
#include <shared_mutex>
#include <unordered_map>

#include "target/store.hpp"

namespace faultline::target {

namespace {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(TargetMetrics& metrics) : metrics_(metrics) {}

  std::size_t shard_count() const override { return 1; }

  awaitable<PutOutcome> put(std::string id, std::string content) override {
    co_return put_blocking(id, content);
  }
  awaitable<GetOutcome> get(std::string id) override { co_return get_blocking(id); }
  awaitable<bool> ready(std::shared_ptr<std::vector<std::string>> detail) override {
    detail->push_back("memory: ok");
    co_return true;
  }

  bool ready_blocking(std::vector<std::string>& detail) override {
    detail.push_back("memory: ok");
    return true;
  }

  PutOutcome put_blocking(const std::string& id, const std::string& content) override {
    metrics_.store_op(0, StoreOp::put);
    auto& s = stripe(id);
    std::unique_lock lock(s.mu);
    const bool created = s.map.try_emplace(id, content).second;
    return {StoreCode::ok, created, {}};
  }

  GetOutcome get_blocking(const std::string& id) override {
    metrics_.store_op(0, StoreOp::get);
    auto& s = stripe(id);
    std::shared_lock lock(s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) return {StoreCode::not_found, {}, {}};
    return {StoreCode::ok, it->second, {}};
  }

 private:
  struct Stripe {
    std::shared_mutex mu;
    std::unordered_map<std::string, std::string> map;
  };
  // Stripes keep writers on different ids from contending on one lock.
  Stripe& stripe(const std::string& id) { return stripes_[shard_for(id, stripes_.size())]; }

  TargetMetrics& metrics_;
  std::array<Stripe, 16> stripes_;
};

}  // namespace

std::unique_ptr<Store> make_memory_store(TargetMetrics& metrics) {
  return std::make_unique<MemoryStore>(metrics);
}

}  // namespace faultline::target
