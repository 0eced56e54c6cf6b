// ManagedProcess: services.processes at run time. The child is spawned with spawn_process (its own
// process group, stdout+stderr appended to the log file) and reaped here: exits are first seen
// with waitid(WNOWAIT), so the zombie leader still holds the group id while the rest of the group
// is SIGKILLed, and a group signal can never reach an unrelated group that reused the number.
#include "runner/system/process_runner.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "common/config.hpp"
#include "common/http_client.hpp"
#include "common/safe_regex.hpp"
#include "common/subprocess.hpp"
#include "common/url.hpp"
#include "runner/system/run_error.hpp"

namespace faultline::runner {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{50};
constexpr milliseconds kProbeTimeout{1000};

// Error messages read as part of a sentence: "connection refused", not "Connection refused".
std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string errno_text(int err) {
  return lower_first(std::system_category().message(err));
}

// One attempt of a ready check: "" when it passed, else why not.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual std::string attempt(milliseconds timeout) = 0;
};

class HttpProbe : public Probe {
 public:
  explicit HttpProbe(std::string url) : url_(std::move(url)) {
    // The scenario validated the URL with the same parser (common/url.hpp).
    auto u = parse_url(url_, error_);
    if (u && u->tls) error_ = "only http:// URLs can be checked";
    if (u && !u->tls) {
      server_ = u->host_port();
      target_ = u->target;
    }
  }

  std::string attempt(milliseconds timeout) override {
    if (!error_.empty()) return url_ + ": " + error_;
    HttpClientRequest req;
    req.target = target_;
    req.timeout = timeout;
    auto [ec, resp] = http_fetch_sync(server_, std::move(req));
    if (ec) return url_ + ": " + lower_first(ec.message());
    if (resp.status >= 500) return url_ + ": HTTP " + std::to_string(resp.status);
    return "";
  }

 private:
  std::string url_;
  std::string target_ = "/";
  HostPort server_;
  std::string error_;
};

class TcpProbe : public Probe {
 public:
  explicit TcpProbe(std::string address) : address_(std::move(address)) {
    auto hp = parse_host_port(address_);
    if (!hp || hp->port == 0) {
      error_ = "invalid HOST:PORT";
    } else {
      server_ = *hp;
    }
  }

  std::string attempt(milliseconds timeout) override {
    if (!error_.empty()) return address_ + ": " + error_;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string port = std::to_string(server_.port);
    int gai = ::getaddrinfo(server_.host.c_str(), port.c_str(), &hints, &found);
    if (gai != 0) return address_ + ": cannot resolve: " + lower_first(::gai_strerror(gai));
    std::string last = "no address";
    const auto deadline = Clock::now() + timeout;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      last = connect_one(*ai, deadline);
      if (last.empty()) break;
    }
    ::freeaddrinfo(found);
    return last.empty() ? "" : address_ + ": " + last;
  }

 private:
  static std::string connect_one(const addrinfo& ai, Clock::time_point deadline) {
    int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
    if (fd < 0) return errno_text(errno);
    int err = 0;
    if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLOUT, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(1, left.count())));
        if (r <= 0) {
          err = r == 0 ? ETIMEDOUT : errno;
        } else {
          socklen_t len = sizeof err;
          if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
      }
    }
    ::close(fd);
    return err == 0 ? "" : errno_text(err);
  }

  std::string address_;
  HostPort server_;
  std::string error_;
};

// Reads the log file from where it ended at start() and matches each complete new line.
class LogProbe : public Probe {
  static constexpr std::uintmax_t kReadSlice = 4 << 20;
  static constexpr std::size_t kMaxLine = 8192;

 public:
  LogProbe(const std::string& pattern, std::string path, std::uintmax_t offset)
      : path_(std::move(path)), offset_(offset) {
    std::string why;
    regex_ = SafeRegex::compile(pattern, why);
    if (!regex_) error_ = "invalid regex /" + pattern + "/: " + why;
    waiting_ = "no new line of " + path_ + " matches /" + pattern + "/";
  }

