// One media worker's loop: epoll over leg sockets, a deadline timer queue
// and a task queue for the control thread.
#ifndef SOTTO_MEDIA_ENGINE_NET_EVENT_LOOP_H_
#define SOTTO_MEDIA_ENGINE_NET_EVENT_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <vector>

#include "absl/status/status.h"
#include "media_engine/base/clock.h"

namespace sotto::media::net {

// Called on the loop thread when its fd is readable. Must drain or read as
// much as it wants; the loop is level-triggered.
class FdHandler {
 public:
  virtual ~FdHandler() = default;
  virtual void OnReadable(Micros now) = 0;
};

// A deadline. Owned by the caller, who must Cancel() it on its loop before
// destroying it; after that the loop never touches it again.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void OnTimer(Micros now) = 0;

 private:
  friend class EventLoop;
  Micros when_ = -1;  // -1: not scheduled
  int slot_ = -1;     // index in the loop's slot table, -1: none
};

// Everything but Post() and Stop() runs on the loop thread. Timers are a
// binary heap with lazy cancellation: rescheduling pushes a new entry and
// stale ones are skipped when popped, so the per-packet path does a push at
// most (amortised: the heap's storage is reserved up front). Heap entries
// name a slot owned by the loop, never the Timer itself, so a cancelled and
// destroyed Timer is never dereferenced. Posted tasks run after the I/O
// events of the same wake-up, so a task may destroy handlers safely.
class EventLoop {
 public:
  explicit EventLoop(const Clock& clock);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Loop thread (or before Run starts).
  absl::Status AddFd(int fd, FdHandler* handler);
  void RemoveFd(int fd);
  // (Re)schedules `timer` to fire at `when`; a timer fires at most once per
  // schedule.
  void Schedule(Timer* timer, Micros when);
  void Cancel(Timer* timer);

  // Any thread: runs `task` on the loop thread soon.
  void Post(std::function<void()> task);
  // Any thread: Run() returns after the current iteration.
  void Stop();

  // Runs until Stop().
  void Run();
  // One iteration: fires due timers, waits up to `max_wait` for I/O or a
  // task, handles it. Returns false once stopped.
  bool RunOnce(Micros max_wait);

  // Under load (more than `min_wakeups_per_second` wake-ups), nap for
  // `nap` before polling so one wake-up handles many packets instead of
  // one: fewer context switches and epoll calls per packet, at the price
  // of up to `nap` of added delay. Never naps past a due timer. 0 disables.
  void set_coalescing(Micros nap, double min_wakeups_per_second) {
    coalesce_nap_ = nap;
    coalesce_min_rate_ = min_wakeups_per_second;
  }

  const Clock& clock() const { return clock_; }
  // Loop iterations, and I/O events handled (for metrics: events per
  // wake-up says how well work batches).
  uint64_t iterations() const { return iterations_; }
  uint64_t io_events() const { return io_events_; }

 private:
  struct Entry {
    Micros when;
    uint64_t generation;
    int slot;
    bool operator>(const Entry& other) const { return when > other.when; }
  };
  struct Slot {
    Timer* timer = nullptr;
    uint64_t generation = 0;
  };
  bool Live(const Entry& entry) const {
    const Slot& slot = slots_[entry.slot];
    return slot.timer != nullptr && slot.generation == entry.generation;
  }
  void FireDueTimers(Micros now);
  void RunTasks();

  const Clock& clock_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> timers_;
  std::vector<Slot> slots_;
  std::vector<int> free_slots_;
  uint64_t iterations_ = 0;
  uint64_t io_events_ = 0;
  Micros coalesce_nap_ = 0;
  double coalesce_min_rate_ = 0;
  bool busy_ = false;
  Micros window_start_ = 0;
  uint64_t window_wakeups_ = 0;
  std::atomic<bool> stopped_{false};
  // std::mutex, not absl::Mutex: Debian's Abseil lacks ThreadSanitizer
  // annotations, so TSan would not see an absl::Mutex. Taken by Post() and
  // once per wake-up by the loop, never per packet.
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;  // guarded by tasks_mutex_
  std::vector<std::function<void()>> running_tasks_;
};

}  // namespace sotto::media::net

#endif  // SOTTO_MEDIA_ENGINE_NET_EVENT_LOOP_H_
