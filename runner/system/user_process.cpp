// UserProcess (components.hpp): a program of services.processes, supervised by ManagedProcess
// (process_runner.hpp): its files written under ${out}/NAME, its ready check, its own stop signal
// and grace period.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runner/system/components.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

}  // namespace

UserProcess::UserProcess(const ProcessSpec& spec, std::string out_dir, const std::string& log_dir)
    : Component(
          ComponentId::process(spec.name),
          (fs::path(log_dir) / (ComponentId::process(spec.name).log_name() + ".log")).string()),
      spec_(&spec),
      out_dir_(std::move(out_dir)),
      stop_signal_(spec.stop_signal),
      stop_grace_seconds_(spec.stop_grace_seconds) {}

void UserProcess::start() {
  const fs::path dir = fs::path(out_dir_) / spec_->name;
  if (!mp_) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    for (const auto& [rel, text] : spec_->files) {
      const fs::path f = dir / rel;
      fs::create_directories(f.parent_path(), ec);
      std::ofstream out(f, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out) throw RunError(fmt::format("process {}: cannot write {}", spec_->name, f.string()));
    }
    for (const auto& [rel, src] : spec_->copies) {
      const fs::path f = dir / rel;
      fs::create_directories(f.parent_path(), ec);
      fs::copy_file(src, f, fs::copy_options::overwrite_existing, ec);
      if (ec)
        throw RunError(fmt::format("process {}: cannot copy {} to {}: {}", spec_->name, src,
                                   f.string(), ec.message()));
    }
    // Another account's process gets its directory (and what was written there) as its own.
    if (spec_->uid || spec_->gid) {
      const uid_t uid = spec_->uid ? static_cast<uid_t>(*spec_->uid) : static_cast<uid_t>(-1);
      const gid_t gid = spec_->gid ? static_cast<gid_t>(*spec_->gid) : static_cast<gid_t>(-1);
      auto own = [&](const fs::path& f) {
        if (::lchown(f.c_str(), uid, gid) != 0)
          throw RunError(fmt::format("process {}: cannot give {} to {}: {}", spec_->name,
                                     f.string(), spec_->user.empty() ? spec_->group : spec_->user,
                                     std::strerror(errno)));
      };
      own(dir);
      for (const auto& e : fs::recursive_directory_iterator(dir, ec))
        own(e.path());
    }
    ProcessLaunch launch;
    launch.name = spec_->name;
    launch.command = spec_->command;
    launch.env = spec_->env;
    launch.uid = spec_->uid;
    launch.gid = spec_->gid;
    launch.groups = spec_->groups;
    if (spec_->uid) {  // what programs that look their user up in the environment expect
      launch.env.try_emplace("USER", spec_->user);
      launch.env.try_emplace("LOGNAME", spec_->user);
      if (!spec_->home.empty()) launch.env.try_emplace("HOME", spec_->home);
    }
    launch.cwd = spec_->cwd.empty() ? dir.string() : spec_->cwd;
    launch.log_file = log_file();
    mp_ = std::make_unique<ManagedProcess>(std::move(launch));
  }
  try {
    mp_->start();
  } catch (const std::exception& e) {
    throw RunError(
        fmt::format("process {}: cannot start {}: {}", spec_->name, spec_->command[0], e.what()));
  }
}

void UserProcess::ready(const StopCheck& should_stop) {
  const std::string why = mp_->wait_ready(spec_->ready, should_stop);
  if (!why.empty()) throw RunError(fmt::format("process {}: {}", spec_->name, why));
}

void UserProcess::signal(int sig) {
  if (mp_) mp_->signal(sig);
}

void UserProcess::stop() {
  if (!mp_ || !mp_->running()) return;
  const int status = mp_->stop(stop_signal_, ms(stop_grace_seconds_));
  spdlog::info("run: process {} stopped (status {})", spec_->name, status);
}

Resources UserProcess::resources() const {
  if (!mp_) return {};
  return {mp_->rss_bytes(), mp_->open_fds()};
}

std::optional<MetricsEndpoint> UserProcess::metrics() const {
  if (spec_->metrics.empty()) return std::nullopt;
  return MetricsEndpoint{spec_->metrics_address, spec_->metrics_path, "", nullptr};
}

}  // namespace faultline::runner
