// Shared test helpers: where the faultline binary is, scratch directories, a real redis-server on
// a free loopback port (started and stopped by the test), and promtool.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/subprocess.hpp"

namespace faultline::test {

// Absolute path of the built `faultline` executable.
std::string faultline_bin();
// Absolute path of the source tree (for scenarios/ and dashboards/).
std::string source_dir();

// A fresh directory under $TMPDIR, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A `faultline <args...>` child that printed "listening on HOST:PORT"; `address` is what it
// printed.
struct RunningFaultline {
  Subprocess process;
  HostPort address;
};
// Starts `faultline args...`, waits for its "listening on" line (up to `timeout`). Fails the
// current test (ADD_FAILURE) and returns nullopt if it did not come up.
std::optional<RunningFaultline> start_faultline(
    const std::vector<std::string>& args,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));

// Runs `faultline args...` to completion; returns {exit code, stdout}. stderr goes to `stderr_file`
// when given.
std::pair<int, std::string> run_faultline(
    const std::vector<std::string>& args, const std::string& stderr_file = "",
    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

// A real redis-server on 127.0.0.1:<free port>, no persistence. Skips nothing: if redis-server is
// missing the constructor throws (CI installs it).
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  unsigned short port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const noexcept { return process_.pid(); }
  void stop_signal();      // SIGSTOP: the server hangs, connections stay open
  void continue_signal();  // SIGCONT
  Subprocess& process() { return process_; }

 private:
  unsigned short port_ = 0;
  Subprocess process_;
  TempDir dir_;
};

// Runs `promtool check metrics` on exposition text; returns {exit code, promtool's output}.
std::pair<int, std::string> promtool_check_metrics(const std::string& exposition);

// Writes `j` (indented) to DIR/name and returns the path.
std::string write_json(const TempDir& dir, const std::string& name, const json& j);
// Every line of an interval stream (`--intervals-out`, rolled gzip segments included) as JSON;
// fails the current test when a segment cannot be read.
std::vector<json> read_json_stream(const std::string& path);

// Processes whose command line mentions `needle` (e.g. a run's unique output directory).
std::vector<std::string> processes_mentioning(const std::string& needle);
// After a `faultline run` into `out_dir`: no process mentions the directory and no endpoint of
// results.json (HOST:PORT or http://HOST:PORT/...) still accepts connections (gtest expectations).
void expect_nothing_left(const json& results, const std::string& out_dir);
// `faultline report build` on a copy of a finished run's `out_dir` writes a results.json whose
// verdict, phases, assertions, events and timeline equal the live run's (gtest expectations).
void expect_report_build_matches(const TempDir& dir, const std::string& out_dir);

}  // namespace faultline::test
