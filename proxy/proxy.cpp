// Proxy settings parsing, the acceptor, toxic list publication (see proxy.hpp).
#include "proxy/proxy.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <fmt/format.h>

#include "common/co_spawn.hpp"
#include "proxy/recorder.hpp"
#include "proxy/session.hpp"

namespace faultline::proxy {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::optional<ProxySettings> parse_proxy(const json& body, const std::string& path,
                                         const ProxySettings* base, const Registry& registry,
                                         std::vector<Toxic>* toxics, ConfigErrors& errors) {
  const std::size_t before = errors.list().size();
  if (!body.is_object()) {
    errors.add(path, "must be a JSON object");
    return std::nullopt;
  }
  reject_unknown_keys(
      body, path,
      {"name", "listen", "upstream", "enabled", "toxics", "protocol", "max_active_faults", "record",
       "header_faults", "header_fault_percentage", "tls", "upstream_tls"},
      errors);
  ProxySettings s = base ? *base : ProxySettings{};
  const bool required = base == nullptr;
  if (auto n = get_string(body, path, "name", errors, required)) {
    if (base && *n != base->name)
      errors.add(path_join(path, "name"), "a proxy cannot be renamed");
    else if (!valid_name(*n))
      errors.add(path_join(path, "name"), fmt::format("{}, got \"{}\"", kNameRule, *n));
    else
      s.name = *n;
  }
  // Without `listen` a new proxy takes a free loopback port (the answer carries it), as Toxiproxy
  // accepts a proxy without one; loopback, not every interface, so that nothing is exposed by
  // omission.
  if (!base && !body.contains("listen")) s.listen = kDefaultListen;
  if (auto l = get_string(body, path, "listen", errors)) {
    if (!parse_host_port(*l))
      errors.add(path_join(path, "listen"),
                 fmt::format("must be host:port like \"127.0.0.1:0\", got \"{}\"", *l));
    else
      s.listen = *l;
  }
  if (auto u = get_string(body, path, "upstream", errors, required)) {
    auto hp = parse_host_port(*u);
    if (!hp || hp->port == 0)
      errors.add(path_join(path, "upstream"),
                 fmt::format("must be host:port with a port, got \"{}\"", *u));
    else
      s.upstream = *u;
  }
  if (auto e = get_bool(body, path, "enabled", errors)) s.enabled = *e;
  if (auto p = get_string(body, path, "protocol", errors)) {
    if (auto proto = parse_protocol(*p)) {
      s.protocol = *proto;
    } else {
      errors.add(path_join(path, "protocol"),
                 fmt::format("must be \"tcp\", \"http\" or \"redis\", got \"{}\"", *p));
    }
  }
  if (body.contains("max_active_faults")) {
    const json& given = body["max_active_faults"];
    if (given.is_null()) {
      s.max_active_faults.reset();
    } else if (given.is_number_unsigned() &&
               given.get<std::uint64_t>() > std::uint64_t{INT64_MAX}) {
      // Checked before get_integer's conversion, which would wrap it to a negative number.
      errors.add(path_join(path, "max_active_faults"),
                 fmt::format("must be at most {}, got {}", INT64_MAX, given.dump()));
    } else if (auto m = get_integer(body, path, "max_active_faults", errors)) {
      // A cap on faults in flight at once, as Envoy's fault filter has it (unset = no cap). 0
      // would let no fault through at all, silently: rejected, so that it is never a mistake.
      if (*m < 1)
        errors.add(path_join(path, "max_active_faults"),
                   fmt::format("must be >= 1, got {} (null or absent: no cap; to inject no fault, "
                               "remove the toxics)",
                               *m));
      else
        s.max_active_faults = *m;
    }
  }
  if (body.contains("record")) {
    if (body["record"].is_null()) {
      s.record.reset();
    } else if (auto r = get_string(body, path, "record", errors)) {
      struct stat st {};
      if (r->empty())
        errors.add(path_join(path, "record"), "must be a file name");
      else if (::stat(r->c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        // A FIFO would block the opening (and every write) until a reader came.
        errors.add(path_join(path, "record"),
                   fmt::format("{} is not a regular file (a FIFO, device or directory is not "
                               "recorded into)",
                               *r));
      else
        s.record = *r;
    }
  }
  if (auto h = get_bool(body, path, "header_faults", errors)) s.header_faults = *h;
  if (body.contains("header_fault_percentage")) {
    const json& given = body["header_fault_percentage"];
    if (!given.is_number_integer() || given.get<std::int64_t>() < 0 ||
        given.get<std::int64_t>() > 100)
      errors.add(path_join(path, "header_fault_percentage"),
                 fmt::format("must be an integer from 0 to 100, got {}", given.dump()));
    else
      s.header_fault_percentage = given.get<int>();
  }
  // TLS: the files are read and the contexts built here, once, so that a bad file is an error
  // naming its field (400 / exit 2) and connections only share what was built.
  bool tls_given = false;
  if (auto it = body.find("tls"); it != body.end()) {
    tls_given = true;
    if (it->is_null())
      s.tls.reset();
    else if (auto t = parse_tls(*it, path_join(path, "tls"), errors))
      s.tls = std::move(*t);
  }
  if (auto it = body.find("upstream_tls"); it != body.end()) {
    tls_given = true;
    if (it->is_null())
      s.upstream_tls.reset();
    else if (auto t = parse_upstream_tls(*it, path_join(path, "upstream_tls"), errors))
      s.upstream_tls = std::move(*t);
  }
  if (tls_given && errors.list().size() == before)
    s.tls_runtime = build_tls_runtime(s.tls, s.upstream_tls, path, errors);
  if (s.record && s.protocol != Protocol::http)
    errors.add(path_join(path, "record"), "recording needs \"protocol\": \"http\"");
  if (s.header_faults && s.protocol != Protocol::http)
    errors.add(path_join(path, "header_faults"), "header faults need \"protocol\": \"http\"");
  if (auto it = body.find("toxics"); it != body.end() && !it->is_null()) {
    const std::string tpath = path_join(path, "toxics");
    if (!toxics) {
      // An update: Toxiproxy's clients post the whole proxy object back (Go's Proxy.Save()
      // includes "toxics"); as Toxiproxy does, toxics are left to the toxics endpoints.
    } else if (!it->is_array()) {
      errors.add(tpath, "must be an array");
    } else {
      for (std::size_t i = 0; i < it->size(); ++i) {
        if (auto t = parse_toxic((*it)[i], path_index(tpath, i), s.protocol, registry, errors)) {
          if (!valid_name(t->name))
            errors.add(path_join(path_index(tpath, i), "name"),
                       fmt::format("{}, got \"{}\"", kNameRule, t->name));
          for (const auto& other : *toxics)
            if (other.name == t->name)
              errors.add(path_join(path_index(tpath, i), "name"),
                         fmt::format("duplicate toxic name \"{}\"", t->name));
          toxics->push_back(std::move(*t));
        }
      }
    }
  }
  if (errors.list().size() != before) return std::nullopt;
  return s;
}

namespace {

awaitable<void> accept_loop(std::shared_ptr<Proxy> proxy, std::shared_ptr<tcp::acceptor> acceptor) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer backoff(ex);
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(proxy->env().workers.next(), use_nothrow);
    if (!acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE / ENFILE: back off instead of spinning.
      spdlog::warn("proxy {}: accept failed: {}", proxy->settings().name, ec.message());
      backoff.expires_after(std::chrono::milliseconds(20));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    proxy->counters().accepted->Increment();
    start_session(proxy, std::move(socket));
  }
}

}  // namespace

std::shared_ptr<tcp::acceptor> bind_listener(asio::io_context& ioc, const std::string& listen) {
  auto hp = parse_host_port(listen);
  if (!hp) throw ListenError(listen, "expected HOST:PORT", false);
  error_code ec;
  tcp::resolver resolver(ioc);
  auto results =
      resolver.resolve(hp->host, std::to_string(hp->port), asio::ip::resolver_base::passive, ec);
  if (ec || results.empty())
    throw ListenError(listen, ec ? ec.message() : "the host has no address", false);
  const tcp::endpoint ep = results.begin()->endpoint();
  auto acceptor = std::make_shared<tcp::acceptor>(ioc);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) return acceptor;
  throw ListenError(listen, ec.message(), ec == asio::error::address_in_use);
}

Proxy::Proxy(ProxyEnv& env, ProxySettings settings)
    : env_(env),
      metrics_(env.metrics),
      settings_(std::move(settings)),
      name_(settings_.name),
      header_faults_(settings_.header_faults),
      header_fault_percentage_(settings_.header_fault_percentage),
      // Every behavior type's fault counter at 0 from the start: a bounded set (the registry).
      counters_(metrics_.acquire(settings_.name, env.registry.names())),
      upstream_(settings_.upstream),
      tls_(settings_.tls_runtime) {
  if (settings_.max_active_faults) max_active_faults_ = *settings_.max_active_faults;
  if (settings_.record) recorder_ = std::make_shared<Recorder>(*settings_.record);
  counters_.toxics_active->Set(0);
}

Proxy::~Proxy() {
  if (acceptor_) {
    error_code ec;
    acceptor_->close(ec);
  }
  metrics_.release(name_);
}

Proxy::Prepared Proxy::prepare(ProxySettings next) const {
  Prepared p;
  if (next.enabled && (!acceptor_ || next.listen != settings_.listen)) {
    p.acceptor = bind_listener(env_.control, next.listen);
    if (parse_host_port(next.listen)->port == 0) {
      // Clients rely on `listen` carrying the real port; keep it so re-enabling binds the same one.
      const auto bound = p.acceptor->local_endpoint();
      next.listen = HostPort{bound.address().to_string(), bound.port()}.to_string();
    }
  }
  if (next.record && next.record != settings_.record)
    p.recorder = std::make_shared<Recorder>(*next.record);
  p.settings = std::move(next);
  return p;
}

void Proxy::commit(Prepared p) {
  ProxySettings& next = p.settings;
  const bool restart = next.listen != settings_.listen || next.upstream != settings_.upstream ||
                       next.protocol != settings_.protocol || next.enabled != settings_.enabled ||
                       next.record != settings_.record || next.tls != settings_.tls ||
                       next.upstream_tls != settings_.upstream_tls;
  header_faults_ = next.header_faults;
  header_fault_percentage_ = next.header_fault_percentage;
  max_active_faults_ = next.max_active_faults ? *next.max_active_faults : -1;
  if (acceptor_ && (!next.enabled || p.acceptor)) {
    error_code ec;
    acceptor_->cancel(ec);
    acceptor_->close(ec);
    acceptor_.reset();
  }
  if (p.acceptor) {
    acceptor_ = p.acceptor;
    asio::co_spawn(env_.control, accept_loop(shared_from_this(), acceptor_),
                   log_exception("proxy accept loop"));
  }
  {
    std::lock_guard lock(mu_);
    upstream_ = next.upstream;
    tls_ = next.tls_runtime;
    // A new runtime starts with an empty cache of minted leafs.
    if (next.tls_runtime != settings_.tls_runtime)
      counters_.cert_cache_entries->Set(
          tls_ && tls_->minter ? static_cast<double>(tls_->minter->size()) : 0.0);
    if (next.record != settings_.record) recorder_ = std::move(p.recorder);
  }
  settings_ = std::move(next);
  if (restart) close_connections(CloseReason::proxy_disabled);
}

void Proxy::stop() {
  if (acceptor_) {
    error_code ec;
    acceptor_->cancel(ec);
    acceptor_->close(ec);
    acceptor_.reset();
  }
  close_connections(CloseReason::proxy_disabled);
}

void Proxy::close_connections(CloseReason reason) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [_, w] : connections_)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live)
    c->close_async(reason);
}

