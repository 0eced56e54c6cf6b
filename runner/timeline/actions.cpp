// The timeline's actions (see actions.hpp).
#include "runner/timeline/actions.hpp"

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace faultline::runner {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string TimelineActions::execute(const Action& a) {
  std::string what = a.describe();
  switch (a.kind) {
    case Action::Kind::signal:
      signal(a);
      break;
    case Action::Kind::restart:
      what += fmt::format(": ready again after {:.2f}s", restart(a));
      break;
    case Action::Kind::exec:
      what += ": " + exec(a);
      break;
    case Action::Kind::add_toxic:
    case Action::Kind::update_toxic:
    case Action::Kind::remove_toxic:
    case Action::Kind::disable_proxy:
    case Action::Kind::enable_proxy:
      proxy_action(a);
      break;
  }
  return what;
}

void TimelineActions::proxy_action(const Action& a) {
  ProxyServer* proxy = sys_.proxy();
  if (!proxy) throw RunError(fmt::format("\"{}\": the run has no proxy", a.describe()));
  Fetched f;
  const std::string base = "/proxies/" + a.proxy;
  switch (a.kind) {
    case Action::Kind::add_toxic:
      f = proxy->api("POST", base + "/toxics", a.body.dump());
      break;
    case Action::Kind::update_toxic:
      f = proxy->api("POST", base + "/toxics/" + a.toxic, a.body.dump());
      break;
    case Action::Kind::remove_toxic:
      f = proxy->api("DELETE", base + "/toxics/" + a.toxic);
      break;
    case Action::Kind::disable_proxy:
      f = proxy->api("POST", base, R"({"enabled": false})");
      break;
    case Action::Kind::enable_proxy:
      f = proxy->api("POST", base, R"({"enabled": true})");
      break;
    case Action::Kind::signal:
    case Action::Kind::restart:
    case Action::Kind::exec:
      throw RunError(fmt::format("\"{}\" is not a proxy action", a.describe()));
  }
  if (!f.ok) throw RunError(fmt::format("proxy: \"{}\" failed: {}", a.describe(), f.error));
}

void TimelineActions::signal(const Action& a) {
  sys_.signal(*a.component, a.signal);
  const std::string key = a.component->key();
  if (a.signal == SIGCONT)
    expected_down_.erase(key);
  else if (signal_takes_down(a.signal))
    expected_down_.insert(key);
}

double TimelineActions::restart(const Action& a) {
  const auto t = Clock::now();
  const std::string key = a.component->key();
  expected_down_.insert(key);  // while it is down
  sys_.restart(*a.component, should_stop_);
  expected_down_.erase(key);
  const double took = std::chrono::duration<double>(Clock::now() - t).count();
  spdlog::info("run: restarted {} in {:.2f}s", key, took);
  return took;
}

// Runs the command to completion (or its timeout); its output goes to logs/exec-N.log and the
// first line of it into the timeline record.
std::string TimelineActions::exec(const Action& a) {
  const std::size_t n = ++execs_;
  const std::string name = fmt::format("exec-{}", n);
  const std::string log = (fs::path(out_dir_) / "logs" / (name + ".log")).string();
  ProcessLaunch launch;
  launch.name = name;
  launch.command = a.command;
  launch.cwd = out_dir_;
  launch.log_file = log;
  ManagedProcess p(std::move(launch));
  try {
    p.start();
  } catch (const std::exception& e) {
    throw RunError(fmt::format("\"{}\": cannot start: {}", a.describe(), e.what()));
  }
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(std::llround(a.timeout_seconds * 1000));
  while (p.running() && Clock::now() < deadline) {
    if (should_stop_()) {
      p.stop(SIGKILL, 0ms);
      throw Interrupted{};
    }
    std::this_thread::sleep_for(20ms);
  }
  std::string output;
  {
    std::ifstream in(log);
    std::getline(in, output);
    if (output.size() > 200) output = output.substr(0, 200) + "...";
  }
  if (p.running()) {
    p.stop(SIGKILL, 0ms);
    const std::string what =
        fmt::format("timed out after {:.1f}s (see {})", a.timeout_seconds, log);
    if (!a.allow_failure) throw RunError(fmt::format("\"{}\" {}", a.describe(), what));
    return what;
  }
  const int status = p.exit_status().value_or(-1);
  std::string what = fmt::format("exit status {}", status);
  if (!output.empty()) what += fmt::format(", output \"{}\"", output);
  if (status != 0 && !a.allow_failure)
    throw RunError(fmt::format("\"{}\" failed: {} (see {}; \"allow_failure\": true accepts it)",
                               a.describe(), what, log));
  return what;
}

}  // namespace faultline::runner
