// Delivers the broker's outbox (every event written with a state change, in
// the same transaction) to reporting: at least once, oldest first, with
// exponential backoff while reporting is down. Reporting ingests by event
// id, so a redelivery after a crash between send and mark is harmless.
#ifndef SOTTO_SERVICES_BROKER_OUTBOX_FORWARDER_H_
#define SOTTO_SERVICES_BROKER_OUTBOX_FORWARDER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/broker/call_store.h"
#include "services/broker/event_bell.h"
#include "services/broker/event_sink.h"
#include "sotto/v1/events.pb.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace sotto::broker {

struct OutboxForwarderOptions {
  int batch_size = 200;  // reporting takes at most 1000 per call
  // How often to look at the store with no local write: other replicas
  // write to it too.
  absl::Duration poll_interval = absl::Milliseconds(500);
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(30);
};

class OutboxForwarder {
 public:
  // `store`, `sink` and `bell` must outlive the forwarder; `registry` may
  // be null (no metrics).
  OutboxForwarder(CallStore* store, EventSink* sink, EventBell* bell,
                  OutboxForwarderOptions options,
                  prometheus::Registry* registry);
  ~OutboxForwarder();  // Stop()s

  // Starts the delivery thread.
  void Start();
  // Stops it; first tries, until `flush_deadline`, to deliver what is
  // pending (what is left stays in the outbox for the next start).
  void Stop(absl::Duration flush_deadline = absl::ZeroDuration());

  // One batch: reads pending events, delivers them, marks them delivered.
  // Returns how many were delivered (0: nothing pending). Public for
  // tests; the thread calls it.
  absl::StatusOr<int> DeliverBatch();

  // The backoff before retry `attempt` (1-based): doubling from
  // initial_backoff up to max_backoff, with "equal jitter" (half fixed,
  // half random) so replicas do not retry in step.
  absl::Duration Backoff(int attempt) const;

 private:
  void Run();
  // Sleeps for `d` unless Stop() comes first.
  void SleepUnlessStopped(absl::Duration d);

  CallStore* const store_;
  EventSink* const sink_;
  EventBell* const bell_;
  const OutboxForwarderOptions options_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::thread thread_;
  prometheus::Counter* delivered_ = nullptr;
  prometheus::Counter* failures_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_OUTBOX_FORWARDER_H_
