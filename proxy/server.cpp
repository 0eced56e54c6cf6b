// The Toxiproxy v2 REST API (same paths, JSON shapes and status codes), faultline's validation
// (400 naming the field) and GET /metrics.
#include "proxy/server.hpp"

#include <spdlog/spdlog.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <functional>
#include <initializer_list>

#include <boost/asio/co_spawn.hpp>

#include <fmt/format.h>

#include "common/version.hpp"
#include "proxy/api_body.hpp"

namespace faultline::proxy {

namespace {

using status = http::status;

std::vector<std::string> split_path(std::string_view target) {
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < target.size()) {
    while (i < target.size() && target[i] == '/')
      ++i;
    std::size_t j = i;
    while (j < target.size() && target[j] != '/')
      ++j;
    if (j > i) parts.emplace_back(target.substr(i, j - i));
    i = j;
  }
  return parts;
}

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest sha256(std::string_view text) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

// Compares the Authorization header with the expected one in time independent of where they
// differ, and of their lengths: both are hashed, the digests compared with CRYPTO_memcmp.
bool same_secret(std::string_view given, const Digest& expected) {
  const Digest d = sha256(given);
  return CRYPTO_memcmp(d.data(), expected.data(), d.size()) == 0;
}

HttpResponse no_content() {
  HttpResponse res{status::no_content, 11};
  return res;
}

HttpResponse bad_request(const ConfigErrors& errors) {
  return json_error(status::bad_request, errors.to_string());
}

// Every body the API reads goes through the depth-limited parse (api_body.hpp): nothing deeper than
// kMaxJsonDepth reaches the parsers, whose copies and error messages walk the document recursively.
std::optional<json> parse_body(const HttpRequest& req, HttpResponse& error) {
  std::string why;
  auto doc = parse_api_body(req.body(), why);
  if (!doc) error = json_error(status::bad_request, why);
  return doc;
}

HttpResponse listen_error(const ListenError& e) {
  return json_error(e.in_use() ? status::conflict : status::bad_request, e.what());
}

HttpResponse method_not_allowed() {
  return json_error(status::method_not_allowed, "method not allowed");
}

}  // namespace

ProxyServer::ProxyServer(ProxyEnv& env, std::optional<std::string> api_token)
    : env_(env), api_token_(std::move(api_token)) {
  if (api_token_) expected_auth_ = sha256("Bearer " + *api_token_);
  // splice(2) into a socket whose peer is gone raises SIGPIPE (it has no MSG_NOSIGNAL); the tcp
  // connections handle that as EPIPE instead. Process-wide, so set once here, not per connection.
  if (env_.splice) std::signal(SIGPIPE, SIG_IGN);
}

ProxyServer::~ProxyServer() {
  stop_all();
}

void ProxyServer::stop_all() {
  for (auto& [_, p] : proxies_)
    p->stop();
}

std::shared_ptr<Proxy> ProxyServer::find(const std::string& name) const {
  auto it = proxies_.find(name);
  return it == proxies_.end() ? nullptr : it->second;
}

bool ProxyServer::authorized(const HttpRequest& req) const {
  if (!api_token_) return true;
  const auto auth = req[http::field::authorization];
  return same_secret(std::string_view(auth.data(), auth.size()), expected_auth_);
}

