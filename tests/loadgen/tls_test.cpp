// `faultline load` over https against `faultline target --tls-cert`: --cacert verification (a
// certificate from that CA passes, one from another CA fails clearly), TLS handshakes counted and
// timed apart from request latency (results, summary, report merge), and --cacert's flag errors.
#include <gtest/gtest.h>

#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;

namespace {

class LoadTls : public ::testing::Test {
 protected:
  void SetUp() override {
    target = start_faultline({"target", "--listen", "127.0.0.1:0", "--threads", "1",
                              "--solver-threads", "1", "--tls-cert", pki.server_cert.string(),
                              "--tls-key", pki.server_key.string()});
    ASSERT_TRUE(target);
  }
  std::string url(const std::string& host = "localhost") const {
    return "https://" + host + ":" + std::to_string(target->address.port) + "/healthz";
  }
  // `faultline load URL args...` for 600 ms on 3 connections; {exit code, stderr}.
  std::pair<int, std::string> load(const std::string& u, std::vector<std::string> args) {
    std::vector<std::string> all = {"load", u, "--duration", "600ms", "-c", "3", "-t", "1", "-q"};
    all.insert(all.end(), args.begin(), args.end());
    std::filesystem::remove(dir.file("err.txt"));
    const int code = run_faultline(all, dir.file("err.txt")).first;
    return {code, slurp(dir.file("err.txt"))};
  }

  TempDir dir;
  TestPki pki = make_test_pki(dir.path() / "pki");
  std::optional<RunningFaultline> target;
};

TEST_F(LoadTls, CacertVerifiesAndHandshakesAreTimedApart) {
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    auto [code, err] =
        load(url(host), {"--cacert", pki.ca_cert.string(), "--out", dir.file("r.json")});
    ASSERT_EQ(code, 0) << err;
    const json r = read_json(dir.file("r.json"));
    EXPECT_GT(r["requests"]["ok"].get<std::uint64_t>(), 30u) << host;
    EXPECT_EQ(r["requests"]["failed"], 0) << host;
    // Keep-alive: one handshake per connection, however many requests.
    const json& t = r["tls"];
    EXPECT_EQ(t["handshakes"], 3) << t.dump();
    EXPECT_EQ(t["failed"], 0);
    const json& s = t["handshake_seconds"];
    EXPECT_GT(s["mean"].get<double>(), 0.0);
    EXPECT_LT(s["mean"].get<double>(), 1.0);
    EXPECT_GE(s["p99"].get<double>(), s["p50"].get<double>());
    EXPECT_EQ(t["histogram"]["count"], 3);
    // Per stage too (one stage here).
    EXPECT_EQ(r["stages"][0]["tls"]["handshakes"], 3);
    EXPECT_NE(err.find("tls handshakes: 3 (0 failed), mean "), std::string::npos) << err;
  }
  // report merge adds the handshakes of shards losslessly.
  auto [code, merged] = run_faultline({"report", "merge", dir.file("r.json"), dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json m = json::parse(merged);
  EXPECT_EQ(m["tls"]["handshakes"], 6);
  EXPECT_EQ(m["tls"]["histogram"]["count"], 6);
  EXPECT_EQ(m["stages"][0]["tls"]["handshakes"], 6);
}

TEST_F(LoadTls, CertificateFromAnotherCaFailsClearly) {
  const auto other = make_test_pki(dir.path() / "other");
  auto [code, err] = load(url(), {"--cacert", other.ca_cert.string(), "--out", dir.file("v.json")});
  EXPECT_EQ(code, 0) << err;  // no threshold given: the errors are in the results
  const json v = read_json(dir.file("v.json"));
  EXPECT_EQ(v["requests"]["ok"], 0);
  EXPECT_GT(v["errors"]["bad_response"].get<std::uint64_t>(), 0u);
  EXPECT_GT(v["tls"]["handshakes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(v["tls"]["failed"], v["tls"]["handshakes"]);
  EXPECT_NE(err.find("certificate verify failed"), std::string::npos) << err;
  EXPECT_NE(err.find("unable to get local issuer certificate"), std::string::npos) << err;
  // The same run with a threshold fails the command.
  std::tie(code, err) =
      load(url(), {"--cacert", other.ca_cert.string(), "--threshold", "error_ratio<0.01"});
  EXPECT_EQ(code, 1) << err;
}

TEST_F(LoadTls, CacertFlagErrorsExit2) {
  write_file(dir.file("garbage.pem"), "not a certificate\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{url(), "--cacert", pki.ca_cert.string(), "--insecure"},
       "--cacert and --insecure exclude each other"},
      {{"http://127.0.0.1:1/", "--cacert", pki.ca_cert.string()},
       "--cacert applies to https:// and wss:// URLs"},
      {{url(), "--cacert", dir.file("missing.pem")},
       "--cacert: cannot read " + dir.file("missing.pem") + ": No such file or directory"},
      {{url(), "--cacert", dir.file("garbage.pem")},
       "--cacert: no certificate in " + dir.file("garbage.pem")},
  };
  for (const auto& [args, fragment] : cases) {
    std::vector<std::string> all = {"load"};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), {"--duration", "300ms", "-q"});
    std::filesystem::remove(dir.file("err.txt"));
    EXPECT_EQ(run_faultline(all, dir.file("err.txt")).first, 2) << fragment;
    EXPECT_NE(slurp(dir.file("err.txt")).find(fragment), std::string::npos)
        << "want: " << fragment << "\nstderr: " << slurp(dir.file("err.txt"));
  }
}

}  // namespace
