// `noop` (Toxiproxy): passes everything through unchanged. Toxiproxy registers it as a toxic type,
// so its clients may add one; it injects nothing and is never counted as a fault.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class NoopConfig : public BehaviorConfig {
 public:
  json attributes() const override { return json::object(); }
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {}, errors);
  return std::make_shared<NoopConfig>();
}

}  // namespace

void register_noop(Registry& registry) {
  registry.add({.name = "noop",
                .description = "pass everything through (Toxiproxy's noop)",
                .parse = parse,
                .toxiproxy = ToxiproxyAttributes{}});
}

}  // namespace faultline::proxy
