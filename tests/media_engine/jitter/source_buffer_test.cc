// Behaviour of the per-leg jitter buffer on the room timeline.
#include "media_engine/jitter/source_buffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sotto::media {
namespace {

constexpr Micros kStart = 1'000'000'000;

// A continuous 440 Hz tone: sample n of the stream.
int16_t Tone(int64_t n) {
  return static_cast<int16_t>(8000.0 * std::sin(2 * M_PI * 440.0 * n / 8000));
}

std::vector<int16_t> ToneSamples(int64_t first, int count) {
  std::vector<int16_t> out(count);
  for (int i = 0; i < count; ++i) out[i] = Tone(first + i);
  return out;
}

class SourceBufferTest : public ::testing::Test {
 protected:
  // Sends packet `index` of `samples` samples whose generation ended at
  // kStart + (index + 1) * ptime, arriving `delay` later.
  SourceBuffer::PutResult Send(int64_t index, int samples, Micros delay,
                               bool in_order = true, uint32_t ts_base = 1000) {
    const int64_t first = index * samples;
    const Micros arrival =
        kStart + (first + samples) * kMicrosPerSample + delay;
    buffer_.AdvanceTo(arrival);
    return buffer_.Put(ts_base + static_cast<uint32_t>(first),
                       ToneSamples(first, samples), in_order, arrival,
                       timeline_);
  }

  RoomTimeline timeline_{kStart};
  SourceBuffer buffer_;
};

TEST_F(SourceBufferTest, CleanStreamIsFinalOnArrivalWithNoAddedDelay) {
  for (int i = 0; i < 500; ++i) {
    Send(i, kSamplesPerFrame, /*delay=*/300);
    // The packet that just arrived completes its frame at once.
    EXPECT_EQ(buffer_.final_slot(), buffer_.first_valid_slot() + i + 1);
  }
  EXPECT_EQ(buffer_.stats().frames_concealed, 0u);
  EXPECT_EQ(buffer_.stats().resyncs, 1u);
  // The first frame was placed in the slot due right at its arrival.
  const int64_t first = buffer_.first_valid_slot();
  const Micros first_arrival = kStart + kFrameMicros + 300;
  EXPECT_GE(timeline_.SlotTime(first), first_arrival);
  EXPECT_LT(timeline_.SlotTime(first), first_arrival + kFrameMicros);
}

TEST_F(SourceBufferTest, JitterUpToFiveMsNeverInsertsSilenceInAContinuousTone) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<Micros> jitter(0, 5000);
  // Packets are generated every 20 ms; each is delayed 0-5 ms. Arrival
  // order can't change with 5 ms of jitter at 20 ms spacing.
  for (int i = 0; i < 3000; ++i) {
    const Micros delay = jitter(rng);
    // Let time pass in 1 ms steps up to the arrival, as a worker would.
    const Micros arrival = kStart + (int64_t{i} + 1) * kFrameMicros + delay;
    for (Micros t = arrival - kFrameMicros; t < arrival; t += 1000) {
      buffer_.AdvanceTo(t);
    }
    Send(i, kSamplesPerFrame, delay);
  }
  EXPECT_EQ(buffer_.stats().frames_concealed, 0u);
  EXPECT_EQ(buffer_.stats().packets_late, 0u);
  // Every final frame is the tone itself, sample for sample.
  const int64_t first = buffer_.first_valid_slot();
  for (int64_t slot = buffer_.final_slot() - 40; slot < buffer_.final_slot();
       ++slot) {
    const AudioFrame& frame = buffer_.Frame(slot);
    for (int i = 0; i < kSamplesPerFrame; ++i) {
      ASSERT_EQ(frame[i], Tone((slot - first) * kSamplesPerFrame + i));
    }
  }
}

