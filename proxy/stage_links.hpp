// The stream toxics of one direction of a byte stream — a tcp proxy's connection, or a WebSocket
// connection upgraded through an http proxy (staged_stream.hpp) — and their stages: which toxics of
// the proxy's current snapshot act on it, each drawn once (Toxiproxy: toxicity per connection and
// direction), with its fault slot and its StreamStage, in toxic order.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/proxy.hpp"

namespace faultline::proxy {

// One entry of a direction's write queue: bytes (or an EOF, a close, a reset) and when it is due.
struct StreamItem {
  enum class Kind { data, eof, close, reset };
  Clock::time_point due;
  Kind kind = Kind::data;
  std::string bytes;
};

struct StageLink {
  std::shared_ptr<const ProxyToxic> toxic;
  bool active = false;
  FaultSlot slot;
  std::unique_ptr<StreamStage> stage;
};

class StageLinks {
 public:
  // Where the stages come from: BehaviorConfig::make_stream_stage (tcp) or
  // make_upgraded_stage (an upgraded connection of an http proxy: the stream toxics only).
  enum class Kind { tcp, upgraded };

  // Links to `list`: toxics still in it keep their draw and stage, new ones of `stream` are drawn
  // with `rng` (a hit whose stage gets a fault slot is active, counted in
  // faults_injected_total), removed ones are dropped with their slots.
  void refresh(Proxy& proxy, const ToxicList& list, Stream stream, Kind kind, Rng& rng,
               Clock::time_point now);
  bool any_active() const;
  // An active stage holds the source's EOF (timeout).
  bool holds_eof() const;
  // One chunk's pieces through the active stages, in toxic order.
  void on_data(std::vector<Piece>& pieces, Clock::time_point now, StreamEffects& fx);
  // The extra wait before the source's EOF is passed on (slow_close), summed.
  Clock::duration on_eof();
  // The earliest moment an active stage closes the connection (timeout).
  std::optional<Clock::time_point> deadline() const;
  // Drops every link (releases the fault slots).
  void clear() { links_.clear(); }

 private:
  std::vector<StageLink> links_;
};

}  // namespace faultline::proxy
