// Child processes for the scenario runner and for tests: start a program with a piped stdout, wait
// for a readiness line ("listening on 127.0.0.1:41233"), signal it, reap it. Children get
// PR_SET_PDEATHSIG(SIGKILL) so nothing outlives a crashed or killed parent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

// How to start a child beyond its argv. Files are opened O_APPEND|O_CREAT (their directories must
// exist); the same path for stdout and stderr shares one descriptor, so lines keep their order.
struct SubprocessOptions {
  std::string stdout_file;  // "" = piped to the Subprocess (spawn_process: inherited)
  std::string stderr_file;  // "" = inherited
  std::map<std::string, std::string> env;  // set on top of this process's environment
  std::string cwd;                         // "" = this process's working directory
  // Run as this user and group (the parent must be root): supplementary groups set to `groups`,
  // then the gid, then the uid, in the child before exec.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;
};

class Subprocess {
 public:
  Subprocess() = default;
  // Starts argv[0] (looked up in PATH when it has no '/'). stdout is piped to this object; stderr
  // goes to `stderr_file` when given (appended), else it is inherited. Throws std::system_error.
  Subprocess(const std::vector<std::string>& argv, const std::string& stderr_file = "");
  // As above, with files, environment and working directory from `options`. A chdir or exec that
  // fails in the child is reported on its stderr (or stdout file) and ends it with status 127.
  Subprocess(const std::vector<std::string>& argv, const SubprocessOptions& options);
  ~Subprocess();  // SIGKILLs (its process group too) and reaps a child that is still running
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running();

  // Reads stdout lines until one contains `needle`; returns that line, or nullopt on timeout / EOF.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);
  // Everything read from stdout so far (including lines wait_for_line consumed).
  const std::string& output() const noexcept { return output_; }
  // Reads the rest of stdout until EOF or timeout (for short-lived commands).
  void read_all(std::chrono::milliseconds timeout);

  // Sends `sig` to its process group (signal_group).
  void signal(int sig);
  // Sends SIGTERM to its process group, waits up to `grace`, then SIGKILL. Returns the exit status
  // as from wait().
  int terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Waits for exit; returns exit code, or 128+signal when killed by a signal; -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

 private:
  bool read_some(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int status_ = -1;
  std::string output_;
  std::size_t consumed_ = 0;
};

// Starts a child as Subprocess does (own process group, PR_SET_PDEATHSIG, empty signal mask) and
// hands it to the caller, who signals and reaps it: for owners that need waitid(WNOWAIT) or group
// signals. stdout_file "" means inherited here. Throws std::system_error.
pid_t spawn_process(const std::vector<std::string>& argv, const SubprocessOptions& options);

// The one rule for a child's end: its exit code, or 128 + the signal that killed it (as shells
// report it); -1 for a status that is neither (stopped, continued).
int decode_wait_status(int wait_status);
// A child that led process group `pgid` was reaped: the group keeper (group_keeper.hpp) stops
// watching the group once nothing is left in it.
void group_reaped(pid_t pgid);
// The one rule for signalling a child: its whole process group (every child of ours leads one),
// or the child alone when the group is gone.
void signal_group(pid_t pid, int sig);

// Path of a program in PATH, or nullopt.
std::optional<std::string> find_program(const std::string& name);

// A free TCP port on 127.0.0.1 (bind to 0, read it back, close). Racy by nature; prefer port 0 on
// the server itself, and use this only for programs that cannot report their bound port (Redis).
unsigned short free_loopback_port();

}  // namespace faultline
