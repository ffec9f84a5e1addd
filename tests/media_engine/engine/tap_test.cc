// TapQueue: a slow reader loses items, never the worker's time, and learns
// exactly whose items it lost, how many and from when.
#include "media_engine/engine/tap.h"

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sotto::media {
namespace {

TapItem Frame(int member, int64_t slot) {
  TapItem item;
  item.kind = TapItem::Kind::kFrame;
  item.member = member;
  item.media_time = slot * 20'000;
  item.samples[0] = static_cast<int16_t>(slot);
  return item;
}

TapItem Event(int member, int64_t slot) {
  TapItem item = Frame(member, slot);
  item.kind = TapItem::Kind::kTelephoneEvent;
  item.event.event = 5;
  return item;
}

std::vector<TapItem> PopAll(TapQueue& queue) {
  std::vector<TapItem> items;
  TapItem item;
  while (queue.Pop(&item, 0)) items.push_back(item);
  return items;
}

TEST(TapQueueTest, SlowReaderLearnsWhichLegLostHowManyFramesAndFromWhen) {
  TapQueue queue;
  int64_t slot = 0;
  // Three legs fill the queue; the reader has not read anything.
  while (slot < static_cast<int64_t>(TapQueue::kCapacity)) {
    queue.Push(Frame(static_cast<int>(slot % 3), slot));
    ++slot;
  }
  EXPECT_EQ(queue.dropped(), 0u);
  // Legs 0 and 2 lose 7 frames each; leg 2 also loses two events.
  const int64_t first_lost = slot;
  for (int i = 0; i < 7; ++i, ++slot) {
    queue.Push(Frame(2, slot));
    queue.Push(Frame(0, slot));
  }
  queue.Push(Event(2, slot));
  queue.Push(Event(2, slot));
  EXPECT_EQ(queue.dropped(), 16u);

  // The reader catches up; the next item is preceded by one gap per leg.
  std::vector<TapItem> read = PopAll(queue);
  ASSERT_EQ(read.size(), TapQueue::kCapacity);
  queue.Push(Frame(1, slot));
  read = PopAll(queue);
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].kind, TapItem::Kind::kGap);
  EXPECT_EQ(read[0].member, 0);
  EXPECT_EQ(read[0].frames_dropped, 7u);
  EXPECT_EQ(read[0].other_items_dropped, 0u);
  EXPECT_EQ(read[0].media_time, first_lost * 20'000);
  EXPECT_EQ(read[0].gap_cause, TapItem::GapCause::kReaderTooSlow);
  EXPECT_EQ(read[1].kind, TapItem::Kind::kGap);
  EXPECT_EQ(read[1].member, 2);
  EXPECT_EQ(read[1].frames_dropped, 7u);
  EXPECT_EQ(read[1].other_items_dropped, 2u);
  EXPECT_EQ(read[1].media_time, first_lost * 20'000);
  EXPECT_EQ(read[2].kind, TapItem::Kind::kFrame);
  EXPECT_EQ(read[2].member, 1);
  // Nothing else is owed: the next push comes alone.
  queue.Push(Frame(0, slot + 1));
  read = PopAll(queue);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].kind, TapItem::Kind::kFrame);
}

TEST(TapQueueTest, AGapThatDoesNotFitStaysOwedAndKeepsCounting) {
  TapQueue queue;
  int64_t slot = 0;
  for (; slot < static_cast<int64_t>(TapQueue::kCapacity); ++slot) {
    queue.Push(Frame(0, slot));
  }
  queue.Push(Frame(3, slot++));  // lost: leg 3
  queue.Push(Frame(5, slot++));  // lost: leg 5
  // Room for one item only: leg 3's gap goes in, leg 5's does not, and the
  // frame that triggered them is lost too (counted against leg 4).
  TapItem item;
  ASSERT_TRUE(queue.Pop(&item, 0));
  queue.Push(Frame(4, slot++));
  EXPECT_EQ(queue.dropped(), 3u);

  PopAll(queue);
  queue.Push(Frame(0, slot));
  const std::vector<TapItem> read = PopAll(queue);
  std::array<uint32_t, kMaxRoomMembers> lost{};
  int gaps = 0;
  for (const TapItem& got : read) {
    if (got.kind != TapItem::Kind::kGap) continue;
    ++gaps;
    lost[got.member] += got.frames_dropped;
  }
  EXPECT_EQ(gaps, 2);  // legs 4 and 5; leg 3's was delivered before
  EXPECT_EQ(lost[4], 1u);
  EXPECT_EQ(lost[5], 1u);
  EXPECT_EQ(read.back().kind, TapItem::Kind::kFrame);
}

// The contract under real concurrency (and TSan): every frame the worker
// pushed is either read or counted in its own leg's gap.
TEST(TapQueueTest, EveryFrameIsReadOrCountedInItsLegsGap) {
  constexpr int kLegs = 4;
  constexpr int kFramesPerLeg = 20'000;
  TapQueue queue;
  std::array<uint64_t, kLegs> read_frames{};
  std::array<uint64_t, kLegs> gap_frames{};
  std::atomic<bool> producing{true};
  auto count = [&](const TapItem& got) {
    if (got.kind == TapItem::Kind::kFrame) ++read_frames[got.member];
    if (got.kind == TapItem::Kind::kGap)
      gap_frames[got.member] += got.frames_dropped;
  };
  std::thread reader([&] {
    TapItem got;
    int n = 0;
    while (producing.load()) {
      if (queue.Pop(&got, 1000)) count(got);
      // A reader that sometimes falls far behind.
      if (++n % 1000 == 0) std::this_thread::yield();
    }
  });
  for (int64_t slot = 0; slot < kFramesPerLeg; ++slot) {
    for (int leg = 0; leg < kLegs; ++leg) queue.Push(Frame(leg, slot));
  }
  producing.store(false);
  reader.join();
  // Drain what is left, then one more frame per leg flushes any gap owed.
  for (const TapItem& got : PopAll(queue)) count(got);
  for (int leg = 0; leg < kLegs; ++leg) {
    queue.Push(Frame(leg, kFramesPerLeg));
    for (const TapItem& got : PopAll(queue)) count(got);
  }
  uint64_t lost = 0;
  for (int leg = 0; leg < kLegs; ++leg) {
    EXPECT_EQ(read_frames[leg] + gap_frames[leg], kFramesPerLeg + 1u)
        << "leg " << leg;
    lost += gap_frames[leg];
  }
  EXPECT_EQ(lost, queue.dropped());
}

}  // namespace
}  // namespace sotto::media
