#include "tests/support/support.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include <boost/asio/write.hpp>

#include "common/http_client.hpp"
#include "common/ready_line.hpp"

namespace faultline::test {

std::string faultline_bin() {
  return FAULTLINE_BIN;
}
std::string source_dir() {
  return FAULTLINE_SOURCE_DIR;
}

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (;;) {
    path_ = base / ("faultline-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(path_)) break;
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::optional<RunningFaultline> start_faultline(const std::vector<std::string>& args,
                                                std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{faultline_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess p(argv);
  auto line = p.wait_for_line(std::string(ready_line::kListening), timeout);
  if (!line) {
    ADD_FAILURE() << "faultline did not report 'listening on' within " << timeout.count()
                  << " ms; stdout: " << p.output();
    return std::nullopt;
  }
  auto hp = ready_line::parse_listening(*line);
  if (!hp) {
    ADD_FAILURE() << "cannot parse address from: " << *line;
    return std::nullopt;
  }
  return RunningFaultline{std::move(p), *hp};
}

std::pair<int, std::string> run_faultline(const std::vector<std::string>& args,
                                          const std::string& stderr_file,
                                          std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{faultline_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess p(argv, stderr_file);
  p.read_all(timeout);
  int code = p.wait(std::chrono::milliseconds(5000));
  if (code < 0) code = p.terminate();
  return {code, p.output()};
}

RedisServer::RedisServer() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_loopback_port();
    process_ = Subprocess({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", dir_.path().string(),
                           "--daemonize", "no", "--loglevel", "warning"});
    // Ready when it answers PING.
    for (int i = 0; i < 200; ++i) {
      if (!process_.running()) break;
      auto [ec, res] = [&] {
        // RESP inline PING over a raw socket via redis-cli would add a dependency on its output;
        // a TCP connect + "PING\r\n" is enough.
        asio::io_context ioc;
        tcp::socket s(ioc);
        error_code e;
        s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), e);
        std::string reply;
        if (!e) {
          asio::write(s, asio::buffer(std::string("PING\r\n")), e);
          char buf[16];
          if (!e) {
            auto n = s.read_some(asio::buffer(buf), e);
            reply.assign(buf, n);
          }
        }
        return std::make_pair(e, reply);
      }();
      if (!ec && res.rfind("+PONG", 0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    process_.terminate(std::chrono::milliseconds(1000));
  }
  throw std::runtime_error("redis-server did not start");
}

RedisServer::~RedisServer() {
  process_.signal(SIGCONT);
  process_.terminate(std::chrono::milliseconds(3000));
}

void RedisServer::stop_signal() {
  process_.signal(SIGSTOP);
}
void RedisServer::continue_signal() {
  process_.signal(SIGCONT);
}

std::pair<int, std::string> promtool_check_metrics(const std::string& exposition) {
  TempDir dir;
  const std::string in = dir.file("metrics.txt");
  {
    std::ofstream f(in);
    f << exposition;
  }
  const std::string out = dir.file("out.txt");
  const std::string cmd = "promtool check metrics < " + in + " > " + out + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream r(out);
  std::string text((std::istreambuf_iterator<char>(r)), std::istreambuf_iterator<char>());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text};
}

}  // namespace faultline::test
