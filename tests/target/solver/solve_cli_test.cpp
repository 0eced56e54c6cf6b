// `faultline solve`: JSON on stdout for good input, exit 2 for each bad input, --benchmark's line.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "target/solver/md5_lanes.hpp"
#include "target/solver/solver.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::target;

namespace {

// Runs `faultline solve args...` with stdin from `input`; returns {exit code, stdout}.
std::pair<int, std::string> run_solve(const test::TempDir& dir, const std::string& input,
                                      const std::string& args, const std::string& env = "") {
  std::string in = dir.file("in");
  std::ofstream(in, std::ios::binary) << input;
  Subprocess p({"/bin/sh", "-c", env + " " + test::faultline_bin() + " solve " + args + " < " + in},
               dir.file("stderr"));
  p.read_all(std::chrono::seconds(60));
  int code = p.wait(std::chrono::seconds(5));
  return {code, p.output()};
}

}  // namespace

TEST(SolveCli, PrintsSuffixAndId) {
  test::TempDir dir;
  const std::string content = "hello, faultline\n";
  auto [rc, out] = run_solve(dir, content, "--prefix c0ffee --threads 2");
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  std::string suffix = j.at("suffix");
  EXPECT_EQ(suffix.find_first_not_of(" \t\n\v\f\r"), std::string::npos);
  EXPECT_EQ(j.at("id"), md5_hex(content + suffix));
  EXPECT_EQ(j.at("id").get<std::string>().substr(0, 6), "c0ffee");
  EXPECT_GT(j.at("attempts").get<std::uint64_t>(), 0u);
  EXPECT_GE(j.at("seconds").get<double>(), 0.0);
}

TEST(SolveCli, EveryIsaTheCpuHasAndUppercasePrefix) {
  test::TempDir dir;
  for (md5::Isa isa : {md5::Isa::scalar, md5::Isa::avx2, md5::Isa::avx512}) {
    auto [rc, out] =
        run_solve(dir, "", "--prefix AB --threads 1 --isa " + std::string(md5::isa_name(isa)));
    if (!md5::isa_supported(isa)) {
      EXPECT_EQ(rc, 2) << md5::isa_name(isa);
      continue;
    }
    ASSERT_EQ(rc, 0) << out;
    auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j.at("id").get<std::string>().substr(0, 2), "ab");
  }
}

TEST(SolveCli, BadInputExits2) {
  test::TempDir dir;
  for (const char* args :
       {"", "--prefix ''", "--prefix xyz", "--prefix 0123456789abcdef0", "--prefix ab --isa sse9",
        "--prefix ab --threads 0", "--prefix ab --benchmark", "--benchmark --seconds 0",
        "--prefix ab --no-such-flag"}) {
    auto [rc, out] = run_solve(dir, "x", args);
    EXPECT_EQ(rc, 2) << args;
    EXPECT_TRUE(out.empty()) << args << ": " << out;
  }
}

TEST(SolveCli, BenchmarkPrintsOneJsonLine) {
  test::TempDir dir;
  auto [rc, out] = run_solve(dir, "", "--benchmark --seconds 0.2 --threads 1");
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_GT(j.at("candidates_per_second").get<double>(), 0);
  EXPECT_GT(j.at("openssl_md5_blocks_per_second").get<double>(), 0);
  EXPECT_EQ(j.at("threads"), 1);
  EXPECT_EQ(j.at("isa"), std::string(md5::isa_name(md5::best_isa())));
  EXPECT_NEAR(j.at("ratio_per_core").get<double>(),
              j.at("candidates_per_second").get<double>() /
                  j.at("openssl_md5_blocks_per_second").get<double>(),
              1e-6);
}

// On a CPU without AVX-512 (simulated: the cap is what isa_supported reports), auto falls back to
// AVX2 and forcing avx512 is bad input.
TEST(SolveCli, FallsBackWhenTheCpuLacksAnIsa) {
  if (!md5::isa_supported(md5::Isa::avx2)) GTEST_SKIP() << "CPU lacks AVX2";
  test::TempDir dir;
  const std::string cap = "FAULTLINE_SOLVER_MAX_ISA=avx2";
  auto [rc, out] = run_solve(dir, "", "--benchmark --seconds 0.1 --threads 1", cap);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out).at("isa"), "avx2");
  auto [rc2, out2] = run_solve(dir, "", "--prefix ab --isa avx512", cap);
  EXPECT_EQ(rc2, 2) << out2;
  auto [rc3, out3] =
      run_solve(dir, "abc", "--prefix abc --isa auto", "FAULTLINE_SOLVER_MAX_ISA=scalar");
  ASSERT_EQ(rc3, 0) << out3;
  EXPECT_EQ(nlohmann::json::parse(out3).at("id").get<std::string>().substr(0, 3), "abc");
}

// Issue 12 (hardening): a solver thread that cannot be created (EAGAIN; here no address space is
// left for thread stacks) is a message and exit 2, not an abort (exit 134).
TEST(SolveCli, ThreadCreationFailureExits2) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ulimit -v cannot be combined with sanitizer shadow memory";
#endif
  test::TempDir dir;
  for (const char* args :
       {"--prefix ab --threads 1000", "--benchmark --seconds 0.1 --threads 1000"}) {
    auto [rc, out] = run_solve(dir, "x", args, "ulimit -v 1000000 &&");
    EXPECT_EQ(rc, 2) << args;
    std::ifstream err(dir.file("stderr"));
    const std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("cannot start"), std::string::npos) << args << ": " << text;
  }
}
