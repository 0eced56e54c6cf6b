// Subprocess: a child does not inherit the parent's blocked stop signals (StopSignals), so
// SIGTERM stops it at once instead of after the grace period's SIGKILL; options (files,
// environment, working directory) apply, and a failing chdir or exec shows in the child's stderr.
#include "common/subprocess.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/signals.hpp"

namespace faultline {
namespace {

using namespace std::chrono_literals;

TEST(Subprocess, ChildStartsWithTheStopSignalsUnblocked) {
  StopSignals parent_blocks_them;
  Subprocess child({"sleep", "30"});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(child.terminate(3000ms), 128 + SIGTERM);  // 128 + SIGKILL had it kept the block
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
  EXPECT_FALSE(parent_blocks_them.received());
}

TEST(Subprocess, ReadsItsReadinessLine) {
  Subprocess child({"sh", "-c", "echo starting; echo listening on 127.0.0.1:5; sleep 30"});
  auto line = child.wait_for_line("listening on", 5000ms);
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "listening on 127.0.0.1:5");
  EXPECT_EQ(child.terminate(3000ms), 128 + SIGTERM);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "faultline-sub-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Subprocess, OptionsSetFilesEnvironmentAndWorkingDirectory) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  SubprocessOptions options;
  options.stdout_file = (dir.path / "out.log").string();
  options.stderr_file = options.stdout_file;  // shared: both end up in one file
  options.env = {{"FL_SUB_VAR", "v1"}};
  options.cwd = dir.path.string();
  Subprocess child({"sh", "-c", "echo \"var=$FL_SUB_VAR\"; echo err >&2; pwd; test -n \"$PATH\""},
                   options);
  EXPECT_EQ(child.wait(5000ms), 0);
  EXPECT_EQ(slurp(options.stdout_file),
            "var=v1\nerr\n" + std::filesystem::canonical(dir.path).string() + "\n");
  EXPECT_TRUE(child.output().empty());  // stdout went to the file, not the pipe
}

TEST(Subprocess, PipedStdoutWithOptions) {
  SubprocessOptions options;
  options.env = {{"FL_SUB_VAR", "piped"}};
  Subprocess child({"sh", "-c", "echo $FL_SUB_VAR"}, options);
  child.read_all(5000ms);
  EXPECT_EQ(child.output(), "piped\n");
  EXPECT_EQ(child.wait(5000ms), 0);
}

TEST(Subprocess, ChdirAndExecFailuresShowInStderrWithStatus127) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  SubprocessOptions options;
  options.stderr_file = (dir.path / "err.log").string();
  options.cwd = (dir.path / "missing").string();
  Subprocess no_dir({"true"}, options);
  EXPECT_EQ(no_dir.wait(5000ms), 127);
  EXPECT_EQ(slurp(options.stderr_file),
            "faultline: cannot chdir to " + options.cwd + ": no such file or directory\n");

  auto garbage = dir.path / "not-a-program";
  std::ofstream(garbage) << "\x01\x02garbage";
  ::chmod(garbage.c_str(), 0755);
  Subprocess bad_exec({garbage.string()}, dir.path.string() + "/err2.log");
  EXPECT_EQ(bad_exec.wait(5000ms), 127);
  EXPECT_EQ(slurp(dir.path / "err2.log"),
            "faultline: cannot exec " + garbage.string() + ": exec format error\n");
}

TEST(Subprocess, SpawnProcessLeavesTheChildToTheCaller) {
  pid_t pid = spawn_process({"sh", "-c", "exit 4"}, {});
  ASSERT_GT(pid, 0);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 4);
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

using namespace std::chrono_literals;

// Dead: no such process, or a zombie waiting for whoever adopted it to reap it.
bool dead(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// What a child started (nginx's workers, a shell's background job) goes with it: the destructor
// kills the child's process group, not only the child (nginx workers used to be orphaned).
TEST(Subprocess, DestructionTakesTheChildsGroupWithIt) {
  char dir_template[] = "/tmp/faultline-subprocess-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string pidfile = std::string(dir_template) + "/bg.pid";
  {
    Subprocess sh({"sh", "-c", "sleep 300 & echo $! > " + pidfile + "; wait"});
    for (int i = 0; i < 200 && !std::filesystem::exists(pidfile); ++i)
      std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(50ms);
  }
  std::ifstream in(pidfile);
  pid_t bg = 0;
  in >> bg;
  ASSERT_GT(bg, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {  // reaped by init shortly after the kill
    gone = dead(bg);
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "the child's background process " << bg << " outlived it";
  if (!gone) ::kill(bg, SIGKILL);
  std::filesystem::remove_all(dir_template);
}

}  // namespace
}  // namespace faultline
