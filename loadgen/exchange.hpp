// What a flow step or generator sees of the engine: send one request on the iteration's
// connection and get the outcome, status, head and body back (stats are recorded by the engine
// under the request name).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "loadgen/stats.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen {

struct StepResult {
  Outcome outcome = Outcome::bad_response;
  unsigned status = 0;
  std::string head;  // raw response head (for header captures)
  std::string body;
};

struct GeneratedRequest {
  std::size_t name_index = 0;
  std::string method = "POST";
  std::string target;
  std::string body;
  std::string content_type;  // empty = none
};

class Exchanger {
 public:
  virtual ~Exchanger() = default;
  // Sends `request`; records it under its name. The first request of an iteration is measured
  // from the iteration's intended start (coordinated-omission correction), later ones from when
  // they were sent.
  virtual awaitable<StepResult> exchange(GeneratedRequest request) = 0;
  virtual Rng& rng() = 0;
};

// Random printable text of `n` bytes (paste bodies).
std::string random_text(Rng& rng, std::size_t n);
std::string random_hex(Rng& rng, std::size_t n);

}  // namespace faultline::loadgen
