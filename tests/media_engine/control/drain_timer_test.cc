// DrainTimer: a Drain RPC's deadline ends the rooms once, on time, never
// later because someone asked again, and never after the service stopped.
#include "media_engine/control/drain_timer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace sotto::media {
namespace {

// Records when the action ran; lets the test wait for it with a bound.
class Firing {
 public:
  void Fire() {
    std::lock_guard<std::mutex> lock(mutex_);
    times_.push_back(absl::Now());
    fired_.notify_all();
  }
  // Waits up to `limit` for the n-th firing; returns how many there were.
  size_t WaitFor(size_t n, absl::Duration limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    fired_.wait_until(lock, absl::ToChronoTime(absl::Now() + limit),
                      [&] { return times_.size() >= n; });
    return times_.size();
  }
  absl::Time first() {
    std::lock_guard<std::mutex> lock(mutex_);
    return times_.front();
  }

 private:
  std::mutex mutex_;
  std::condition_variable fired_;
  std::vector<absl::Time> times_;
};

TEST(DrainTimerTest, FiresOnceAtTheDeadlineAndNotBefore) {
  Firing firing;
  DrainTimer timer([&] { firing.Fire(); });
  const absl::Time deadline = absl::Now() + absl::Milliseconds(150);
  EXPECT_EQ(timer.Arm(deadline), deadline);
  ASSERT_EQ(firing.WaitFor(1, absl::Seconds(5)), 1u);
  EXPECT_GE(firing.first(), deadline);
  EXPECT_FALSE(timer.deadline().has_value());
  // Once is all: nothing more comes without a new Arm.
  EXPECT_EQ(firing.WaitFor(2, absl::Milliseconds(200)), 1u);
}

TEST(DrainTimerTest, AskingAgainNeverPostponesButCanBringForward) {
  Firing firing;
  DrainTimer timer([&] { firing.Fire(); });
  const absl::Time soon = absl::Now() + absl::Milliseconds(200);
  timer.Arm(soon);
  EXPECT_EQ(timer.Arm(soon + absl::Hours(1)), soon);
  const absl::Time sooner = absl::Now() + absl::Milliseconds(50);
  EXPECT_EQ(timer.Arm(sooner), sooner);
  ASSERT_EQ(firing.WaitFor(1, absl::Seconds(5)), 1u);
  EXPECT_GE(firing.first(), sooner);
  EXPECT_LT(firing.first(), soon) << "the earlier deadline was not honoured";
}

TEST(DrainTimerTest, StoppedTimerNeverFires) {
  Firing firing;
  {
    DrainTimer timer([&] { firing.Fire(); });
    timer.Arm(absl::Now() + absl::Milliseconds(100));
    timer.Stop();
    timer.Arm(absl::Now());  // after Stop: ignored
  }
  EXPECT_EQ(firing.WaitFor(1, absl::Milliseconds(300)), 0u);
}

TEST(DrainTimerTest, ADeadlineAlreadyPastFiresAtOnce) {
  Firing firing;
  DrainTimer timer([&] { firing.Fire(); });
  timer.Arm(absl::Now() - absl::Seconds(1));
  EXPECT_EQ(firing.WaitFor(1, absl::Seconds(5)), 1u);
}

}  // namespace
}  // namespace sotto::media
