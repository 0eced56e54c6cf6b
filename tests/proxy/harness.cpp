// In-process proxy harness (see harness.hpp).
#include "tests/proxy/harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <sstream>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/co_spawn.hpp"

namespace faultline::proxy::test {

namespace {

awaitable<void> echo_session(tcp::socket s) {
  std::array<char, 65536> buf;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_nothrow);
    if (ec) {
      error_code ig;
      if (ec == asio::error::eof) s.shutdown(tcp::socket::shutdown_send, ig);
      co_return;
    }
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(buf.data(), n), use_nothrow);
    if (wec) co_return;
  }
}

awaitable<void> echo_accept(tcp::acceptor* a) {
  for (;;) {
    auto [ec, s] = co_await a->async_accept(use_nothrow);
    if (ec) co_return;
    asio::co_spawn(a->get_executor(), echo_session(std::move(s)), log_exception("echo session"));
  }
}

}  // namespace

Harness::Harness(std::uint64_t seed, unsigned workers, std::chrono::milliseconds idle, bool splice)
    : workers_(workers) {
  register_builtin_behaviors(registry_);
  env_ = std::make_unique<ProxyEnv>(ProxyEnv{.control = control_.context(0),
                                             .workers = workers_,
                                             .metrics = proxy_metrics_,
                                             .registry = registry_,
                                             .seed = seed,
                                             .idle_timeout = idle,
                                             .connect_timeout = std::chrono::milliseconds(2000),
                                             .splice = splice});
  server_ = std::make_unique<ProxyServer>(*env_, std::nullopt);
  ProxyServer* s = server_.get();
  http_ = std::make_unique<HttpServer>(
      control_, [s](HttpRequest& req, RequestContext&) { return s->handle_async(req); });
  auto ep = http_->listen(HostPort{"127.0.0.1", 0});
  api_ = HostPort{"127.0.0.1", ep.port()};
  control_.start();
  workers_.start();
}

void Harness::set_file_reader(asio::any_io_executor reader) {
  std::promise<void> done;
  asio::post(control_.context(0), [&] {
    server_->set_file_reader(reader);
    done.set_value();
  });
  done.get_future().wait();
}

Harness::~Harness() {
  http_->stop();
  // Proxies (and their acceptors) must go away on the control loop.
  std::promise<void> done;
  asio::post(control_.context(0), [&] {
    server_->stop_all();
    done.set_value();
  });
  done.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  control_.stop();
  control_.join();
  workers_.stop();
  workers_.join();
  server_.reset();
}

Harness::Reply Harness::call(const std::string& method, const std::string& target, const json& body,
                             std::vector<std::pair<std::string, std::string>> headers) {
  HttpClientRequest req;
  req.method = method;
  req.target = target;
  if (!body.is_null()) {
    req.body = body.dump();
    headers.emplace_back("Content-Type", "application/json");
  }
  req.headers = std::move(headers);
  auto [ec, res] = http_fetch_sync(api_, req);
  Reply r;
  if (ec) return r;
  r.status = res.status;
  r.raw = res.body;
  if (!res.body.empty()) r.body = json::parse(res.body, nullptr, false);
  return r;
}

unsigned short Harness::create(const std::string& name, const std::string& upstream,
                               const std::string& protocol, json extra) {
  json body{
      {"name", name}, {"listen", "127.0.0.1:0"}, {"upstream", upstream}, {"protocol", protocol}};
  body.update(extra);
  auto r = call("POST", "/proxies", body);
  if (r.status != 201) return 0;
  auto hp = parse_host_port(r.body["listen"].get<std::string>());
  return hp ? hp->port : 0;
}

double Harness::metric(const std::string& name, const std::string& labels) {
  auto r = call("GET", "/metrics");
  std::istringstream in(r.raw);
  std::string line;
  const std::string prefix = name + "{";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    if (line.find(labels) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

EchoServer::EchoServer() {
  acceptor_ = std::make_unique<tcp::acceptor>(
      pool_.context(0), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(pool_.context(0), echo_accept(acceptor_.get()), log_exception("echo accept"));
  pool_.start();
}

EchoServer::~EchoServer() {
  std::promise<void> done;
  asio::post(pool_.context(0), [&] {
    error_code ec;
    acceptor_->close(ec);
    done.set_value();
  });
  done.get_future().wait();
  pool_.stop();
  pool_.join();
}

Client::Client(unsigned short port, std::chrono::milliseconds rcv_timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  timeval tv{static_cast<time_t>(rcv_timeout.count() / 1000),
             static_cast<suseconds_t>((rcv_timeout.count() % 1000) * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

bool Client::send_all(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string Client::read_n(std::size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    const ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

std::string Client::read_to_end(std::string* how) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r > 0) {
      out.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    if (how) *how = r == 0 ? "eof" : (errno == ECONNRESET ? "reset" : "timeout");
    return out;
  }
}

void Client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace faultline::proxy::test
