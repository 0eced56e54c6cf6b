#include "common/subprocess.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <thread>
#include <utility>

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

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::string& stderr_file) {
  if (argv.empty()) throw std::invalid_argument("Subprocess: empty argv");
  auto program = find_program(argv[0]);
  if (!program)
    throw std::system_error(ENOENT, std::generic_category(), "cannot find program " + argv[0]);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  int err_fd = -1;
  if (!stderr_file.empty()) {
    err_fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0) {
      ::close(pipefd[0]);
      ::close(pipefd[1]);
      throw std::system_error(errno, std::generic_category(), "open " + stderr_file);
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(pipefd[1], STDOUT_FILENO);
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    ::setpgid(0, 0);  // own process group: Ctrl-C on the terminal reaches only the parent
    // A blocked mask survives exec: the parent blocks SIGINT/SIGTERM (StopSignals), and a child
    // that kept the block could not be stopped with them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(program->c_str(), args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  if (err_fd >= 0) ::close(err_fd);
  pid_ = pid;
  stdout_fd_ = pipefd[0];
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && status_ < 0) {
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
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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

void Subprocess::signal(int sig) {
  if (pid_ > 0 && status_ < 0) ::kill(pid_, sig);
}

int Subprocess::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (status_ >= 0) return status_;
  ::kill(pid_, SIGTERM);
  int st = wait(grace);
  if (st < 0) {
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
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (!forever && Clock::now() >= deadline) return -1;
    if (!forever) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace faultline
