#include "common/subprocess.hpp"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "common/group_keeper.hpp"

namespace faultline {

namespace {
using Clock = std::chrono::steady_clock;
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  p += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string candidate = p.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

unsigned short free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::system_error(errno, std::generic_category(), "bind");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

// Messages from the child between fork and exec: only write(2) and hand-made formatting, no
// strerror or allocation (neither is async-signal-safe).
void child_write(const char* s) {
  std::size_t n = 0;
  while (s[n] != '\0')
    ++n;
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

const char* child_errno_text(int err) {
  switch (err) {
    case ENOENT:
      return "no such file or directory";
    case EACCES:
      return "permission denied";
    case ENOTDIR:
      return "not a directory";
    case ENOEXEC:
      return "exec format error";
    case E2BIG:
      return "argument list too long";
    case ENOMEM:
      return "out of memory";
    case ELOOP:
      return "too many symbolic links";
    default:
      return nullptr;
  }
}

[[noreturn]] void child_fail(const char* what, const char* arg, int err) {
  child_write("faultline: cannot ");
  child_write(what);
  child_write(" ");
  child_write(arg);
  child_write(": ");
  if (const char* text = child_errno_text(err)) {
    child_write(text);
  } else {
    char digits[16];
    char* p = digits + sizeof digits;
    *--p = '\0';
    unsigned v = err < 0 ? 0U : static_cast<unsigned>(err);
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && p > digits);
    child_write("errno ");
    child_write(p);
  }
  child_write("\n");
  ::_exit(127);
}

int open_append(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  return fd;
}

// Closes the descriptors it holds unless released: the parent's side of a spawn that throws.
struct Fds {
  int out_read = -1, out_write = -1, err = -1;
  ~Fds() {
    for (int fd : {out_read, out_write, err})
      if (fd >= 0) ::close(fd);
  }
};

struct Spawned {
  pid_t pid = -1;
  int stdout_read = -1;  // -1 unless stdout was piped
};

Spawned spawn(const std::vector<std::string>& argv, const SubprocessOptions& options,
              bool pipe_stdout) {
  if (argv.empty()) throw std::invalid_argument("Subprocess: empty argv");
  auto program = find_program(argv[0]);
  if (!program)
    throw std::system_error(ENOENT, std::generic_category(), "cannot find program " + argv[0]);
  Fds fds;
  if (!options.stdout_file.empty()) {
    fds.out_write = open_append(options.stdout_file);
  } else if (pipe_stdout) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    fds.out_read = pipefd[0];
    fds.out_write = pipefd[1];
  }
  if (!options.stderr_file.empty()) {
    fds.err = options.stderr_file == options.stdout_file
                  ? ::fcntl(fds.out_write, F_DUPFD_CLOEXEC, 0)
                  : open_append(options.stderr_file);
    if (fds.err < 0) throw std::system_error(errno, std::generic_category(), "dup");
  }
  // Everything the child needs is built here: after fork it may not allocate.
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> env_ptrs;
  char** envp = environ;
  if (!options.env.empty()) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      auto eq = entry.find('=');
      if (options.env.count(std::string(entry.substr(0, eq))) == 0) env_strings.emplace_back(entry);
    }
    for (const auto& [key, value] : options.env)
      env_strings.push_back(key + "=" + value);
    for (auto& e : env_strings)
      env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
    envp = env_ptrs.data();
  }
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (fds.out_write >= 0) ::dup2(fds.out_write, STDOUT_FILENO);
    if (fds.err >= 0) ::dup2(fds.err, STDERR_FILENO);
    ::setpgid(0, 0);  // own process group: Ctrl-C on the terminal reaches only the parent
    // A blocked mask survives exec: the parent blocks SIGINT/SIGTERM (StopSignals), and a child
    // that kept the block could not be stopped with them. An ignored SIGPIPE survives exec too
    // (the proxy ignores it for splice); programs expect the default.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    if (options.gid) {
      if (::setgroups(options.groups.size(), options.groups.data()) != 0)
        child_fail("setgroups for", program->c_str(), errno);
      if (::setgid(*options.gid) != 0) child_fail("setgid for", program->c_str(), errno);
    }
    if (options.uid && ::setuid(*options.uid) != 0)
      child_fail("setuid for", program->c_str(), errno);
    if (cwd != nullptr && ::chdir(cwd) != 0) child_fail("chdir to", cwd, errno);
    ::execve(program->c_str(), args.data(), envp);
    child_fail("exec", program->c_str(), errno);
  }
  // Also from the parent, so a group signal sent right after this returns cannot miss a child
  // that has not run its own setpgid yet (EACCES once it has exec'd: harmless).
  ::setpgid(pid, pid);
  group_keeper::watch(pid);  // its group ends with this process, however this process ends
  return {pid, std::exchange(fds.out_read, -1)};
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::string& stderr_file) {
  SubprocessOptions options;
  options.stderr_file = stderr_file;
  auto child = spawn(argv, options, true);
  pid_ = child.pid;
  stdout_fd_ = child.stdout_read;
}

