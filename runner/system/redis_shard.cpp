// RedisShard (components.hpp): one redis-server on loopback, without persistence, ready when it
// accepts a connection.
#include <fmt/format.h>

#include <filesystem>
#include <thread>

#include "common/net.hpp"
#include "runner/system/components.hpp"

namespace faultline::runner {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool tcp_connectable(unsigned short port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  error_code ec;
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  return !ec;
}

std::string log_in(const std::string& dir, const ComponentId& id) {
  return (std::filesystem::path(dir) / (id.log_name() + ".log")).string();
}

}  // namespace

RedisShard::RedisShard(std::size_t shard, unsigned short port, const std::string& log_dir)
    : ChildComponent(ComponentId::redis(shard), log_in(log_dir, ComponentId::redis(shard)), {}),
      port_(port) {
  const auto exe = find_program("redis-server");
  if (!exe) throw RunError("redis: redis-server is not installed (services.redis.shards needs it)");
  argv_ = {*exe,           "--port", std::to_string(port), "--bind",  "127.0.0.1", "--save", "",
           "--appendonly", "no",     "--logfile",          log_file()};
}

void RedisShard::ready(const StopCheck& should_stop) {
  const auto deadline = Clock::now() + 10s;
  while (!tcp_connectable(port_)) {
    if (should_stop()) throw Interrupted{};
    if (!running())
      throw RunError(fmt::format("{} exited during start-up (see {})", id().display(), log_file()));
    if (Clock::now() > deadline)
      throw RunError(fmt::format("{} did not accept connections on port {} within 10s",
                                 id().display(), port_));
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace faultline::runner
