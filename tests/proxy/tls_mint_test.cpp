// A CA that mints certificates (`"tls": {"ca": {...}}`, issue #24): minted leafs verified by curl
// and `openssl s_client -verify_return_error` against the CA for any SNI, an IP SAN without SNI,
// one mint per name (cached), tls_bad_cert's expired / wrong_host signed by the CA so the client
// reports exactly the expiry / the name, tls_bad_cert from given files, the CA checks (400 with
// the JSON path), `ctl create` and the one-liner with --tls-ca-cert/--tls-ca-key; and, without
// sockets, the minter's certificates, its LRU bound and the SNI extension parser.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <future>
#include <set>

#include "tests/proxy/harness.hpp"
#include "tests/proxy/tls_fixtures.hpp"
#include "tests/support/tls_certs.hpp"

namespace faultline::proxy::test {
namespace {

using faultline::test::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string error_of(const Harness::Reply& r) {
  return r.body.is_object() && r.body.contains("error") ? r.body["error"].get<std::string>()
                                                        : r.raw;
}

class TlsMint : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("curl") || !have("openssl") || !have("nginx"))
      GTEST_SKIP() << "curl, openssl and nginx are needed";
    pki_ = faultline::test::make_test_pki(dir_.path());
    nginx_ = std::make_unique<Nginx>(dir_);
  }
  json ca() const { return {{"cert", pki_.ca_cert.string()}, {"key", pki_.ca_key.string()}}; }
  std::string ca_file() const { return pki_.ca_cert.string(); }
  // A proxy to nginx whose `tls` is `tls`; its port (0: refused).
  unsigned short proxy(const std::string& name, const json& tls,
                       const std::string& protocol = "tcp") {
    return h_.create(name, nginx_->address(), protocol, {{"tls", tls}});
  }
  // curl to https://HOST:PORT/ (HOST resolved to 127.0.0.1), trusting the CA.
  ShResult curl(const std::string& host, unsigned short port, const std::string& flags = "") {
    return sh(fmt::format("curl -sS {} --cacert {} --resolve {}:{}:127.0.0.1 https://{}:{}/", flags,
                          ca_file(), host, port, host, port));
  }
  // openssl s_client trusting only the CA, failing on any verification error; `name` as SNI
  // and, with `check_name`, as the host name to verify. `after`: a pipe for its output.
  ShResult s_client(unsigned short port, const std::string& name, bool check_name = true,
                    const std::string& after = "") {
    const std::string sni = name.empty() ? "-noservername" : "-servername " + name;
    const std::string verify = !check_name    ? ""
                               : name.empty() ? " -verify_ip 127.0.0.1"
                                              : " -verify_hostname " + name;
    return sh(
        fmt::format("openssl s_client -connect 127.0.0.1:{} -showcerts -verify_return_error "
                    "-CAfile {} {}{} </dev/null 2>&1{}",
                    port, ca_file(), sni, verify, after));
  }
  // The leaf's subjectAltName and serial as `openssl x509` prints them.
  std::string leaf_field(unsigned short port, const std::string& name, const std::string& what) {
    return s_client(port, name, false, " | openssl x509 -noout " + what).out;
  }
  double metric(const std::string& name, const std::string& proxy) {
    return h_.metric(name, "proxy=\"" + proxy + "\"");
  }
  void add(const std::string& proxy, const json& attrs) {
    auto r = h_.call("POST", "/proxies/" + proxy + "/toxics",
                     {{"name", "bad"}, {"type", "tls_bad_cert"}, {"attributes", attrs}});
    ASSERT_EQ(r.status, 200u) << r.raw;
  }

  TempDir dir_;
  faultline::test::TestPki pki_;
  std::unique_ptr<Nginx> nginx_;
  Harness h_{42};
};

