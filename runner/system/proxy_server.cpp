// ProxyServer (components.hpp): the run's `faultline proxy` (or an attached proxy API) and the
// proxies the scenario creates on it through the Toxiproxy-compatible API.
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runner/system/components.hpp"

namespace faultline::runner {

using namespace std::chrono_literals;

ProxyServer::ProxyServer(std::vector<std::string> argv, const std::string& log_dir,
                         std::string token)
    : ChildComponent(
          ComponentId::proxy(),
          (std::filesystem::path(log_dir) / (ComponentId::proxy().log_name() + ".log")).string(),
          std::move(argv)),
      token_(std::move(token)) {}

ProxyServer::ProxyServer(HostPort attached, std::string token)
    : ChildComponent(ComponentId::proxy(), "", {}),
      attached_(true),
      token_(std::move(token)),
      api_(std::move(attached)) {}

void ProxyServer::start() {
  if (!attached_) ChildComponent::start();
}

void ProxyServer::ready(const StopCheck& should_stop) {
  if (!attached_) {
    api_ = wait_listening(should_stop);
    spdlog::info("run: proxy API on {}", api_->to_string());
    return;
  }
  // Attach: drive a proxy that is already running (a sidecar, or a Toxiproxy server).
  Fetched f = api("GET", "/proxies");
  if (!f.ok)
    throw RunError(fmt::format("services.proxy_api http://{}: not usable: {}", api_->to_string(),
                               f.error.empty() ? "no answer" : f.error));
  spdlog::info("run: attached to the proxy API on {}", api_->to_string());
}

void ProxyServer::stop() {
  // An attached proxy API outlives the run: remove what this run created there.
  for (const auto& name : created_) {
    Fetched f = api("DELETE", "/proxies/" + name);
    if (!f.ok && f.status != 404)
      spdlog::warn("run: could not remove proxy {} from {}: {}", name, api_->to_string(), f.error);
  }
  created_.clear();
  ChildComponent::stop();
}

std::optional<MetricsEndpoint> ProxyServer::metrics() const {
  if (!api_) return std::nullopt;
  return MetricsEndpoint{*api_, "/metrics", token_, nullptr};
}

Resources ProxyServer::resources() const {
  return attached_ ? Resources{} : ChildComponent::resources();
}

Fetched ProxyServer::api(const std::string& method, const std::string& target,
                         const std::string& body) {
  return fetch(*api_, method, target, body, 5000ms, token_);
}

HostPort ProxyServer::create(const ProxySpec& p, const std::string& upstream) {
  json body = p.extra;
  body["name"] = p.name;
  body["listen"] = p.listen.empty() ? "127.0.0.1:0" : p.listen;
  body["upstream"] = upstream;
  body["protocol"] = p.protocol;
  Fetched f = api("POST", "/proxies", body.dump());
  if (!f.ok) {
    if (f.status == 409 && attached_)
      throw RunError(
          fmt::format("proxy: a proxy named {} already exists on the attached API {} "
                      "(remove it, or rename the scenario's proxy)",
                      p.name, api_->to_string()));
    throw RunError(fmt::format("proxy: creating proxy {} failed: {}", p.name, f.error));
  }
  if (attached_) created_.push_back(p.name);
  const auto res = parse_json(f.body);
  std::optional<HostPort> listen;
  if (res && res->is_object() && res->contains("listen") && (*res)["listen"].is_string())
    listen = parse_host_port((*res)["listen"].get<std::string>());
  if (!listen || listen->port == 0)
    throw RunError(
        fmt::format("proxy: creating proxy {} returned no bound address: {}", p.name, f.body));
  listen_[p.name] = *listen;
  for (const auto& t : p.toxics) {
    Fetched ft = api("POST", "/proxies/" + p.name + "/toxics", t.dump());
    if (!ft.ok)
      throw RunError(
          fmt::format("proxy: adding toxic {} to {} failed: {}", t.dump(), p.name, ft.error));
  }
  spdlog::info("run: proxy {} ({}) on {} -> {}", p.name, p.protocol, listen->to_string(), upstream);
  return *listen;
}

void ProxyServer::reset(const std::vector<ProxySpec>& proxies, const StopCheck& should_stop) {
  for (const auto& p : proxies) {
    if (should_stop()) throw Interrupted{};
    const std::string base = "/proxies/" + p.name;
    auto must = [&](const Fetched& f, const std::string& what) {
      if (!f.ok) throw RunError(fmt::format("proxy: {} {} failed: {}", what, p.name, f.error));
    };
    must(api("POST", base, R"({"enabled": true})"), "enabling");
    Fetched list = api("GET", base + "/toxics");
    must(list, "listing the toxics of");
    const auto toxics = parse_json(list.body);
    if (!toxics || !toxics->is_array())
      throw RunError(
          fmt::format("proxy: the toxics of {} are not a JSON array: {}", p.name, list.body));
    for (const auto& t : *toxics)
      if (t.is_object() && t.contains("name") && t["name"].is_string())
        must(api("DELETE", base + "/toxics/" + t["name"].get<std::string>()),
             "removing a toxic of");
    for (const auto& t : p.toxics)
      must(api("POST", base + "/toxics", t.dump()), "adding toxic " + t.dump() + " to");
  }
}

}  // namespace faultline::runner
