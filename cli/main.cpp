// The `faultline` executable: parses the command line once and hands over to the chosen
// component. Each component registers its own subcommands (see */cli.hpp).
#include <iostream>
#include <new>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/logging.hpp"
#include "common/version.hpp"
#include "loadgen/cli.hpp"
#include "proxy/cli.hpp"
#include "runner/cli.hpp"
#include "target/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "faultline: measure how a networked service degrades when its dependencies "
      "misbehave",
      "faultline"};
  app.set_version_flag("--version", std::string("faultline ") + faultline::kVersion);
  app.require_subcommand(0, 1);
  app.fallthrough();
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  faultline::CommandRegistry registry(app);
  faultline::target::register_commands(registry);
  faultline::proxy::register_commands(registry);
  faultline::loadgen::register_commands(registry);
  faultline::runner::register_commands(registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "faultline: " << e.what() << "\n\n";
    // Usage of the innermost subcommand the user reached.
    const CLI::App* where = &app;
    for (;;) {
      auto subs = where->get_subcommands();
      if (subs.empty()) break;
      where = subs.front();
    }
    std::cerr << where->help();
    return faultline::kExitUsage;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << "faultline: a subcommand is required\n\n" << app.help();
    return faultline::kExitUsage;
  }
  faultline::init_logging(log_level);
  // Last line of defence: every command handles its expected failures itself; anything that still
  // escapes (an allocation or a thread that could not be had) is a message and exit 2, never an
  // abort.
  try {
    return registry.run_selected();
  } catch (const std::bad_alloc& e) {
    std::cerr << "faultline: out of memory (" << e.what() << ")\n";
  } catch (const std::exception& e) {
    std::cerr << "faultline: " << e.what() << "\n";
  }
  return faultline::kExitUsage;
}
