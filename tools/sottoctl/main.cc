// sottoctl: the command-line client of Sotto's public gRPC API. Flags and
// wiring only; everything else is in //tools/sottoctl:sottoctl_lib.
#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tools/sottoctl/cli.h"

int main(int argc, char** argv) {
  // Ctrl-C (and SIGTERM) cancel the RPC in flight, so that a watch ends
  // cleanly; they are taken by a thread rather than a handler because
  // cancelling a gRPC call is not async-signal-safe. Blocked before gRPC
  // starts its threads so that they inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  static sotto::sottoctl::Cancellation cancellation;
  std::thread([signals]() {
    int signal = 0;
    while (sigwait(&signals, &signal) == 0) cancellation.Cancel();
  }).detach();

  std::vector<std::string> args(argv + 1, argv + argc);
  return sotto::sottoctl::Run(args, sotto::sottoctl::Environment::FromProcess(),
                              std::cout, std::cerr, &cancellation);
}
