// Ctrl-C (SIGINT) and SIGTERM during a build: the handler only records the
// signal in an async-signal-safe flag; the trainer looks at the flag between
// steps, saves a checkpoint and returns, and the CLI prints one line
// ("interrupted at step N; run the same command to resume") and exits with
// 128 + the signal number. A second signal of either kind while the first is
// being handled ends the process at once (the default action).
#pragma once

namespace modelc {

// Installs the handlers for SIGINT and SIGTERM (idempotent).
void InstallInterruptHandlers();
// The first signal received since InstallInterruptHandlers (0: none).
int InterruptSignal();
// For tests: pretend `sig` arrived (0 clears).
void SetInterruptSignalForTest(int sig);

}  // namespace modelc
