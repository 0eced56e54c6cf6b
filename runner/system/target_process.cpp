// TargetProcess (components.hpp): `faultline target`, ready when it prints its address; scraped
// over HTTPS against the run's CA when it serves TLS.
#include <filesystem>

#include "runner/system/components.hpp"

namespace faultline::runner {

TargetProcess::TargetProcess(std::vector<std::string> argv, const std::string& log_dir,
                             std::shared_ptr<boost::asio::ssl::context> tls)
    : ChildComponent(
          ComponentId::target(),
          (std::filesystem::path(log_dir) / (ComponentId::target().log_name() + ".log")).string(),
          std::move(argv)),
      tls_(std::move(tls)) {}

void TargetProcess::ready(const StopCheck& should_stop) {
  address_ = wait_listening(should_stop);
}

std::optional<MetricsEndpoint> TargetProcess::metrics() const {
  if (!address_) return std::nullopt;
  return MetricsEndpoint{*address_, "/metrics", "", tls_};
}

}  // namespace faultline::runner
