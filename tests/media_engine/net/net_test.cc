// Sockets, port range and event loop behave as the worker relies on.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "media_engine/net/event_loop.h"
#include "media_engine/net/port_allocator.h"
#include "media_engine/net/socket_address.h"
#include "media_engine/net/udp_socket.h"

namespace sotto::media::net {
namespace {

TEST(SocketAddressTest, ParsesLiteralsAndRefusesHostNames) {
  auto v4 = SocketAddress::Parse("127.0.0.1", 4000);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "127.0.0.1:4000");
  auto v6 = SocketAddress::Parse("::1", 5);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ToString(), "[::1]:5");
  EXPECT_FALSE(*v4 == *v6);
  auto name = SocketAddress::Parse("localhost", 1);
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(name.status().message().find("not an IPv4 or IPv6"),
            std::string::npos);
}

TEST(UdpSocketTest, SendsAndReceivesOnLoopbackAndReportsTheSender) {
  auto a = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  auto b = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(a.ok() && b.ok());
  const uint8_t hello[] = {1, 2, 3};
  ASSERT_TRUE(a->SendTo(hello, b->local_address()));
  uint8_t buffer[16];
  SocketAddress from;
  ptrdiff_t n = -1;
  for (int i = 0; i < 1000 && n < 0; ++i) n = b->ReceiveFrom(buffer, &from);
  ASSERT_EQ(n, 3);
  EXPECT_EQ(from, a->local_address());
  EXPECT_EQ(b->ReceiveFrom(buffer, &from), -1);  // nothing more: EAGAIN
}

TEST(UdpSocketTest, OversizedDatagramIsReportedAsTruncated) {
  auto a = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  auto b = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  std::vector<uint8_t> big(100, 7);
  ASSERT_TRUE(a->SendTo(big, b->local_address()));
  uint8_t small[10];
  SocketAddress from;
  ptrdiff_t n = -1;
  for (int i = 0; i < 1000 && n == -1; ++i) n = b->ReceiveFrom(small, &from);
  EXPECT_EQ(n, -2);
}

TEST(PortAllocatorTest, HandsOutEvenPortsAndReportsExhaustion) {
  // Find a free 8-port window by binding a probe.
  auto probe = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  const uint16_t base =
      static_cast<uint16_t>((probe->local_address().port() + 64) & ~1);
  PortAllocator ports("127.0.0.1", base, base + 7);
  std::vector<LegSockets> legs;
  for (int i = 0; i < 4; ++i) {
    auto leg = ports.Allocate(/*separate_rtcp=*/i == 0);
    ASSERT_TRUE(leg.ok()) << leg.status();
    EXPECT_EQ(leg->rtp.local_address().port() % 2, 0);
    if (i == 0) {
      EXPECT_EQ(leg->rtcp.local_address().port(),
                leg->rtp.local_address().port() + 1);
    }
    legs.push_back(std::move(*leg));
  }
  auto none = ports.Allocate(false);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  legs.pop_back();  // frees one pair
  EXPECT_TRUE(ports.Allocate(false).ok());
}

class RecordingTimer : public Timer {
 public:
  explicit RecordingTimer(std::vector<int>* log, int id) : log_(log), id_(id) {}
  void OnTimer(Micros) override { log_->push_back(id_); }

 private:
  std::vector<int>* log_;
  int id_;
};

