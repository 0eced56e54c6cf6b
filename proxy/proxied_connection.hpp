// What every proxied connection (tcp, http, redis) does alike, written once: its books on the proxy
// (counted active while it lives, registered so `close_async` reaches it, its close reason counted
// when it goes) and how an accepted client socket becomes a running connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/co_spawn.hpp"
#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

class ProxiedConnection : public Connection {
 public:
  explicit ProxiedConnection(std::shared_ptr<Proxy> proxy) : proxy_(std::move(proxy)) {
    proxy_->counters().active->Increment();
  }
  ~ProxiedConnection() override {
    proxy_->remove_connection(this);
    proxy_->counters().active->Decrement();
    proxy_->counters().closed[static_cast<std::size_t>(reason_)]->Increment();
  }
  ProxiedConnection(const ProxiedConnection&) = delete;
  ProxiedConnection& operator=(const ProxiedConnection&) = delete;

 protected:
  std::shared_ptr<Proxy> proxy_;
  CloseReason reason_ = CloseReason::client_closed;  // counted when the connection goes
};

// The seed of one connection's fault draws: the proxy's seed mixed with the connection's number
// (`counter`, one per protocol) times an odd constant, so every connection draws its own
// reproducible sequence.
inline std::uint64_t connection_seed(Proxy& proxy, std::uint64_t odd_constant,
                                     std::atomic<std::uint64_t>& counter) {
  return proxy.env().seed ^ (odd_constant * ++counter);
}

// Takes over an accepted client socket (already on a worker loop) as a `C` (constructed from the
// proxy and the socket): no Nagle delay, registered with the proxy, and `C::run(conn, seed)`
// spawned on the socket's executor.
template <class C>
void spawn_connection(std::shared_ptr<Proxy> proxy, tcp::socket client, std::uint64_t seed,
                      std::string_view what) {
  error_code ec;
  client.set_option(tcp::no_delay(true), ec);
  auto ex = client.get_executor();
  auto conn = std::make_shared<C>(proxy, std::move(client));
  proxy->add_connection(conn);
  asio::co_spawn(ex, C::run(conn, seed), log_exception(what));
}

}  // namespace faultline::proxy
