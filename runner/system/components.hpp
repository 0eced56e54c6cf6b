// The kinds of component a run starts (component.hpp), one class each: redis_shard.cpp,
// target_process.cpp, proxy_server.cpp, user_process.cpp, load_shard.cpp. The system
// (system.cpp) builds them from the scenario.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.hpp"
#include "runner/scenario/scenario.hpp"
#include "runner/system/component.hpp"
#include "runner/system/process_runner.hpp"

namespace faultline::runner {

// A child that is a program of ours (faultline, redis-server): argv, a log file, a piped stdout
// for its ready line, its own process group (common/subprocess.hpp).
class ChildComponent : public Component {
 public:
  ChildComponent(ComponentId id, std::string log_file, std::vector<std::string> argv)
      : Component(std::move(id), std::move(log_file)), argv_(std::move(argv)) {}
  void start() override;
  bool running() override { return child_ && child_->running(); }
  int exit_status() override { return child_ ? child_->wait(std::chrono::milliseconds(0)) : -1; }
  void signal(int sig) override;
  void stop() override;
  Resources resources() const override;

 protected:
  // Waits for its "listening on HOST:PORT" line (common/ready_line.hpp).
  HostPort wait_listening(const StopCheck& should_stop);
  // Waits up to `timeout` for a stdout line containing `marker`; nullopt when none came. Throws
  // RunError when it exits first, Interrupted when stopped.
  std::optional<std::string> wait_line(std::string_view marker, const StopCheck& should_stop,
                                       std::chrono::milliseconds timeout);
  std::vector<std::string> argv_;
  std::optional<Subprocess> child_;
};

class RedisShard final : public ChildComponent {
 public:
  RedisShard(std::size_t shard, unsigned short port, const std::string& log_dir);
  unsigned short port() const noexcept { return port_; }
  void ready(const StopCheck& should_stop) override;
  Resources resources() const override { return {}; }  // not sampled (as before components)

 private:
  unsigned short port_;
};

class TargetProcess final : public ChildComponent {
 public:
  TargetProcess(std::vector<std::string> argv, const std::string& log_dir,
                std::shared_ptr<boost::asio::ssl::context> tls);
  void ready(const StopCheck& should_stop) override;
  std::optional<MetricsEndpoint> metrics() const override;
  const std::optional<HostPort>& address() const noexcept { return address_; }

 private:
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::optional<HostPort> address_;
};

// `faultline proxy` started by the run, or a proxy API that was already running (attached:
// services.proxy_api) — then it has no process, and stopping it removes the proxies the run
// created there.
class ProxyServer final : public ChildComponent {
 public:
  ProxyServer(std::vector<std::string> argv, const std::string& log_dir, std::string token);
  ProxyServer(HostPort attached, std::string token);
  bool attached() const noexcept { return attached_; }
  void start() override;
  void ready(const StopCheck& should_stop) override;
  bool running() override { return attached_ || ChildComponent::running(); }
  void stop() override;
  std::optional<MetricsEndpoint> metrics() const override;
  Resources resources() const override;  // its own process (an attached one: from its /metrics)
  bool resources_from_metrics() const override { return attached_; }
  const HostPort& api_address() const { return *api_; }

  Fetched api(const std::string& method, const std::string& target, const std::string& body = "");
  // Creates proxy `p` with `upstream` and its initial toxics; returns its bound address.
  HostPort create(const ProxySpec& p, const std::string& upstream);
  // Every proxy of `proxies` enabled, with exactly its initial toxics (a kept system's next run).
  void reset(const std::vector<ProxySpec>& proxies, const StopCheck& should_stop);
  const std::map<std::string, HostPort>& listen() const noexcept { return listen_; }

 private:
  bool attached_ = false;
  std::string token_;
  std::optional<HostPort> api_;
  std::map<std::string, HostPort> listen_;
  std::vector<std::string> created_;  // on an attached API: removed at stop()
};

class UserProcess final : public Component {
 public:
  UserProcess(const ProcessSpec& spec, std::string out_dir, const std::string& log_dir);
  // The spec of the run that holds it (a kept system's next run points it at its own scenario).
  void set_spec(const ProcessSpec& spec) { spec_ = &spec; }
  void start() override;
  void ready(const StopCheck& should_stop) override;
  bool running() override { return mp_ && mp_->running(); }
  int exit_status() override { return mp_ ? mp_->exit_status().value_or(-1) : -1; }
  void signal(int sig) override;
  void stop() override;
  Resources resources() const override;
  std::optional<MetricsEndpoint> metrics() const override;

 private:
  const ProcessSpec* spec_;
  std::string out_dir_;
  int stop_signal_;
  double stop_grace_seconds_;
  std::unique_ptr<ManagedProcess> mp_;
};

class LoadShard final : public ChildComponent {
 public:
  LoadShard(std::size_t index, std::size_t shards, std::vector<std::string> argv,
            const std::string& log_dir);
  void ready(const StopCheck& should_stop) override;
  std::optional<MetricsEndpoint> metrics() const override;
  // When its second 0 began (its "started at" line, on this process's steady clock); nullopt when
  // it did not say (only waited for on shard 0: every shard shares it).
  std::optional<std::chrono::steady_clock::time_point> wait_started(const StopCheck& should_stop);

 private:
  std::optional<HostPort> metrics_;
};

}  // namespace faultline::runner
