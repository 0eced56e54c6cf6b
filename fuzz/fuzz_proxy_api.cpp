// Fuzz target: the JSON bodies of the proxy's REST API as the server reads them (issue 22 #1):
// proxy::parse_api_body (common's depth-limited parse), then what each endpoint does with the
// document — POST /proxies (parse_proxy with toxics), POST|PATCH /proxies/P (parse_proxy over a
// base), POST /proxies/P/toxics and its update (parse_toxic, update_toxic, Toxiproxy-lenient) and
// POST /populate (parse_populate). Bad input must come back as an error value, never as an
// exception, a crash or a stack overflow; whatever is accepted must print.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "proxy/api_body.hpp"
#include "proxy/behavior.hpp"
#include "proxy/behaviors/builtin.hpp"
#include "proxy/proxy.hpp"

using namespace faultline;

namespace {

// The settings an update applies to: a plain tcp proxy.
const proxy::ProxySettings& base() {
  static const proxy::ProxySettings b = [] {
    proxy::ProxySettings s;
    s.name = "p";
    s.listen = "127.0.0.1:1";
    s.upstream = "127.0.0.1:2";
    return s;
  }();
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto body = proxy::parse_api_body(text, error);
  if (!body) {
    if (error.empty()) __builtin_trap();  // a refusal always says why
    return 0;
  }
  {  // POST /proxies
    ConfigErrors errors;
    std::vector<proxy::Toxic> toxics;
    const auto s =
        proxy::parse_proxy(*body, "$", nullptr, proxy::builtin_registry(), &toxics, errors);
    if (s.has_value() == !errors.empty()) __builtin_trap();
    for (const auto& t : toxics)
      (void)t.to_json().dump();
  }
  {  // POST|PATCH /proxies/p
    ConfigErrors errors;
    (void)proxy::parse_proxy(*body, "$", &base(), proxy::builtin_registry(), nullptr, errors);
    (void)errors.to_string();
  }
  for (const auto protocol :
       {proxy::Protocol::tcp, proxy::Protocol::http, proxy::Protocol::redis}) {
    // POST /proxies/p/toxics, then the same document as an update of what it created.
    ConfigErrors errors;
    std::vector<std::string> warnings;
    const auto toxic =
        proxy::parse_toxic(*body, "$", protocol, proxy::builtin_registry(), errors, &warnings);
    if (toxic.has_value() == !errors.empty()) __builtin_trap();
    if (!toxic) continue;
    (void)toxic->to_json().dump();
    ConfigErrors update_errors;
    (void)proxy::update_toxic(*toxic, *body, "$", protocol, proxy::builtin_registry(),
                              update_errors, &warnings);
  }
  {  // POST /populate
    ConfigErrors errors;
    const auto entries = proxy::parse_populate(*body, "$", proxy::builtin_registry(), errors);
    if (entries.has_value() == !errors.empty()) __builtin_trap();
  }
  return 0;
}
