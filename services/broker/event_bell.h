// A doorbell between the broker's writers and its readers of the event log
// (the outbox forwarder, watch streams): a write rings it so readers look
// at the store at once instead of at their next poll. Readers still poll,
// because other broker replicas write to the same store.
#ifndef SOTTO_SERVICES_BROKER_EVENT_BELL_H_
#define SOTTO_SERVICES_BROKER_EVENT_BELL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

namespace sotto::broker {

// Thread-safe.
class EventBell {
 public:
  // How many times the bell has rung; pass it to WaitAfter.
  uint64_t rings() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rings_;
  }
  void Ring() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++rings_;
    }
    cv_.notify_all();
  }
  // Waits until the bell has rung more than `seen` times, or `timeout`
  // passed, or Close(); returns the ring count then.
  uint64_t WaitAfter(uint64_t seen, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [&] { return rings_ > seen || closed_; });
    return rings_;
  }
  // Wakes every waiter for good (shutdown).
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t rings_ = 0;
  bool closed_ = false;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_EVENT_BELL_H_
