// Protocol dispatch for new client connections.
#include "proxy/session.hpp"

#include "proxy/http_connection.hpp"
#include "proxy/redis_connection.hpp"
#include "proxy/tcp_connection.hpp"

namespace faultline::proxy {

void start_session(std::shared_ptr<Proxy> proxy, tcp::socket client) {
  switch (proxy->settings().protocol) {
    case Protocol::tcp:
      proxy->counters().requests->Increment();  // for tcp, the unit of fault draws is a connection
      start_tcp_connection(std::move(proxy), std::move(client));
      return;
    case Protocol::http:
      start_http_connection(std::move(proxy), std::move(client));
      return;
    case Protocol::redis:
      start_redis_connection(std::move(proxy), std::move(client));
      return;
  }
}

}  // namespace faultline::proxy