TEST(EventLoopTest, TimersFireInDeadlineOrderAndReschedulingReplaces) {
  SteadyClock clock;
  EventLoop loop(clock);
  std::vector<int> fired;
  RecordingTimer a(&fired, 1), b(&fired, 2), c(&fired, 3);
  const Micros now = clock.Now();
  loop.Schedule(&a, now + 3000);
  loop.Schedule(&b, now + 1000);
  loop.Schedule(&c, now + 2000);
  loop.Schedule(&a, now + 500);  // moved earlier: fires once, first
  loop.Cancel(&c);
  while (clock.Now() < now + 5000) loop.RunOnce(1000);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, ACancelledTimerMayBeDestroyedWhileItsEntryIsQueued) {
  SteadyClock clock;
  EventLoop loop(clock);
  std::vector<int> fired;
  auto doomed = std::make_unique<RecordingTimer>(&fired, 1);
  RecordingTimer survivor(&fired, 2);
  const Micros now = clock.Now();
  loop.Schedule(doomed.get(), now + 1000);
  loop.Schedule(doomed.get(), now + 1500);  // two entries queued for it
  loop.Cancel(doomed.get());
  doomed.reset();  // AddressSanitizer proves the loop never touches it again
  loop.Schedule(&survivor, now + 2000);  // may reuse the freed slot
  while (clock.Now() < now + 4000) loop.RunOnce(1000);
  EXPECT_EQ(fired, (std::vector<int>{2}));
}

class CountingReader : public FdHandler {
 public:
  explicit CountingReader(UdpSocket* socket) : socket_(socket) {}
  void OnReadable(Micros) override {
    uint8_t buffer[64];
    SocketAddress from;
    while (socket_->ReceiveFrom(buffer, &from) >= 0) ++count;
  }
  int count = 0;

 private:
  UdpSocket* socket_;
};

class LateTimer : public Timer {
 public:
  LateTimer(const Clock& clock, Micros due) : clock_(clock), due_(due) {}
  void OnTimer(Micros) override { lateness = clock_.Now() - due_; }
  Micros lateness = -1;

 private:
  const Clock& clock_;
  Micros due_;
};

TEST(EventLoopTest, CoalescingBatchesWakeupsButNeverDelaysADueTimer) {
  SteadyClock clock;
  EventLoop loop(clock);
  loop.set_coalescing(/*nap=*/200'000, /*min_wakeups_per_second=*/0);
  auto socket = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  auto sender = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  CountingReader reader(&*socket);
  ASSERT_TRUE(loop.AddFd(socket->fd(), &reader).ok());
  // Spend a first 100 ms window so the loop counts as busy.
  const Micros start = clock.Now();
  while (clock.Now() < start + 110'000) loop.RunOnce(1000);
  // A timer due in 1 ms fires long before a 200 ms nap would end (the
  // margin leaves room for a loaded machine's scheduling delays).
  LateTimer timer(clock, clock.Now() + 1000);
  loop.Schedule(&timer, clock.Now() + 1000);
  const uint8_t byte[] = {1};
  for (int i = 0; i < 20; ++i) sender->SendTo(byte, socket->local_address());
  const Micros deadline = clock.Now() + 1'000'000;
  while ((reader.count < 20 || timer.lateness < 0) && clock.Now() < deadline) {
    loop.RunOnce(10'000);
  }
  EXPECT_EQ(reader.count, 20);
  ASSERT_GE(timer.lateness, 0);
  EXPECT_LT(timer.lateness, 100'000);  // not held for a whole nap
  loop.RemoveFd(socket->fd());
}

TEST(EventLoopTest, DeliversReadableSocketsAndTasksFromOtherThreads) {
  SteadyClock clock;
  EventLoop loop(clock);
  auto socket = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  auto sender = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0));
  CountingReader reader(&*socket);
  ASSERT_TRUE(loop.AddFd(socket->fd(), &reader).ok());
  std::atomic<int> tasks_run{0};
  std::thread loop_thread([&] { loop.Run(); });
  const uint8_t byte[] = {9};
  for (int i = 0; i < 10; ++i) sender->SendTo(byte, socket->local_address());
  std::atomic<bool> done{false};
  loop.Post([&] { tasks_run++; });
  // The task runs on the loop thread; wait for it through another task.
  loop.Post([&] {
    if (reader.count == 10) done = true;
  });
  const Micros deadline = clock.Now() + 5'000'000;
  while (!done && clock.Now() < deadline) {
    loop.Post([&] {
      if (reader.count == 10) done = true;
    });
    std::this_thread::yield();
  }
  loop.Stop();
  loop_thread.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(tasks_run.load(), 1);
  loop.RemoveFd(socket->fd());
}

}  // namespace
}  // namespace sotto::media::net
