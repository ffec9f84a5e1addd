// Tests for RFC 3550 A.1/A.3/A.8 receive statistics.
#include "media_engine/rtp/receive_statistics.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sotto::media::rtp {
namespace {

constexpr int64_t kPacketUs = 20'000;
constexpr uint32_t kPacketTicks = 160;

RtpReceiveStatistics::Options Authenticated() {
  RtpReceiveStatistics::Options options;
  options.min_sequential = 1;
  return options;
}

// Feeds seq with a timestamp and arrival consistent with 20 ms packets.
SequenceVerdict Feed(RtpReceiveStatistics& stats, uint32_t index,
                     int64_t extra_delay_us = 0) {
  return stats.OnPacket(static_cast<uint16_t>(index), index * kPacketTicks,
                        int64_t{index} * kPacketUs + extra_delay_us);
}

TEST(RtpReceiveStatisticsTest, NewSourceNeedsSequentialPacketsByDefault) {
  RtpReceiveStatistics stats;
  EXPECT_EQ(Feed(stats, 100), SequenceVerdict::kProbation);
  EXPECT_FALSE(stats.validated());
  EXPECT_EQ(Feed(stats, 101), SequenceVerdict::kInOrder);
  EXPECT_TRUE(stats.validated());
  EXPECT_EQ(stats.received(), 1u);
  EXPECT_EQ(stats.extended_highest_sequence(), 101u);
}

TEST(RtpReceiveStatisticsTest, ProbationRestartsOnNonSequentialPacket) {
  RtpReceiveStatistics stats;
  EXPECT_EQ(Feed(stats, 100), SequenceVerdict::kProbation);
  EXPECT_EQ(Feed(stats, 300), SequenceVerdict::kProbation);
  EXPECT_EQ(Feed(stats, 301), SequenceVerdict::kInOrder);
  EXPECT_EQ(stats.extended_highest_sequence(), 301u);
}

TEST(RtpReceiveStatisticsTest, ExtendedSequenceSurvivesWrapWithReordering) {
  RtpReceiveStatistics stats(Authenticated());
  // 65500 .. 65533, then 0, 65534, 65535, 2, 1, 3 .. 99 (cross-wrap reorder).
  std::vector<uint32_t> order;
  for (uint32_t i = 65500; i <= 65533; ++i) order.push_back(i);
  for (uint32_t i : {65536u, 65534u, 65535u, 65538u, 65537u})
    order.push_back(i);
  for (uint32_t i = 65539; i < 65636; ++i) order.push_back(i);
  for (uint32_t index : order) {
    const SequenceVerdict verdict = Feed(stats, index);
    EXPECT_TRUE(verdict == SequenceVerdict::kInOrder ||
                verdict == SequenceVerdict::kLate)
        << index;
  }
  EXPECT_EQ(stats.extended_highest_sequence(), 65635u);
  EXPECT_EQ(stats.received(), order.size());
  EXPECT_EQ(stats.cumulative_lost(), 0);
  const RtcpReportBlock block = stats.MakeReportBlock(1, 0);
  EXPECT_EQ(block.extended_highest_sequence, 65635u);
  EXPECT_EQ(block.cumulative_lost, 0);
  EXPECT_EQ(block.fraction_lost, 0);
}

TEST(RtpReceiveStatisticsTest, CountsManyWraps) {
  RtpReceiveStatistics stats(Authenticated());
  for (uint32_t index = 0; index < 3 * 65536 + 10; ++index) Feed(stats, index);
  EXPECT_EQ(stats.extended_highest_sequence(), 3u * 65536 + 9);
  EXPECT_EQ(stats.cumulative_lost(), 0);
}

TEST(RtpReceiveStatisticsTest, LossFractionCoversOnlyTheLastInterval) {
  RtpReceiveStatistics stats(Authenticated());
  for (uint32_t index = 1000; index < 1100; ++index) {
    if (index % 10 != 5) Feed(stats, index);  // lose 10 of 100
  }
  RtcpReportBlock block = stats.MakeReportBlock(42, 0);
  EXPECT_EQ(block.source_ssrc, 42u);
  EXPECT_EQ(block.cumulative_lost, 10);
  EXPECT_EQ(block.fraction_lost, (10 << 8) / 100);
  for (uint32_t index = 1100; index < 1200; ++index) Feed(stats, index);
  block = stats.MakeReportBlock(42, 0);
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 10);
}

