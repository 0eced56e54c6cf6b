// A distributed run on one machine: five "hosts", each a network namespace joined to a bridge (in
// a sixth namespace) by a veth pair, with private addresses 10.231.0.1-5/24 that exist only inside
// those namespaces. Host A runs the target and a proxy in front of it that answers 10 % of the
// requests with 503 (http_error); hosts B, C, D run one load shard each, started with the same
// --start-at, pushing to a real prometheus-pushgateway on host E. Checked: every shard pushed,
// `report merge --intervals` of the three streams equals their sum second by second and in total
// (the offered rate within 1 % of what was asked), the proxy's fault ratio shows in the merged
// data, and afterwards no namespace, link or process of the test is left — also when it fails (a
// guard tears down in its destructor). Skipped (GTEST_SKIP, with the reason) where network
// namespaces cannot be made: not root, no `ip`, or a sandbox that forbids them.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common/histogram.hpp"
#include "common/line_segments.hpp"
#include "common/subprocess.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPrefix = "flmh";  // every namespace of this test: flmh<PID><host>

// Runs a shell command quietly; its exit status.
int sh(const std::string& cmd) {
  const int st = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

// Runs a shell command; its stdout.
std::string sh_out(const std::string& cmd) {
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    pclose(f);
  }
  return out;
}

std::vector<std::string> our_namespaces(const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(sh_out("ip netns list 2>/dev/null"));
  std::string line;
  while (std::getline(in, line)) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

// The hosts: namespaces, the bridge and the veth pairs. The destructor kills whatever runs in
// them and deletes them (the veths go with their namespaces), whatever state setup reached.
class Hosts {
 public:
  static constexpr std::size_t kHosts = 5;  // A target+proxy, B/C/D load shards, E pushgateway

  Hosts() : prefix_(fmt::format("{}{}", kPrefix, ::getpid())) {}
  ~Hosts() { teardown(); }
  Hosts(const Hosts&) = delete;
  Hosts& operator=(const Hosts&) = delete;

  const std::string& prefix() const { return prefix_; }
  std::string ns(std::size_t host) const {
    return prefix_ + static_cast<char>('a' + static_cast<int>(host));
  }
  std::string bridge() const { return prefix_ + "br"; }
  static std::string address(std::size_t host) { return fmt::format("10.231.0.{}", host + 1); }
  // argv run inside a host's namespace.
  std::vector<std::string> in(std::size_t host, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns(host)});
    return argv;
  }

  // Empty on success, else the step that failed.
  std::string up() {
    auto run = [&](const std::string& cmd) -> bool {
      if (sh(cmd) == 0) return true;
      failed_ = cmd;
      return false;
    };
    if (!run("ip netns add " + bridge())) return failed_;
    created_.push_back(bridge());
    if (!run(fmt::format("ip -n {0} link add br0 type bridge && ip -n {0} link set br0 up",
                         bridge())))
      return failed_;
    for (std::size_t h = 0; h < kHosts; ++h) {
      const std::string n = ns(h);
      if (!run("ip netns add " + n)) return failed_;
      created_.push_back(n);
      // Both ends are made inside their namespaces: no test link ever exists in the root one.
      if (!run(fmt::format("ip link add eth0 netns {} type veth peer name p{} netns {}", n, h,
                           bridge())) ||
          !run(fmt::format("ip -n {0} addr add {1}/24 dev eth0 && ip -n {0} link set eth0 up && "
                           "ip -n {0} link set lo up",
                           n, address(h))) ||
          !run(fmt::format("ip -n {0} link set p{1} master br0 && ip -n {0} link set p{1} up",
                           bridge(), h)))
        return failed_;
    }
    return "";
  }

  void teardown() {
    for (const auto& n : created_) {
      sh(fmt::format("ip netns pids {} | xargs -r kill -9", n));
      sh("ip netns del " + n);
    }
    created_.clear();
  }

 private:
  std::string prefix_;
  std::vector<std::string> created_;
  std::string failed_;
};

// Namespaces left by an earlier run of this test that was killed (its PID is gone).
void remove_stale_namespaces() {
  for (const auto& n : our_namespaces(kPrefix)) {
    const std::string digits = n.substr(std::string(kPrefix).size());
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0) {
      sh(fmt::format("ip netns pids {} | xargs -r kill -9", n));
      sh("ip netns del " + n);
    }
  }
}

