// The faultline executable's top-level contract: --help, --version, bad input exits 2.
#include <gtest/gtest.h>

#include "tests/support/support.hpp"

using namespace faultline;

TEST(Cli, VersionPrintsVersion) {
  auto [rc, out] = test::run_faultline({"--version"});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.rfind("faultline ", 0), 0u) << out;
}

TEST(Cli, HelpListsSubcommands) {
  auto [rc, out] = test::run_faultline({"--help"});
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("Usage"), std::string::npos) << out;
}

TEST(Cli, UnknownSubcommandExits2) {
  test::TempDir dir;
  auto [rc, out] = test::run_faultline({"frobnicate"}, dir.file("err"));
  EXPECT_EQ(rc, 2);
}

TEST(Cli, UnknownFlagExits2) {
  test::TempDir dir;
  auto [rc, out] = test::run_faultline({"--no-such-flag"}, dir.file("err"));
  EXPECT_EQ(rc, 2);
}

TEST(Cli, NoSubcommandExits2) {
  test::TempDir dir;
  auto [rc, out] = test::run_faultline({}, dir.file("err"));
  EXPECT_EQ(rc, 2);
}
