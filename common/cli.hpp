// Subcommand registry for the single `faultline` executable. Each component registers its
// subcommands (options bound to state it owns) and a run function; main parses once and runs the
// chosen one. Exit codes everywhere: 0 success, 1 the measured verdict failed, 2 bad input/setup.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace faultline {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
// Ended by SIGINT/SIGTERM (128 + SIGINT, as shells report it).
inline constexpr int kExitInterrupted = 130;

class CommandRegistry {
 public:
  explicit CommandRegistry(CLI::App& root) : root_(root) {}
  // Adds `faultline NAME`; `run` is called after a successful parse if NAME was chosen.
  CLI::App* add(const std::string& name, const std::string& description, std::function<int()> run);
  // Adds a nested subcommand (e.g. `faultline report merge`).
  CLI::App* add(CLI::App* parent, const std::string& name, const std::string& description,
                std::function<int()> run);
  // A top-level command registered earlier (e.g. `report`, to add a nested one), or nullptr.
  CLI::App* find(const std::string& name) const;
  // Runs the chosen command; returns its exit code (kExitUsage when none was chosen).
  int run_selected() const;

 private:
  struct Entry {
    CLI::App* app;
    std::function<int()> run;
  };
  CLI::App& root_;
  std::vector<Entry> entries_;
};

}  // namespace faultline
