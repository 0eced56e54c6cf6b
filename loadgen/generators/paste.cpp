// Generator "paste": POST /pastes with a random text body whose size follows a distribution, and
// optionally reads it back (GET of the returned url). Stats: NAME.create, NAME.read.
#include "loadgen/generator.hpp"
#include "loadgen/generators/size_dist.hpp"

namespace faultline::loadgen {
namespace {

class PasteGenerator final : public Generator {
 public:
  SizeDist size;
  bool read_back = false;
  std::size_t create = 0, read = 0;

  awaitable<void> run(Exchanger* ex) override {
    GeneratedRequest req;
    req.name_index = create;
    req.method = "POST";
    req.target = "/pastes";
    req.body = random_text(ex->rng(), size.sample(ex->rng()));
    req.content_type = "text/plain";
    StepResult r = co_await ex->exchange(std::move(req));
    if (!read_back || r.outcome != Outcome::ok) co_return;
    auto doc = parse_json_or_discarded(r.body);
    if (doc.is_discarded() || !doc.contains("url") || !doc["url"].is_string()) co_return;
    GeneratedRequest get;
    get.name_index = read;
    get.method = "GET";
    get.target = doc["url"].get<std::string>();
    co_await ex->exchange(std::move(get));
  }
};

std::unique_ptr<Generator> make_paste(const json& spec, std::string_view path,
                                      const std::string& name, Workload& w, ConfigErrors& errors) {
  reject_unknown_keys(spec, path, {"name", "weight", "generator", "size", "read_back"}, errors);
  auto g = std::make_unique<PasteGenerator>();
  g->size = parse_size_dist(spec, path, "size", 1024, errors);
  if (auto rb = get_bool(spec, path, "read_back", errors)) g->read_back = *rb;
  g->create = w.add_name(name + ".create");
  if (g->read_back) g->read = w.add_name(name + ".read");
  return g;
}

}  // namespace

void register_paste(GeneratorRegistry& registry) {
  registry.add({"paste",
                "POST /pastes with a random text body (size distribution), optionally GET it back; "
                "stats NAME.create, NAME.read",
                make_paste});
}

}  // namespace faultline::loadgen
