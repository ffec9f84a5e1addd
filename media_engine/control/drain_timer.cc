#include "media_engine/control/drain_timer.h"

#include <utility>

namespace sotto::media {

DrainTimer::DrainTimer(std::function<void()> on_deadline)
    : on_deadline_(std::move(on_deadline)) {}

DrainTimer::~DrainTimer() { Stop(); }

absl::Time DrainTimer::Arm(absl::Time deadline) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return deadline;  // the service is going: nothing to end
  if (!deadline_.has_value() || deadline < *deadline_) deadline_ = deadline;
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { Run(); });
  }
  changed_.notify_all();
  return *deadline_;
}

std::optional<absl::Time> DrainTimer::deadline() {
  std::lock_guard<std::mutex> lock(mutex_);
  return deadline_;
}

void DrainTimer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    deadline_.reset();
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void DrainTimer::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (!deadline_.has_value()) {
      changed_.wait(lock);
      continue;
    }
    if (absl::Now() < *deadline_) {
      changed_.wait_until(lock, absl::ToChronoTime(*deadline_));
      continue;  // re-read: stopped, re-armed earlier, or due
    }
    deadline_.reset();
    lock.unlock();
    on_deadline_();
    lock.lock();
  }
}

}  // namespace sotto::media