TEST_F(TlsMint, MintedLeafVerifiesForAnySni) {
  const auto port = proxy("mint", {{"ca", ca()}});
  ASSERT_NE(port, 0);
  const auto http = proxy("mint_http", {{"ca", ca()}}, "http");
  ASSERT_NE(http, 0);
  EXPECT_EQ(h_.call("GET", "/proxies/mint").body["tls"], (json{{"ca", ca()}}));
  const char* names[] = {"api.example.test", "Mixed.Case.Test", "svc_a.internal", "localhost"};
  for (const char* n : names) {
    const std::string name = n;
    auto r = curl(name, port);
    EXPECT_EQ(r.code, 0) << name << ": " << r.out;
    EXPECT_EQ(r.out, "hello from nginx\n") << name;
    r = s_client(port, name);
    EXPECT_TRUE(contains(r.out, "Verify return code: 0 (ok)")) << name << ": " << r.out;
    // The chain sent: the leaf, then the CA.
    r = s_client(port, name, true, " | grep -c 'BEGIN CERTIFICATE'");
    EXPECT_EQ(r.out, "2\n") << name;
    std::string lower = name;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(contains(leaf_field(port, name, "-ext subjectAltName"), "DNS:" + lower)) << name;
    // The http engine (Asio's TLS stream) mints the same way.
    r = curl(name, http);
    EXPECT_EQ(r.code, 0) << name << " (http): " << r.out;
    EXPECT_EQ(r.out, "hello from nginx\n") << name;
  }
  // One mint per name and proxy.
  EXPECT_EQ(metric("faultline_proxy_certs_minted_total", "mint"), 4);
  EXPECT_EQ(metric("faultline_proxy_cert_cache_entries", "mint"), 4);
  EXPECT_EQ(metric("faultline_proxy_certs_minted_total", "mint_http"), 4);
  EXPECT_EQ(h_.metric("faultline_proxy_tls_handshakes_total",
                      "outcome=\"failed\",proxy=\"mint\",side=\"client\""),
            0);
}

TEST_F(TlsMint, NoSniGetsIpSan) {
  const auto port = proxy("mint", {{"ca", ca()}});
  ASSERT_NE(port, 0);
  auto r = s_client(port, "");
  EXPECT_TRUE(contains(r.out, "Verify return code: 0 (ok)")) << r.out;
  EXPECT_TRUE(contains(leaf_field(port, "", "-ext subjectAltName"), "IP Address:127.0.0.1"));
  // curl sends no SNI to an IP literal and verifies the IP.
  r = sh(fmt::format("curl -sS --cacert {} https://127.0.0.1:{}/", ca_file(), port));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "hello from nginx\n");
}

TEST_F(TlsMint, LeafCachedPerName) {
  const auto port = proxy("mint", {{"ca", ca()}});
  ASSERT_NE(port, 0);
  const auto a1 = leaf_field(port, "a.test", "-serial");
  const auto a2 = leaf_field(port, "A.test", "-serial");  // names compare without case
  const auto b = leaf_field(port, "b.test", "-serial");
  ASSERT_TRUE(contains(a1, "serial=")) << a1;
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
  EXPECT_EQ(metric("faultline_proxy_certs_minted_total", "mint"), 2);
  EXPECT_EQ(metric("faultline_proxy_cert_cache_entries", "mint"), 2);
  // An update that rebuilds the TLS settings starts a new cache.
  ASSERT_EQ(
      h_.call("POST", "/proxies/mint", {{"tls", {{"ca", ca()}, {"client_ca", ca_file()}}}}).status,
      200u);
  EXPECT_EQ(metric("faultline_proxy_cert_cache_entries", "mint"), 0);
}

