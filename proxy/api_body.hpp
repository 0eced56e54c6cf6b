// The JSON bodies of the REST API, read and validated as the server does it: every body goes
// through common's depth-limited parse_json (nothing deeper than kMaxJsonDepth is ever built,
// copied or printed), then through the same parsers the server and fuzz_proxy_api use.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "proxy/behavior.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

// A request body as JSON: an empty body is `{}`; a syntax error or a document nested deeper than
// kMaxJsonDepth is nullopt with the reason in `error` ("invalid JSON body: nested deeper than 128
// levels"). Never throws.
std::optional<json> parse_api_body(std::string_view text, std::string& error);

// One entry of POST /populate (or --config), validated.
struct PopulateEntry {
  ProxySettings settings;
  std::vector<Toxic> toxics;
};

// Validates a populate body (an array of proxies, or `{"proxies": [...]}`) as a whole: every
// problem is recorded in `errors` with its path (duplicate names included), and the entries are
// returned only when there is none. TLS files as parse_proxy reads them.
std::optional<std::vector<PopulateEntry>> parse_populate(const json& body, const std::string& path,
                                                         const Registry& registry,
                                                         ConfigErrors& errors);

}  // namespace faultline::proxy
