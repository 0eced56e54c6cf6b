// What every protocol engine does alike around a TLS handshake: the certificate-chaos draws of a
// client connection, the handshake timeout, and the handshake metrics (count by outcome, duration).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

// The certificate-chaos faults one client connection's handshake suffers (drawn per connection
// with each tls_* toxic's toxicity), with the max_active_faults slots they hold meanwhile.
struct HandshakeChaos {
  HandshakeFault fault;
  std::vector<FaultSlot> slots;
};
HandshakeChaos draw_handshake_chaos(Proxy& proxy, Rng& rng);

// One handshake on `sock`: from construction, the proxy's handshake timeout (cancels `sock`'s
// waits when it passes), then finish() counts the outcome. The socket must outlive the scope.
class HandshakeScope {
 public:
  HandshakeScope(Proxy& proxy, tcp::socket& sock, TlsSide side);
  ~HandshakeScope();
  HandshakeScope(const HandshakeScope&) = delete;
  HandshakeScope& operator=(const HandshakeScope&) = delete;
  // Counts the handshake that ended with `ec` (`ssl`: its connection, to tell a chaos alert from
  // a real failure); true when it succeeded.
  bool finish(error_code ec, SSL* ssl);

 private:
  struct State {
    bool done = false;
    bool fired = false;
  };
  Proxy& proxy_;
  TlsSide side_;
  Clock::time_point started_ = Clock::now();
  std::shared_ptr<State> state_ = std::make_shared<State>();
  asio::steady_timer timer_;
};

// The address `sock` is bound to (the name of a minted leaf for a client without SNI);
// unspecified when the socket cannot tell.
asio::ip::address local_address(const tcp::socket& sock);

// The host part of "host:port" (the name an originating handshake sends and verifies).
std::string upstream_host(const std::string& upstream);

}  // namespace faultline::proxy
