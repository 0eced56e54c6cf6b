// Log rotation against a real child that keeps appending (O_APPEND through the shell's >>, as
// common/subprocess.cpp opens the components' logs): after each rotation the live file grows again
// from 0 with no hole of NULs, the rotated copies are whole log text, and at most `keep` of them
// exist.
#include "runner/system/log_rotate.hpp"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/subprocess.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

std::string head(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

bool wait_until_larger(const std::string& path, std::uint64_t bytes) {
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(2ms))
    if (size_of(path) > bytes) return true;
  return false;
}

}  // namespace

TEST(LogRotate, AppendingChildKeepsWritingFromZero) {
  test::TempDir dir;
  const std::string log = dir.file("target.log");
  constexpr std::uint64_t kMax = 4 * 1024;
  constexpr int kKeep = 3;
  // About a line per millisecond (sleep is a fork in sh): fast enough to be writing during every
  // rotation, slow enough that a busy machine cannot refill the file before the size check.
  Subprocess child(
      {"sh", "-c",
       "while :; do echo 'a line of component log text'; sleep 0.001; done >> '" + log + "'"});
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(wait_until_larger(log, kMax)) << "round " << round;
    const std::uint64_t before = size_of(log);
    ASSERT_EQ(runner::rotate_if_larger(log, kMax, kKeep), "");
    // The copy holds what was there (and possibly a little more written meanwhile).
    EXPECT_GE(size_of(log + ".1"), before);
    // The child's next writes land at offset 0: the file restarts small, with text at its start.
    ASSERT_TRUE(wait_until_larger(log, 0));
    EXPECT_LT(size_of(log), before) << "round " << round;
    const std::string start = head(log, 64);
    ASSERT_FALSE(start.empty());
    EXPECT_EQ(start.find('\0'), std::string::npos) << "a hole of NULs at the start";
    EXPECT_EQ(start.rfind("a line", 0), 0u) << start;
  }
  child.terminate(1000ms);
  for (int i = 1; i <= kKeep; ++i) {
    const std::string rotated = log + "." + std::to_string(i);
    ASSERT_TRUE(fs::exists(rotated)) << rotated;
    EXPECT_EQ(head(rotated, 6), "a line");
    EXPECT_EQ(head(rotated, 4096).find('\0'), std::string::npos) << rotated;
  }
  EXPECT_FALSE(fs::exists(log + "." + std::to_string(kKeep + 1)));
  EXPECT_FALSE(fs::exists(log + ".1.tmp"));
}

TEST(LogRotate, LeavesSmallAndMissingFilesAlone) {
  test::TempDir dir;
  const std::string log = dir.file("proxy.log");
  EXPECT_EQ(runner::rotate_if_larger(log, 10, 3), "");  // missing: nothing to do
  EXPECT_FALSE(fs::exists(log));
  std::ofstream(log) << "0123456789";
  EXPECT_EQ(runner::rotate_if_larger(log, 10, 3), "");  // at the cap, not over it
  EXPECT_EQ(size_of(log), 10u);
  EXPECT_FALSE(fs::exists(log + ".1"));
}

TEST(LogRotate, KeepZeroOnlyTruncatesAndOldestCopyIsReplaced) {
  test::TempDir dir;
  const std::string log = dir.file("load.log");
  std::ofstream(log) << "first generation\n";
  EXPECT_EQ(runner::rotate_if_larger(log, 4, 0), "");
  EXPECT_EQ(size_of(log), 0u);
  EXPECT_FALSE(fs::exists(log + ".1"));

  for (const char* gen : {"one\n", "two\n", "three\n"}) {
    std::ofstream(log, std::ios::app) << gen;
    EXPECT_EQ(runner::rotate_if_larger(log, 2, 2), "");
  }
  EXPECT_EQ(head(log + ".1", 100), "three\n");
  EXPECT_EQ(head(log + ".2", 100), "two\n");
  EXPECT_FALSE(fs::exists(log + ".3"));
}

TEST(LogRotate, ReportsFailuresInsteadOfThrowing) {
  test::TempDir dir;
  const std::string log = dir.file("x.log");
  std::ofstream(log) << "0123456789";
  // PATH.1 cannot be created: a directory with that name is in the way of the final rename.
  fs::create_directory(log + ".1");
  std::ofstream(log + ".1/file") << "x";
  const std::string err = runner::rotate_if_larger(log, 1, 1);
  EXPECT_NE(err, "");
  EXPECT_NE(err.find("x.log"), std::string::npos) << err;
  EXPECT_EQ(size_of(log), 10u);  // not truncated when the copy could not be put in place
  EXPECT_FALSE(fs::exists(log + ".1.tmp"));
}