std::string why_no_netns() {
  if (::geteuid() != 0) return "not running as root (ip netns add needs CAP_SYS_ADMIN)";
  if (!find_program("ip")) return "the ip command (iproute2) is not installed";
  const std::string probe = fmt::format("{}{}probe", kPrefix, ::getpid());
  if (sh("ip netns add " + probe) != 0)
    return "ip netns add failed (a container or sandbox without network namespaces?)";
  const bool veth =
      sh(fmt::format("ip link add eth0 netns {0} type veth peer name eth1 netns {0}", probe)) == 0;
  // A bridge needs the kernel's bridge module, which a chroot or container may not be able to
  // load (seen in a debootstrap chroot: veth worked, the bridge did not).
  const bool bridge = veth && sh(fmt::format("ip -n {} link add br0 type bridge", probe)) == 0;
  sh("ip netns del " + probe);
  if (!veth) return "veth pairs cannot be created here";
  if (!bridge) return "a bridge cannot be created here (no bridge kernel module?)";
  return "";
}

constexpr double kRate = 300;  // the whole run's, split over three shards
constexpr int kSeconds = 4;

}  // namespace

TEST(MultiHost, ThreeShardsOnThreeHostsMergeToTheirSum) {
  if (const std::string why = why_no_netns(); !why.empty())
    GTEST_SKIP() << "multi-host test skipped: " << why;
  if (!find_program("prometheus-pushgateway"))
    GTEST_SKIP() << "multi-host test skipped: prometheus-pushgateway is not installed";
  remove_stale_namespaces();
  const auto started = std::chrono::steady_clock::now();
  TempDir dir;
  std::string prefix;
  {
    Hosts hosts;  // declared before the processes: they stop first, then the hosts go
    prefix = hosts.prefix();
    const std::string failed = hosts.up();
    ASSERT_EQ(failed, "") << "setting up the hosts failed at: " << failed;
    const std::string bin = faultline_bin();
    const std::string a = Hosts::address(0), e = Hosts::address(4);

    // Host A: the target, and the proxy in front of it failing 10 % of the requests with 503.
    Subprocess target(hosts.in(0, {bin, "target", "--listen", a + ":8080", "--store", "memory",
                                   "--threads", "1"}),
                      dir.file("target.log"));
    ASSERT_TRUE(target.wait_for_line("listening on", 15s)) << "target did not start";
    Subprocess proxy(hosts.in(0, {bin, "proxy", "--api", "127.0.0.1:0", "--listen", a + ":8081",
                                  "--upstream", a + ":8080", "--protocol", "http", "--behavior",
                                  "10:error", "--seed", "7", "--threads", "1"}),
                     dir.file("proxy.log"));
    ASSERT_TRUE(proxy.wait_for_line("listening on", 15s)) << "proxy did not start";
    // Host E: the Pushgateway.
    Subprocess gateway(
        hosts.in(4, {"prometheus-pushgateway", "--web.listen-address=" + e + ":9091"}),
        dir.file("pushgateway.log"));
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (sh(fmt::format("ip netns exec {} curl -sf http://{}:9091/-/ready", hosts.ns(4), e)) !=
           0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the Pushgateway did not start";
      std::this_thread::sleep_for(100ms);
    }

    // Hosts B, C, D: one shard each, all with the same second 0, 2.5 s from now.
    const double at =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() +
        2.5;
    std::vector<Subprocess> shards;
    for (std::size_t i = 0; i < 3; ++i)
      shards.emplace_back(hosts.in(1 + i, {bin,
                                           "load",
                                           fmt::format("http://{}:8081/healthz", a),
                                           "--rate",
                                           fmt::format("{}", kRate),
                                           "--duration",
                                           fmt::format("{}s", kSeconds),
                                           "--shard",
                                           fmt::format("{}/3", i),
                                           "--start-at",
                                           fmt::format("{:.6f}", at),
                                           "--threads",
                                           "1",
                                           "-q",
                                           "--out",
                                           dir.file(fmt::format("r{}.json", i)),
                                           "--intervals-out",
                                           dir.file(fmt::format("i{}.jsonl", i)),
                                           "--push-gateway",
                                           fmt::format("http://{}:9091", e),
                                           "--push-keep"}),
                          dir.file(fmt::format("load{}.log", i)));
    for (auto& s : shards)
      ASSERT_EQ(s.wait(30000ms), 0) << "a load shard failed (see " << dir.path() << ")";

    // Every shard pushed its group to the Pushgateway on host E (kept with --push-keep).
    const std::string pushed =
        sh_out(fmt::format("ip netns exec {} curl -sf http://{}:9091/metrics", hosts.ns(4), e));
    for (int i = 0; i < 3; ++i)
      EXPECT_NE(pushed.find(fmt::format("shard=\"{}\"", i)), std::string::npos)
          << "shard " << i << " is not in the Pushgateway";

    // The merge, second by second and in total, is the sum of the shards.
    std::vector<std::string> args{"report", "merge"};
    for (int i = 0; i < 3; ++i)
      args.push_back(dir.file(fmt::format("r{}.json", i)));
    args.push_back("--intervals");
    for (int i = 0; i < 3; ++i)
      args.push_back(dir.file(fmt::format("i{}.jsonl", i)));
    args.push_back("--intervals-out");
    args.push_back(dir.file("merged.jsonl"));
    auto [code, out] = run_faultline(args, dir.file("merge.err"));
    ASSERT_EQ(code, 0) << "report merge failed (see " << dir.file("merge.err") << ")";
    const json totals = json::parse(out);
    std::map<long, std::uint64_t> want_total, want_offered;
    std::map<long, Histogram> want_hist;
    std::uint64_t shard_offered = 0;
    for (int i = 0; i < 3; ++i) {
      shard_offered += load_json_file(dir.file(fmt::format("r{}.json", i)))["schedule"]["offered"]
                           .get<std::uint64_t>();
      for (const json& l : read_json_stream(dir.file(fmt::format("i{}.jsonl", i)))) {
        const long k = std::lround(l["t"].get<double>());
        want_total[k] += l["requests"]["total"].get<std::uint64_t>();
        want_offered[k] += l["schedule"]["offered"].get<std::uint64_t>();
        want_hist[k].merge(Histogram::from_json(l["histogram"]));
      }
    }
    const auto merged = read_json_stream(dir.file("merged.jsonl"));
    ASSERT_EQ(merged.size(), want_total.size());
    std::uint64_t offered = 0, total = 0, http_5xx = 0;
    for (const json& m : merged) {
      const long k = std::lround(m["t"].get<double>());
      EXPECT_EQ(m["requests"]["total"], want_total[k]) << "second " << k;
      EXPECT_EQ(m["schedule"]["offered"], want_offered[k]) << "second " << k;
      EXPECT_EQ(m["histogram"], want_hist[k].to_json()) << "second " << k;
      EXPECT_EQ(m["merged_from"], 3);
      offered += m["schedule"]["offered"].get<std::uint64_t>();
      total += m["requests"]["total"].get<std::uint64_t>();
      http_5xx += m["errors"]["http_5xx"].get<std::uint64_t>();
    }
    EXPECT_EQ(offered, shard_offered);
    EXPECT_EQ(offered, totals["schedule"]["offered"].get<std::uint64_t>());
    EXPECT_NEAR(static_cast<double>(offered), kRate * kSeconds, 0.01 * kRate * kSeconds);
    // The proxy's 10 % of 503s, seen in the merged data (1200 draws: σ ≈ 0.9 %).
    ASSERT_GT(total, 0u);
    const double ratio = static_cast<double>(http_5xx) / static_cast<double>(total);
    EXPECT_NEAR(ratio, 0.10, 0.035);
    std::cout << fmt::format(
        "merged: {} seconds, offered {} (shards: {}), {} requests, 503 ratio "
        "{:.4f}\n",
        merged.size(), offered, shard_offered, total, ratio);
    // Processes stop (their destructors), then the hosts.
  }
  // Nothing left: no namespace of this test, no process that mentions its files.
  EXPECT_TRUE(our_namespaces(prefix).empty());
  EXPECT_TRUE(processes_mentioning(dir.path().string()).empty());
  EXPECT_EQ(sh_out("ip -o link show | grep -c ' p[0-4]@'"), "0\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s);
}
