// `faultline proxy` start-up failures through the binary: every one is a message and exit 2, never
// an abort (busy or unresolvable --api, --listen, --config listen; thread counts out of range).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/net.hpp"
#include "tests/support/support.hpp"

using namespace faultline;

namespace {

struct BusyPort {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  }
};

std::string slurp(const std::string& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(ProxyStartup, BindAndResolveFailuresExitWithUsageErrors) {
  test::TempDir dir;
  BusyPort busy;
  const std::string cfg_busy = dir.file("busy.json");
  std::ofstream(cfg_busy) << R"([{"name":"c","listen":")" << busy.address()
                          << R"(","upstream":"127.0.0.1:9"}])";
  const std::string cfg_bad = dir.file("bad.json");
  std::ofstream(cfg_bad)
      << R"([{"name":"c","listen":"no-such-host.invalid:0","upstream":"127.0.0.1:9"}])";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--api", busy.address()}, "cannot listen on " + busy.address()},
      {{"--api", "no-such-host.invalid:0"}, "cannot listen on no-such-host.invalid:0"},
      {{"--api", "127.0.0.1:0", "--listen", busy.address(), "--upstream", "127.0.0.1:9"},
       "cannot listen on " + busy.address()},
      {{"--api", "127.0.0.1:0", "--config", cfg_busy}, "cannot listen on " + busy.address()},
      {{"--api", "127.0.0.1:0", "--config", cfg_bad}, "cannot listen on no-such-host.invalid:0"},
      {{"--api", "127.0.0.1:0", "--threads", "100000"}, "--threads"},
  };
  for (const auto& [extra, want] : cases) {
    std::vector<std::string> args{"proxy"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto [rc, out] = test::run_faultline(args, dir.file("err"));
    const std::string err = slurp(dir.file("err"));
    EXPECT_EQ(rc, 2) << extra.back() << ": " << err;
    EXPECT_NE(err.find(want), std::string::npos) << want << " not in: " << err;
  }
}

TEST(ProxyStartup, CtlSendsAnyNameAsOneWellFormedPathSegment) {
  test::TempDir dir;
  auto p = test::start_faultline({"proxy", "--api", "127.0.0.1:0"});
  ASSERT_TRUE(p);
  for (const char* name : {"sp ace", "q?x", "a/b"}) {
    auto [rc, out] = test::run_faultline(
        {"ctl", "--host", "http://" + p->address.to_string(), "delete", name}, dir.file("err"));
    const std::string err = slurp(dir.file("err"));
    EXPECT_EQ(rc, 1) << name << ": " << err;
    EXPECT_NE(err.find("proxy not found"), std::string::npos) << name << ": " << err;
  }
}

TEST(ProxyStartup, ThreadsThatCannotBeCreatedAreAMessageAndExit2) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "an address-space limit cannot be combined with sanitizer shadow memory";
#endif
  // 1.5 GB of address space cannot hold 257 default (8 MiB) thread stacks plus the program.
  test::TempDir dir;
  Subprocess p({"prlimit", "--as=1500000000", test::faultline_bin(), "proxy", "--api",
                "127.0.0.1:0", "--threads", "256"},
               dir.file("err"));
  p.read_all(std::chrono::milliseconds(20000));
  int rc = p.wait(std::chrono::milliseconds(5000));
  if (rc < 0) rc = p.terminate();
  const std::string err = slurp(dir.file("err"));
  EXPECT_EQ(rc, 2) << err;
  EXPECT_NE(err.find("cannot start 257 threads"), std::string::npos) << err;
}
