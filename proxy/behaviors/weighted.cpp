// `weighted` (Vaurien's one-line mixes): one draw per request (http/redis, scope request) or per
// connection (tcp) picks at most one of `choices` — [{"percent": 20, "type": "http_delay",
// "attributes": {...}}, ...] — by its percent; the remainder (100 - sum) passes untouched. Percents
// are exact to 0.01 (integer basis points against a uniform integer draw). The injected fault is
// counted under the chosen behavior's type.
#include "proxy/behavior.hpp"

#include <cmath>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

struct Choice {
  std::uint64_t basis_points;
  std::string type;
  std::shared_ptr<const BehaviorConfig> config;
  std::size_t index;  // position in the JSON `choices` array (for error paths)
};

class WeightedConfig : public BehaviorConfig {
 public:
  explicit WeightedConfig(std::vector<Choice> choices) : choices_(std::move(choices)) {}
  json attributes() const override {
    json list = json::array();
    for (const auto& c : choices_)
      list.push_back({{"percent", static_cast<double>(c.basis_points) / 100.0},
                      {"type", c.type},
                      {"attributes", c.config->attributes()}});
    return {{"choices", list}};
  }
  std::vector<std::string> extra_kinds() const override {
    std::vector<std::string> out;
    for (const auto& c : choices_)
      out.push_back(c.type);
    return out;
  }
  std::vector<NestedBehavior> nested() const override {
    std::vector<NestedBehavior> out;
    for (const auto& c : choices_)
      out.push_back({fmt::format(".choices[{}]", c.index), c.type, c.config});
    return out;
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng& rng, Clock::time_point now) const override {
    const Choice* c = draw(rng);
    if (!c) return nullptr;
    auto stage = c->config->make_stream_stage(rng, now);
    if (stage) stage->label = c->type;
    return stage;
  }
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    const Choice* c = draw(rng);
    if (!c) return nullptr;
    auto stage = c->config->make_upgraded_stage(rng, now);
    if (stage) stage->label = c->type;
    return stage;
  }
  RequestFault request_fault(Rng& rng, Stream stream) const override {
    const Choice* c = draw(rng);
    if (!c) return {};
    RequestFault f = c->config->request_fault(rng, stream);
    f.label = c->type;
    return f;
  }
  std::optional<MessageFault> message_fault(Rng& rng, const MessageInfo& m) const override {
    const Choice* c = draw(rng);
    if (!c) return std::nullopt;
    auto f = c->config->message_fault(rng, m);
    if (f) f->label = c->type;
    return f;
  }
  // ws_close is a plan for the connection, not a draw: a weighted choice of it does nothing.

 private:
  const Choice* draw(Rng& rng) const {
    std::uint64_t u = rng.below(10000);
    for (const auto& c : choices_) {
      if (u < c.basis_points) return &c;
      u -= c.basis_points;
    }
    return nullptr;
  }
  std::vector<Choice> choices_;
};

}  // namespace

void register_weighted(Registry& registry) {
  const Registry* reg = &registry;
  BehaviorParser parse = [reg](const json& attrs, const std::string& path,
                               ConfigErrors& errors) -> std::shared_ptr<const BehaviorConfig> {
    reject_unknown_keys(attrs, path, {"choices"}, errors);
    const std::string cpath = path_join(path, "choices");
    auto it = attrs.find("choices");
    if (it == attrs.end() || !it->is_array() || it->empty()) {
      errors.add(cpath, "required: a non-empty array of {\"percent\", \"type\", \"attributes\"}");
      return nullptr;
    }
    std::vector<Choice> choices;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& c = (*it)[i];
      const std::string ipath = path_index(cpath, i);
      if (!c.is_object()) {
        errors.add(ipath, "must be an object");
        continue;
      }
      reject_unknown_keys(c, ipath, {"percent", "type", "attributes"}, errors);
      auto pct = get_number(c, ipath, "percent", errors, true);
      auto type = get_string(c, ipath, "type", errors, true);
      if (!pct || !type) continue;
      if (!(*pct > 0 && *pct <= 100)) {
        errors.add(path_join(ipath, "percent"), fmt::format("must be in (0, 100], got {}", *pct));
        continue;
      }
      const BehaviorType* bt = reg->find(*type);
      if (!bt || *type == "weighted" || *type == "transient") {
        errors.add(path_join(ipath, "type"), fmt::format("unknown or unusable type \"{}\"", *type));
        continue;
      }
      auto inner =
          bt->parse(c.value("attributes", json::object()), path_join(ipath, "attributes"), errors);
      if (!inner) continue;
      const auto bp = static_cast<std::uint64_t>(std::llround(*pct * 100));
      total += bp;
      choices.push_back(Choice{bp, *type, std::move(inner), i});
    }
    if (total > 10000)
      errors.add(cpath, fmt::format("percents add up to {} (more than 100)",
                                    static_cast<double>(total) / 100.0));
    if (choices.empty()) return nullptr;
    return std::make_shared<WeightedConfig>(std::move(choices));
  };
  registry.add({.name = "weighted",
                .description = "one draw picks at most one of several behaviors by percent",
                .parse = std::move(parse)});
}

}  // namespace faultline::proxy
