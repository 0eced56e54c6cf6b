// `faultline target --tls-cert --tls-key` as a real process: the same API over HTTPS to curl
// (verified against the test CA), and bad certificate flags refused with exit 2 and the field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// curl ARGS...: {exit code, stdout}; stderr into `err`.
std::pair<int, std::string> curl(std::vector<std::string> args, const std::string& err) {
  args.insert(args.begin(), {"curl", "-sS", "--max-time", "10"});
  Subprocess p(args, err);
  p.read_all(15s);
  return {p.wait(15s), p.output()};
}

TEST(TargetTls, ServesTheApiOverHttpsToCurl) {
  TempDir dir;
  const auto pki = make_test_pki(dir.path() / "pki");
  auto target = start_faultline({"target", "--listen", "127.0.0.1:0", "--threads", "1",
                                 "--solver-threads", "1", "--tls-cert", pki.server_cert.string(),
                                 "--tls-key", pki.server_key.string()});
  ASSERT_TRUE(target);
  const std::string base = "https://localhost:" + std::to_string(target->address.port);
  const std::string ca = pki.ca_cert.string();
  auto [rc, out] =
      curl({"--cacert", ca, "--data-binary", "hello", base + "/pastes"}, dir.file("e"));
  ASSERT_EQ(rc, 0) << read_file(dir.file("e"));
  const auto created = json::parse(out, nullptr, false);
  ASSERT_TRUE(created.is_object()) << out;
  EXPECT_EQ(created["id"], "5d41402abc4b2a76b9719d911017c592");
  std::tie(rc, out) =
      curl({"--cacert", ca, base + "/p/5d41402abc4b2a76b9719d911017c592"}, dir.file("e"));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "hello");
  std::tie(rc, out) = curl({"--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}",
                            base + "/p/00000000000000000000000000000000"},
                           dir.file("e"));
  EXPECT_EQ(out, "404");
  // Plain HTTP to the HTTPS port gets no answer; the server carries on.
  std::tie(rc, out) = curl(
      {"http://127.0.0.1:" + std::to_string(target->address.port) + "/healthz"}, dir.file("e"));
  EXPECT_NE(rc, 0);
  std::tie(rc, out) = curl({"--cacert", ca, base + "/healthz"}, dir.file("e"));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, R"({"status":"ok"})");
  EXPECT_EQ(target->process.terminate(), 0);
}

TEST(TargetTls, BadCertificateFlagsExit2NamingTheFlag) {
  TempDir dir;
  const auto pki = make_test_pki(dir.path() / "pki");
  std::ofstream(dir.file("garbage.pem")) << "not a certificate\n";
  const std::string cert = pki.server_cert.string(), key = pki.server_key.string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--tls-cert", dir.file("missing.pem"), "--tls-key", key},
       "--tls-cert: cannot read " + dir.file("missing.pem") + ": No such file or directory"},
      {{"--tls-cert", cert, "--tls-key", dir.file("missing.key")},
       "--tls-key: cannot read " + dir.file("missing.key")},
      {{"--tls-cert", cert, "--tls-key", pki.client_key.string()},
       "--tls-key: key " + pki.client_key.string() + " does not match cert " + cert},
      {{"--tls-cert", dir.file("garbage.pem"), "--tls-key", key},
       "--tls-cert: no certificate in " + dir.file("garbage.pem")},
      {{"--tls-cert", cert}, "--tls-cert: needs --tls-key"},
      {{"--tls-key", key}, "--tls-key: needs --tls-cert"},
  };
  for (const auto& [flags, fragment] : cases) {
    std::vector<std::string> args = {"target", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const std::string err = dir.file("stderr");
    std::filesystem::remove(err);
    auto [rc, out] = run_faultline(args, err, 20s);
    EXPECT_EQ(rc, 2) << fragment;
    EXPECT_NE(read_file(err).find(fragment), std::string::npos)
        << "want: " << fragment << "\nstderr: " << read_file(err);
    EXPECT_EQ(out.find("listening on"), std::string::npos);
  }
}

}  // namespace
