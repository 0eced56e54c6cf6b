// Pushgateway client of `faultline load` (see push_gateway.hpp).
#include "loadgen/push_gateway.hpp"

#include <curl/curl.h>

#include <algorithm>

#include <fmt/format.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "loadgen/url.hpp"

namespace faultline::loadgen {
namespace {

bool is_job_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

// libcurl's process-wide setup, once, before any thread of ours uses it.
void curl_global_once() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)ok;
}

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

}  // namespace

std::optional<std::string> push_group_url(const PushGatewaySettings& s, std::size_t shard,
                                          std::string& error) {
  std::string url_error;
  const auto url = parse_url(s.url, url_error);
  if (!url) {
    error = "--push-gateway: " + url_error;
    return std::nullopt;
  }
  if (url->websocket || url->target.find('?') != std::string::npos) {
    error = "--push-gateway: expected http(s)://HOST:PORT[/prefix] without a query";
    return std::nullopt;
  }
  if (s.job.empty() || s.job.size() > 200 ||
      std::find_if_not(s.job.begin(), s.job.end(), is_job_char) != s.job.end()) {
    error = "--push-job: expected letters, digits and _ . : - only (got \"" + s.job + "\")";
    return std::nullopt;
  }
  std::string prefix = url->target;
  while (!prefix.empty() && prefix.back() == '/')
    prefix.pop_back();
  return fmt::format("{}://{}{}/metrics/job/{}/shard/{}", url->tls ? "https" : "http",
                     url->host_header, prefix, s.job, shard);
}

MetricsPusher::MetricsPusher(std::string group_url, bool keep,
                             std::shared_ptr<prometheus::Registry> registry,
                             std::chrono::milliseconds period,
                             std::chrono::milliseconds request_timeout)
    : url_(std::move(group_url)),
      keep_(keep),
      registry_(std::move(registry)),
      period_(period),
      timeout_(request_timeout) {
  curl_global_once();
}

MetricsPusher::~MetricsPusher() {
  stop();
}

void MetricsPusher::start() {
  thread_ = std::thread([this] { loop(); });
}

void MetricsPusher::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    push();
    lock.lock();
    cv_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

void MetricsPusher::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  push();  // the final values (the run's last tick came before)
  if (keep_) return;
  const std::string err = request("DELETE", "");
  deleted_ = err.empty();
  if (!deleted_) spdlog::warn("push gateway: could not delete {}: {}", url_, err);
}

void MetricsPusher::push() {
  const std::string body = prometheus::TextSerializer().Serialize(registry_->Collect());
  const std::string err = request("PUT", body);
  ++pushes_;
  if (err.empty()) {
    if (failing_) spdlog::info("push gateway: pushing to {} again", url_);
    failing_ = false;
    return;
  }
  ++failures_;
  if (!failing_)
    spdlog::warn("push gateway: push to {} failed: {} (retrying every second)", url_, err);
  failing_ = true;
}

std::string MetricsPusher::request(const char* method, const std::string& body) const {
  CURL* curl = curl_easy_init();
  if (!curl) return "cannot initialise libcurl";
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from other threads' timeouts
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  if (status < 200 || status >= 300) return fmt::format("HTTP {}", status);
  return "";
}

}  // namespace faultline::loadgen
