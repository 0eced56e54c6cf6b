// common/tls: contexts from a generated PKI load and complete real handshakes on loopback; each
// bad input names its field with a clear sentence.
#include "common/tls.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

namespace faultline {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class TlsTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TestPki pki = test::make_test_pki(dir.path() / "pki");

  std::string write(const std::string& name, const std::string& content) {
    std::ofstream(dir.file(name)) << content;
    return dir.file(name);
  }
};

struct HandshakeOutcome {
  boost::system::error_code client, server;
  std::string verify_failure, alpn;
};

// One TLS handshake over loopback: the server side on a thread, the client connecting to `host`.
HandshakeOutcome handshake(asio::ssl::context& server_ctx, asio::ssl::context& client_ctx,
                           const tls::ClientConfig& client_config, const std::string& host) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HandshakeOutcome out;
  std::thread server([&] {
    asio::io_context server_io;
    asio::ssl::stream<tcp::socket> stream(server_io, server_ctx);
    boost::system::error_code ec;
    stream.next_layer() = acceptor.accept(server_io, ec);
    if (!ec) stream.handshake(asio::ssl::stream_base::server, out.server);
  });
  asio::ssl::stream<tcp::socket> stream(io, client_ctx);
  EXPECT_EQ(tls::prepare_client_ssl(stream.native_handle(), client_config, host), "");
  stream.next_layer().connect(acceptor.local_endpoint());
  stream.handshake(asio::ssl::stream_base::client, out.client);
  out.verify_failure = tls::verify_failure(stream.native_handle());
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(stream.native_handle(), &proto, &len);
  if (proto != nullptr) out.alpn.assign(reinterpret_cast<const char*>(proto), len);
  stream.next_layer().close();
  server.join();
  return out;
}

TEST_F(TlsTest, GeneratedPkiLoadsAndHandshakesWithVerificationAndAlpn) {
  auto server = tls::make_server_context({pki.server_cert.string(), pki.server_key.string(), ""});
  ASSERT_TRUE(server.ok()) << server.message();
  tls::ClientConfig config;
  config.ca = pki.ca_cert.string();
  auto client = tls::make_client_context(config, {"http/1.1"});
  ASSERT_TRUE(client.ok()) << client.message();
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    const auto out = handshake(*server.context, *client.context, config, host);
    EXPECT_FALSE(out.client) << host << ": " << out.client.message();
    EXPECT_FALSE(out.server) << host << ": " << out.server.message();
    EXPECT_EQ(out.verify_failure, "");
    EXPECT_EQ(out.alpn, "http/1.1");
  }
}

TEST_F(TlsTest, ClientRefusesCertificateFromAnotherCaOrForAnotherName) {
  auto server = tls::make_server_context({pki.server_cert.string(), pki.server_key.string(), ""});
  ASSERT_TRUE(server.ok()) << server.message();
  const auto other = test::make_test_pki(dir.path() / "other");
  tls::ClientConfig config;
  config.ca = other.ca_cert.string();
  auto client = tls::make_client_context(config);
  ASSERT_TRUE(client.ok()) << client.message();
  auto out = handshake(*server.context, *client.context, config, "localhost");
  EXPECT_TRUE(out.client);
  EXPECT_EQ(out.verify_failure, "unable to get local issuer certificate");

  config.ca = pki.ca_cert.string();
  config.sni = "example.com";
  auto right_ca = tls::make_client_context(config);
  ASSERT_TRUE(right_ca.ok());
  out = handshake(*server.context, *right_ca.context, config, "127.0.0.1");
  EXPECT_TRUE(out.client);
  EXPECT_EQ(out.verify_failure, "hostname mismatch");

  tls::ClientConfig insecure;
  insecure.verify = false;
  auto no_verify = tls::make_client_context(insecure);
  out = handshake(*server.context, *no_verify.context, insecure, "localhost");
  EXPECT_FALSE(out.client) << out.client.message();
}

TEST_F(TlsTest, ClientCertificateRequiredWhenClientCaIsSet) {
  auto server = tls::make_server_context(
      {pki.server_cert.string(), pki.server_key.string(), pki.ca_cert.string()});
  ASSERT_TRUE(server.ok()) << server.message();
  tls::ClientConfig with_cert;
  with_cert.ca = pki.ca_cert.string();
  with_cert.cert = pki.client_cert.string();
  with_cert.key = pki.client_key.string();
  auto client = tls::make_client_context(with_cert);
  ASSERT_TRUE(client.ok()) << client.message();
  auto out = handshake(*server.context, *client.context, with_cert, "localhost");
  EXPECT_FALSE(out.server) << out.server.message();
  EXPECT_FALSE(out.client) << out.client.message();

  tls::ClientConfig without_cert;
  without_cert.ca = pki.ca_cert.string();
  auto bare = tls::make_client_context(without_cert);
  out = handshake(*server.context, *bare.context, without_cert, "localhost");
  EXPECT_TRUE(out.server);  // TLS 1.3: the client learns on its first read, the server at once
}