  std::string attempt(milliseconds) override {
    if (!error_.empty()) return error_;
    if (path_.empty()) return "the process has no log file";
    std::ifstream in(path_, std::ios::binary);
    if (!in) return "cannot read " + path_;
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::uintmax_t>(in.tellg());
    if (size < offset_) {  // truncated or replaced since: read it again from the start
      offset_ = 0;
      partial_.clear();
    }
    in.seekg(static_cast<std::streamoff>(offset_));
    // A chatty program may have written megabytes since the last poll: read them in slices.
    std::string chunk(
        static_cast<std::size_t>(std::min<std::uintmax_t>(size - offset_, kReadSlice)), '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<std::size_t>(in.gcount()));
    offset_ += chunk.size();
    partial_ += chunk;
    std::size_t begin = 0, nl;
    bool matched = false;
    while (!matched && (nl = partial_.find('\n', begin)) != std::string::npos) {
      std::string_view line(partial_.data() + begin, nl - begin);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      // A ready line is short: a megabyte line is cut (RE2 is linear, but needs no more).
      if (line.size() > kMaxLine) line = line.substr(0, kMaxLine);
      matched = regex_->search(line);
      begin = nl + 1;
    }
    partial_.erase(0, begin);
    if (partial_.size() > kMaxLine) partial_.resize(kMaxLine);  // the rest cannot matter
    return matched ? "" : waiting_;
  }

 private:
  std::string path_;
  std::uintmax_t offset_;
  std::string partial_;             // an incomplete last line, completed by a later read
  std::optional<SafeRegex> regex_;  // linear time: a user's pattern cannot stall the runner
  std::string error_;
  std::string waiting_;
};

class RunningProbe : public Probe {
 public:
  std::string attempt(milliseconds) override { return ""; }
};

}  // namespace

struct ManagedProcess::Impl {
  ProcessLaunch launch;
  // Atomics: rss_bytes()/open_fds() may be sampled from another thread than the one that starts
  // and stops the process.
  std::atomic<pid_t> pid{-1};      // the last started child; kept after it exits, for pid()
  std::atomic<bool> reaped{true};  // false from start() until waitpid collected it
  std::optional<int> status;
  std::uintmax_t log_offset = 0;

