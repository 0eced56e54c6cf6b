// The one guarantee that whatever a run starts — and everything those programs start in turn —
// ends when the run ends, however it ends: SIGKILL, an OOM kill or a crash included. Children
// already die with their parent (PR_SET_PDEATHSIG) and each leads a process group of its own; a
// grandchild (a shell's background job, a server's worker) is in that group but has no death
// signal, and outlived a SIGKILLed runner. The keeper is a small process forked once: the parent
// tells it every group it starts (and every group it reaps) over a socket; when the socket closes
// — the parent is gone, whatever the cause — it SIGKILLs the groups still listed, then exits.
// Programs that leave their process group on purpose (setsid daemons) escape it, as they escape a
// terminal's Ctrl-C.
#pragma once

#include <sys/types.h>

#include <string>

namespace faultline::group_keeper {

// Forks the keeper once for this process (later calls do nothing). Returns "" or why it could not
// (the caller warns and goes on: the children still die with it). Call it before starting
// children; it is safe with threads running (the keeper only makes async-signal-safe calls).
std::string start();
// Whether a keeper is running for this process.
bool started();
// The group `pgid` was started / reaped. No-ops without a keeper; never throw, never block for
// long, never raise SIGPIPE.
void watch(pid_t pgid);
void forget(pid_t pgid);

}  // namespace faultline::group_keeper