TEST_F(TlsTest, MissingFileNamesFieldAndErrno) {
  auto r = tls::make_server_context({dir.file("nope.pem"), pki.server_key.string(), ""});
  EXPECT_EQ(r.field, "cert");
  EXPECT_EQ(r.error, "cannot read " + dir.file("nope.pem") + ": No such file or directory");
  EXPECT_EQ(r.context, nullptr);

  r = tls::make_server_context({pki.server_cert.string(), dir.file("nope.key"), ""});
  EXPECT_EQ(r.field, "key");
  EXPECT_EQ(r.message(),
            "key: cannot read " + dir.file("nope.key") + ": No such file or directory");

  r = tls::make_server_context(
      {pki.server_cert.string(), pki.server_key.string(), dir.file("nope-ca.pem")});
  EXPECT_EQ(r.field, "client_ca");

  r = tls::make_server_context({"", pki.server_key.string(), ""});
  EXPECT_EQ(r.field, "cert");
  EXPECT_EQ(r.error, "a certificate file is required");

  tls::ClientConfig client;
  client.ca = dir.file("nope-ca.pem");
  r = tls::make_client_context(client);
  EXPECT_EQ(r.field, "ca");
  EXPECT_NE(r.error.find("No such file or directory"), std::string::npos) << r.error;

  r = tls::make_server_context({dir.path().string(), pki.server_key.string(), ""});
  EXPECT_EQ(r.field, "cert");
  EXPECT_NE(r.error.find("not a regular file"), std::string::npos) << r.error;
  // A FIFO is refused without waiting for a writer (issue 22 #2: it froze the proxy's API).
  const std::string fifo = dir.file("cert.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  r = tls::make_server_context({fifo, pki.server_key.string(), ""});
  EXPECT_EQ(r.field, "cert");
  EXPECT_NE(r.error.find("not a regular file"), std::string::npos) << r.error;
}

TEST_F(TlsTest, MismatchedKeyIsRejected) {
  auto r = tls::make_server_context({pki.server_cert.string(), pki.client_key.string(), ""});
  EXPECT_EQ(r.field, "key");
  EXPECT_EQ(r.error,
            "key " + pki.client_key.string() + " does not match cert " + pki.server_cert.string());
  tls::ClientConfig client;
  client.cert = pki.client_cert.string();
  client.key = pki.server_key.string();
  r = tls::make_client_context(client);
  EXPECT_EQ(r.field, "key");
  client.key.clear();
  r = tls::make_client_context(client);
  EXPECT_EQ(r.field, "key");
  EXPECT_EQ(r.error, "a client certificate needs both cert and key");
}

TEST_F(TlsTest, UnparsableFilesAreToldApart) {
  const auto garbage = write("garbage.pem", "this is not a certificate\n");
  tls::ClientConfig client;
  client.ca = garbage;
  auto r = tls::make_client_context(client);
  EXPECT_EQ(r.field, "ca");
  EXPECT_EQ(r.error,
            "no certificate in " + garbage + " (a PEM \"BEGIN CERTIFICATE\" block is expected)");

  const auto broken = write("broken.pem",
                            "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n"
                            "-----END CERTIFICATE-----\n");
  client.ca = broken;
  r = tls::make_client_context(client);
  EXPECT_EQ(r.field, "ca");
  EXPECT_EQ(r.error.rfind("cannot parse a certificate in " + broken + ": ", 0), 0u) << r.error;

  r = tls::make_server_context({pki.server_cert.string(), garbage, ""});
  EXPECT_EQ(r.field, "key");
  EXPECT_EQ(r.error.rfind("no private key in " + garbage, 0), 0u) << r.error;

  // A key file holding a certificate: a PEM block, but not a key.
  r = tls::make_server_context({pki.server_cert.string(), pki.server_cert.string(), ""});
  EXPECT_EQ(r.field, "key");
  EXPECT_EQ(r.error.rfind("cannot parse the private key in ", 0), 0u) << r.error;
}

TEST_F(TlsTest, PrivateKeysAreWrittenOwnerOnly) {
  const auto perms = std::filesystem::status(pki.server_key).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

}  // namespace
}  // namespace faultline
