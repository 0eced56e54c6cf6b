// Fuzz target: toxic JSON as the proxy's REST API receives it (`POST /proxies/P/toxics`, and the
// partial update `POST /proxies/P/toxics/NAME`): proxy::parse_toxic and proxy::update_toxic with
// the builtin behavior registry, for each protocol. Bad input must come back as ConfigErrors, never
// as an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "proxy/behavior.hpp"
#include "proxy/behaviors/builtin.hpp"

using namespace faultline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const json body = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  for (const auto protocol :
       {proxy::Protocol::tcp, proxy::Protocol::http, proxy::Protocol::redis}) {
    // Strict (scenarios, --config) and Toxiproxy-lenient (the REST API) parses.
    for (const bool lenient : {false, true}) {
      ConfigErrors errors;
      std::vector<std::string> warnings;
      const auto toxic = proxy::parse_toxic(body, "$", protocol, proxy::builtin_registry(), errors,
                                            lenient ? &warnings : nullptr);
      if (toxic.has_value() == !errors.empty()) __builtin_trap();  // one or the other
      if (!toxic) continue;
      (void)toxic->to_json().dump();
      // The same document as an update of the toxic it created.
      ConfigErrors update_errors;
      (void)proxy::update_toxic(*toxic, body, "$", protocol, proxy::builtin_registry(),
                                update_errors, lenient ? &warnings : nullptr);
    }
  }
  return 0;
}
