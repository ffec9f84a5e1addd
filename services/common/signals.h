// Termination signals for graceful drain: SIGTERM and SIGINT are blocked in
// every thread and received synchronously by one watcher thread, so the
// drain runs as ordinary code rather than inside a signal handler.
#ifndef SOTTO_SERVICES_COMMON_SIGNALS_H_
#define SOTTO_SERVICES_COMMON_SIGNALS_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"

namespace sotto::service_kit {

// Blocks SIGTERM and SIGINT in the calling thread. Call in main() before any
// thread starts: threads inherit the mask, and a thread that does not block
// them would take the signal's default action and kill the process.
absl::Status BlockTerminationSignals();

// True when the calling thread has SIGTERM and SIGINT blocked.
bool TerminationSignalsBlocked();

// Runs `on_signal(signo)` on its own thread for each SIGTERM or SIGINT sent
// to the process, until destroyed. Needs BlockTerminationSignals() first.
// The callback must not block for long: a later signal waits for it.
class TerminationSignalWatcher {
 public:
  explicit TerminationSignalWatcher(std::function<void(int)> on_signal);
  // Stops the watcher thread; pending callbacks have finished on return.
  ~TerminationSignalWatcher();

  TerminationSignalWatcher(const TerminationSignalWatcher&) = delete;
  TerminationSignalWatcher& operator=(const TerminationSignalWatcher&) = delete;

 private:
  void Loop();

  std::function<void(int)> on_signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_SIGNALS_H_
