// `faultline load` flag validation through the binary: every bad flag is a message naming it on
// stderr and exit 2, before any connection or thread is made.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/subprocess.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using faultline::test::load::slurp;

namespace {

// Runs `faultline load URL args...` (nothing listens on port 9: validation comes first) and
// returns {exit code, stderr}.
std::pair<int, std::string> run_load(const std::vector<std::string>& args,
                                     const std::string& url = "http://127.0.0.1:9/") {
  TempDir dir;
  std::vector<std::string> argv = {"load", url, "--duration", "200ms", "-q"};
  argv.insert(argv.end(), args.begin(), args.end());
  const int code = run_faultline(argv, dir.file("err.txt")).first;
  return {code, slurp(dir.file("err.txt"))};
}

bool mentions(const std::string& err, const std::string& what) {
  return err.find(what) != std::string::npos;
}

}  // namespace

TEST(LoadCli, MethodMustBeAnHttpToken) {
  for (const std::string bad : {"GE T", "", "GET\r\nX: y", "G\"T", "G(T)", "GET/"}) {
    auto [code, err] = run_load({"--method", bad});
    EXPECT_EQ(code, 2) << "--method \"" << bad << "\"";
    EXPECT_TRUE(mentions(err, "--method")) << err;
  }
}

TEST(LoadCli, EmptyStagesAreRejected) {
  for (const std::string bad : {"", " "}) {
    auto [code, err] = run_load({"--rate", "10", "--stages", bad});
    EXPECT_EQ(code, 2) << "--stages \"" << bad << "\"";
    EXPECT_TRUE(mentions(err, "--stages")) << err;
  }
}

TEST(LoadCli, IntervalsRollIsAtLeastASecond) {
  for (const std::string bad : {"100ms", "x", "-1h", ""}) {
    auto [code, err] = run_load({"--rate", "10", "--intervals-roll", bad});
    EXPECT_EQ(code, 2) << "--intervals-roll \"" << bad << "\"";
    EXPECT_TRUE(mentions(err, "--intervals-roll")) << err;
  }
}

TEST(LoadCli, UserinfoInTheUrlIsSaidToBeUnsupported) {
  auto [code, err] = run_load({}, "http://user:pw@127.0.0.1:9/");
  EXPECT_EQ(code, 2);
  EXPECT_TRUE(mentions(err, "user")) << err;
  EXPECT_FALSE(mentions(err, "bad port")) << err;
}

// -t 10000 used to allocate per-thread state until the OOM killer came (24 GB): every count has
// an upper bound, checked before anything is allocated.
TEST(LoadCli, ThreadConnectionAndUserCountsAreBounded) {
  const auto start = std::chrono::steady_clock::now();
  {
    auto [code, err] = run_load({"-t", "10000"});
    EXPECT_EQ(code, 2);
    EXPECT_TRUE(mentions(err, "--threads")) << err;
  }
  {
    auto [code, err] = run_load({"-c", "100000000"});
    EXPECT_EQ(code, 2);
    EXPECT_TRUE(mentions(err, "--connections")) << err;
  }
  {
    auto [code, err] = run_load({"--users", "100000000"});
    EXPECT_EQ(code, 2);
    EXPECT_TRUE(mentions(err, "--users")) << err;
  }
  {
    auto [code, err] = run_load({"--users", "1", "--stages", "1s:100000000"});
    EXPECT_EQ(code, 2);
    EXPECT_TRUE(mentions(err, "--stages")) << err;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// What the system refuses is a message and exit 2, not std::terminate: under a 256 MiB
// address-space limit the per-thread statistics cannot be allocated (std::bad_alloc), under 1 GiB
// the thread stacks cannot be mapped (std::thread throws std::system_error). Sanitizer builds
// reserve terabytes of address space up front and cannot run under such a limit, so the release
// build covers this.
TEST(LoadCli, ResourceFailuresAreAMessageNotAnAbort) {
  for (const std::string limit : {"268435456", "1073741824"}) {
    TempDir dir;
    Subprocess p({"prlimit", "--as=" + limit, "--", faultline_bin(), "load", "http://127.0.0.1:9/",
                  "--duration", "200ms", "-q", "-t", "250", "-c", "250"},
                 dir.file("err.txt"));
    p.read_all(std::chrono::seconds(30));
    const int code = p.wait(std::chrono::seconds(5));
    const std::string err = slurp(dir.file("err.txt"));
    EXPECT_EQ(code, 2) << "address space " << limit << ": " << err;
    EXPECT_TRUE(mentions(err, "--threads")) << err;
  }
}
#endif