// Red before issue #24: with a CA-issued configured certificate the substitute was signed with the
// leaf's own key and clients reported a signature failure.
TEST_F(TlsMint, ExpiredUnderCaSaysCertificateHasExpired) {
  for (const json& tls :
       {json{{"cert", pki_.server_cert.string()}, {"key", pki_.server_key.string()}, {"ca", ca()}},
        json{{"ca", ca()}}}) {
    h_.call("DELETE", "/proxies/exp");
    const auto port = proxy("exp", tls);
    ASSERT_NE(port, 0) << tls;
    EXPECT_EQ(curl("localhost", port).code, 0);
    add("exp", {{"certificate", "expired"}});
    auto r = curl("localhost", port);
    EXPECT_EQ(r.code, 60) << r.out;  // CURLE_PEER_FAILED_VERIFICATION
    EXPECT_TRUE(contains(r.out, "certificate has expired")) << r.out;
    EXPECT_FALSE(contains(r.out, "signature")) << r.out;
    r = s_client(port, "localhost");
    EXPECT_TRUE(contains(r.out, "certificate has expired")) << r.out;
    EXPECT_TRUE(contains(r.out, "verify error:num=10")) << r.out;  // X509_V_ERR_CERT_HAS_EXPIRED
    r = curl("localhost", port, "--insecure");
    EXPECT_EQ(r.code, 0) << r.out;
  }
}

TEST_F(TlsMint, WrongHostUnderCaSaysNameMismatch) {
  const auto port = proxy(
      "wh", {{"cert", pki_.server_cert.string()}, {"key", pki_.server_key.string()}, {"ca", ca()}});
  ASSERT_NE(port, 0);
  add("wh", {{"certificate", "wrong_host"}});
  auto r = curl("localhost", port);
  EXPECT_EQ(r.code, 60) << r.out;
  EXPECT_TRUE(contains(r.out, "no alternative certificate subject name matches target host name"))
      << r.out;
  r = s_client(port, "localhost");
  EXPECT_TRUE(contains(r.out, "hostname mismatch")) << r.out;
  // Only the name is wrong: the chain verifies.
  r = s_client(port, "localhost", false);
  EXPECT_TRUE(contains(r.out, "Verify return code: 0 (ok)")) << r.out;
  // self_signed stays self-signed with a CA.
  ASSERT_EQ(h_.call("DELETE", "/proxies/wh/toxics/bad").status, 204u);
  add("wh", {{"certificate", "self_signed"}});
  r = curl("localhost", port);
  EXPECT_EQ(r.code, 60) << r.out;
  EXPECT_TRUE(contains(r.out, "self-signed certificate")) << r.out;
}

TEST_F(TlsMint, BadCertFromGivenFiles) {
  const auto port =
      proxy("given", {{"cert", pki_.server_cert.string()}, {"key", pki_.server_key.string()}});
  ASSERT_NE(port, 0);
  const CertFiles other = self_signed_cert(dir_, "other");
  add("given", {{"cert", other.cert}, {"key", other.key}});
  auto got = h_.call("GET", "/proxies/given/toxics/bad");
  EXPECT_EQ(got.body["attributes"], (json{{"cert", other.cert}, {"key", other.key}})) << got.raw;
  // The given certificate is served: refused by a client trusting the CA, accepted by one that
  // trusts it.
  auto r = curl("localhost", port);
  EXPECT_EQ(r.code, 60) << r.out;
  EXPECT_TRUE(contains(r.out, "self-signed certificate")) << r.out;
  r = sh(fmt::format("curl -sS --cacert {} https://localhost:{}/", other.cert, port));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "hello from nginx\n");
  // An update of the toxicity re-parses the toxic: its files are read ahead again.
  auto u = h_.call("POST", "/proxies/given/toxics/bad", {{"toxicity", 0.0}});
  EXPECT_EQ(u.status, 200u) << u.raw;
  EXPECT_EQ(curl("localhost", port).code, 0);
  // Back to a variant: the files dropped with null.
  u = h_.call("POST", "/proxies/given/toxics/bad",
              {{"toxicity", 1.0},
               {"attributes", {{"certificate", "expired"}, {"cert", nullptr}, {"key", nullptr}}}});
  EXPECT_EQ(u.status, 200u) << u.raw;
  EXPECT_EQ(u.body["attributes"], (json{{"certificate", "expired"}})) << u.raw;

  // Bad input, each a 400 at its path.
  const std::pair<json, std::string> bad[] = {
      {{{"cert", other.cert}, {"key", pki_.server_key.string()}}, "$.attributes.key"},
      {{{"cert", dir_.file("missing.pem")}, {"key", other.key}}, "$.attributes.cert"},
      {{{"cert", other.cert}}, "$.attributes.key"},
      {{{"cert", other.cert}, {"key", other.key}, {"certificate", "expired"}},
       "$.attributes.certificate"},
      {{{"cert", "/dev/zero"}, {"key", other.key}}, "$.attributes.cert"},
  };
  for (const auto& [attrs, path] : bad) {
    auto e = h_.call("POST", "/proxies/given/toxics",
                     {{"name", "x"}, {"type", "tls_bad_cert"}, {"attributes", attrs}});
    EXPECT_EQ(e.status, 400u) << attrs << ": " << e.raw;
    EXPECT_TRUE(contains(error_of(e), path)) << attrs << ": " << e.raw;
  }
}

