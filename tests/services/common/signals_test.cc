// Tests for the termination-signal watcher. A binary of its own: signals
// sent with kill() go to any thread that has them unblocked, so no other
// test's threads may exist in this process.
#include "services/common/signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace sotto::service_kit {
namespace {

TEST(TerminationSignalWatcherTest, DeliversEachSignalToTheCallback) {
  ASSERT_TRUE(BlockTerminationSignals().ok());
  ASSERT_TRUE(TerminationSignalsBlocked());
  absl::Notification got_term;
  absl::Notification got_int;
  std::atomic<int> calls{0};
  {
    TerminationSignalWatcher watcher([&](int signo) {
      ++calls;
      if (signo == SIGTERM) got_term.Notify();
      if (signo == SIGINT) got_int.Notify();
    });
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    ASSERT_TRUE(got_term.WaitForNotificationWithTimeout(absl::Seconds(10)));
    ASSERT_EQ(kill(getpid(), SIGINT), 0);
    ASSERT_TRUE(got_int.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  // Stopping the watcher is not reported as a signal.
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace sotto::service_kit