TEST_F(SourceBufferTest, AllowanceGrowsWithJitterAndShrinksBackAfterIt) {
  for (int i = 0; i < 300; ++i) Send(i, kSamplesPerFrame, 0);
  const Micros calm = buffer_.allowance();
  EXPECT_LE(calm, 11'000);
  // Every fifth packet 40 ms late (the others on time).
  for (int i = 300; i < 600; ++i) {
    Send(i, kSamplesPerFrame, i % 5 == 0 ? 40'000 : 0);
  }
  EXPECT_GE(buffer_.allowance(), 40'000);
  // Ten calm seconds later it has come back down.
  for (int i = 600; i < 1100; ++i) Send(i, kSamplesPerFrame, 0);
  EXPECT_LE(buffer_.allowance(), 15'000);
}

TEST_F(SourceBufferTest, ReorderedPacketsAreReassembledInOrder) {
  // A network that reorders has delay variation of at least a packet time;
  // the buffer learns it from a few late packets first.
  for (int i = 0; i < 100; ++i)
    Send(i, kSamplesPerFrame, i % 10 == 0 ? 25'000 : 0);
  const uint64_t concealed_before = buffer_.stats().frames_concealed;
  // 101 arrives before 100; 100 is 21 ms late.
  Send(101, kSamplesPerFrame, 0, /*in_order=*/true);
  Send(100, kSamplesPerFrame, 21'000, /*in_order=*/false);
  Send(102, kSamplesPerFrame, 0);
  EXPECT_EQ(buffer_.stats().frames_concealed, concealed_before);
  const int64_t first = buffer_.first_valid_slot();
  ASSERT_GE(buffer_.final_slot(), first + 103);
  EXPECT_FALSE(buffer_.Concealed(first + 100));
  EXPECT_EQ(buffer_.Frame(first + 100)[5], Tone(100 * kSamplesPerFrame + 5));
  EXPECT_EQ(buffer_.Frame(first + 101)[5], Tone(101 * kSamplesPerFrame + 5));
}

TEST_F(SourceBufferTest, DuplicatePacketIsCountedAndChangesNothing) {
  for (int i = 0; i < 10; ++i) Send(i, kSamplesPerFrame, 0);
  const int64_t final_before = buffer_.final_slot();
  EXPECT_EQ(Send(9, kSamplesPerFrame, 1000, false),
            SourceBuffer::PutResult::kLate);  // already final
  EXPECT_EQ(buffer_.final_slot(), final_before);
  // A duplicate of a frame that is not final yet (10 ms halves).
  Send(20, 80, 0);
  EXPECT_EQ(Send(20, 80, 500, false), SourceBuffer::PutResult::kDuplicate);
  EXPECT_EQ(buffer_.stats().packets_duplicate, 1u);
}

TEST_F(SourceBufferTest, OverlappingPacketKeepsTheFirstCopyAndAddsTheRest) {
  for (int i = 0; i < 10; ++i) Send(i, kSamplesPerFrame, 0);
  const int64_t slot = buffer_.final_slot();
  const uint32_t ts = 1000 + 10 * kSamplesPerFrame;
  // First half of the frame (80 samples of 1), then a packet covering its
  // last 40 samples plus 120 more (160 samples of 2): the overlap keeps 1.
  const Micros now = kStart + 10 * kFrameMicros + 100;
  ASSERT_EQ(buffer_.Put(ts, std::vector<int16_t>(80, 1), true, now, timeline_),
            SourceBuffer::PutResult::kStored);
  ASSERT_EQ(
      buffer_.Put(ts + 40, std::vector<int16_t>(160, 2), false, now, timeline_),
      SourceBuffer::PutResult::kStored);
  ASSERT_EQ(buffer_.final_slot(), slot + 1);  // 0..199 are here
  EXPECT_EQ(buffer_.Frame(slot)[0], 1);
  EXPECT_EQ(buffer_.Frame(slot)[79], 1);
  EXPECT_EQ(buffer_.Frame(slot)[80], 2);
  EXPECT_EQ(buffer_.Frame(slot)[159], 2);
  // The next frame has its first 40 samples; the rest completes it.
  ASSERT_EQ(
      buffer_.Put(ts + 200, std::vector<int16_t>(120, 3), true, now, timeline_),
      SourceBuffer::PutResult::kStored);
  ASSERT_EQ(buffer_.final_slot(), slot + 2);
  EXPECT_EQ(buffer_.Frame(slot + 1)[39], 2);
  EXPECT_EQ(buffer_.Frame(slot + 1)[40], 3);
  EXPECT_FALSE(buffer_.Concealed(slot + 1));
}

TEST_F(SourceBufferTest, LostStreamFadesToSilenceThenStopsBeingWaitedFor) {
  for (int i = 0; i < 50; ++i) Send(i, kSamplesPerFrame, 0);
  const int64_t last_real = buffer_.final_slot() - 1;
  const Micros last_arrival = kStart + 50 * kFrameMicros;
  for (Micros t = last_arrival; t < last_arrival + 400'000; t += 1000) {
    buffer_.AdvanceTo(t);
  }
  EXPECT_FALSE(buffer_.active());
  // The concealed frames fade monotonically to exact silence.
  double previous_energy = 1e18;
  for (int64_t slot = last_real + 1; slot < buffer_.final_slot(); ++slot) {
    ASSERT_TRUE(buffer_.Concealed(slot));
    double energy = 0;
    for (int16_t s : buffer_.Frame(slot)) energy += static_cast<double>(s) * s;
    EXPECT_LE(energy, previous_energy);
    previous_energy = energy;
  }
  EXPECT_EQ(previous_energy, 0.0);
}

TEST_F(SourceBufferTest, ResumingAfterThirtySecondsOfSilenceIsPlayedOnTime) {
  for (int i = 0; i < 50; ++i) Send(i, kSamplesPerFrame, 0);
  // Hold: no packets for 30 s (the worker keeps running).
  const Micros pause_start = kStart + 50 * kFrameMicros;
  for (Micros t = pause_start; t < pause_start + 30'000'000; t += 10'000) {
    buffer_.AdvanceTo(t);
  }
  // The sender resumes with its timestamps continuing as if no time passed
  // (many do): played now, not 30 s late, and not dropped as late.
  const Micros arrival = pause_start + 30'000'000;
  buffer_.AdvanceTo(arrival);
  EXPECT_EQ(
      buffer_.Put(1000 + 50 * kSamplesPerFrame,
                  ToneSamples(0, kSamplesPerFrame), true, arrival, timeline_),
      SourceBuffer::PutResult::kResynced);
  const int64_t slot = buffer_.final_slot() - 1;
  EXPECT_TRUE(buffer_.Readable(slot));
  EXPECT_FALSE(buffer_.Concealed(slot));
  EXPECT_GE(timeline_.SlotTime(slot), arrival);
  EXPECT_LT(timeline_.SlotTime(slot), arrival + kFrameMicros);
}

TEST_F(SourceBufferTest, TimestampJumpsEitherWayResyncInsteadOfPlayingLate) {
  for (int i = 0; i < 50; ++i) Send(i, kSamplesPerFrame, 0);
  const Micros now = kStart + 51 * kFrameMicros;
  buffer_.AdvanceTo(now);
  // Backwards by 10 s with the next sequence number.
  EXPECT_EQ(buffer_.Put(1000 + 50 * kSamplesPerFrame - 80000,
                        ToneSamples(0, kSamplesPerFrame), true, now, timeline_),
            SourceBuffer::PutResult::kResynced);
  // Forwards by 10 s with the next sequence number.
  const Micros later = now + kFrameMicros;
  buffer_.AdvanceTo(later);
  EXPECT_EQ(
      buffer_.Put(1000 + 50 * kSamplesPerFrame + 80000,
                  ToneSamples(0, kSamplesPerFrame), true, later, timeline_),
      SourceBuffer::PutResult::kResynced);
  const int64_t slot = buffer_.final_slot() - 1;
  EXPECT_GE(timeline_.SlotTime(slot), later);
  EXPECT_LT(timeline_.SlotTime(slot), later + kFrameMicros);
}

TEST_F(SourceBufferTest,
       SmallBackwardTimestampJumpIsFollowedAfterThreePackets) {
  for (int i = 0; i < 50; ++i) Send(i, kSamplesPerFrame, 0);
  // The sender restarts its timestamps 200 ms back but keeps counting
  // sequence numbers: the first packets look late, then the buffer follows.
  int resynced_at = -1;
  for (int i = 50; i < 60; ++i) {
    const Micros arrival = kStart + (int64_t{i} + 1) * kFrameMicros;
    buffer_.AdvanceTo(arrival);
    const auto result =
        buffer_.Put(1000 + static_cast<uint32_t>((i - 10) * kSamplesPerFrame),
                    ToneSamples(0, kSamplesPerFrame), true, arrival, timeline_);
    if (result == SourceBuffer::PutResult::kResynced && resynced_at < 0) {
      resynced_at = i;
    }
  }
  EXPECT_EQ(resynced_at, 52);
  EXPECT_EQ(buffer_.stats().packets_late, 2u);
}

TEST_F(SourceBufferTest, ABacklogAfterAStallIsNeverPlayedLate) {
  for (int i = 0; i < 50; ++i) Send(i, kSamplesPerFrame, 0);
  // The worker stalls for 3 s: nothing is read or advanced. Then the 150
  // packets that queued in the socket are read back to back, each stamped
  // with the time the kernel received it (as the leg does).
  const Micros resume = kStart + 51 * kFrameMicros + 3'000'000;
  buffer_.AdvanceTo(resume);
  for (int i = 50; i < 200; ++i) {
    const Micros arrived = kStart + (int64_t{i} + 1) * kFrameMicros;
    buffer_.Put(1000 + static_cast<uint32_t>(i * kSamplesPerFrame),
                ToneSamples(i * kSamplesPerFrame, kSamplesPerFrame), true,
                arrived, timeline_);
  }
  // The next live packet is due within a frame or two of now, not 3 s late.
  const Micros live = kStart + 201 * kFrameMicros;
  buffer_.AdvanceTo(live);
  buffer_.Put(1000 + static_cast<uint32_t>(200 * kSamplesPerFrame),
              ToneSamples(200 * kSamplesPerFrame, kSamplesPerFrame), true, live,
              timeline_);
  const int64_t slot = buffer_.final_slot() - 1;
  EXPECT_LE(timeline_.SlotTime(slot), live + 3 * kFrameMicros);
  EXPECT_GE(timeline_.SlotTime(slot), live - kFrameMicros);
}

TEST_F(SourceBufferTest,
       AStrayPacketWithAWildTimestampNeverPutsDeadlinesInThePast) {
  for (int i = 0; i < 50; ++i) Send(i, kSamplesPerFrame, 300);
  // One out-of-order packet (an old sequence number) whose timestamp is
  // two days ahead: a corrupted or hostile packet. It is dropped; it must
  // not teach the arrival model that audio arrives two days early, or
  // every frame's deadline would lie in the past and each AdvanceTo would
  // conceal the ring's worth of frames that have not even been sent.
  const Micros now = kStart + 50 * kFrameMicros + 400;
  buffer_.AdvanceTo(now);
  EXPECT_EQ(buffer_.Put(1000 + 50 * kSamplesPerFrame + 0x50000000u,
                        ToneSamples(0, kSamplesPerFrame), /*in_order=*/false,
                        now, timeline_),
            SourceBuffer::PutResult::kLate);
  EXPECT_GT(buffer_.NextDeadline(), now);
  buffer_.AdvanceTo(now);
  // The stream goes on exactly as before: complete on arrival, nothing
  // concealed, never ahead of the room clock.
  for (int i = 50; i < 100; ++i) {
    Send(i, kSamplesPerFrame, 300);
    EXPECT_EQ(buffer_.final_slot(), buffer_.first_valid_slot() + i + 1);
  }
  EXPECT_EQ(buffer_.stats().frames_concealed, 0u);
  EXPECT_EQ(buffer_.stats().resyncs, 1u);
}

TEST_F(SourceBufferTest, AStrayPacketFromLongAgoLeavesTheAllowanceAlone) {
  // A twin gets the same stream without the stray packet: the allowance
  // must be the twin's at every step (it is still settling: compare, do not
  // assume it constant).
  RoomTimeline twin_timeline{kStart};
  SourceBuffer twin;
  auto send_both = [&](int64_t i) {
    Send(i, kSamplesPerFrame, 300);
    const int64_t first = i * kSamplesPerFrame;
    const Micros arrival =
        kStart + (first + kSamplesPerFrame) * kMicrosPerSample + 300;
    twin.AdvanceTo(arrival);
    twin.Put(1000 + static_cast<uint32_t>(first),
             ToneSamples(first, kSamplesPerFrame), true, arrival,
             twin_timeline);
  };
  for (int i = 0; i < 50; ++i) send_both(i);
  // An out-of-order packet whose timestamp is two days behind: it cannot
  // be played, and it says nothing about this network's jitter.
  const Micros now = kStart + 50 * kFrameMicros + 400;
  buffer_.AdvanceTo(now);
  twin.AdvanceTo(now);
  EXPECT_EQ(buffer_.Put(1000 + 50 * kSamplesPerFrame - 0x50000000u,
                        ToneSamples(0, kSamplesPerFrame), /*in_order=*/false,
                        now, timeline_),
            SourceBuffer::PutResult::kLate);
  EXPECT_EQ(buffer_.allowance(), twin.allowance());
  for (int i = 50; i < 100; ++i) {
    send_both(i);
    EXPECT_EQ(buffer_.allowance(), twin.allowance()) << "packet " << i;
    EXPECT_EQ(buffer_.final_slot(), buffer_.first_valid_slot() + i + 1);
  }
  EXPECT_EQ(buffer_.stats().frames_concealed, 0u);
}

TEST_F(SourceBufferTest, PacketTimeMayChangeWithoutNotice) {
  int64_t sample = 0;
  Micros t = kStart;
  int64_t checked = -1;
  int exact_frames = 0;
  // Checks each frame as it becomes final (the ring keeps only 1.28 s).
  auto check_final = [&] {
    const int64_t first = buffer_.first_valid_slot();
    if (checked < first) checked = first;
    for (; checked < buffer_.final_slot(); ++checked) {
      if (buffer_.Concealed(checked)) continue;
      for (int i = 0; i < kSamplesPerFrame; ++i) {
        ASSERT_EQ(buffer_.Frame(checked)[i],
                  Tone((checked - first) * kSamplesPerFrame + i))
            << "frame " << checked - first << " sample " << i;
      }
      ++exact_frames;
    }
  };
  auto send = [&](int samples) {
    t = kStart + (sample + samples) * kMicrosPerSample;
    for (Micros u = t - samples * kMicrosPerSample; u <= t; u += 1000) {
      buffer_.AdvanceTo(u);
      check_final();
    }
    buffer_.Put(static_cast<uint32_t>(5000 + sample),
                ToneSamples(sample, samples), true, t, timeline_);
    check_final();
    sample += samples;
  };
  for (int i = 0; i < 20; ++i) send(160);  // 20 ms
  for (int i = 0; i < 20; ++i) send(480);  // 60 ms
  for (int i = 0; i < 20; ++i) send(80);   // 10 ms
  for (int i = 0; i < 20; ++i) send(240);  // 30 ms
  for (int i = 0; i < 20; ++i) send(320);  // 40 ms
  for (Micros u = t; u < t + 20'000; u += 1000) buffer_.AdvanceTo(u);
  // One resync only: the stream never lost its timing. A switch to longer
  // packets cannot be told from loss until the longer packet arrives, so
  // the frames it was late for (20->60: 2, 10->30: 1, 30->40: at most 1)
  // are concealed once; everything else is the tone, sample for sample.
  EXPECT_EQ(buffer_.stats().resyncs, 1u);
  EXPECT_LE(buffer_.stats().frames_concealed, 4u);
  const int64_t first = buffer_.first_valid_slot();
  EXPECT_EQ(buffer_.final_slot() - first, sample / kSamplesPerFrame);
  EXPECT_EQ(exact_frames + static_cast<int>(buffer_.stats().frames_concealed),
            sample / kSamplesPerFrame);
  for (int64_t slot = buffer_.final_slot() - 20; slot < buffer_.final_slot();
       ++slot) {
    EXPECT_FALSE(buffer_.Concealed(slot));
  }
}

TEST_F(SourceBufferTest, RtpTimestampWrapIsSeamless) {
  const uint32_t base = 0xFFFFFFFFu - 10 * kSamplesPerFrame + 1;
  for (int i = 0; i < 40; ++i) Send(i, kSamplesPerFrame, 0, true, base);
  EXPECT_EQ(buffer_.stats().resyncs, 1u);
  EXPECT_EQ(buffer_.stats().frames_concealed, 0u);
  EXPECT_EQ(buffer_.final_slot() - buffer_.first_valid_slot(), 40);
}

TEST_F(SourceBufferTest, RejectsEmptyAndOversizedInput) {
  std::vector<int16_t> big(3 * kSamplesPerFrame + 1);
  EXPECT_EQ(buffer_.Put(0, big, true, kStart, timeline_),
            SourceBuffer::PutResult::kInvalid);
  EXPECT_EQ(buffer_.Put(0, {}, true, kStart, timeline_),
            SourceBuffer::PutResult::kInvalid);
  EXPECT_FALSE(buffer_.active());
}

}  // namespace
}  // namespace sotto::media
