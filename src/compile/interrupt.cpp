#include "compile/interrupt.h"

#include <signal.h>

#include <atomic>

namespace modelc {

namespace {

// Lock-free, so reading and writing it in a signal handler is safe.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void OnInterrupt(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // Second signal: give up on the orderly stop and end now. signal() and
    // raise() are async-signal-safe.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in progress are not cut short
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int InterruptSignal() { return g_signal.load(std::memory_order_relaxed); }

void SetInterruptSignalForTest(int sig) { g_signal.store(sig); }

}  // namespace modelc
