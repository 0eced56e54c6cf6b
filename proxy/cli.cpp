// `faultline proxy` (the chaos proxy and its REST API) and `faultline ctl` (a client for it).
#include "proxy/cli.hpp"

#include <spdlog/spdlog.h>

#include <future>
#include <iostream>
#include <random>
#include <thread>

#include <boost/asio/post.hpp>

#include "common/co_spawn.hpp"
#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/metrics.hpp"
#include "common/ready_line.hpp"
#include "common/signals.hpp"
#include "proxy/behaviors/builtin.hpp"
#include "proxy/ctl.hpp"
#include "proxy/one_liner.hpp"
#include "proxy/server.hpp"
#include "proxy/tls_flags.hpp"

namespace faultline::proxy {

namespace {

struct ProxyOptions {
  std::string api = "127.0.0.1:8474";
  std::string config;
  std::string api_token;
  std::string listen;
  std::string upstream;
  std::string protocol = "tcp";
  std::string behavior;
  std::string idle_timeout = "1h";
  std::string connect_timeout = "5s";
  std::string tls_handshake_timeout = "10s";
  TlsFlags tls;  // one-liner TLS
  unsigned threads = 0;
  std::uint64_t seed = 0;
  bool seed_set = false;
  bool no_splice = false;
};

// Upper bound of --threads: far above any useful number of worker loops, far below what makes
// thread creation fail on an ordinary machine (each loop also costs descriptors). As `faultline
// target`.
constexpr unsigned kMaxEventLoops = 256;

int run_proxy(const ProxyOptions& o) {
  auto api = parse_host_port(o.api);
  if (!api) {
    std::cerr << "faultline proxy: --api: expected HOST:PORT, got \"" << o.api << "\"\n";
    return kExitUsage;
  }
  auto idle = parse_duration(o.idle_timeout);
  auto connect = parse_duration(o.connect_timeout);
  auto handshake = parse_duration(o.tls_handshake_timeout);
  if (!idle || idle->count() <= 0 || !connect || connect->count() <= 0 || !handshake ||
      handshake->count() <= 0) {
    std::cerr << "faultline proxy: --idle-timeout/--connect-timeout/--tls-handshake-timeout: "
                 "expected a positive duration like 30s\n";
    return kExitUsage;
  }
  if (o.threads > kMaxEventLoops) {
    std::cerr << "faultline proxy: --threads: " << o.threads << " is more than " << kMaxEventLoops
              << "\n";
    return kExitUsage;
  }
  const bool one_liner_tls = o.tls.terminates() || o.tls.originates();
  const bool one_liner =
      !o.listen.empty() || !o.upstream.empty() || !o.behavior.empty() || one_liner_tls;
  if (one_liner && (o.listen.empty() || o.upstream.empty())) {
    std::cerr << "faultline proxy: --listen and --upstream go together (and --behavior needs "
                 "both)\n";
    return kExitUsage;
  }

  Registry registry;
  register_builtin_behaviors(registry);

  json initial = json::array();
  if (!o.config.empty()) {
    try {
      initial = load_json_file(o.config);
    } catch (const ConfigError& e) {
      std::cerr << "faultline proxy: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  if (one_liner) {
    ConfigErrors errors;
    auto p = one_liner_proxy(o.listen, o.upstream, o.protocol, o.behavior, registry, errors);
    if (!p) {
      std::cerr << "faultline proxy: " << errors.to_string() << "\n";
      return kExitUsage;
    }
    apply_tls_flags(o.tls, *p);
    if (!initial.is_array()) {
      std::cerr << "faultline proxy: " << o.config << ": must be a JSON array of proxies\n";
      return kExitUsage;
    }
    initial.push_back(*p);
  }

  const unsigned threads =
      o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  // Before any thread starts, so that every thread inherits the block and only wait() below
  // takes the stop signals.
  StopSignals stop_signals;

  // Metrics outlive the loops: connection handlers still queued at exit reference them.
  Metrics metrics;
  ProxyMetrics proxy_metrics(metrics);
  IoPool control(1);
  IoPool workers(threads);
  ProxyEnv env{
      .control = control.context(0),
      .workers = workers,
      .metrics = proxy_metrics,
      .registry = registry,
      .seed = o.seed_set ? o.seed : std::random_device{}() * 0x100000001ULL,
      .idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*idle),
      .connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*connect),
      .splice = !o.no_splice,
      .tls_handshake_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*handshake)};
  ProxyServer server(env,
                     o.api_token.empty() ? std::nullopt : std::optional<std::string>(o.api_token));
  HttpServerOptions api_options;
  api_options.server_header = "faultline-proxy";
  HttpServer api_server(
      control, [&server](HttpRequest& req, RequestContext&) { return server.handle_async(req); },
      api_options);
  // The API first: when it cannot listen, no proxy has started yet.
  tcp::endpoint bound;
  try {
    bound = api_server.listen(*api);
  } catch (const boost::system::system_error& e) {
    std::cerr << "faultline proxy: --api: cannot listen on " << o.api << ": " << e.code().message()
              << "\n";
    return kExitUsage;
  }
  try {
    // All or nothing: on an error no proxy has started.
    if (!initial.empty()) server.populate(initial, o.config.empty() ? "$" : o.config + ": $");
  } catch (const ConfigError& e) {
    std::cerr << "faultline proxy: " << e.what() << "\n";
    return kExitUsage;
  } catch (const ListenError& e) {
    std::cerr << "faultline proxy: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::system_error& e) {  // a recording file that cannot be opened
    std::cerr << "faultline proxy: " << e.what() << "\n";
    return kExitUsage;
  }