TEST_F(TlsMint, NonCaCertRefused400) {
  auto r = h_.call(
      "POST", "/proxies",
      {{"name", "n"},
       {"listen", "127.0.0.1:0"},
       {"upstream", nginx_->address()},
       {"tls",
        {{"ca", {{"cert", pki_.server_cert.string()}, {"key", pki_.server_key.string()}}}}}});
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_TRUE(contains(error_of(r),
                       "$.tls.ca.cert: " + pki_.server_cert.string() + " is not a CA certificate"))
      << r.raw;
  EXPECT_EQ(h_.call("GET", "/proxies/n").status, 404u);
}

TEST_F(TlsMint, CaKeyMismatchRefused400) {
  const std::pair<json, std::string> bad[] = {
      {{{"ca", {{"cert", ca_file()}, {"key", pki_.server_key.string()}}}}, "$.tls.ca.key: key"},
      {{{"ca", {{"cert", ca_file()}, {"key", pki_.ca_key.string()}, {"crl", "x"}}}},
       "$.tls.ca.crl"},
      {{{"ca", ca_file()}}, "$.tls.ca: must be an object"},
      {{{"ca", {{"cert", ca_file()}}}}, "$.tls.ca.key"},
      {{{"ca", ca()}, {"cert", pki_.server_cert.string()}}, "$.tls.key"},
      {{{"ca", {{"cert", dir_.file("none.pem")}, {"key", pki_.ca_key.string()}}}},
       "$.tls.ca.cert: cannot read"},
  };
  for (const auto& [tls, message] : bad) {
    auto r = h_.call(
        "POST", "/proxies",
        {{"name", "m"}, {"listen", "127.0.0.1:0"}, {"upstream", nginx_->address()}, {"tls", tls}});
    EXPECT_EQ(r.status, 400u) << tls << ": " << r.raw;
    EXPECT_TRUE(contains(error_of(r), message)) << tls << ": " << r.raw;
  }
  EXPECT_TRUE(contains(error_of(h_.call("POST", "/proxies",
                                        {{"name", "m"},
                                         {"listen", "127.0.0.1:0"},
                                         {"upstream", nginx_->address()},
                                         {"tls", bad[0].first}})),
                       "does not match"));
}