Subprocess::Subprocess(const std::vector<std::string>& argv, const SubprocessOptions& options) {
  auto child = spawn(argv, options, true);
  pid_ = child.pid;
  stdout_fd_ = child.stdout_read;
}

pid_t spawn_process(const std::vector<std::string>& argv, const SubprocessOptions& options) {
  return spawn(argv, options, false).pid;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && status_ < 0) {
    // The child leads its own process group: kill the group, so that what it started (nginx's
    // workers, a shell's background jobs) does not outlive it (found: orphaned nginx workers).
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(5000));
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

Subprocess::Subprocess(Subprocess&& o) noexcept {
  *this = std::move(o);
}

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::milliseconds(5000));
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    pid_ = std::exchange(o.pid_, -1);
    stdout_fd_ = std::exchange(o.stdout_fd_, -1);
    status_ = std::exchange(o.status_, -1);
    output_ = std::move(o.output_);
    consumed_ = o.consumed_;
  }
  return *this;
}

bool Subprocess::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode_wait_status(st);
    group_reaped(pid_);
    return false;
  }
  return true;
}

bool Subprocess::read_some(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0) return false;
  pollfd p{stdout_fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, timeout.count())));
  if (r <= 0) return false;
  char buf[4096];
  ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
  if (n <= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
    return false;
  }
  output_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> Subprocess::wait_for_line(const std::string& needle,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t nl;
    while ((nl = output_.find('\n', consumed_)) != std::string::npos) {
      std::string line = output_.substr(consumed_, nl - consumed_);
      consumed_ = nl + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0) return std::nullopt;
    read_some(left);
  }
}

void Subprocess::read_all(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (stdout_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    read_some(left);
  }
}

void group_reaped(pid_t pgid) {
  // Forgotten only once nothing is left in it (a shell's background job may outlive the shell).
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) group_keeper::forget(pgid);
}

int decode_wait_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

void signal_group(pid_t pid, int sig) {
  // The child leads a process group of its own (spawned so): the group gets the signal, so a
  // `sh -c` wrapper's program and a server's workers get it too. Should the group be gone while
  // the leader is not yet reaped, the leader alone.
  if (pid <= 0) return;
  if (::kill(-pid, sig) != 0) ::kill(pid, sig);
}

void Subprocess::signal(int sig) {
  if (pid_ > 0 && status_ < 0) signal_group(pid_, sig);
}

int Subprocess::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (status_ >= 0) return status_;
  signal_group(pid_, SIGTERM);
  int st = wait(grace);
  if (st < 0) {
    ::kill(-pid_, SIGKILL);  // its group, as the destructor does
    ::kill(pid_, SIGKILL);
    st = wait(std::chrono::milliseconds(5000));
  }
  return st;
}

int Subprocess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  if (status_ >= 0) return status_;
  const bool forever = timeout == std::chrono::milliseconds::max();
  const auto deadline = forever ? Clock::time_point::max() : Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, forever ? 0 : WNOHANG);
    if (r == pid_) {
      status_ = decode_wait_status(st);
      group_reaped(pid_);
      return status_;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (!forever && Clock::now() >= deadline) return -1;
    if (!forever) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace faultline
