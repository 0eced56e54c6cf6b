// ChildComponent (components.hpp): a program of ours as a child process; and the HTTP exchange
// every component's /metrics and the proxy API use (component.hpp).
#include <signal.h>

#include <fmt/format.h>

#include "common/http_client.hpp"
#include "common/ready_line.hpp"
#include "runner/ledger/prom_text.hpp"
#include "runner/system/components.hpp"

namespace faultline::runner {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Fetched fetch(const HostPort& hp, const std::string& method, const std::string& target,
              const std::string& body, std::chrono::milliseconds timeout, const std::string& token,
              std::shared_ptr<boost::asio::ssl::context> tls) {
  HttpClientRequest req;
  req.tls = std::move(tls);
  req.method = method;
  req.target = target;
  req.body = body;
  req.timeout = timeout;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  auto [ec, res] = http_fetch_sync(hp, std::move(req));
  Fetched f;
  if (ec) {
    f.error = ec.message();
    return f;
  }
  f.status = res.status;
  f.body = std::move(res.body);
  f.ok = res.status >= 200 && res.status < 300;
  if (!f.ok) f.error = fmt::format("HTTP {}: {}", res.status, f.body);
  return f;
}

std::optional<std::string> scrape_text(const MetricsEndpoint& m,
                                       std::chrono::milliseconds timeout) {
  Fetched f = fetch(m.address, "GET", m.path, "", timeout, m.token, m.tls);
  if (!f.ok) return std::nullopt;
  return std::move(f.body);
}

Resources resources_of(const MetricsEndpoint& m, std::chrono::milliseconds timeout) {
  Resources r;
  if (auto text = scrape_text(m, timeout)) {
    const auto snap = PromSnapshot::parse(*text);
    r.rss_bytes = snap.sum("process_resident_memory_bytes");
    r.open_fds = snap.sum("process_open_fds");
  }
  return r;
}

void ChildComponent::start() {
  try {
    child_.emplace(argv_, log_file());
  } catch (const std::exception& e) {
    throw RunError(fmt::format("{}: cannot start {}: {}", id().display(), argv_.at(0), e.what()));
  }
}

void ChildComponent::signal(int sig) {
  if (child_) child_->signal(sig);
}

void ChildComponent::stop() {
  if (!child_) return;
  child_->signal(SIGCONT);  // a SIGSTOPped process cannot act on SIGTERM
  child_->terminate(3000ms);
}

Resources ChildComponent::resources() const {
  if (!child_) return {};
  return {proc_rss_bytes(child_->pid()), proc_open_fds(child_->pid())};
}

std::optional<std::string> ChildComponent::wait_line(std::string_view marker,
                                                     const StopCheck& should_stop,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (should_stop()) throw Interrupted{};
    if (auto line = child_->wait_for_line(std::string(marker), 200ms)) return line;
    if (!child_->running())
      throw RunError(fmt::format("{} exited during start-up with status {} (see {})",
                                 id().display(), child_->wait(0ms), log_file()));
  }
  return std::nullopt;
}

HostPort ChildComponent::wait_listening(const StopCheck& should_stop) {
  constexpr auto timeout = 20s;
  if (auto line = wait_line(ready_line::kListening, should_stop, timeout)) {
    if (auto hp = ready_line::parse_listening(*line)) return *hp;
    throw RunError(fmt::format("{}: cannot parse its address from \"{}\"", id().display(), *line));
  }
  throw RunError(fmt::format("{} did not report \"listening on\" within {}s (see {})",
                             id().display(), std::chrono::seconds(timeout).count(), log_file()));
}

}  // namespace faultline::runner