TEST(RtpReceiveStatisticsTest, DuplicatesGiveNegativeLossButZeroFraction) {
  RtpReceiveStatistics stats(Authenticated());
  for (uint32_t index = 0; index < 50; ++index) {
    Feed(stats, index);
    EXPECT_EQ(Feed(stats, index), SequenceVerdict::kLate);
  }
  const RtcpReportBlock block = stats.MakeReportBlock(1, 0);
  EXPECT_EQ(block.cumulative_lost, -50);
  EXPECT_EQ(block.fraction_lost, 0);
}

TEST(RtpReceiveStatisticsTest, MostlyLostIntervalReportsItsFraction) {
  RtpReceiveStatistics stats(Authenticated());
  Feed(stats, 0);
  stats.MakeReportBlock(1, 0);
  Feed(stats, 100);  // 99 lost in this interval, 1 received
  const RtcpReportBlock block = stats.MakeReportBlock(1, 0);
  EXPECT_EQ(block.fraction_lost, (99 << 8) / 100);
  EXPECT_EQ(block.cumulative_lost, 99);
}

TEST(RtpReceiveStatisticsTest,
     LargeJumpRestartsOnlyAfterASecondSequentialPacket) {
  RtpReceiveStatistics stats(Authenticated());
  for (uint32_t index = 1000; index < 1010; ++index) Feed(stats, index);
  EXPECT_EQ(stats.received(), 10u);
  // A single stray packet far away is dropped, stats untouched.
  EXPECT_EQ(Feed(stats, 40000), SequenceVerdict::kBadJump);
  EXPECT_EQ(Feed(stats, 1010), SequenceVerdict::kInOrder);
  // The sender restarted: two sequential packets after the jump.
  EXPECT_EQ(Feed(stats, 20000), SequenceVerdict::kBadJump);
  EXPECT_EQ(Feed(stats, 20001), SequenceVerdict::kRestarted);
  EXPECT_EQ(Feed(stats, 20002), SequenceVerdict::kInOrder);
  EXPECT_EQ(stats.received(), 2u);
  EXPECT_EQ(stats.cumulative_lost(), 0);
  EXPECT_EQ(stats.extended_highest_sequence(), 20002u);
}

TEST(RtpReceiveStatisticsTest, OldPacketBeyondMisorderToleranceIsABadJump) {
  RtpReceiveStatistics stats(Authenticated());
  for (uint32_t index = 5000; index < 5010; ++index) Feed(stats, index);
  EXPECT_EQ(Feed(stats, 4950), SequenceVerdict::kLate);     // 59 behind: late
  EXPECT_EQ(Feed(stats, 4800), SequenceVerdict::kBadJump);  // 209 behind
}

TEST(RtpReceiveStatisticsTest, ConstantTransitGivesZeroJitter) {
  RtpReceiveStatistics stats(Authenticated());
  for (uint32_t index = 0; index < 500; ++index) Feed(stats, index, 35'000);
  EXPECT_EQ(stats.jitter(), 0u);
}

TEST(RtpReceiveStatisticsTest, AlternatingDelayConvergesToItsStep) {
  RtpReceiveStatistics stats(Authenticated());
  // Every other packet 10 ms late: |D| = 80 ticks on every packet.
  for (uint32_t index = 0; index < 500; ++index) {
    Feed(stats, index, index % 2 == 0 ? 0 : 10'000);
  }
  EXPECT_NEAR(stats.jitter(), 80, 1);
  EXPECT_NEAR(stats.jitter_ms(), 10.0, 0.2);
  EXPECT_EQ(stats.MakeReportBlock(1, 0).jitter, stats.jitter());
}

TEST(RtpReceiveStatisticsTest, JitterHandlesTimestampWrap) {
  RtpReceiveStatistics stats(Authenticated());
  const uint32_t start = 0xFFFFFFFF - 50 * kPacketTicks;
  for (uint32_t i = 0; i < 200; ++i) {
    stats.OnPacket(static_cast<uint16_t>(i), start + i * kPacketTicks,
                   int64_t{i} * kPacketUs);
  }
  EXPECT_EQ(stats.jitter(), 0u);
}

TEST(RtpReceiveStatisticsTest, ReportBlockCarriesLsrAndDelaySinceLastSr) {
  RtpReceiveStatistics stats(Authenticated());
  Feed(stats, 1);
  EXPECT_EQ(stats.MakeReportBlock(1, 0).last_sr, 0u);
  stats.OnSenderReport(0x0000ABCD'12340000ull, 1'000'000);
  const RtcpReportBlock block = stats.MakeReportBlock(1, 1'500'000);
  EXPECT_EQ(block.last_sr, 0xABCD1234u);
  EXPECT_EQ(block.delay_since_last_sr, 32768u);  // 0.5 s in 1/65536 s
}

}  // namespace
}  // namespace sotto::media::rtp
