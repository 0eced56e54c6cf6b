// Store spec parsing, shard choice and the store factory.
#include "target/store.hpp"

#include "common/config.hpp"

namespace faultline::target {

std::size_t shard_for(std::string_view id, std::size_t shards) {
  if (shards <= 1) return 0;
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 8 && i < id.size(); ++i) {
    const char c = id[i];
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9')
      d = static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<std::uint32_t>(c - 'A' + 10);
    v = (v << 4) | d;
  }
  return v % shards;
}

std::optional<StoreSpec> parse_store_spec(std::string_view text, std::string& error) {
  StoreSpec spec;
  if (text == "memory") return spec;
  if (text.starts_with("file:")) {
    spec.kind = StoreSpec::Kind::file;
    spec.dir = std::string(text.substr(5));
    if (spec.dir.empty()) {
      error = "file store needs a directory: file:DIR";
      return std::nullopt;
    }
    return spec;
  }
  if (text.starts_with("redis://")) {
    spec.kind = StoreSpec::Kind::redis;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t comma = text.find(',', pos);
      if (comma == std::string_view::npos) comma = text.size();
      std::string_view item = text.substr(pos, comma - pos);
      if (!item.starts_with("redis://")) {
        error = "redis shard '" + std::string(item) + "' must look like redis://HOST:PORT";
        return std::nullopt;
      }
      auto hp = parse_host_port(item.substr(8));
      if (!hp || hp->port == 0 || item.substr(8).starts_with(":")) {
        error = "redis shard '" + std::string(item) + "' must look like redis://HOST:PORT";
        return std::nullopt;
      }
      spec.redis.emplace_back(hp->host, hp->port);
      pos = comma + 1;
    }
    return spec;
  }
  error = "unknown store '" + std::string(text) +
          "': use memory, file:DIR or redis://HOST:PORT[,redis://HOST:PORT...]";
  return std::nullopt;
}

std::unique_ptr<Store> make_store(const StoreSpec& spec, const StoreOptions& options,
                                  TargetMetrics& metrics) {
  switch (spec.kind) {
    case StoreSpec::Kind::memory:
      return make_memory_store(metrics);
    case StoreSpec::Kind::file:
      return make_file_store(spec.dir, options, metrics);
    case StoreSpec::Kind::redis:
      return options.blocking_redis ? make_blocking_redis_store(spec, metrics)
                                    : make_redis_store(spec, options, metrics);
  }
  return nullptr;
}

}  // namespace faultline::target