json Proxy::to_json() const {
  json toxics = json::array();
  for (const auto& t : *this->toxics())
    toxics.push_back(t->toxic.to_json());
  json j{
      {"name", settings_.name},         {"listen", settings_.listen},
      {"upstream", settings_.upstream}, {"enabled", settings_.enabled},
      {"toxics", std::move(toxics)},    {"protocol", std::string(to_string(settings_.protocol))}};
  if (settings_.max_active_faults) j["max_active_faults"] = *settings_.max_active_faults;
  if (settings_.record) j["record"] = *settings_.record;
  if (settings_.header_faults) {
    j["header_faults"] = true;
    j["header_fault_percentage"] = settings_.header_fault_percentage;
  }
  if (settings_.tls) j["tls"] = tls_json(*settings_.tls);
  if (settings_.upstream_tls) j["upstream_tls"] = tls_json(*settings_.upstream_tls);
  return j;
}

void Proxy::publish(ToxicList next) {
  counters_.toxics_active->Set(static_cast<double>(next.size()));
  {
    std::lock_guard lock(mu_);
    toxics_ = std::make_shared<const ToxicList>(std::move(next));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [_, w] : connections_)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live)
    c->toxics_changed_async();
}

bool Proxy::add_toxic(Toxic toxic) {
  if (find_toxic(toxic.name)) return false;
  for (const auto& k : toxic.config->extra_kinds())
    env_.metrics.faults(settings_.name, k);
  ToxicList next = *toxics();
  auto pt = std::make_shared<ProxyToxic>();
  pt->faults = env_.metrics.faults(settings_.name, toxic.type);
  pt->toxic = std::move(toxic);
  next.push_back(std::move(pt));
  publish(std::move(next));
  return true;
}

