// `--store redis://...` in naive mode: the design that took Firefox Sync down, reproduced on
// purpose. Each worker thread keeps its own blocking hiredis connection per shard
// (redisConnect + redisCommandArgv on plain POSIX sockets) with NO connect or command timeout, so
// a shard that stops answering (e.g. a SIGSTOPped redis-server) blocks every worker that touches
// it for as long as it hangs, and the shared worker pool drains.
#include <hiredis/hiredis.h>

#include <mutex>
#include <thread>
#include <unordered_map>

#include "target/store.hpp"

namespace faultline::target {

namespace {

class BlockingRedisStore final : public Store {
 public:
  BlockingRedisStore(const StoreSpec& spec, TargetMetrics& metrics)
      : shards_(spec.redis), metrics_(metrics) {
    for (std::size_t i = 0; i < shards_.size(); ++i)
      metrics_.breaker(i, BreakerState::closed);  // there is no breaker in naive mode
  }

  ~BlockingRedisStore() override { close(); }

  void close() override {
    std::lock_guard lock(mu_);
    for (auto& [tid, list] : conns_)
      for (redisContext* c : list)
        if (c) redisFree(c);
    conns_.clear();
  }

  std::size_t shard_count() const override { return shards_.size(); }

  awaitable<PutOutcome> put(std::string id, std::string content) override {
    co_return put_blocking(id, content);
  }
  awaitable<GetOutcome> get(std::string id) override { co_return get_blocking(id); }
  awaitable<bool> ready(std::shared_ptr<std::vector<std::string>> detail) override {
    co_return ready_blocking(*detail);
  }

  PutOutcome put_blocking(const std::string& id, const std::string& content) override {
    const std::size_t s = shard_of(id);
    metrics_.store_op(s, StoreOp::put);
    const std::string key = "paste:" + id;
    std::string error;
    auto* reply = command(s, {"SET", key, content, "NX"}, error);
    if (!reply) return {StoreCode::failed, false, error};
    PutOutcome out{StoreCode::ok, reply->type == REDIS_REPLY_STATUS, {}};
    if (reply->type != REDIS_REPLY_STATUS && reply->type != REDIS_REPLY_NIL) {
      metrics_.store_error(s, StoreError::protocol);
      out = {StoreCode::failed, false, "unexpected reply to SET"};
    }
    freeReplyObject(reply);
    return out;
  }

  GetOutcome get_blocking(const std::string& id) override {
    const std::size_t s = shard_of(id);
    metrics_.store_op(s, StoreOp::get);
    std::string error;
    auto* reply = command(s, {"GET", "paste:" + id}, error);
    if (!reply) return {StoreCode::failed, {}, error};
    GetOutcome out;
    if (reply->type == REDIS_REPLY_STRING) {
      out = {StoreCode::ok, std::string(reply->str, reply->len), {}};
    } else if (reply->type == REDIS_REPLY_NIL) {
      out = {StoreCode::not_found, {}, {}};
    } else {
      metrics_.store_error(s, StoreError::protocol);
      out = {StoreCode::failed, {}, "unexpected reply to GET"};
    }
    freeReplyObject(reply);
    return out;
  }

  bool ready_blocking(std::vector<std::string>& detail) override {
    bool all = true;
    for (std::size_t s = 0; s < shards_.size(); ++s) {
      metrics_.store_op(s, StoreOp::ping);
      std::string error;
      auto* reply = command(s, {"PING"}, error);
      const bool ok = reply && reply->type == REDIS_REPLY_STATUS;
      if (reply) freeReplyObject(reply);
      detail.push_back("redis shard " + std::to_string(s) + ": " + (ok ? "ok" : error));
      all = all && ok;
    }
    return all;
  }

 private:
  // This thread's connection to shard `s` (created on first use; replaced after an error).
  redisContext*& connection(std::size_t s) {
    std::lock_guard lock(mu_);
    auto& list = conns_[std::this_thread::get_id()];
    list.resize(shards_.size(), nullptr);
    return list[s];
  }

  redisReply* command(std::size_t s, std::initializer_list<std::string> args, std::string& error) {
    redisContext*& c = connection(s);
    if (!c) {
      c = redisConnect(shards_[s].first.c_str(), shards_[s].second);  // blocks, no timeout
      if (!c || c->err) {
        error = "redis shard " + std::to_string(s) + ": connect: " + (c ? c->errstr : "no memory");
        if (c) redisFree(c);
        c = nullptr;
        metrics_.store_error(s, StoreError::connect);
        return nullptr;
      }
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    // Blocks until Redis answers, however long that takes.
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!reply) {
      error = "redis shard " + std::to_string(s) + ": " + c->errstr;
      redisFree(c);
      c = nullptr;
      metrics_.store_error(s, StoreError::io);
      return nullptr;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      error = "redis shard " + std::to_string(s) + ": " + std::string(reply->str, reply->len);
      freeReplyObject(reply);
      metrics_.store_error(s, StoreError::protocol);
      return nullptr;
    }
    return reply;
  }

  std::vector<std::pair<std::string, std::uint16_t>> shards_;
  TargetMetrics& metrics_;
  std::mutex mu_;  // guards the map; each thread's list is used by that thread only
  std::unordered_map<std::thread::id, std::vector<redisContext*>> conns_;
};

}  // namespace

std::unique_ptr<Store> make_blocking_redis_store(const StoreSpec& spec, TargetMetrics& metrics) {
  return std::make_unique<BlockingRedisStore>(spec, metrics);
}

}  // namespace faultline::target
