// How a run ends early, as exceptions (the one way each is reported; the orchestrator turns them
// into the verdict): RunError — a component could not start or died, a proxy action failed; the
// verdict is "error" (exit 2) and the message names the component. Interrupted — a stop signal
// (SIGINT/SIGTERM) arrived while the run waited for something; the verdict is "interrupted" (exit
// 130, kExitInterrupted).
#pragma once

#include <stdexcept>

namespace faultline::runner {

struct RunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Interrupted {};

}  // namespace faultline::runner
