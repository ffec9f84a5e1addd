#include "media_engine/net/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::media::net {
namespace {

constexpr int kMaxEvents = 256;
// Wake at least this often so Stop() and clock-paced work never wait long.
constexpr Micros kMaxIdleWait = 100'000;

}  // namespace

EventLoop::EventLoop(const Clock& clock) : clock_(clock) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // nullptr marks the wake fd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  // Reserve the timer heap's storage so scheduling does not allocate.
  std::vector<Entry> storage;
  storage.reserve(1 << 16);
  timers_ = decltype(timers_)(std::greater<Entry>(), std::move(storage));
  running_tasks_.reserve(64);
  slots_.reserve(4096);
}

EventLoop::~EventLoop() {
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::Status EventLoop::AddFd(int fd, FdHandler* handler) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return absl::InternalError(
        absl::StrCat("epoll_ctl ADD fd ", fd, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void EventLoop::RemoveFd(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::Schedule(Timer* timer, Micros when) {
  if (timer->when_ == when) return;  // already scheduled for then
  if (timer->slot_ < 0) {
    if (free_slots_.empty()) {
      timer->slot_ = static_cast<int>(slots_.size());
      slots_.emplace_back();
    } else {
      timer->slot_ = free_slots_.back();
      free_slots_.pop_back();
    }
    slots_[timer->slot_].timer = timer;
  }
  timer->when_ = when;
  Slot& slot = slots_[timer->slot_];
  ++slot.generation;  // earlier entries for this timer are now stale
  timers_.push(Entry{when, slot.generation, timer->slot_});
}

void EventLoop::Cancel(Timer* timer) {
  timer->when_ = -1;
  if (timer->slot_ < 0) return;
  Slot& slot = slots_[timer->slot_];
  slot.timer = nullptr;
  ++slot.generation;
  free_slots_.push_back(timer->slot_);
  timer->slot_ = -1;
}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    tasks_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Stop() {
  stopped_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EventLoop::FireDueTimers(Micros now) {
  while (!timers_.empty() && timers_.top().when <= now) {
    const Entry entry = timers_.top();
    timers_.pop();
    if (!Live(entry)) continue;  // rescheduled or cancelled since
    Timer* timer = slots_[entry.slot].timer;
    timer->when_ = -1;
    ++slots_[entry.slot].generation;  // fired: this entry is spent
    timer->OnTimer(now);
  }
}

void EventLoop::RunTasks() {
  uint64_t drained;
  (void)!read(wake_fd_, &drained, sizeof(drained));
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    running_tasks_.swap(tasks_);
  }
  for (auto& task : running_tasks_) task();
  running_tasks_.clear();
}

bool EventLoop::RunOnce(Micros max_wait) {
  if (stopped_.load(std::memory_order_acquire)) return false;
  ++iterations_;
  Micros now = clock_.Now();
  FireDueTimers(now);
  // Drop stale heads so the wait is computed from a live deadline.
  while (!timers_.empty() && !Live(timers_.top())) timers_.pop();
  Micros wait = max_wait;
  if (!timers_.empty()) wait = std::min(wait, timers_.top().when - now);
  wait = std::max<Micros>(wait, 0);

  epoll_event events[kMaxEvents];
  int n = -1;
  if (busy_ && coalesce_nap_ > 0 && wait > 0) {
    const Micros nap = std::min(coalesce_nap_, wait);
    timespec pause{0, static_cast<long>(nap * 1000)};
    nanosleep(&pause, nullptr);
    wait -= nap;
    timespec zero{0, 0};
    n = epoll_pwait2(epoll_fd_, events, kMaxEvents, &zero, nullptr);
    if (n == 0 && wait > 0) n = -1;  // nothing yet: wait as usual
  }
  if (n < 0) {
    timespec timeout{static_cast<time_t>(wait / 1'000'000),
                     static_cast<long>((wait % 1'000'000) * 1000)};
    n = epoll_pwait2(epoll_fd_, events, kMaxEvents, &timeout, nullptr);
    if (n < 0 && errno == ENOSYS) {
      n = epoll_wait(epoll_fd_, events, kMaxEvents,
                     static_cast<int>((wait + 999) / 1000));
    }
  }
  now = clock_.Now();
  if (coalesce_nap_ > 0) {
    // Re-decide every 100 ms whether the loop is busy enough to batch.
    ++window_wakeups_;
    if (now - window_start_ >= 100'000) {
      const double rate = static_cast<double>(window_wakeups_) * 1e6 /
                          static_cast<double>(now - window_start_);
      busy_ = rate > coalesce_min_rate_;
      window_start_ = now;
      window_wakeups_ = 0;
    }
  }
  if (n > 0) io_events_ += static_cast<uint64_t>(n);
  bool tasks_pending = false;
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<FdHandler*>(events[i].data.ptr);
    if (handler == nullptr) {
      tasks_pending = true;
    } else {
      handler->OnReadable(now);
    }
  }
  // Tasks last: one may remove a handler whose event is in this batch.
  if (tasks_pending) RunTasks();
  FireDueTimers(clock_.Now());
  return !stopped_.load(std::memory_order_acquire);
}

void EventLoop::Run() {
  while (RunOnce(kMaxIdleWait)) {
  }
}

}  // namespace sotto::media::net