  for (const auto& p : initial)
    if (p.is_object() && p.contains("name"))
      spdlog::info("proxy {} created from the command line/config", p["name"].get<std::string>());

  try {
    workers.start();
    control.start();
  } catch (const std::system_error& e) {
    std::cerr << "faultline proxy: cannot start " << threads + 1 << " threads: " << e.what()
              << "\n";
    // The control loop is not running: stop the proxies here and run their aborted accepts while
    // the worker contexts still exist (as on the normal way out below).
    control.stop();
    control.join();
    server.stop_all();
    control.context(0).restart();
    control.context(0).poll();
    workers.stop();
    workers.join();
    return kExitUsage;
  }
  ready_line::print_listening(bound);

  const int sig = stop_signals.wait();
  spdlog::info("faultline proxy: signal {}, stopping", sig);
  std::promise<void> stopped;
  asio::post(control.context(0), [&] {
    api_server.stop();
    server.stop_all();
    stopped.set_value();
  });
  stopped.get_future().wait_for(std::chrono::seconds(5));
  control.stop();
  control.join();
  // The accepts aborted by stop_all complete only now: run those handlers while the worker
  // contexts, which own the accepted sockets, still exist (destroying them unrun later, after
  // `workers`, read freed memory: seen under AddressSanitizer).
  control.context(0).restart();
  control.context(0).poll();
  workers.stop();
  workers.join();
  return kExitOk;
}

}  // namespace

void register_commands(CommandRegistry& registry) {
  auto opts = std::make_shared<ProxyOptions>();
  CLI::App* app = registry.add("proxy",
                               "Run the chaos proxy (TCP/HTTP/Redis) with a Toxiproxy-compatible "
                               "REST API and /metrics",
                               [opts] { return run_proxy(*opts); });
  app->add_option("--api", opts->api, "REST API and /metrics address (port 0: any free port)")
      ->capture_default_str();
  app->add_option("--config", opts->config,
                  "JSON array of proxies (each optionally with toxics) created at start-up");
  app->add_option("--api-token", opts->api_token,
                  "require 'Authorization: Bearer TOKEN' on every API request "
                  "(default: $FAULTLINE_API_TOKEN)")
      ->envname("FAULTLINE_API_TOKEN");
  app->add_option("--listen", opts->listen, "one-liner: the proxy's listen address");
  app->add_option("--upstream", opts->upstream, "one-liner: the upstream host:port");
  app->add_option("--protocol", opts->protocol, "one-liner: tcp, http or redis")
      ->capture_default_str()
      ->check(CLI::IsMember({"tcp", "http", "redis"}));
  app->add_option("--behavior", opts->behavior,
                  "one-liner: weighted behaviors, percent first, e.g. 20:delay,10:error");
  app->add_option("--idle-timeout", opts->idle_timeout,
                  "close proxied connections idle (both ways) this long")
      ->capture_default_str();
  app->add_option("--connect-timeout", opts->connect_timeout, "upstream connect timeout")
      ->capture_default_str();
  app->add_option("--tls-handshake-timeout", opts->tls_handshake_timeout,
                  "close a connection whose TLS handshake (either side) takes longer")
      ->capture_default_str();
  add_tls_flags(*app, opts->tls, "one-liner: ");
  app->add_option("--threads", opts->threads, "worker threads (default: one per CPU)");
  app->add_flag("--no-splice", opts->no_splice,
                "tcp: always copy through user space (default: bulk transfers on toxic-free "
                "connections use splice(2))");
  app->add_option_function<std::uint64_t>(
      "--seed",
      [opts](std::uint64_t s) {
        opts->seed = s;
        opts->seed_set = true;
      },
      "seed of the fault draws (default: random)");
  register_ctl_command(registry);
}

}  // namespace faultline::proxy
