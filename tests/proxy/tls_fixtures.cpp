// Fixtures of the proxy's TLS tests (see tls_fixtures.hpp).
#include "tests/proxy/tls_fixtures.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

#include "common/net.hpp"

namespace faultline::proxy::test {

ShResult sh(const std::string& cmd, std::chrono::milliseconds timeout) {
  Subprocess p({"sh", "-c", cmd + " 2>&1"});
  p.read_all(timeout);
  ShResult r;
  r.code = p.wait(timeout);
  r.out = p.output();
  return r;
}

bool have(const std::string& name) {
  return sh("command -v " + name + " >/dev/null").code == 0;
}

namespace {

bool accepts(unsigned short port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

}  // namespace

Nginx::Nginx(const faultline::test::TempDir& dir, const std::string& cert, const std::string& key) {
  const std::string tag = cert.empty() ? "plain" : "ssl";
  const std::string root = dir.file("nginx-" + tag);
  std::filesystem::create_directories(root);
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_loopback_port();
    const std::string conf = root + "/nginx.conf";
    const std::string ssl =
        cert.empty()
            ? ""
            : fmt::format("    ssl_certificate {};\n    ssl_certificate_key {};\n", cert, key);
    std::ofstream(conf) << fmt::format(
        "worker_processes 1;\npid {0}/nginx.pid;\nerror_log {0}/error.log;\n"
        "events {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n"
        "  client_body_temp_path {0};\n  proxy_temp_path {0};\n  fastcgi_temp_path {0};\n"
        "  uwsgi_temp_path {0};\n  scgi_temp_path {0};\n  server {{\n"
        "    listen 127.0.0.1:{1}{2};\n{3}"
        "    location / {{ return 200 \"hello from nginx\\n\"; }}\n  }}\n}}\n",
        root, port_, cert.empty() ? "" : " ssl", ssl);
    process_ = Subprocess({"nginx", "-c", conf, "-g", "daemon off;"}, root + "/stderr.log");
    for (int i = 0; i < 200 && process_.running(); ++i) {
      if (accepts(port_)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    process_.terminate(std::chrono::milliseconds(1000));
  }
  ADD_FAILURE() << "nginx did not start";
}

CertFiles self_signed_cert(const faultline::test::TempDir& dir, const std::string& name) {
  CertFiles f{dir.file(name + ".pem"), dir.file(name + ".key")};
  auto r = sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
              f.key + " -out " + f.cert +
              " -days 2 -subj /CN=localhost -addext "
              "subjectAltName=DNS:localhost,IP:127.0.0.1");
  EXPECT_EQ(r.code, 0) << r.out;
  return f;
}

TlsClient::TlsClient(unsigned short port, const std::string& ca) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  ssl_ = SSL_new(ctx_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  SSL_set1_host(ssl_, "localhost");
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return;
  timeval tv{5, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SSL_set_fd(ssl_, fd_);
  ok_ = SSL_connect(ssl_) == 1;
}

TlsClient::~TlsClient() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string TlsClient::seal(const std::string& data) {
  // Swap the write side to a memory BIO for this one write, then back to the socket.
  BIO* mem = BIO_new(BIO_s_mem());
  BIO* sock = SSL_get_wbio(ssl_);
  BIO_up_ref(sock);
  SSL_set0_wbio(ssl_, mem);
  write_all(data);
  char* p = nullptr;
  const long n = BIO_get_mem_data(mem, &p);
  std::string out(p, static_cast<std::size_t>(n));
  SSL_set0_wbio(ssl_, sock);  // frees mem
  return out;
}

void TlsClient::send_raw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

void TlsClient::write_all(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    std::size_t n = 0;
    if (SSL_write_ex(ssl_, data.data() + off, data.size() - off, &n) != 1) return;
    off += n;
  }
}

std::string TlsClient::read_n(std::size_t n) {
  std::string out;
  char buf[16384];
  while (out.size() < n) {
    std::size_t got = 0;
    if (SSL_read_ex(ssl_, buf, std::min(sizeof buf, n - out.size()), &got) != 1) break;
    out.append(buf, got);
  }
  return out;
}

std::string TlsClient::read_to_end() {
  std::string out;
  char buf[16384];
  for (;;) {
    std::size_t got = 0;
    if (SSL_read_ex(ssl_, buf, sizeof buf, &got) != 1) return out;
    out.append(buf, got);
  }
}

void TlsClient::half_close() {
  // One SSL_shutdown: our close_notify goes out; the peer's ends read_to_end() later.
  SSL_shutdown(ssl_);
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace faultline::proxy::test