TEST_F(TlsMint, CtlCreateWithCaFlags) {
  // Relative names from the PKI's directory: ctl and the one-liner make them absolute.
  auto fl = faultline::test::start_faultline({"proxy", "--api", "127.0.0.1:0"});
  ASSERT_TRUE(fl);
  const std::string ctl = "cd " + pki_.dir.string() + " && " + faultline::test::faultline_bin() +
                          " ctl --host " + fl->address.to_string() + " ";
  auto r = sh(ctl + "create web -l 127.0.0.1:0 -u " + nginx_->address() +
              " --tls-ca-cert ca.pem --tls-ca-key ca.key");
  ASSERT_EQ(r.code, 0) << r.out;
  HttpClientRequest req;
  req.target = "/proxies/web";
  const json web = json::parse(http_fetch_sync(fl->address, req).second.body);
  EXPECT_EQ(web["tls"], (json{{"ca",
                               {{"cert", pki_.ca_cert.lexically_normal().string()},
                                {"key", pki_.ca_key.lexically_normal().string()}}}}))
      << web;
  const auto port = parse_host_port(web["listen"].get<std::string>())->port;
  r = curl("any.name.test", port);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "hello from nginx\n");
  // tls_bad_cert's files, relative too.
  std::filesystem::copy_file(pki_.server_cert, pki_.dir / "given.pem");
  std::filesystem::copy_file(pki_.server_key, pki_.dir / "given.key");
  r = sh(ctl + "toxic add web -t tls_bad_cert -n bad -a cert=given.pem -a key=given.key");
  ASSERT_EQ(r.code, 0) << r.out;
  req.target = "/proxies/web/toxics/bad";
  const json bad = json::parse(http_fetch_sync(fl->address, req).second.body);
  EXPECT_EQ(bad["attributes"]["cert"], (pki_.dir / "given.pem").lexically_normal().string());
  // The given certificate names localhost only.
  r = curl("any.name.test", port);
  EXPECT_EQ(r.code, 60) << r.out;
  EXPECT_EQ(curl("localhost", port).code, 0);
  // A key alone is the API's 400 naming the field, exit 1.
  r = sh(ctl + "create half -l 127.0.0.1:0 -u " + nginx_->address() + " --tls-ca-key ca.key");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "tls.ca.cert")) << r.out;

  // The one-liner takes the same flags.
  auto one = faultline::test::start_faultline(
      {"proxy", "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--upstream", nginx_->address(),
       "--tls-ca-cert", ca_file(), "--tls-ca-key", pki_.ca_key.string()});
  ASSERT_TRUE(one);
  req.target = "/proxies/proxy";
  const json p = json::parse(http_fetch_sync(one->address, req).second.body);
  const auto one_port = parse_host_port(p["listen"].get<std::string>())->port;
  r = curl("one.liner.test", one_port);
  EXPECT_EQ(r.code, 0) << r.out;
}

// The CA's files and tls_bad_cert's are read on the API's file reader, never on the control loop:
// with the reader held, the calls wait while the API answers others.
TEST(TlsMintFiles, AreReadAheadOnTheFileReader) {
  TempDir dir;
  const auto pki = faultline::test::make_test_pki(dir.path());
  EchoServer echo;
  Harness h;
  asio::io_context disk;  // run only when the test says so
  h.set_file_reader(disk.get_executor());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const auto finish = [&](std::future<Harness::Reply>& pending) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_NE(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::ready)
        << "answered without its files being read on the file reader";
    EXPECT_EQ(h.call("GET", "/version").status, 200u);
    while (pending.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready &&
           std::chrono::steady_clock::now() < deadline) {
      if (disk.stopped()) disk.restart();
      disk.run_one_for(std::chrono::milliseconds(50));
    }
    return pending.get();
  };
  auto created = std::async(std::launch::async, [&] {
    return h.call(
        "POST", "/proxies",
        {{"name", "m"},
         {"listen", "127.0.0.1:0"},
         {"upstream", echo.address()},
         {"tls", {{"ca", {{"cert", pki.ca_cert.string()}, {"key", pki.ca_key.string()}}}}}});
  });
  auto r = finish(created);
  ASSERT_EQ(r.status, 201u) << r.raw;
  auto toxic = std::async(std::launch::async, [&] {
    return h.call(
        "POST", "/proxies/m/toxics",
        {{"name", "bad"},
         {"type", "tls_bad_cert"},
         {"attributes", {{"cert", pki.server_cert.string()}, {"key", pki.server_key.string()}}}});
  });
  r = finish(toxic);
  EXPECT_EQ(r.status, 200u) << r.raw;
  // An update of the toxic names no file, but re-parses the ones it has: read ahead too.
  auto update = std::async(std::launch::async, [&] {
    return h.call("POST", "/proxies/m/toxics/bad", {{"toxicity", 0.5}});
  });
  r = finish(update);
  EXPECT_EQ(r.status, 200u) << r.raw;
}

