// common/files.hpp, common/safe_regex.hpp and common/group_keeper.hpp: an output never follows a
// planted link nor leaves half a file; trim; a user's regex cannot backtrack for ever; the process
// groups a program started end when it is SIGKILLed.
#include "common/files.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/group_keeper.hpp"
#include "common/safe_regex.hpp"
#include "common/subprocess.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

// Issue 22 #4: `report build DIR` followed a planted symlink DIR/results.json.tmp and overwrote a
// file outside DIR.
TEST(WriteFileAtomically, NeverFollowsAPlantedLink) {
  test::TempDir dir;
  const std::string outside = dir.file("outside.txt");
  std::ofstream(outside) << "precious";
  fs::create_directories(dir.file("run"));
  const std::string out = dir.file("run/results.json");
  fs::create_symlink(outside, out + ".tmp");
  write_file_atomically(out, "{}\n");
  EXPECT_EQ(slurp(outside), "precious");
  EXPECT_EQ(slurp(out), "{}\n");
  // A link at the output itself is replaced, its target untouched.
  fs::remove(out);
  fs::create_symlink(outside, out);
  write_file_atomically(out, "new\n");
  EXPECT_FALSE(fs::is_symlink(out));
  EXPECT_EQ(slurp(out), "new\n");
  EXPECT_EQ(slurp(outside), "precious");
  // No temporary is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.file("run")))
    ++files;
  EXPECT_EQ(files, 2u);  // results.json and the planted results.json.tmp
  EXPECT_THROW(write_file_atomically(dir.file("missing/x.json"), "x"), std::runtime_error);
}

TEST(Trim, AsciiWhitespaceOnBothSides) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t "), "");
}

TEST(SafeRegex, LinearTimeOnACatastrophicPattern) {
  std::string error;
  auto re = SafeRegex::compile("^(a+)+$", error);
  ASSERT_TRUE(re) << error;
  const auto t0 = std::chrono::steady_clock::now();
  std::string hostile(100'000, 'a');
  hostile.push_back('!');
  EXPECT_FALSE(re->full_match(hostile));
  EXPECT_TRUE(re->full_match(std::string(100'000, 'a')));
  // std::regex needs longer than the age of the universe for this; RE2 a few milliseconds.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_TRUE(SafeRegex::compile("ready on \\d+", error)->search("server ready on 8080 now"));
  EXPECT_FALSE(SafeRegex::compile("(a)\\1", error));  // backreferences: not RE2
  EXPECT_FALSE(error.empty());
}

// Issue 22 #5: the groups a process started end when it is SIGKILLed, grandchildren included.
TEST(GroupKeeper, GroupsEndWithTheirStarterHoweverItEnds) {
  const std::string marker = "777." + std::to_string(::getpid());
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    // The starter: a keeper, then a child that leaves a background job behind in its group.
    if (!group_keeper::start().empty()) ::_exit(3);
    try {
      SubprocessOptions o;
      o.stdout_file = "/dev/null";
      spawn_process({"sh", "-c", "sleep " + marker + " & sleep " + marker}, o);
    } catch (...) {
      ::_exit(4);
    }
    ::pause();
    ::_exit(0);
  }
  std::vector<std::string> found;
  for (int i = 0; i < 100 && found.size() < 3; ++i) {
    std::this_thread::sleep_for(50ms);
    found = test::processes_mentioning(marker);
  }
  ASSERT_EQ(found.size(), 3u);  // sh and its two sleeps
  ::kill(starter, SIGKILL);
  int st = 0;
  ::waitpid(starter, &st, 0);
  for (int i = 0; i < 100 && !found.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    found = test::processes_mentioning(marker);
  }
  EXPECT_TRUE(found.empty()) << "left running: " << found.front();
}

// claim_output_dir: one command's outputs per directory (issue #23 item 9: a second run into the
// same --out found the first run's data and appended to its logs).
TEST(ClaimOutputDir, CreatesAMissingDirectoryAndTakesAnEmptyOne) {
  test::TempDir dir;
  EXPECT_EQ(claim_output_dir(dir.file("a/b"), false, {"results.json"}), "");
  EXPECT_TRUE(fs::is_directory(dir.file("a/b")));
  EXPECT_EQ(claim_output_dir(dir.file("a/b"), false, {"results.json"}), "");
}

TEST(ClaimOutputDir, RefusesANonEmptyDirectoryWithoutOverwrite) {
  test::TempDir dir;
  std::ofstream(dir.file("results.json")) << "{}";
  const std::string why = claim_output_dir(dir.path().string(), false, {"results.json"});
  EXPECT_NE(why.find("is not empty (it holds an earlier run)"), std::string::npos) << why;
  EXPECT_NE(why.find("--overwrite"), std::string::npos) << why;
  EXPECT_TRUE(fs::exists(dir.file("results.json")));
}

TEST(ClaimOutputDir, OverwriteEmptiesOnlyAnEarlierRun) {
  test::TempDir dir;
  fs::create_directories(dir.file("run/logs"));
  std::ofstream(dir.file("run/results.json")) << "{}";
  std::ofstream(dir.file("run/logs/target.log")) << "old";
  // A link inside is removed, never followed.
  std::ofstream(dir.file("precious")) << "keep";
  fs::create_symlink(dir.file("precious"), dir.file("run/link"));
  EXPECT_EQ(claim_output_dir(dir.file("run"), true, {"run-events.jsonl", "results.json"}), "");
  EXPECT_TRUE(fs::is_empty(dir.file("run")));
  EXPECT_TRUE(fs::exists(dir.file("precious")));

  // Not a run's directory: refused even with --overwrite, and left as it was.
  fs::create_directories(dir.file("home"));
  std::ofstream(dir.file("home/notes.txt")) << "mine";
  const std::string why = claim_output_dir(dir.file("home"), true, {"results.json"});
  EXPECT_NE(why.find("refusing to empty it"), std::string::npos) << why;
  EXPECT_TRUE(fs::exists(dir.file("home/notes.txt")));
  // A file where the directory should be.
  EXPECT_NE(
      claim_output_dir(dir.file("home/notes.txt"), true, {"results.json"}).find("not a directory"),
      std::string::npos);
}
