// ManagedProcess with real processes (sh scripts, sleep, python3's http.server): the log file,
// environment and working directory, each ready check and its failure messages, group signals,
// stop with a grace period that ends in SIGKILL for the whole group, /proc samples, parse_signal.
#include "runner/system/process_runner.hpp"
#include "runner/system/run_error.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "common/subprocess.hpp"

namespace faultline::runner {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "faultline-procs-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ProcessLaunch sh(const std::string& script, const fs::path& log) {
  ProcessLaunch l;
  l.name = "test";
  l.command = {"sh", "-c", script};
  l.log_file = log.string();
  return l;
}

std::optional<int> wait_exit(ManagedProcess& p, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (auto st = p.exit_status()) return st;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

// The state letter of /proc/PID/stat ('S', 'T', 'Z', ...), or '\0' when the process is gone.
char proc_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return '\0';
  auto paren = line.rfind(')');
  return paren + 2 < line.size() ? line[paren + 2] : '\0';
}

bool wait_state(pid_t pid, char state, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (proc_state(pid) == state) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Gone, or a zombie nobody reaps yet (an orphan's new parent may be slow to reap, or never in a
// container whose PID 1 does not): either way it no longer runs.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    char s = proc_state(pid);
    if (s == '\0' || s == 'Z' || s == 'X') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

pid_t wait_pid_file(const fs::path& p, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::ifstream in(p);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

const auto never = [] { return false; };

TEST(ManagedProcess, LogFileReceivesStdoutAndStderrAndItsDirectoryIsCreated) {
  TempDir dir;
  auto log = dir.path / "logs" / "deep" / "svc.log";
  ManagedProcess p(sh("echo to-stdout; echo to-stderr >&2", log));
  p.start();
  EXPECT_EQ(wait_exit(p), 0);
  auto text = read_file(log);
  EXPECT_NE(text.find("to-stdout\n"), std::string::npos) << text;
  EXPECT_NE(text.find("to-stderr\n"), std::string::npos) << text;
  p.start();  // appended, not truncated
  EXPECT_EQ(wait_exit(p), 0);
  EXPECT_EQ(read_file(log), text + text);
}

TEST(ManagedProcess, EnvironmentAndWorkingDirectoryApply) {
  TempDir dir;
  auto work = dir.path / "work";
  fs::create_directories(work);
  auto launch = sh("echo \"var=$FL_PROC_VAR\"; echo \"home=$HOME\"; echo \"cwd=$(pwd)\"",
                   dir.path / "svc.log");
  launch.env = {{"FL_PROC_VAR", "hello world"}, {"HOME", "/nonexistent-home"}};
  launch.cwd = work.string();
  ManagedProcess p(launch);
  p.start();
  EXPECT_EQ(wait_exit(p), 0);
  auto text = read_file(dir.path / "svc.log");
  EXPECT_NE(text.find("var=hello world\n"), std::string::npos) << text;
  EXPECT_NE(text.find("home=/nonexistent-home\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cwd=" + fs::canonical(work).string() + "\n"), std::string::npos) << text;
}

TEST(ManagedProcess, MissingWorkingDirectoryIsReportedInTheLogWithStatus127) {
  TempDir dir;
  auto launch = sh("echo never", dir.path / "svc.log");
  launch.cwd = (dir.path / "no-such-dir").string();
  ManagedProcess p(launch);
  p.start();
  ReadyCheck check{ReadyCheck::Kind::tcp, "127.0.0.1:1", 5000ms};
  auto reason = p.wait_ready(check, never);
  EXPECT_EQ(reason, "exited with status 127 before it was ready (see " + launch.log_file + ")");
  auto text = read_file(launch.log_file);
  EXPECT_NE(text.find("cannot chdir to " + launch.cwd), std::string::npos) << text;
}

TEST(ManagedProcess, StartFailuresThrow) {
  TempDir dir;
  ProcessLaunch launch;
  launch.command = {"faultline-no-such-program-xyz"};
  launch.log_file = (dir.path / "svc.log").string();
  ManagedProcess missing(launch);
  EXPECT_THROW(missing.start(), std::system_error);
  EXPECT_FALSE(missing.running());

  ManagedProcess p(sh("sleep 30", dir.path / "svc.log"));
  p.start();
  EXPECT_THROW(p.start(), std::logic_error);
  EXPECT_TRUE(p.running());
}

TEST(ManagedProcess, LogCheckMatchesCompleteLinesWrittenSinceThisStart) {
  TempDir dir;
  auto mark = dir.path / "started-once";
  // Only the first run prints the ready line, in two writes (a line completed by a later read).
  auto script = "if [ -e '" + mark.string() + "' ]; then echo again; else touch '" + mark.string() +
                "'; printf 'server rea'; sleep 0.2; printf 'dy on 8080\\n'; fi; sleep 30";
  ManagedProcess p(sh(script, dir.path / "svc.log"));
  p.start();
  ReadyCheck check{ReadyCheck::Kind::log, "^server ready on \\d+$", 5000ms};
  const auto t0 = Clock::now();
  EXPECT_EQ(p.wait_ready(check, never), "");
  EXPECT_GE(Clock::now() - t0, 150ms);
  EXPECT_EQ(p.stop(SIGTERM, 2000ms), 128 + SIGTERM);

  p.start();  // the old ready line is still in the file, but it is not from this start
  check.timeout = 400ms;
  EXPECT_EQ(p.wait_ready(check, never), "not ready within 400ms (no new line of " +
                                            (dir.path / "svc.log").string() +
                                            " matches /^server ready on \\d+$/)");
  EXPECT_TRUE(p.running());
}

// Issue 22 #6: `^(a+)+$` against a 40-character line kept the runner stuck > 40 s past a 2 s
// ready timeout (std::regex backtracks exponentially). RE2 matches in linear time.
TEST(ManagedProcess, CatastrophicPatternCannotStallTheReadyTimeout) {
  TempDir dir;
  ManagedProcess p(sh("printf '" + std::string(40, 'a') + "!\\n'; sleep 30", dir.path / "svc.log"));
  p.start();
  const auto t0 = Clock::now();
  const auto reason = p.wait_ready({ReadyCheck::Kind::log, "^(a+)+$", 1000ms}, never);
  EXPECT_EQ(reason.rfind("not ready within 1s", 0), 0u) << reason;
  // A bound relative to the timeout, loose for a busy machine: the bug took over 40 s.
  EXPECT_LT(Clock::now() - t0, 10s);
}

TEST(ManagedProcess, InvalidRegexIsAReasonNotAnException) {
  TempDir dir;
  ManagedProcess p(sh("sleep 30", dir.path / "svc.log"));
  p.start();
  auto reason = p.wait_ready({ReadyCheck::Kind::log, "(", 200ms}, never);
  EXPECT_EQ(reason.rfind("not ready within 200ms (invalid regex /(/", 0), 0u) << reason;
}

TEST(ManagedProcess, TcpCheckPassesOnceAListenerAppears) {
  TempDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const auto port = ntohs(addr.sin_port);
  // Bound but not listening: connects are refused until the thread calls listen().
  std::thread later([fd] {
    std::this_thread::sleep_for(300ms);
    ::listen(fd, 16);
  });
  ManagedProcess p(sh("sleep 30", dir.path / "svc.log"));
  p.start();
  const auto t0 = Clock::now();
  EXPECT_EQ(
      p.wait_ready({ReadyCheck::Kind::tcp, "127.0.0.1:" + std::to_string(port), 5000ms}, never),
      "");
  const auto took = Clock::now() - t0;
  later.join();
  ::close(fd);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3000ms);
}

TEST(ManagedProcess, TimeoutNamesTheLastProbeError) {
  TempDir dir;
  const auto port = std::to_string(free_loopback_port());  // nothing listens there
  ManagedProcess p(sh("sleep 30", dir.path / "svc.log"));
  p.start();
  const auto t0 = Clock::now();
  auto url = "http://127.0.0.1:" + port + "/healthz";
  EXPECT_EQ(p.wait_ready({ReadyCheck::Kind::http, url, 300ms}, never),
            "not ready within 300ms (" + url + ": connection refused)");
  EXPECT_LT(Clock::now() - t0, 2000ms);
  EXPECT_EQ(p.wait_ready({ReadyCheck::Kind::tcp, "127.0.0.1:" + port, 1500ms}, never),
            "not ready within 1.5s (127.0.0.1:" + port + ": connection refused)");
}

TEST(ManagedProcess, HttpCheckPassesOnAnyAnswerBelow500) {
  if (!find_program("python3")) GTEST_SKIP() << "python3 is not installed";
  TempDir dir;
  const auto port = std::to_string(free_loopback_port());
  ProcessLaunch launch;
  launch.command = {"python3", "-m", "http.server", port, "--bind", "127.0.0.1"};
  launch.cwd = dir.path.string();
  launch.log_file = (dir.path / "http.log").string();
  ManagedProcess p(launch);
  p.start();
  auto base = "http://127.0.0.1:" + port;
  EXPECT_EQ(p.wait_ready({ReadyCheck::Kind::http, base + "/no-such-file", 10000ms}, never), "")
      << read_file(launch.log_file);
  EXPECT_EQ(p.wait_ready({ReadyCheck::Kind::http, base, 1000ms}, never), "");
  EXPECT_NE(read_file(launch.log_file).find("GET /no-such-file"), std::string::npos);
}

TEST(ManagedProcess, ExitBeforeReadyNamesStatusAndLog) {
  TempDir dir;
  auto log = dir.path / "svc.log";
  ManagedProcess p(sh("echo failing; exit 3", log));
  p.start();
  EXPECT_EQ(p.wait_ready({ReadyCheck::Kind::log, "never", 5000ms}, never),
            "exited with status 3 before it was ready (see " + log.string() + ")");
  EXPECT_EQ(p.exit_status(), 3);
  EXPECT_FALSE(p.running());
  EXPECT_EQ(p.stop(SIGTERM, 100ms), -1);
}

TEST(ManagedProcess, NoneCheckIsReadyWhileRunningAndStopInterrupts) {
  TempDir dir;
  ManagedProcess p(sh("sleep 30", dir.path / "svc.log"));
  EXPECT_EQ(p.wait_ready({}, never), "not started");
  p.start();
  EXPECT_EQ(p.wait_ready({}, never), "");
  std::atomic<bool> stop{false};
  std::thread later([&] {
    std::this_thread::sleep_for(200ms);
    stop = true;
  });
  const auto t0 = Clock::now();
  EXPECT_THROW(p.wait_ready({ReadyCheck::Kind::log, "never", 10000ms}, [&] { return stop.load(); }),
               Interrupted);
  later.join();
  EXPECT_LT(Clock::now() - t0, 1000ms);
}

TEST(ManagedProcess, SignalsReachTheProcess) {
  TempDir dir;
  ManagedProcess p(sh("exec sleep 30", dir.path / "svc.log"));
  p.start();
  ASSERT_TRUE(wait_state(p.pid(), 'S'));
  p.signal(SIGSTOP);
  EXPECT_TRUE(wait_state(p.pid(), 'T'));
  p.signal(SIGCONT);
  EXPECT_TRUE(wait_state(p.pid(), 'S'));
  // stop() on a stopped process: SIGCONT first, so TERM acts at once rather than after grace.
  p.signal(SIGSTOP);
  ASSERT_TRUE(wait_state(p.pid(), 'T'));
  const auto t0 = Clock::now();
  EXPECT_EQ(p.stop(SIGTERM, 3000ms), 128 + SIGTERM);
  EXPECT_LT(Clock::now() - t0, 2000ms);
  p.signal(SIGTERM);  // not running: a no-op
  EXPECT_EQ(p.exit_status(), 128 + SIGTERM);
}

TEST(ManagedProcess, StopEndsWithSigkillForTheWholeGroupAfterGrace) {
  TempDir dir;
  auto pid_file = dir.path / "grandchild.pid";
  ManagedProcess p(sh("trap '' TERM; sleep 100 & echo $! > '" + pid_file.string() + "'; wait",
                      dir.path / "svc.log"));
  p.start();
  const pid_t grandchild = wait_pid_file(pid_file);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(p.running());
  const auto t0 = Clock::now();
  EXPECT_EQ(p.stop(SIGTERM, 400ms), 128 + SIGKILL);
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_TRUE(wait_gone(grandchild));
  EXPECT_FALSE(p.running());
}

TEST(ManagedProcess, GroupMembersLeftWhenTheLeaderExitsAreKilled) {
  TempDir dir;
  auto pid_file = dir.path / "grandchild.pid";
  // The grandchild ignores TERM; the leader dies of it at once.
  ManagedProcess p(
      sh("(trap '' TERM; exec sleep 100) & echo $! > '" + pid_file.string() + "'; wait",
         dir.path / "svc.log"));
  p.start();
  const pid_t grandchild = wait_pid_file(pid_file);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(wait_state(grandchild, 'S'));
  const auto t0 = Clock::now();
  EXPECT_EQ(p.stop(SIGTERM, 5000ms), 128 + SIGTERM);
  EXPECT_LT(Clock::now() - t0, 2500ms);
  EXPECT_TRUE(wait_gone(grandchild));
}

TEST(ManagedProcess, RestartAfterStopAndDestructorKills) {
  TempDir dir;
  pid_t second = -1;
  {
    ManagedProcess p(sh("exec sleep 30", dir.path / "svc.log"));
    p.start();
    const pid_t first = p.pid();
    EXPECT_EQ(p.stop(SIGKILL, 100ms), 128 + SIGKILL);
    p.start();
    second = p.pid();
    EXPECT_NE(second, first);
    EXPECT_TRUE(p.running());
    EXPECT_EQ(p.exit_status(), std::nullopt);
  }
  EXPECT_EQ(::kill(second, 0), -1);  // reaped by the destructor: gone, not a zombie
}

TEST(ManagedProcess, SamplesRssAndOpenFdsWhileRunning) {
  TempDir dir;
  ManagedProcess p(sh("exec sleep 30", dir.path / "svc.log"));
  EXPECT_EQ(p.rss_bytes(), std::nullopt);
  p.start();
  ASSERT_TRUE(wait_state(p.pid(), 'S'));
  auto rss = p.rss_bytes();
  auto fds = p.open_fds();
  ASSERT_TRUE(rss);
  ASSERT_TRUE(fds);
  EXPECT_GT(*rss, 4096.0);
  EXPECT_GE(*fds, 3.0);  // stdin, stdout, stderr
  p.stop(SIGTERM, 1000ms);
  EXPECT_EQ(p.rss_bytes(), std::nullopt);
  EXPECT_EQ(p.open_fds(), std::nullopt);
}

TEST(ParseSignal, NamesAndNumbers) {
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_signal("sigkill"), SIGKILL);
  EXPECT_EQ(parse_signal("stop"), SIGSTOP);
  EXPECT_EQ(parse_signal("CONT"), SIGCONT);
  EXPECT_EQ(parse_signal("HUP"), SIGHUP);
  EXPECT_EQ(parse_signal("INT"), SIGINT);
  EXPECT_EQ(parse_signal("QUIT"), SIGQUIT);
  EXPECT_EQ(parse_signal("USR1"), SIGUSR1);
  EXPECT_EQ(parse_signal("SIGUSR2"), SIGUSR2);
  EXPECT_EQ(parse_signal("ABRT"), SIGABRT);
  EXPECT_EQ(parse_signal("ALRM"), SIGALRM);
  EXPECT_EQ(parse_signal("PIPE"), SIGPIPE);
  EXPECT_EQ(parse_signal("9"), 9);
  EXPECT_EQ(parse_signal("64"), 64);
  EXPECT_EQ(parse_signal("1"), 1);
  EXPECT_EQ(parse_signal(""), std::nullopt);
  EXPECT_EQ(parse_signal("0"), std::nullopt);
  EXPECT_EQ(parse_signal("65"), std::nullopt);
  EXPECT_EQ(parse_signal("-9"), std::nullopt);
  EXPECT_EQ(parse_signal("9x"), std::nullopt);
  EXPECT_EQ(parse_signal("SIG"), std::nullopt);
  EXPECT_EQ(parse_signal("TERMX"), std::nullopt);
  EXPECT_EQ(parse_signal("WINCH"), std::nullopt);
}

}  // namespace
}  // namespace faultline::runner
