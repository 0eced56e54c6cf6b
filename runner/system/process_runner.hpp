// A process the scenario names in services.processes (the user's own service, nginx, a database):
// started with its argv, environment and working directory, stdout+stderr appended to its log
// file, in its own process group (signals go to the whole group, so `sh -c` wrappers and nginx's
// workers are reached too), checked for readiness (an HTTP GET that answers, a TCP connect, or a
// line of its log matching a regex), stopped with a chosen signal and a grace period before
// SIGKILL, and sampled for RSS and open fds from /proc. Never throws for expected events (the
// program exits, a probe fails): those are return values; a program that cannot be started at all
// (not found, fork failed) is std::system_error from start().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline::runner {

struct ProcessLaunch {
  std::string name;                        // for messages
  std::vector<std::string> command;        // argv; argv[0] is looked up in PATH when it has no '/'
  std::map<std::string, std::string> env;  // set on top of the runner's own environment
  std::string cwd;                         // "" = the runner's working directory
  std::string log_file;                    // stdout and stderr are appended here
  std::optional<std::uint32_t> uid, gid;   // run as (the runner must be root)
  std::vector<std::uint32_t> groups;       // supplementary groups with `gid`
};

struct ReadyCheck {
  enum class Kind { none, http, tcp, log };
  Kind kind = Kind::none;
  std::string value;  // http: URL "http://HOST:PORT/PATH"; tcp: "HOST:PORT"; log: a regex (RE2
                      // syntax, common/safe_regex.hpp)
  std::chrono::milliseconds timeout{30000};
};

class ManagedProcess {
 public:
  explicit ManagedProcess(ProcessLaunch launch);
  ~ManagedProcess();  // SIGKILLs the group and reaps a child that is still running
  ManagedProcess(const ManagedProcess&) = delete;
  ManagedProcess& operator=(const ManagedProcess&) = delete;

  const ProcessLaunch& launch() const noexcept;

  // Spawns the program (again, after it exited or was stopped: restart = stop + start). Throws
  // std::system_error when it cannot be started (program not found, fork/exec failure, log file
  // not writable).
  void start();
  // Waits until `check` passes. Returns "" when ready, else a one-line reason, e.g.
  // "exited with status 1 before it was ready (see /out/logs/api.log)" or
  // "not ready within 30s (http://127.0.0.1:8080/healthz: connection refused)". Polls
  // `should_stop` about every 50 ms and throws Interrupted (run_error.hpp) once it is true. An http
  // check passes on any HTTP response with status < 500; tcp on a completed connect; log when a
  // line written to the log file since start() matches the regex.
  std::string wait_ready(const ReadyCheck& check, const std::function<bool()>& should_stop);

  bool running();
  // The exit status once it exited: the code, or 128+signal when a signal killed it.
  std::optional<int> exit_status();
  pid_t pid() const noexcept;

  // Sends `sig` to the process group (no-op when it is not running).
  void signal(int sig);
  // Sends SIGCONT (a stopped process cannot act on anything else), then `sig`, waits up to
  // `grace`, then SIGKILLs the group. Returns the exit status (as exit_status()); -1 when it was
  // not running.
  int stop(int sig, std::chrono::milliseconds grace);

  // From /proc/PID (the group leader only): resident set size in bytes and open file
  // descriptors; nullopt when not running or unreadable.
  std::optional<double> rss_bytes() const;
  std::optional<double> open_fds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// From /proc/PID: resident set size in bytes and open file descriptors of one process; nullopt
// when it does not exist, is a zombie or is unreadable.
std::optional<double> proc_rss_bytes(pid_t pid);
std::optional<double> proc_open_fds(pid_t pid);

// Signal names as in kill(1) without "SIG" ("TERM", "KILL", "STOP", "CONT", "HUP", "INT", "QUIT",
// "USR1", "USR2"; "SIGTERM" and numbers are accepted too): the number, or nullopt.
std::optional<int> parse_signal(const std::string& name);

// Whether a process that got `sig` is down on purpose (stopped or expected to end) rather than
// merely notified: everything but CONT, HUP, USR1, USR2. The scenario parser marks the phase a
// fault and the runner accepts the process's exit by this one rule.
bool signal_takes_down(int sig);

}  // namespace faultline::runner
