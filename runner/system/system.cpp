// The system (see system.hpp): built from the scenario in start order, then driven as a list.
#include "runner/system/system.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/tls.hpp"
#include "common/tls_certgen.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;

template <class C, class... Args>
C& System::add(Args&&... args) {
  auto c = std::make_unique<C>(std::forward<Args>(args)...);
  C& ref = *c;
  std::lock_guard lock(mutex_);
  components_.push_back(std::move(c));
  return ref;
}

void System::start(const Scenario& s, const SystemOptions& o, const StopCheck& should_stop) {
  options_ = o;
  fs::create_directories(o.log_dir);
  auto check = [&] {
    if (should_stop()) throw Interrupted{};
  };
  write_run_pki(s);
  // Redis: every shard launched, then each waited for.
  for (std::size_t i = 0; i < static_cast<std::size_t>(s.redis_shards); ++i) {
    const unsigned short port = i < s.redis_ports.size() ? s.redis_ports[i] : free_loopback_port();
    redis_.push_back(&add<RedisShard>(i, port, o.log_dir));
    redis_.back()->start();
  }
  for (auto* r : redis_) {
    r->ready(should_stop);
    spdlog::info("run: {} on 127.0.0.1:{}", r->id().display(), r->port());
  }
  if (!s.proxy_api.empty()) {
    auto hp = parse_host_port(s.proxy_api);
    if (!hp) throw RunError(fmt::format("services.proxy_api: not host:port: {}", s.proxy_api));
    proxy_ = &add<ProxyServer>(*hp, o.api_token);
  } else if (!s.proxies.empty()) {
    std::vector<std::string> argv{o.faultline_exe, "proxy", "--api", "127.0.0.1:0"};
    if (!o.api_token.empty()) argv.insert(argv.end(), {"--api-token", o.api_token});
    proxy_ = &add<ProxyServer>(std::move(argv), o.log_dir, o.api_token);
  }
  if (proxy_) {
    proxy_->start();
    proxy_->ready(should_stop);
  }
  for (const auto& item : s.start_order) {
    check();
    switch (item.kind) {
      case StartItem::Kind::target: {
        if (!s.target.enabled) break;
        if (s.target.store == "file") {
          const fs::path dir = fs::path(o.out_dir) / "target-data";
          fs::remove_all(dir);
          fs::create_directories(dir);
        }
        target_ = &add<TargetProcess>(target_argv(s), o.log_dir, target_tls_);
        target_->start();
        target_->ready(should_stop);
        spdlog::info("run: target ({}, {}) on {}", s.target.mode, s.target.store,
                     target_->address()->to_string());
        break;
      }
      case StartItem::Kind::proxy: {
        const ProxySpec& p = *s.proxy(item.name);
        proxy_->create(p, upstream_of(s, p));
        break;
      }
      case StartItem::Kind::process: {
        auto& proc = add<UserProcess>(*s.process(item.name), o.out_dir, o.log_dir);
        const auto t = std::chrono::steady_clock::now();
        proc.start();
        proc.ready(should_stop);
        spdlog::info("run: process {} ready after {:.2f}s", item.name,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
        break;
      }
    }
  }
}

void System::adopt(const Scenario& s) {
  std::lock_guard lock(mutex_);
  for (auto& c : components_)
    if (c->id().kind() == ComponentId::Kind::process)
      if (const ProcessSpec* spec = s.process(c->id().name()))
        static_cast<UserProcess&>(*c).set_spec(*spec);
}

void System::write_run_pki(const Scenario& s) {
  if (!s.run_pki) return;
  const fs::path dir = fs::path(s.placeholder_values.at("tls.ca")).parent_path();
  const auto pki = tls::write_throwaway_pki(dir);
  if (!pki.error.empty()) throw RunError(fmt::format("tls: {}", pki.error));
  tls::ClientConfig trust;
  trust.ca = pki.files.ca_cert.string();
  auto made = tls::make_client_context(trust);
  if (!made.ok()) throw RunError(fmt::format("tls: {}", made.message()));
  if (s.target.tls) target_tls_ = made.context;
  spdlog::info("run: throw-away TLS certificates in {}", dir.string());
}

std::string System::upstream_of(const Scenario& s, const ProxySpec& p) const {
  switch (p.upstream_kind) {
    case ProxySpec::Upstream::redis_shard:
      return fmt::format("127.0.0.1:{}", redis_.at(static_cast<std::size_t>(p.shard))->port());
    case ProxySpec::Upstream::target:
      return target_->address()->to_string();
    case ProxySpec::Upstream::address:
      break;
  }
  (void)s;
  return p.address;
}

std::vector<std::string> System::target_argv(const Scenario& s) const {
  std::string store = s.target.store;
  if (store == "file") {
    store = "file:" + (fs::path(options_.out_dir) / "target-data").string();
  } else if (store == "redis") {
    store.clear();
    for (int i = 0; i < s.redis_shards; ++i) {
      std::string addr =
          fmt::format("127.0.0.1:{}", redis_.at(static_cast<std::size_t>(i))->port());
      for (const auto& p : s.proxies)
        if (p.upstream_kind == ProxySpec::Upstream::redis_shard && p.shard == i)
          addr = proxy_->listen().at(p.name).to_string();
      // Appended piece by piece: `"," + std::string(...)` trips GCC 12's -Wrestrict false
      // positive (PR105651) once inlined here.
      if (!store.empty()) store += ',';
      store += "redis://";
      store += addr;
    }
  }
  std::vector<std::string> argv{options_.faultline_exe,
                                "target",
                                "--listen",
                                s.target.listen.empty() ? "127.0.0.1:0" : s.target.listen,
                                "--store",
                                store,
                                "--mode",
                                s.target.mode};
  auto add_flag = [&](const char* flag, const std::optional<std::int64_t>& v) {
    if (v) argv.insert(argv.end(), {flag, std::to_string(*v)});
  };
  add_flag("--threads", s.target.threads);
  add_flag("--solver-threads", s.target.solver_threads);
  add_flag("--solver-queue", s.target.solver_queue);
  if (s.target.debug_leak_bytes_per_request > 0)
    add_flag("--debug-leak-bytes-per-request", s.target.debug_leak_bytes_per_request);
  if (s.target.tls)
    argv.insert(argv.end(), {"--tls-cert", s.placeholder_values.at("tls.cert"), "--tls-key",
                             s.placeholder_values.at("tls.key")});
  argv.insert(argv.end(), s.target.args.begin(), s.target.args.end());
  return argv;
}

Component* System::find(const ComponentId& id) {
  std::lock_guard lock(mutex_);
  for (auto& c : components_)
    if (c->id() == id) return c.get();
  return nullptr;
}

std::optional<HostPort> System::target_address() const {
  return target_ ? target_->address() : std::nullopt;
}

std::map<std::string, HostPort> System::proxy_listen() const {
  return proxy_ ? proxy_->listen() : std::map<std::string, HostPort>{};
}

std::vector<std::pair<std::string, MetricsEndpoint>> System::metrics_endpoints() const {
  std::vector<std::pair<std::string, MetricsEndpoint>> out;
  for (const auto& c : components_)
    if (auto m = c->metrics()) out.emplace_back(c->id().key(), std::move(*m));
  return out;
}

void System::signal(const ComponentId& id, int sig) {
  Component* c = find(id);
  if (!c) throw RunError(fmt::format("signal: no running component {}", id.key()));
  std::lock_guard lock(mutex_);
  c->signal(sig);
}

void System::restart(const ComponentId& id, const StopCheck& should_stop) {
  Component* c = find(id);
  if (!c) throw RunError(fmt::format("restart: no running component {}", id.key()));
  {
    std::lock_guard lock(mutex_);
    c->stop();
    c->start();
  }
  c->ready(should_stop);
}

std::string System::not_running() {
  std::lock_guard lock(mutex_);
  for (auto& c : components_)
    if (!c->running()) return fmt::format("{} exited", c->id().display());
  return "";
}

std::vector<Component*> System::dead(const std::vector<std::string>& expected_down) {
  std::vector<Component*> out;
  std::lock_guard lock(mutex_);
  for (auto& c : components_)
    if (std::find(expected_down.begin(), expected_down.end(), c->id().key()) ==
            expected_down.end() &&
        !c->running())
      out.push_back(c.get());
  return out;
}

void System::sample_resources(std::map<std::string, double>& values) {
  const auto put = [&](const std::string& prefix, const Resources& r) {
    if (r.rss_bytes) values[ComponentId::rss_key(prefix)] = *r.rss_bytes;
    if (r.open_fds) values[ComponentId::open_fds_key(prefix)] = *r.open_fds;
  };
  // /proc reads under the lock (a restart must not swap the process mid-read); a scrape (up to
  // 900 ms) after it, so timeline actions and the liveness check never wait behind one.
  std::vector<std::pair<std::string, MetricsEndpoint>> remote;
  {
    std::lock_guard lock(mutex_);
    for (auto& c : components_) {
      const auto prefix = c->id().resource_prefix();
      if (!prefix) continue;
      if (!c->resources_from_metrics()) {
        put(*prefix, c->resources());
      } else if (auto m = c->metrics()) {
        remote.emplace_back(*prefix, std::move(*m));
      }
    }
  }
  for (const auto& [prefix, m] : remote)
    put(prefix, resources_of(m, std::chrono::milliseconds(900)));
}

void System::stop() {
  std::lock_guard lock(mutex_);
  for (auto it = components_.rbegin(); it != components_.rend(); ++it)
    (*it)->stop();
  components_.clear();
  redis_.clear();
  proxy_ = nullptr;
  target_ = nullptr;
  target_tls_.reset();
}

std::string KeptSystem::log_dir() const {
  return (fs::path(log_root_) / fmt::format("{:02}", starts_)).string();
}

void KeptSystem::stop() {
  if (sys_) sys_->stop();
  sys_.reset();
  values_.clear();
}

std::unique_ptr<System> KeptSystem::take() {
  return std::move(sys_);
}

std::string KeptSystem::next_log_dir() {
  stop();  // what is left of a system that is not running whole
  ++starts_;
  return log_dir();
}

void KeptSystem::keep(std::unique_ptr<System> sys,
                      const std::map<std::string, std::string>* values) {
  sys_ = std::move(sys);
  if (values) {
    values_ = *values;
    values_.erase("out");
  }
}

std::string system_reuse_obstacle(const Scenario& s) {
  for (std::size_t i = 0; i < s.timeline.size(); ++i) {
    const auto& actions = s.timeline[i].actions;
    for (std::size_t j = 0; j < actions.size(); ++j) {
      const Action& a = actions[j];
      if (!a.changes_system()) continue;
      return fmt::format(
          "$.timeline[{}].actions[{}]: \"{}\" changes the system beyond the proxies' state, "
          "so every trial starts it afresh",
          i, j, a.describe());
    }
  }
  for (std::size_t i = 0; i < s.proxies.size(); ++i)
    if (s.proxies[i].extra.contains("record"))
      return fmt::format(
          "$.services.proxies[{}].record: proxy {} records each run's traffic to its own file, "
          "so every trial starts the system afresh",
          i, s.proxies[i].name);
  return "";
}

}  // namespace faultline::runner
