// See group_keeper.hpp.
#include "common/group_keeper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace faultline::group_keeper {

namespace {

std::mutex g_mutex;
int g_fd = -1;  // our end of the socket (close-on-exec: children never hold it)

[[noreturn]] void keeper_main(int fd) {
  // Only async-signal-safe calls: the parent may have had threads when it forked.
  ::setpgid(0, 0);  // not in the parent's group: a signal to that group does not end the keeper
  const int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);  // a reader of the parent's stdout sees EOF when it dies
    ::dup2(devnull, STDERR_FILENO);
  }
  if (fd != 3) {
    ::dup2(fd, 3);
    fd = 3;
  }
  // Nothing the parent had open stays open here (a listening socket would keep its port bound).
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);  // SIGKILL and SIGSTOP still apply
  constexpr int kMax = 8192;
  static pid_t groups[kMax];
  int n = 0;
  for (;;) {
    pid_t v = 0;
    const ssize_t r = ::read(fd, &v, sizeof v);
    if (r < 0 && errno == EINTR) continue;
    if (r != static_cast<ssize_t>(sizeof v)) break;  // EOF: the parent is gone
    if (v > 0) {
      if (n < kMax) groups[n++] = v;
    } else {
      for (int i = 0; i < n; ++i)
        if (groups[i] == -v) {
          groups[i] = groups[--n];
          break;
        }
    }
  }
  for (int i = 0; i < n; ++i) {
    ::kill(-groups[i], SIGCONT);  // a stopped process cannot die of anything but SIGKILL anyway
    ::kill(-groups[i], SIGKILL);
  }
  ::_exit(0);
}

void send(pid_t v) {
  std::lock_guard lock(g_mutex);
  if (g_fd < 0) return;
  // MSG_NOSIGNAL: a keeper that died must not take the parent down with SIGPIPE; MSG_DONTWAIT:
  // a keeper that does not read must not stop the parent.
  if (::send(g_fd, &v, sizeof v, MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(sizeof v)) {
    ::close(g_fd);
    g_fd = -1;
  }
}

}  // namespace

std::string start() {
  std::lock_guard lock(g_mutex);
  if (g_fd >= 0) return "";
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return std::string("socketpair: ") + std::strerror(errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string why = std::string("fork: ") + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return why;
  }
  if (pid == 0) {
    ::close(sv[0]);
    keeper_main(sv[1]);
  }
  ::close(sv[1]);
  g_fd = sv[0];
  return "";
}

bool started() {
  std::lock_guard lock(g_mutex);
  return g_fd >= 0;
}

void watch(pid_t pgid) {
  if (pgid > 0) send(pgid);
}

void forget(pid_t pgid) {
  if (pgid > 0) send(-pgid);
}

}  // namespace faultline::group_keeper
