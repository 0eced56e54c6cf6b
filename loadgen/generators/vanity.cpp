// Generator "vanity": POST /pastes?prefix=HEX (the target pads the body until its id starts with
// the prefix) with a random body. Stats: NAME.
#include "loadgen/generator.hpp"
#include "loadgen/generators/size_dist.hpp"

namespace faultline::loadgen {
namespace {

class VanityGenerator final : public Generator {
 public:
  SizeDist size;
  std::size_t difficulty = 3;
  std::size_t name = 0;

  awaitable<void> run(Exchanger* ex) override {
    GeneratedRequest req;
    req.name_index = name;
    req.method = "POST";
    req.target = "/pastes?prefix=" + random_hex(ex->rng(), difficulty);
    req.body = random_text(ex->rng(), size.sample(ex->rng()));
    req.content_type = "text/plain";
    co_await ex->exchange(std::move(req));
  }
};

std::unique_ptr<Generator> make_vanity(const json& spec, std::string_view path,
                                       const std::string& name, Workload& w, ConfigErrors& errors) {
  reject_unknown_keys(spec, path, {"name", "weight", "generator", "difficulty", "size"}, errors);
  auto g = std::make_unique<VanityGenerator>();
  g->difficulty = parse_difficulty(spec, path, errors);
  g->size = parse_size_dist(spec, path, "size", 256, errors);
  g->name = w.add_name(name);
  return g;
}

}  // namespace

void register_vanity(GeneratorRegistry& registry) {
  registry.add({"vanity",
                "POST /pastes?prefix=HEX with a random body (the target pads until the id "
                "matches); stats NAME",
                make_vanity});
}

}  // namespace faultline::loadgen
