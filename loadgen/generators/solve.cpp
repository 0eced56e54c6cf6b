// Generator "solve": POST /solve {"content": random text, "prefix": random hex of `difficulty`
// digits} — CPU-heavy requests on the target. Stats: NAME.
#include "loadgen/generator.hpp"
#include "loadgen/generators/size_dist.hpp"

namespace faultline::loadgen {
namespace {

class SolveGenerator final : public Generator {
 public:
  SizeDist size;
  std::size_t difficulty = 3;
  std::size_t name = 0;

  awaitable<void> run(Exchanger* ex) override {
    GeneratedRequest req;
    req.name_index = name;
    req.method = "POST";
    req.target = "/solve";
    json body{{"content", random_text(ex->rng(), size.sample(ex->rng()))},
              {"prefix", random_hex(ex->rng(), difficulty)}};
    req.body = body.dump();
    req.content_type = "application/json";
    co_await ex->exchange(std::move(req));
  }
};

std::unique_ptr<Generator> make_solve(const json& spec, std::string_view path,
                                      const std::string& name, Workload& w, ConfigErrors& errors) {
  reject_unknown_keys(spec, path, {"name", "weight", "generator", "difficulty", "size"}, errors);
  auto g = std::make_unique<SolveGenerator>();
  g->difficulty = parse_difficulty(spec, path, errors);
  g->size = parse_size_dist(spec, path, "size", 64, errors);
  g->name = w.add_name(name);
  return g;
}

}  // namespace

void register_solve(GeneratorRegistry& registry) {
  registry.add({"solve",
                "POST /solve with random content and a hex prefix of `difficulty` digits "
                "(CPU-heavy); stats NAME",
                make_solve});
}

}  // namespace faultline::loadgen
