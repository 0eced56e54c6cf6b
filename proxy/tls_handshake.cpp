// Handshake chaos draws, timeout and metrics (see tls_handshake.hpp).
#include "proxy/tls_handshake.hpp"

#include <spdlog/spdlog.h>

#include "common/tls.hpp"

namespace faultline::proxy {

HandshakeChaos draw_handshake_chaos(Proxy& proxy, Rng& rng) {
  HandshakeChaos out;
  for (const auto& t : *proxy.toxics()) {
    auto f = t->toxic.config->handshake_fault();
    if (!f || !t->toxic.probability.hit(rng)) continue;
    auto slot = proxy.acquire_fault();
    if (!slot) continue;
    t->faults->Increment();
    out.slots.push_back(std::move(*slot));
    out.fault.delay += f->delay;
    if (f->alert != 0 && out.fault.alert == 0) out.fault.alert = f->alert;
    // The first bad certificate in toxic order wins, whether a variant or given files.
    if ((f->bad_cert || f->given_cert) && !out.fault.bad_cert && !out.fault.given_cert) {
      out.fault.bad_cert = f->bad_cert;
      out.fault.given_cert = f->given_cert;
    }
  }
  return out;
}

HandshakeScope::HandshakeScope(Proxy& proxy, tcp::socket& sock, TlsSide side)
    : proxy_(proxy), side_(side), timer_(sock.get_executor()) {
  timer_.expires_after(proxy.env().tls_handshake_timeout);
  timer_.async_wait([state = state_, &sock](error_code ec) {
    // `sock` is touched only while the handshake is still running (then it is alive).
    if (ec || state->done) return;
    state->fired = true;
    error_code ignored;
    sock.cancel(ignored);
  });
}

HandshakeScope::~HandshakeScope() {
  state_->done = true;
  timer_.cancel();
}

bool HandshakeScope::finish(error_code ec, SSL* ssl) {
  state_->done = true;
  timer_.cancel();
  const ProxyCounters& c = proxy_.counters();
  const auto side = static_cast<std::size_t>(side_);
  TlsOutcome outcome = TlsOutcome::ok;
  if (state_->fired)
    outcome = TlsOutcome::timeout;
  else if (ec && ssl && failed_by_chaos(ssl))
    outcome = TlsOutcome::fault;
  else if (ec)
    outcome = TlsOutcome::failed;
  c.tls_handshakes[side][static_cast<std::size_t>(outcome)]->Increment();
  if (outcome == TlsOutcome::ok) {
    c.tls_handshake_seconds[side]->Observe(
        std::chrono::duration<double>(Clock::now() - started_).count());
    return true;
  }
  std::string why = ssl ? tls::verify_failure(ssl) : std::string();
  spdlog::debug("proxy {}: TLS handshake ({} side) {}: {}{}", proxy_.name(), to_string(side_),
                to_string(outcome), ec.message(), why.empty() ? "" : " (" + why + ")");
  return false;
}

asio::ip::address local_address(const tcp::socket& sock) {
  error_code ec;
  const auto ep = sock.local_endpoint(ec);
  return ec ? asio::ip::address() : ep.address();
}

std::string upstream_host(const std::string& upstream) {
  auto hp = parse_host_port(upstream);
  return hp ? hp->host : upstream;
}

}  // namespace faultline::proxy