  // Collects the leader once it exited (blocking or not); true when it is gone. Whatever is left
  // of its group is SIGKILLed first, while the zombie still holds the group id.
  bool collect(bool block) noexcept {
    const pid_t p = pid.load();
    if (p <= 0 || reaped.load()) return true;
    siginfo_t info{};
    int r;
    do {
      r = ::waitid(P_PID, static_cast<id_t>(p), &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {  // ECHILD: reaped elsewhere (SIGCHLD ignored); the status is lost
      status = -1;
      reaped = true;
      return true;
    }
    if (info.si_pid != p) return false;
    ::kill(-p, SIGKILL);
    int st = 0;
    while (::waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    status = decode_wait_status(st);
    group_reaped(p);
    reaped = true;
    return true;
  }

  bool alive() const noexcept { return pid.load() > 0 && !reaped.load(); }
};

ManagedProcess::ManagedProcess(ProcessLaunch launch) : impl_(std::make_unique<Impl>()) {
  impl_->launch = std::move(launch);
}

ManagedProcess::~ManagedProcess() {
  if (impl_ && impl_->alive()) {
    ::kill(-impl_->pid.load(), SIGKILL);
    impl_->collect(true);
  }
}

const ProcessLaunch& ManagedProcess::launch() const noexcept {
  return impl_->launch;
}

void ManagedProcess::start() {
  auto& d = *impl_;
  if (running()) throw std::logic_error("process " + d.launch.name + " is already running");
  const std::string& log = d.launch.log_file;
  d.log_offset = 0;
  if (!log.empty()) {
    std::error_code ec;
    auto dir = std::filesystem::path(log).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) throw std::system_error(ec, "create directory " + dir.string());
    auto size = std::filesystem::file_size(log, ec);
    if (!ec) d.log_offset = size;
  }
  SubprocessOptions options;
  options.stdout_file = log;
  options.stderr_file = log;
  options.env = d.launch.env;
  options.cwd = d.launch.cwd;
  if (d.launch.uid) options.uid = static_cast<uid_t>(*d.launch.uid);
  if (d.launch.gid) options.gid = static_cast<gid_t>(*d.launch.gid);
  options.groups.assign(d.launch.groups.begin(), d.launch.groups.end());
  pid_t p = spawn_process(d.launch.command, options);
  d.status.reset();
  d.pid = p;
  d.reaped = false;
}

std::string ManagedProcess::wait_ready(const ReadyCheck& check,
                                       const std::function<bool()>& should_stop) {
  auto& d = *impl_;
  if (d.pid.load() <= 0) return "not started";
  std::unique_ptr<Probe> probe;
  switch (check.kind) {
    case ReadyCheck::Kind::none:
      probe = std::make_unique<RunningProbe>();
      break;
    case ReadyCheck::Kind::http:
      probe = std::make_unique<HttpProbe>(check.value);
      break;
    case ReadyCheck::Kind::tcp:
      probe = std::make_unique<TcpProbe>(check.value);
      break;
    case ReadyCheck::Kind::log:
      probe = std::make_unique<LogProbe>(check.value, d.launch.log_file, d.log_offset);
      break;
  }
  const auto deadline = Clock::now() + check.timeout;
  for (;;) {
    if (!running()) {
      std::string msg =
          "exited with status " + std::to_string(d.status.value_or(-1)) + " before it was ready";
      if (!d.launch.log_file.empty()) msg += " (see " + d.launch.log_file + ")";
      return msg;
    }
    if (should_stop && should_stop()) throw Interrupted{};
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    std::string error = probe->attempt(std::clamp(left, kPollInterval, kProbeTimeout));
    if (error.empty()) return "";
    if (Clock::now() >= deadline)
      return "not ready within " + format_duration(check.timeout) + " (" + error + ")";
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool ManagedProcess::running() {
  return !impl_->collect(false);
}

std::optional<int> ManagedProcess::exit_status() {
  if (impl_->pid.load() <= 0 || running()) return std::nullopt;
  return impl_->status;
}

pid_t ManagedProcess::pid() const noexcept {
  return impl_->pid.load();
}

void ManagedProcess::signal(int sig) {
  // An exited but uncollected leader still holds the group id, so this cannot hit another group.
  if (impl_->alive()) ::kill(-impl_->pid.load(), sig);
}

int ManagedProcess::stop(int sig, std::chrono::milliseconds grace) {
  auto& d = *impl_;
  if (!running()) return -1;
  const pid_t group = -d.pid.load();
  ::kill(group, SIGCONT);
  ::kill(group, sig);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (d.collect(false)) return d.status.value_or(-1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(group, SIGKILL);
  d.collect(true);
  return d.status.value_or(-1);
}

std::optional<double> proc_rss_bytes(pid_t p) {
  if (p <= 0) return std::nullopt;
  const std::string dir = "/proc/" + std::to_string(p);
  // A zombie (exited, not yet collected) reads as 0 pages: that is "not running", not 0 bytes.
  {
    std::ifstream stat(dir + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return std::nullopt;
    auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) return std::nullopt;
    if (line[paren + 2] == 'Z' || line[paren + 2] == 'X') return std::nullopt;
  }
  std::ifstream statm(dir + "/statm");
  unsigned long long size = 0, resident = 0;
  if (!(statm >> size >> resident)) return std::nullopt;
  long page = ::sysconf(_SC_PAGESIZE);
  return static_cast<double>(resident) * static_cast<double>(page > 0 ? page : 4096);
}

std::optional<double> proc_open_fds(pid_t p) {
  if (p <= 0) return std::nullopt;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(p) + "/fd", ec);
  if (ec) return std::nullopt;
  double n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n;
}

std::optional<double> ManagedProcess::rss_bytes() const {
  if (!impl_->alive()) return std::nullopt;
  return proc_rss_bytes(impl_->pid.load());
}

std::optional<double> ManagedProcess::open_fds() const {
  if (!impl_->alive()) return std::nullopt;
  return proc_open_fds(impl_->pid.load());
}

std::optional<int> parse_signal(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) {
    if (name.size() > 2) return std::nullopt;
    int n = 0;
    for (char c : name) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n >= 1 && n <= 64 ? std::optional(n) : std::nullopt;
  }
  std::string upper;
  for (char c : name)
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  static constexpr std::pair<std::string_view, int> kSignals[] = {
      {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE},
  };
  for (const auto& [n, sig] : kSignals)
    if (upper == n) return sig;
  return std::nullopt;
}

bool signal_takes_down(int sig) {
  return sig != SIGCONT && sig != SIGHUP && sig != SIGUSR1 && sig != SIGUSR2;
}

}  // namespace faultline::runner
