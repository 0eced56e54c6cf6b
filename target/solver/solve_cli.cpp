// `faultline solve`: the MD5 prefix solver on stdin (prints what POST /solve returns), and
// `--benchmark`, which measures candidates per second next to OpenSSL's MD5 block rate.
#include "target/solver/solve_cli.hpp"

#include <openssl/evp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "target/solver/md5_lanes.hpp"
#include "target/solver/solver.hpp"

namespace faultline::target {

namespace {

struct SolveOptions {
  std::string prefix;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string isa = "auto";
  bool benchmark = false;
  double seconds = 3.0;
};

// CPU time of the whole process (all threads): on a shared machine the wall-clock rates depend on
// what else runs, the per-CPU-second rates much less.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Rate {
  double per_second;      // wall clock
  double per_cpu_second;  // process CPU time
};

// OpenSSL EVP MD5 over 8 KiB buffers for about `seconds` on this thread; 64-byte blocks.
Rate openssl_md5_blocks_per_second(double seconds) {
  using Clock = std::chrono::steady_clock;
  std::vector<unsigned char> buf(8192);
  for (std::size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<unsigned char>(i * 131 + 7);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const EVP_MD* md = EVP_md5();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::uint64_t blocks = 0;
  const double cpu_start = process_cpu_seconds();
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto now = start;
  do {
    for (int rep = 0; rep < 64; ++rep) {
      if (EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
          EVP_DigestUpdate(ctx.get(), buf.data(), buf.size()) != 1 ||
          EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
        throw std::runtime_error("OpenSSL EVP MD5 failed");
      }
      buf[0] = digest[0];  // keep every round dependent on the last
      blocks += buf.size() / 64;
    }
    now = Clock::now();
  } while (now < end);
  const double cpu = process_cpu_seconds() - cpu_start;
  const double b = static_cast<double>(blocks);
  return {b / std::chrono::duration<double>(now - start).count(), b / cpu};
}

int run_benchmark(const SolveOptions& opt, md5::Isa isa) {
  using Clock = std::chrono::steady_clock;
  const Rate openssl = openssl_md5_blocks_per_second(opt.seconds);
  SolveRequest req;
  req.content = "faultline solver benchmark: a paste of a typical small size, hashed once.\n";
  // 16 hex digits: the slowest search path (all 64 steps, digest words A and B compared), and a
  // match is not expected in the lifetime of the benchmark.
  req.prefix_hex = "0123456789abcdef";
  req.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(opt.seconds));
  const double cpu_start = process_cpu_seconds();
  SolveResult r = solve(req, opt.threads, isa);
  const double cpu = process_cpu_seconds() - cpu_start;
  const double attempts = static_cast<double>(r.attempts);
  const double rate = attempts / r.seconds;
  nlohmann::json out = {
      {"candidates_per_second", rate},
      {"threads", opt.threads},
      {"isa", std::string(md5::isa_name(isa))},
      {"openssl_md5_blocks_per_second", openssl.per_second},
      {"ratio_per_core", rate / (openssl.per_second * opt.threads)},
      {"seconds", r.seconds},
      {"cpu_seconds", cpu},
      {"candidates_per_cpu_second", attempts / cpu},
      {"openssl_md5_blocks_per_cpu_second", openssl.per_cpu_second},
      {"ratio_per_cpu_second", attempts / cpu / openssl.per_cpu_second},
  };
  std::cout << out.dump() << std::endl;
  return kExitOk;
}

int run_solve(const SolveOptions& opt) {
  md5::Isa isa = md5::best_isa();
  if (opt.isa != "auto") {
    auto parsed = md5::parse_isa(opt.isa);
    if (!parsed) {
      std::cerr << "faultline solve: --isa must be scalar, avx2, avx512 or auto, got \"" << opt.isa
                << "\"\n";
      return kExitUsage;
    }
    if (!md5::isa_supported(*parsed)) {
      std::cerr << "faultline solve: this CPU does not support --isa " << opt.isa << "\n";
      return kExitUsage;
    }
    isa = *parsed;
  }
  if (opt.benchmark) {
    if (!(opt.seconds > 0) || opt.seconds > 3600) {
      std::cerr << "faultline solve: --seconds must be in (0, 3600]\n";
      return kExitUsage;
    }
    return run_benchmark(opt, isa);
  }
  if (opt.prefix.empty()) {
    std::cerr << "faultline solve: --prefix HEX (1 to 16 hex digits) or --benchmark is required\n";
    return kExitUsage;
  }
  std::string prefix = opt.prefix;
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](char c) {
    return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  if (!valid_prefix_hex(prefix)) {
    std::cerr << "faultline solve: --prefix must be 1 to 16 hex digits, got \"" << opt.prefix
              << "\"\n";
    return kExitUsage;
  }
  SolveRequest req;
  req.content.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  req.prefix_hex = prefix;
  SolveResult r = solve(req, opt.threads, isa);
  if (r.status != SolveResult::Status::found) {
    // No deadline and nothing cancels: only reachable after ~2.8e18 candidates.
    std::cerr << "faultline solve: no suffix found\n";
    return kExitFailed;
  }
  nlohmann::json out = {
      {"suffix", r.suffix}, {"id", r.id}, {"attempts", r.attempts}, {"seconds", r.seconds}};
  std::cout << out.dump() << std::endl;
  return kExitOk;
}

}  // namespace

void register_solve_command(CommandRegistry& registry) {
  auto opt = std::make_shared<SolveOptions>();
  CLI::App* app = registry.add(
      "solve",
      "Find a whitespace suffix for stdin whose MD5 starts with --prefix (prints the JSON of "
      "POST /solve), or measure the solver with --benchmark",
      [opt] {
        try {
          return run_solve(*opt);
        } catch (const std::system_error& e) {
          // Thread creation failed (EAGAIN: a process or memory limit): a message, not an abort.
          std::cerr << "faultline solve: cannot start " << opt->threads
                    << " solver threads: " << e.what() << "\n";
          return kExitUsage;
        } catch (const std::bad_alloc& e) {
          // Under an address-space limit the thread's state or stack cannot be allocated.
          std::cerr << "faultline solve: cannot start " << opt->threads
                    << " solver threads: out of memory (" << e.what() << ")\n";
          return kExitUsage;
        }
      });
  CLI::Option* prefix =
      app->add_option("--prefix", opt->prefix, "hex digits the MD5 must start with (1 to 16)");
  app->add_option("--threads", opt->threads, "solver threads")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  app->add_option("--isa", opt->isa, "lane width: scalar, avx2, avx512 or auto")
      ->capture_default_str();
  app->add_flag("--benchmark", opt->benchmark,
                "print one JSON line: candidates per second vs OpenSSL's MD5 block rate")
      ->excludes(prefix);
  app->add_option("--seconds", opt->seconds, "benchmark duration (each of the two measurements)")
      ->capture_default_str();
}

}  // namespace faultline::target