TEST(TlsMintMetrics, PreCreatedForEveryProxy) {
  EchoServer echo;
  Harness h;
  ASSERT_NE(h.create("plain", echo.address()), 0);
  EXPECT_EQ(h.metric("faultline_proxy_certs_minted_total", "proxy=\"plain\""), 0);
  EXPECT_EQ(h.metric("faultline_proxy_cert_cache_entries", "proxy=\"plain\""), 0);
  const std::string text = h.call("GET", "/metrics").raw;
  EXPECT_TRUE(contains(text, "# TYPE faultline_proxy_certs_minted_total counter")) << text;
  EXPECT_TRUE(contains(text, "# TYPE faultline_proxy_cert_cache_entries gauge")) << text;
}

// --- The minter without sockets ---

std::shared_ptr<X509> read_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return nullptr;
  std::shared_ptr<X509> x(PEM_read_X509(f, nullptr, nullptr, nullptr), X509_free);
  std::fclose(f);
  return x;
}

std::shared_ptr<EVP_PKEY> read_key(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return nullptr;
  std::shared_ptr<EVP_PKEY> k(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr), EVP_PKEY_free);
  std::fclose(f);
  return k;
}

std::string san_of(X509* x) {
  std::shared_ptr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free);
  if (!names || sk_GENERAL_NAME_num(names.get()) != 1) return "";
  const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), 0);
  if (gn->type == GEN_DNS)
    return "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
  if (gn->type == GEN_IPADD) return "IP:" + std::to_string(ASN1_STRING_length(gn->d.iPAddress));
  return "?";
}

class Minter : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = faultline::test::make_test_pki(dir_.path());
    ca_.cert = read_cert(pki_.ca_cert.string());
    ca_.key = read_key(pki_.ca_key.string());
    ASSERT_TRUE(ca_.cert && ca_.key);
    std::string why;
    minter_ = CertMinter::create(ca_, why);
    ASSERT_TRUE(minter_) << why;
  }
  TempDir dir_;
  faultline::test::TestPki pki_;
  CertAndKey ca_;
  std::shared_ptr<CertMinter> minter_;
};

TEST_F(Minter, LeafIsSignedByTheCaWithTheLeafExtensions) {
  auto leaf = minter_->leaf("API.Example.test", std::nullopt);
  ASSERT_TRUE(leaf.cert);
  EXPECT_TRUE(leaf.minted);
  X509* x = leaf.cert->cert.get();
  EXPECT_EQ(X509_verify(x, X509_get0_pubkey(ca_.cert.get())), 1);
  EXPECT_EQ(san_of(x), "DNS:api.example.test");
  const auto flags = X509_get_extension_flags(x);
  EXPECT_EQ(flags & EXFLAG_CA, 0u);
  EXPECT_NE(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE, 0u);
  EXPECT_NE(X509_get_extended_key_usage(x) & XKU_SSL_SERVER, 0u);
  EXPECT_NE(X509_get0_subject_key_id(x), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                                  X509_get0_subject_key_id(ca_.cert.get())),
            0);
  // Never past the CA's end (the test CA lives 30 days; so does a leaf at most).
  EXPECT_LE(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca_.cert.get())), 0);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
  ASSERT_TRUE(leaf.cert->chain);
  EXPECT_EQ(sk_X509_num(leaf.cert->chain.get()), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(leaf.cert->chain.get(), 0), ca_.cert.get()), 0);
  EXPECT_EQ(EVP_PKEY_eq(leaf.cert->key.get(), X509_get0_pubkey(x)), 1);

  auto ip = minter_->leaf("::1", std::nullopt);
  ASSERT_TRUE(ip.cert);
  EXPECT_EQ(san_of(ip.cert->cert.get()), "IP:16");
  auto expired = minter_->leaf("a.test", BadCert::expired);
  ASSERT_TRUE(expired.cert);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notAfter(expired.cert->cert.get())), 0);
  EXPECT_EQ(X509_verify(expired.cert->cert.get(), X509_get0_pubkey(ca_.cert.get())), 1);
  auto wrong = minter_->leaf("a.test", BadCert::wrong_host);
  ASSERT_TRUE(wrong.cert);
  EXPECT_EQ(san_of(wrong.cert->cert.get()), "DNS:wrong-host.invalid");
  EXPECT_FALSE(minter_->leaf("b.test", BadCert::wrong_host).minted);  // one for every name
  auto self = minter_->leaf("a.test", BadCert::self_signed);
  ASSERT_TRUE(self.cert);
  EXPECT_EQ(X509_verify(self.cert->cert.get(), X509_get0_pubkey(self.cert->cert.get())), 1);
  EXPECT_FALSE(self.cert->chain);
}

