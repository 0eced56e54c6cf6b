// A byte-stream (protocol tcp) proxied connection: two directions, each a reader (applies the
// direction's active toxics to every chunk) and a writer (sends the resulting pieces when they are
// due), plus a watcher enforcing the idle timeout and toxic deadlines. With no active toxic the
// reader forwards bytes itself (one non-blocking send), so pass-through costs one copy at most.
#pragma once

#include <memory>

#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

// Takes over an accepted client socket (already on a worker loop) and runs the connection.
void start_tcp_connection(std::shared_ptr<Proxy> proxy, tcp::socket client);

// Connects to `upstream` ("host:port") within `timeout`; shared by every protocol.
awaitable<std::pair<error_code, tcp::socket>> connect_upstream(std::string upstream,
                                                               std::chrono::milliseconds timeout);

}  // namespace faultline::proxy