bool Proxy::replace_toxic(Toxic toxic) {
  ToxicList next = *toxics();
  for (auto& t : next) {
    if (t->toxic.name != toxic.name) continue;
    for (const auto& k : toxic.config->extra_kinds())
      env_.metrics.faults(settings_.name, k);
    auto pt = std::make_shared<ProxyToxic>();
    pt->faults = env_.metrics.faults(settings_.name, toxic.type);
    pt->toxic = std::move(toxic);
    t = std::move(pt);
    publish(std::move(next));
    return true;
  }
  return false;
}

bool Proxy::remove_toxic(const std::string& name) {
  ToxicList next = *toxics();
  auto it =
      std::find_if(next.begin(), next.end(), [&](const auto& t) { return t->toxic.name == name; });
  if (it == next.end()) return false;
  next.erase(it);
  publish(std::move(next));
  return true;
}

void Proxy::clear_toxics() {
  if (toxics()->empty()) return;
  publish({});
}

std::shared_ptr<const ProxyToxic> Proxy::find_toxic(const std::string& name) const {
  for (const auto& t : *toxics())
    if (t->toxic.name == name) return t;
  return nullptr;
}

std::shared_ptr<const ToxicList> Proxy::toxics() const {
  std::lock_guard lock(mu_);
  return toxics_;
}

std::optional<FaultSlot> Proxy::acquire_fault() {
  const std::int64_t max = max_active_faults_.load();
  if (max < 0) return FaultSlot{};
  std::int64_t cur = active_faults_->load();
  while (cur < max) {
    if (active_faults_->compare_exchange_weak(cur, cur + 1)) return FaultSlot(active_faults_);
  }
  counters_.overflow->Increment();
  return std::nullopt;
}

std::string Proxy::upstream() const {
  std::lock_guard lock(mu_);
  return upstream_;
}

std::shared_ptr<Recorder> Proxy::recorder() const {
  std::lock_guard lock(mu_);
  return recorder_;
}

std::shared_ptr<const TlsRuntime> Proxy::tls() const {
  std::lock_guard lock(mu_);
  return tls_;
}

void Proxy::add_connection(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  connections_.emplace(c.get(), c);
}

void Proxy::remove_connection(const Connection* c) {
  std::lock_guard lock(mu_);
  connections_.erase(c);
}

}  // namespace faultline::proxy
