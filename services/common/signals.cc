#include "services/common/signals.h"

#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::service_kit {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::Status BlockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  const int error = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (error != 0) {
    return absl::InternalError(absl::StrCat("cannot block SIGTERM and SIGINT: ",
                                            std::strerror(error)));
  }
  return absl::OkStatus();
}

bool TerminationSignalsBlocked() {
  sigset_t current;
  sigemptyset(&current);
  if (pthread_sigmask(SIG_BLOCK, nullptr, &current) != 0) return false;
  return sigismember(&current, SIGTERM) == 1 &&
         sigismember(&current, SIGINT) == 1;
}

TerminationSignalWatcher::TerminationSignalWatcher(
    std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)), thread_([this] { Loop(); }) {}

TerminationSignalWatcher::~TerminationSignalWatcher() {
  stopping_.store(true);
  // A SIGTERM aimed at the watcher thread alone wakes its sigwait(); the
  // stopping_ flag tells it apart from a real one.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void TerminationSignalWatcher::Loop() {
  const sigset_t set = TerminationSignals();
  while (true) {
    int signo = 0;
    if (sigwait(&set, &signo) != 0) continue;
    if (stopping_.load()) return;
    on_signal_(signo);
  }
}

}  // namespace sotto::service_kit