TEST_F(Minter, LruKeepsAtMost1024Names) {
  std::set<std::string> serials;
  for (std::size_t i = 0; i <= CertMinter::kCapacity; ++i) {
    auto leaf = minter_->leaf(fmt::format("n{}.test", i), std::nullopt);
    ASSERT_TRUE(leaf.cert && leaf.minted) << i;
    if (i == 1) {
      EXPECT_FALSE(minter_->leaf("n0.test", std::nullopt).minted);  // n0 now recent
    }
  }
  EXPECT_EQ(minter_->size(), CertMinter::kCapacity);
  EXPECT_FALSE(minter_->leaf("n0.test", std::nullopt).minted);  // kept: used after n1
  EXPECT_TRUE(minter_->leaf("n1.test", std::nullopt).minted);   // the least recently used went
  EXPECT_EQ(minter_->size(), CertMinter::kCapacity);
}

TEST_F(Minter, NonCaCertificatesAreNamed) {
  EXPECT_EQ(ca_certificate_problem(ca_.cert.get()), "");
  auto server = read_cert(pki_.server_cert.string());
  ASSERT_TRUE(server);
  EXPECT_TRUE(contains(ca_certificate_problem(server.get()), "is not a CA certificate"));
}

TEST(SniExtension, FirstHostNameValidatedAndBounded) {
  const auto ext = [](const std::string& names) {  // a ServerNameList around `names`
    std::string out;
    out += static_cast<char>(names.size() >> 8);
    out += static_cast<char>(names.size() & 0xff);
    return out + names;
  };
  const auto entry = [](int type, const std::string& name) {
    std::string out;
    out += static_cast<char>(type);
    out += static_cast<char>(name.size() >> 8);
    out += static_cast<char>(name.size() & 0xff);
    return out + name;
  };
  const auto sni = [](const std::string& bytes) {
    return sni_from_extension(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  };
  EXPECT_EQ(sni(ext(entry(0, "Api.Example.Test."))), "api.example.test");
  EXPECT_EQ(sni(ext(entry(1, "other") + entry(0, "b.test"))), "b.test");
  EXPECT_EQ(sni(ext(entry(0, std::string("a\0b", 3)))), "");
  EXPECT_EQ(sni(ext(entry(0, "a b.test"))), "");
  EXPECT_EQ(sni(ext(entry(0, std::string(256, 'a')))), "");
  EXPECT_EQ(sni(ext(entry(0, ""))), "");
  EXPECT_EQ(sni(""), "");
  std::string truncated = ext(entry(0, "a.test"));
  truncated.pop_back();
  EXPECT_EQ(sni(truncated), "");  // the list length no longer matches
  std::string lying = entry(0, "a.test");
  lying[2] = 100;  // a name longer than what follows
  EXPECT_EQ(sni(ext(lying)), "");
}

}  // namespace
}  // namespace faultline::proxy::test
