// `transient` (Vaurien): the first `count` connections (tcp) or requests (http/redis, request
// scope) that draw this toxic get the wrapped `behavior` ({"type", "attributes"}); later ones pass.
// The count restarts when the toxic is created or updated.
#include "proxy/behavior.hpp"

#include <atomic>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

class TransientConfig : public BehaviorConfig {
 public:
  TransientConfig(std::int64_t count, std::string type, std::shared_ptr<const BehaviorConfig> inner)
      : count_(count), type_(std::move(type)), inner_(std::move(inner)) {}
  json attributes() const override {
    return {{"count", count_},
            {"behavior", {{"type", type_}, {"attributes", inner_->attributes()}}}};
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng& rng, Clock::time_point now) const override {
    if (used_.fetch_add(1) >= count_) return nullptr;
    return inner_->make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    if (used_.fetch_add(1) >= count_) return nullptr;
    return inner_->make_upgraded_stage(rng, now);
  }
  std::vector<NestedBehavior> nested() const override {
    return {NestedBehavior{".behavior", type_, inner_}};
  }
  bool matches(const RequestInfo& req) const override { return inner_->matches(req); }
  RequestFault request_fault(Rng& rng, Stream stream) const override {
    if (used_.fetch_add(1) >= count_) return {};
    return inner_->request_fault(rng, stream);
  }
  std::optional<MessageFault> message_fault(Rng& rng, const MessageInfo& m) const override {
    if (used_.fetch_add(1) >= count_) return std::nullopt;
    return inner_->message_fault(rng, m);
  }
  std::optional<WsClose> ws_close() const override {
    if (used_.fetch_add(1) >= count_) return std::nullopt;
    return inner_->ws_close();
  }

 private:
  std::int64_t count_;
  std::string type_;
  std::shared_ptr<const BehaviorConfig> inner_;
  mutable std::atomic<std::int64_t> used_{0};  // proxy-wide: shared by every connection
};

}  // namespace

void register_transient(Registry& registry) {
  const Registry* reg = &registry;
  BehaviorParser parse = [reg](const json& attrs, const std::string& path,
                               ConfigErrors& errors) -> std::shared_ptr<const BehaviorConfig> {
    reject_unknown_keys(attrs, path, {"count", "behavior"}, errors);
    const auto count = attr_nonneg_int(attrs, path, "count", 1, errors);
    const std::string bpath = path_join(path, "behavior");
    auto it = attrs.find("behavior");
    if (it == attrs.end() || !it->is_object()) {
      errors.add(bpath, "required: {\"type\": ..., \"attributes\": {...}}");
      return nullptr;
    }
    reject_unknown_keys(*it, bpath, {"type", "attributes"}, errors);
    auto type = get_string(*it, bpath, "type", errors, true);
    if (!type) return nullptr;
    const BehaviorType* bt = reg->find(*type);
    if (!bt || *type == "transient") {
      errors.add(path_join(bpath, "type"), fmt::format("unknown or unusable type \"{}\"", *type));
      return nullptr;
    }
    json inner_attrs = it->value("attributes", json::object());
    auto inner = bt->parse(inner_attrs, path_join(bpath, "attributes"), errors);
    if (!inner) return nullptr;
    return std::make_shared<TransientConfig>(count, *type, std::move(inner));
  };
  registry.add({.name = "transient",
                .description = "the first count connections/requests get the wrapped behavior",
                .parse = std::move(parse)});
}

}  // namespace faultline::proxy
