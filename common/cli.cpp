#include "common/cli.hpp"

#include <iostream>

namespace faultline {

CLI::App* CommandRegistry::add(const std::string& name, const std::string& description,
                               std::function<int()> run) {
  return add(&root_, name, description, std::move(run));
}

CLI::App* CommandRegistry::add(CLI::App* parent, const std::string& name,
                               const std::string& description, std::function<int()> run) {
  CLI::App* app = parent->add_subcommand(name, description);
  entries_.push_back({app, std::move(run)});
  return app;
}

CLI::App* CommandRegistry::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.app->get_parent() == &root_ && e.app->get_name() == name) return e.app;
  return nullptr;
}

int CommandRegistry::run_selected() const {
  // The deepest parsed command wins (`report merge` over `report`).
  const Entry* chosen = nullptr;
  for (const auto& e : entries_) {
    if (e.app->parsed() && e.run) chosen = &e;
  }
  if (!chosen) {
    std::cerr << root_.help();
    return kExitUsage;
  }
  return chosen->run();
}

}  // namespace faultline
