// Ends a drain at its deadline: one thread that sleeps until the earliest
// deadline it was given, then runs the action once (the engine deletes the
// rooms still live). Control plane only; never on a media worker.
#ifndef SOTTO_MEDIA_ENGINE_CONTROL_DRAIN_TIMER_H_
#define SOTTO_MEDIA_ENGINE_CONTROL_DRAIN_TIMER_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sotto::media {

class DrainTimer {
 public:
  // `on_deadline` runs on the timer's thread, without the timer's lock.
  explicit DrainTimer(std::function<void()> on_deadline);
  ~DrainTimer();  // Stop()s
  DrainTimer(const DrainTimer&) = delete;
  DrainTimer& operator=(const DrainTimer&) = delete;

  // Arms the timer for `deadline`; a later deadline than the one already
  // armed does not postpone it (a drain is never extended by asking again).
  // Returns the deadline in force.
  absl::Time Arm(absl::Time deadline);
  // The armed deadline, or nullopt (never armed, fired, or stopped).
  std::optional<absl::Time> deadline();
  // Ends the thread without running the action. Idempotent.
  void Stop();

 private:
  void Run();

  const std::function<void()> on_deadline_;
  // std::mutex: TSan cannot see Debian's un-annotated absl::Mutex.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<absl::Time> deadline_;  // guarded by mutex_
  bool stopping_ = false;               // guarded by mutex_
  std::thread thread_;                  // started by the first Arm
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_CONTROL_DRAIN_TIMER_H_
