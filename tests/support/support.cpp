#include "tests/support/support.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include <boost/asio/write.hpp>

#include "common/http_client.hpp"
#include "common/line_segments.hpp"
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

std::string write_json(const TempDir& dir, const std::string& name, const json& j) {
  const std::string path = dir.file(name);
  std::ofstream(path) << j.dump(2);
  return path;
}

std::vector<json> read_json_stream(const std::string& path) {
  std::vector<json> out;
  std::string error;
  EXPECT_TRUE(for_each_line(
      path, [&](const std::string& l) { out.push_back(json::parse(l)); }, error))
      << error;
  return out;
}

namespace {
std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

// Processes whose command line mentions `needle` (the run's unique output directory).
std::vector<std::string> processes_mentioning(const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = slurp_file("/proc/" + pid + "/cmdline");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos) out.push_back(pid + ": " + cmd);
  }
  return out;
}

void expect_nothing_left(const json& results, const std::string& out_dir) {
  // Give the kernel a moment to reap; the run has already waited for its children.
  std::vector<std::string> left;
  for (int i = 0; i < 20; ++i) {
    left = processes_mentioning(out_dir);
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(left.empty()) << "left running: " << left.front();
  for (const auto& [component, addr] : results["endpoints"].items()) {
    std::string text = addr.get<std::string>();
    if (text.rfind("http://", 0) == 0) text = text.substr(7, text.find('/', 7) - 7);
    auto hp = parse_host_port(text);
    ASSERT_TRUE(hp);
    // A port still accepting connections means a component survived the teardown.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(hp->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(fd);
    EXPECT_NE(rc, 0) << component << " still listening on " << addr;
  }
}

void expect_report_build_matches(const TempDir& dir, const std::string& out_dir) {
  const std::string copy = dir.file("rebuilt");
  std::filesystem::remove_all(copy);
  std::filesystem::copy(out_dir, copy, std::filesystem::copy_options::recursive);
  const json live = load_json_file(out_dir + "/results.json");
  std::filesystem::remove(copy + "/results.json");
  auto [code, text] =
      run_faultline({"report", "build", copy}, dir.file("rebuild.log"), std::chrono::seconds(60));
  (void)text;
  ASSERT_TRUE(std::filesystem::exists(copy + "/results.json")) << "report build exited " << code;
  const json rebuilt = load_json_file(copy + "/results.json");
  for (const char* key : {"verdict", "completed_verdict", "error", "interrupted", "partial",
                          "phases", "assertions", "events", "timeline", "endpoints", "warnings"})
    EXPECT_EQ(live.value(key, json()), rebuilt.value(key, json()))
        << key << " differs between the live run and report build";
}

}  // namespace faultline::test