HttpResponse ProxyServer::handle(const HttpRequest& req, const tls::PemFiles* files) {
  if (!authorized(req)) {
    auto res = json_error(status::unauthorized, "missing or wrong bearer token");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  // Every parser of this call reads the TLS files it names from here (proxy_tls.hpp).
  const ReadAheadFiles read_ahead(files);
  try {
    return route(req);
  } catch (const ListenError& e) {
    return listen_error(e);
  } catch (const std::exception& e) {
    // Say what failed (a recording file that cannot be opened, ...), never only "internal error".
    return json_error(status::internal_server_error, e.what());
  }
}

std::vector<std::string> ProxyServer::tls_files_named(const HttpRequest& req) const {
  std::vector<std::string> files;
  const auto add = [&files](const std::string& f) {
    if (!f.empty() && std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
  };
  const auto add_settings = [&add](const ProxySettings& s) {
    if (s.tls) {
      add(s.tls->cert);
      add(s.tls->key);
      add(s.tls->client_ca);
      add(s.tls->ca_cert);
      add(s.tls->ca_key);
    }
    if (s.upstream_tls) {
      add(s.upstream_tls->ca);
      add(s.upstream_tls->cert);
      add(s.upstream_tls->key);
    }
  };
  const auto add_fields = [&add](const json& obj, std::initializer_list<const char*> fields) {
    if (!obj.is_object()) return;
    for (const char* field : fields)
      if (auto f = obj.find(field); f != obj.end() && f->is_string()) add(f->get<std::string>());
  };
  // tls_bad_cert's `cert`/`key` in any toxic of the body, at any depth (a proxy's `toxics`, a
  // `/populate` list, a toxic itself). The parser bounds the depth.
  const std::function<void(const json&)> add_toxic_files = [&](const json& j) {
    if (j.is_object()) {
      if (auto t = j.find("type"); t != j.end() && *t == "tls_bad_cert")
        if (auto a = j.find("attributes"); a != j.end()) add_fields(*a, {"cert", "key"});
      for (const auto& [_, v] : j.items())
        add_toxic_files(v);
    } else if (j.is_array()) {
      for (const auto& v : j)
        add_toxic_files(v);
    }
  };
  const auto parts = split_path(req.target());
  if (parts.size() >= 2 && parts[0] == "proxies")
    if (auto p = find(parts[1])) {
      if (parts.size() == 2) add_settings(p->settings());
      // A toxic update merges the body into the toxic as it is: its files are parsed again.
      if (parts.size() == 4 && parts[2] == "toxics")
        if (auto t = p->find_toxic(parts[3])) add_toxic_files(t->toxic.to_json());
    }
  if (req.body().find("tls") == std::string::npos) return files;
  std::string why;
  const auto body = parse_api_body(req.body(), why);
  if (!body) return files;  // handle() answers the syntax error
  const auto add_object = [&](const json& proxy) {
    if (!proxy.is_object()) return;
    for (const char* section : {"tls", "upstream_tls"}) {
      auto it = proxy.find(section);
      if (it == proxy.end() || !it->is_object()) continue;
      add_fields(*it, {"cert", "key", "client_ca", "ca"});
      if (auto ca = it->find("ca"); ca != it->end()) add_fields(*ca, {"cert", "key"});
    }
  };
  const json* list = &*body;
  if (body->is_object())
    if (auto it = body->find("proxies"); it != body->end()) list = &*it;
  if (list->is_array())
    for (const auto& proxy : *list)
      add_object(proxy);
  else
    add_object(*body);
  add_toxic_files(*body);
  return files;
}

awaitable<HttpResponse> ProxyServer::handle_async(const HttpRequest& req) {
  // Nothing is read for a caller without the token: it learns nothing of the file system.
  auto named = authorized(req) ? tls_files_named(req) : std::vector<std::string>{};
  if (named.empty()) co_return handle(req);
  auto read_all = [named = std::move(named)]() -> awaitable<tls::PemFiles> {
    tls::PemFiles files;
    std::uint64_t total = 0;
    for (const auto& path : named) {
      if (total > kMaxFilesPerRequestBytes) {
        files[path].error = fmt::format(
            "cannot read {}: the request's TLS files pass {} MiB in all; create the proxies in "
            "smaller batches",
            path, kMaxFilesPerRequestBytes >> 20);
        continue;
      }
      auto file = tls::read_pem_file(path);
      total += file.content.size();
      files.emplace(path, std::move(file));
    }
    co_return files;
  };
  // Resumes on the control loop (this coroutine's executor) when the reading is done.
  auto [ex, files] = co_await asio::co_spawn(file_reader_, std::move(read_all), use_nothrow);
  if (ex) co_return json_error(status::internal_server_error, "cannot read the TLS files");
  co_return handle(req, &files);
}

HttpResponse ProxyServer::route(const HttpRequest& req) {
  const auto parts = split_path(req.target());
  const auto m = req.method();
  const bool get = m == http::verb::get;
  const bool post = m == http::verb::post || m == http::verb::patch;
  const bool del = m == http::verb::delete_;
  HttpResponse err;

  if (parts.size() == 1 && parts[0] == "version") {
    if (!get) return method_not_allowed();
    // Toxiproxy's clients compare `version` with the releases that changed the API (PATCH for
    // updates from 2.6): faultline answers as the Toxiproxy release whose API it follows, and
    // gives its own version apart (docs/proxy.md#version).
    return json_response(status::ok,
                         json{{"version", kToxiproxyApiVersion}, {"faultline", kVersion}});
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (!get) return method_not_allowed();
    HttpResponse res{status::ok, 11};
    res.set(http::field::content_type, kPrometheusContentType);
    res.body() = env_.metrics.metrics().serialize() + env_.metrics.serialize();
    return res;
  }
  if (parts.size() == 1 && parts[0] == "reset") {
    if (m != http::verb::post) return method_not_allowed();
    // Every proxy back to a fault-free state: Toxiproxy's reset (enabled, no toxics) plus
    // faultline's fault settings (header_faults off at 100 %, no max_active_faults). What is not
    // about faults stays: listen, upstream, protocol, record. One proxy that cannot re-bind its
    // address does not stop the others from being reset.
    std::optional<ListenError> failed;
    for (auto& [_, p] : proxies_) {
      p->clear_toxics();
      ProxySettings s = p->settings();
      s.enabled = true;
      s.header_faults = false;
      s.header_fault_percentage = 100;
      s.max_active_faults.reset();
      try {
        p->update(std::move(s));
      } catch (const ListenError& e) {
        if (!failed) failed = e;
      }
    }
    if (failed) return listen_error(*failed);
    return no_content();
  }
  if (parts.size() == 1 && parts[0] == "populate") {
    if (m != http::verb::post) return method_not_allowed();
    auto body = parse_body(req, err);
    if (!body) return err;
    try {
      return json_response(status::created, json{{"proxies", populate(*body, "$")}});
    } catch (const ConfigError& e) {
      return json_error(status::bad_request, e.what());
    }
  }
  if (parts.empty() || parts[0] != "proxies")
    return json_error(status::not_found, "no such endpoint");

  if (parts.size() == 1) {
    if (get) {
      json out = json::object();
      for (const auto& [name, p] : proxies_)
        out[name] = p->to_json();
      return json_response(status::ok, out);
    }
    if (m == http::verb::post) {
      auto body = parse_body(req, err);
      if (!body) return err;
      return create_proxy(*body);
    }
    return method_not_allowed();
  }

  auto proxy = find(parts[1]);
  if (!proxy) return json_error(status::not_found, "proxy not found");

  if (parts.size() == 2) {
    if (get) return json_response(status::ok, proxy->to_json());
    if (post) {
      auto body = parse_body(req, err);
      if (!body) return err;
      return update_proxy(*proxy, *body);
    }
    if (del) {
      proxy->stop();
      proxies_.erase(parts[1]);
      return no_content();
    }
    return method_not_allowed();
  }
  if (parts[2] != "toxics" || parts.size() > 4)
    return json_error(status::not_found, "no such endpoint");
  if (parts.size() == 3) {
    if (get) {
      json out = json::array();
      for (const auto& t : *proxy->toxics())
        out.push_back(t->toxic.to_json());
      return json_response(status::ok, out);
    }
    if (m == http::verb::post) {
      auto body = parse_body(req, err);
      if (!body) return err;
      return create_toxic(*proxy, *body);
    }
    return method_not_allowed();
  }
  auto toxic = proxy->find_toxic(parts[3]);
  if (!toxic) return json_error(status::not_found, "toxic not found");
  if (get) return json_response(status::ok, toxic->toxic.to_json());
  if (post) {
    auto body = parse_body(req, err);
    if (!body) return err;
    return update_toxic(*proxy, parts[3], *body);
  }
  if (del) {
    proxy->remove_toxic(parts[3]);
    return no_content();
  }
  return method_not_allowed();
}

HttpResponse ProxyServer::create_proxy(const json& body) {
  ConfigErrors errors;
  std::vector<Toxic> toxics;
  auto settings = parse_proxy(body, "$", nullptr, env_.registry, &toxics, errors);
  if (!errors.empty()) return bad_request(errors);
  if (proxies_.count(settings->name)) return json_error(status::conflict, "proxy already exists");
  auto p = std::make_shared<Proxy>(env_, std::move(*settings));
  p->start();  // ListenError → 409/400 naming the address (see handle)
  for (auto& t : toxics)
    p->add_toxic(std::move(t));
  proxies_.emplace(p->settings().name, p);
  return json_response(status::created, p->to_json());
}

json ProxyServer::populate(const json& body, const std::string& path) {
  // Validate everything first so a bad entry changes nothing.
  ConfigErrors errors;
  auto parsed = parse_populate(body, path, env_.registry, errors);
  if (!parsed) throw ConfigError(errors);
  // Prepare every change first (binding every new listener): one that fails throws, and dropping
  // the prepared changes leaves every proxy as it was.
  struct Step {
    std::shared_ptr<Proxy> proxy;
    bool created;
    Proxy::Prepared change;
    std::vector<Toxic> toxics;
  };
  std::vector<Step> steps;
  for (auto& [settings, toxics] : *parsed) {
    auto existing = find(settings.name);
    auto p = existing ? existing : std::make_shared<Proxy>(env_, settings);
    auto change = p->prepare(std::move(settings));
    steps.push_back({std::move(p), !existing, std::move(change), std::move(toxics)});
  }
  json out = json::array();
  for (auto& step : steps) {
    // Toxiproxy's populate replaces a proxy whose settings changed and keeps its toxics.
    step.proxy->commit(std::move(step.change));
    for (auto& t : step.toxics) {
      if (step.created || !step.proxy->replace_toxic(t)) step.proxy->add_toxic(std::move(t));
    }
    if (step.created) proxies_.emplace(step.proxy->settings().name, step.proxy);
    out.push_back(step.proxy->to_json());
  }
  return out;
}

HttpResponse ProxyServer::update_proxy(Proxy& p, const json& body) {
  ConfigErrors errors;
  auto settings = parse_proxy(body, "$", &p.settings(), env_.registry, nullptr, errors);
  if (settings && settings->protocol != p.settings().protocol && !p.toxics()->empty())
    errors.add("$.protocol", "remove the toxics before changing the protocol");
  if (!errors.empty()) return bad_request(errors);
  p.update(std::move(*settings));
  return json_response(status::ok, p.to_json());
}

namespace {

// What Toxiproxy accepts and faultline took leniently (parse_toxic): logged, and listed in the
// answer as "warnings" (Toxiproxy's clients ignore members they do not know).
json with_warnings(json toxic, const std::string& proxy, const std::vector<std::string>& warnings) {
  if (warnings.empty()) return toxic;
  for (const auto& w : warnings)
    spdlog::warn("proxy {}: toxic {}: {}", proxy, toxic.value("name", ""), w);
  toxic["warnings"] = warnings;
  return toxic;
}

}  // namespace

HttpResponse ProxyServer::create_toxic(Proxy& p, const json& body) {
  ConfigErrors errors;
  std::vector<std::string> warnings;
  auto toxic = parse_toxic(body, "$", p.settings().protocol, env_.registry, errors, &warnings);
  if (toxic && !valid_name(toxic->name))
    errors.add("$.name", fmt::format("{}, got \"{}\"", kNameRule, toxic->name));
  if (!errors.empty()) return bad_request(errors);
  if (p.find_toxic(toxic->name)) return json_error(status::conflict, "toxic already exists");
  json out = with_warnings(toxic->to_json(), p.name(), warnings);
  p.add_toxic(std::move(*toxic));
  return json_response(status::ok, out);
}

HttpResponse ProxyServer::update_toxic(Proxy& p, const std::string& name, const json& body) {
  auto current = p.find_toxic(name);
  if (!current) return json_error(status::not_found, "toxic not found");
  ConfigErrors errors;
  std::vector<std::string> warnings;
  auto toxic = proxy::update_toxic(current->toxic, body, "$", p.settings().protocol, env_.registry,
                                   errors, &warnings);
  if (!toxic) return bad_request(errors);
  json out = with_warnings(toxic->to_json(), p.name(), warnings);
  p.replace_toxic(std::move(*toxic));
  return json_response(status::ok, out);
}

}  // namespace faultline::proxy
