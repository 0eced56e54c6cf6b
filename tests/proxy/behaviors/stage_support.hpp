// Helpers for the per-behavior unit tests (tests/proxy/behaviors/NAME_test.cpp): a behavior's
// config parsed through the real JSON path (the built-in Registry and parse_toxic), and a stream
// stage driven with fixed time points and a seeded Rng — no sockets, no wall clock.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/builtin.hpp"

namespace faultline::proxy::test {

// A fixed instant all stage tests count from.
inline const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

// The built-in Registry: proxy::builtin_registry() (proxy/behaviors/builtin.hpp).
using proxy::builtin_registry;

// The config of the toxic {"type": type, "attributes": attributes} on a `protocol` proxy; fails the
// test (and returns nullptr) when the JSON is rejected.
inline std::shared_ptr<const BehaviorConfig> parse_behavior(const std::string& type,
                                                            const json& attributes,
                                                            Protocol protocol = Protocol::tcp) {
  ConfigErrors errors;
  auto toxic = parse_toxic(json{{"type", type}, {"attributes", attributes}}, "$", protocol,
                           builtin_registry(), errors);
  EXPECT_TRUE(toxic.has_value()) << errors.to_string();
  return toxic ? toxic->config : nullptr;
}

// The stream stage of `type` with `attributes`, created at `now` from a generator seeded `seed`.
inline std::unique_ptr<StreamStage> make_stage(const std::string& type, const json& attributes,
                                               std::uint64_t seed = 7,
                                               Clock::time_point now = kT0) {
  auto config = parse_behavior(type, attributes);
  if (!config) return nullptr;
  Rng rng(seed);
  return config->make_stream_stage(rng, now);
}

// The body stage an http_body_* `type` with `attributes` makes for one exchange (its request
// fault on `stream`, then the stage), from a generator seeded `seed`.
inline std::unique_ptr<StreamStage> make_body_stage(const std::string& type, const json& attributes,
                                                    Stream stream = Stream::downstream,
                                                    std::uint64_t seed = 7,
                                                    Clock::time_point now = kT0) {
  auto config = parse_behavior(type, attributes, Protocol::http);
  if (!config) return nullptr;
  Rng rng(seed);
  const RequestFault f = config->request_fault(rng, stream);
  EXPECT_EQ(f.kind, RequestFault::Kind::body);
  EXPECT_EQ(f.stream, stream);
  if (!f.body_fault) return nullptr;
  return f.body_fault->make(rng, now);
}

// The event stage an sse_* `type` with `attributes` makes for one exchange (its request fault,
// then the stage drawing each event with `p`), from a generator seeded `seed`.
inline std::unique_ptr<EventStage> make_event_stage(const std::string& type, const json& attributes,
                                                    double p = 1.0, std::uint64_t seed = 7) {
  auto config = parse_behavior(type, attributes, Protocol::http);
  if (!config) return nullptr;
  EXPECT_TRUE(config->per_event());
  Rng rng(seed);
  const RequestFault f = config->request_fault(rng, Stream::downstream);
  EXPECT_EQ(f.kind, RequestFault::Kind::body);
  if (!f.body_fault) return nullptr;
  EXPECT_FALSE(f.body_fault->make(rng, kT0));
  return f.body_fault->make_event_stage(rng, Probability(p));
}

// `n` whole events "data: <i>\n\n" read at `now`, i counting from `first`.
inline std::vector<EventPiece> events(int n, Clock::time_point now = kT0, int first = 0) {
  std::vector<EventPiece> out;
  for (int i = first; i < first + n; ++i)
    out.push_back(EventPiece{now, "data: " + std::to_string(i) + "\n\n", true});
  return out;
}

// One chunk read at `now`: a single piece due at once.
inline std::vector<Piece> chunk(std::string bytes, Clock::time_point now = kT0) {
  std::vector<Piece> pieces;
  pieces.push_back(Piece{now, std::move(bytes)});
  return pieces;
}

// The bytes of `pieces`, concatenated in order.
inline std::string joined(const std::vector<Piece>& pieces) {
  std::string out;
  for (const auto& p : pieces)
    out += p.bytes;
  return out;
}

}  // namespace faultline::proxy::test
