// Tests for the RTCP compound parser and writers.
#include "media_engine/rtp/rtcp_packet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace sotto::media::rtp {
namespace {

using ::testing::ElementsAre;

// Records everything the parser reports.
class RecordingVisitor : public RtcpVisitor {
 public:
  void OnSenderReport(const RtcpSenderReportView& report) override {
    events.push_back("SR");
    sender = report.sender;
    for (size_t i = 0; i < report.report_blocks.size(); ++i) {
      blocks.push_back(report.report_blocks[i]);
    }
  }
  void OnReceiverReport(const RtcpReceiverReportView& report) override {
    events.push_back("RR");
    receiver_ssrc = report.sender_ssrc;
    for (size_t i = 0; i < report.report_blocks.size(); ++i) {
      blocks.push_back(report.report_blocks[i]);
    }
  }
  void OnSdesItem(const RtcpSdesItem& item) override {
    events.push_back("SDES");
    sdes.emplace_back(item.value.begin(), item.value.end());
    sdes_ssrcs.push_back(item.ssrc);
  }
  void OnBye(const RtcpByeView& bye) override {
    events.push_back("BYE");
    for (size_t i = 0; i < bye.ssrc_count(); ++i)
      bye_ssrcs.push_back(bye.ssrc(i));
    bye_reason.assign(bye.reason().begin(), bye.reason().end());
  }
  void OnApp(const RtcpAppView& app) override {
    events.push_back("APP");
    app_name.assign(app.name.begin(), app.name.end());
    app_subtype = app.subtype;
    app_data.assign(app.data.begin(), app.data.end());
  }
  void OnUnknown(uint8_t packet_type, uint8_t count,
                 absl::Span<const uint8_t> body) override {
    events.push_back("UNKNOWN:" + std::to_string(packet_type));
  }

  std::vector<std::string> events;
  RtcpSenderInfo sender;
  uint32_t receiver_ssrc = 0;
  std::vector<RtcpReportBlock> blocks;
  std::vector<std::string> sdes;
  std::vector<uint32_t> sdes_ssrcs;
  std::vector<uint32_t> bye_ssrcs;
  std::string bye_reason;
  std::string app_name;
  uint8_t app_subtype = 0;
  std::vector<uint8_t> app_data;
};

RtcpReportBlock SampleBlock(uint32_t ssrc) {
  RtcpReportBlock block;
  block.source_ssrc = ssrc;
  block.fraction_lost = 25;
  block.cumulative_lost = -3;
  block.extended_highest_sequence = 0x0001FFFF;
  block.jitter = 160;
  block.last_sr = 0x12345678;
  block.delay_since_last_sr = 65536;
  return block;
}

std::vector<uint8_t> Append(std::vector<uint8_t> a, size_t size,
                            const std::array<uint8_t, 512>& b) {
  a.insert(a.end(), b.begin(), b.begin() + size);
  return a;
}

TEST(RtcpPacketTest, SenderReportWithBlocksRoundTrips) {
  RtcpSenderInfo sender;
  sender.ssrc = 0xA1A2A3A4;
  sender.ntp_timestamp = 0xE0000000'80000000;
  sender.rtp_timestamp = 123456;
  sender.packet_count = 50;
  sender.octet_count = 8000;
  const std::array<RtcpReportBlock, 2> blocks = {SampleBlock(1),
                                                 SampleBlock(2)};
  std::array<uint8_t, 512> buffer{};
  const size_t size =
      WriteRtcpSenderReport(sender, blocks, absl::MakeSpan(buffer));
  ASSERT_EQ(size, 4u + 24 + 48);

  RecordingVisitor visitor;
  ASSERT_EQ(
      ParseRtcpCompound(absl::MakeConstSpan(buffer.data(), size), &visitor),
      RtcpParseError::kOk);
  EXPECT_THAT(visitor.events, ElementsAre("SR"));
  EXPECT_EQ(visitor.sender.ssrc, sender.ssrc);
  EXPECT_EQ(visitor.sender.ntp_timestamp, sender.ntp_timestamp);
  EXPECT_EQ(visitor.sender.rtp_timestamp, sender.rtp_timestamp);
  EXPECT_EQ(visitor.sender.packet_count, 50u);
  EXPECT_EQ(visitor.sender.octet_count, 8000u);
  ASSERT_EQ(visitor.blocks.size(), 2u);
  const RtcpReportBlock& block = visitor.blocks[1];
  EXPECT_EQ(block.source_ssrc, 2u);
  EXPECT_EQ(block.fraction_lost, 25);
  EXPECT_EQ(block.cumulative_lost, -3);
  EXPECT_EQ(block.extended_highest_sequence, 0x0001FFFFu);
  EXPECT_EQ(block.jitter, 160u);
  EXPECT_EQ(block.last_sr, 0x12345678u);
  EXPECT_EQ(block.delay_since_last_sr, 65536u);
}

TEST(RtcpPacketTest, CumulativeLossIsClampedTo24BitSigned) {
  std::array<RtcpReportBlock, 2> blocks = {SampleBlock(1), SampleBlock(2)};
  blocks[0].cumulative_lost = 10'000'000;
  blocks[1].cumulative_lost = -10'000'000;
  std::array<uint8_t, 512> buffer{};
  const size_t size =
      WriteRtcpReceiverReport(7, blocks, absl::MakeSpan(buffer));
  ASSERT_GT(size, 0u);
  // Wire bytes of the first block's cumulative loss: 0x7FFFFF.
  EXPECT_THAT(absl::MakeConstSpan(buffer.data() + 8 + 5, 3),
              ElementsAre(0x7F, 0xFF, 0xFF));
  RecordingVisitor visitor;
  ASSERT_EQ(
      ParseRtcpCompound(absl::MakeConstSpan(buffer.data(), size), &visitor),
      RtcpParseError::kOk);
  EXPECT_EQ(visitor.receiver_ssrc, 7u);
  EXPECT_EQ(visitor.blocks[0].cumulative_lost, 0x7FFFFF);
  EXPECT_EQ(visitor.blocks[1].cumulative_lost, -0x800000);
}

TEST(RtcpPacketTest, CompoundWithEveryTypeIsVisitedInOrder) {
  std::array<uint8_t, 512> buffer{};
  std::vector<uint8_t> compound;
  const std::array<RtcpReportBlock, 1> block = {SampleBlock(9)};
  compound =
      Append(compound,
             WriteRtcpReceiverReport(5, block, absl::MakeSpan(buffer)), buffer);
  compound = Append(
      compound, WriteRtcpSdesCname(5, "agent@sotto", absl::MakeSpan(buffer)),
      buffer);
  // An RTPFB (205) NACK: type we do not parse, skipped by length.
  compound.insert(compound.end(), {0x81, 205, 0, 2, 0, 0, 0, 5, 0, 0, 0, 9});
  // APP subtype 3, name "SOTT", 4 bytes of data.
  compound.insert(compound.end(), {0x83, 204, 0, 3, 0, 0, 0, 5, 'S', 'O', 'T',
                                   'T', 1, 2, 3, 4});
  compound = Append(compound, WriteRtcpBye(5, "hangup", absl::MakeSpan(buffer)),
                    buffer);

  RecordingVisitor visitor;
  ASSERT_EQ(ParseRtcpCompound(compound, &visitor), RtcpParseError::kOk);
  EXPECT_THAT(visitor.events,
              ElementsAre("RR", "SDES", "UNKNOWN:205", "APP", "BYE"));
  EXPECT_THAT(visitor.sdes, ElementsAre("agent@sotto"));
  EXPECT_THAT(visitor.sdes_ssrcs, ElementsAre(5u));
  EXPECT_EQ(visitor.app_name, "SOTT");
  EXPECT_EQ(visitor.app_subtype, 3);
  EXPECT_THAT(visitor.app_data, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(visitor.bye_ssrcs, ElementsAre(5u));
  EXPECT_EQ(visitor.bye_reason, "hangup");
}

TEST(RtcpPacketTest, SdesWithSeveralChunksAndItems) {
  // 2 chunks: (SSRC 1: CNAME "a", NAME "bc") and (SSRC 2: CNAME "xyz").
  std::vector<uint8_t> compound = {0x80, 201, 0, 1, 0, 0, 0, 1};  // empty RR
  compound.insert(compound.end(),
                  {0x82, 202, 0, 6,                                    //
                   0,    0,   0, 1, 1, 1, 'a', 2,   2,   'b', 'c', 0,  //
                   0,    0,   0, 2, 1, 3, 'x', 'y', 'z', 0,   0,   0});
  RecordingVisitor visitor;
  ASSERT_EQ(ParseRtcpCompound(compound, &visitor), RtcpParseError::kOk);
  EXPECT_THAT(visitor.sdes, ElementsAre("a", "bc", "xyz"));
  EXPECT_THAT(visitor.sdes_ssrcs, ElementsAre(1u, 1u, 2u));
}

TEST(RtcpPacketTest, InvalidTailRejectsTheWholeCompoundBeforeAnyVisit) {
  std::vector<uint8_t> compound = {0x80, 201, 0, 1, 0, 0, 0, 1};
  // SDES whose item claims 20 bytes.
  compound.insert(compound.end(), {0x81, 202, 0, 2, 0, 0, 0, 1, 1, 20, 'a', 0});
  RecordingVisitor visitor;
  EXPECT_EQ(ParseRtcpCompound(compound, &visitor), RtcpParseError::kBadSdes);
  EXPECT_TRUE(visitor.events.empty());
}

TEST(RtcpPacketTest, RejectsMalformedHeadersByReason) {
  const std::vector<uint8_t> rr = {0x80, 201, 0, 1, 0, 0, 0, 1};
  EXPECT_EQ(ParseRtcpCompound({}, nullptr), RtcpParseError::kTooShort);
  EXPECT_EQ(ParseRtcpCompound(absl::MakeConstSpan(rr.data(), 3), nullptr),
            RtcpParseError::kTooShort);

  std::vector<uint8_t> bad_version = rr;
  bad_version[0] = 0x40;
  EXPECT_EQ(ParseRtcpCompound(bad_version, nullptr),
            RtcpParseError::kBadVersion);

  std::vector<uint8_t> too_long = rr;
  too_long[3] = 2;  // claims 12 bytes
  EXPECT_EQ(ParseRtcpCompound(too_long, nullptr), RtcpParseError::kTooShort);

  std::vector<uint8_t> trailing = rr;
  trailing.push_back(0x80);  // 1 stray byte after a valid packet
  EXPECT_EQ(ParseRtcpCompound(trailing, nullptr), RtcpParseError::kTooShort);

  std::vector<uint8_t> blocks_overflow = rr;
  blocks_overflow[0] = 0x81;  // 1 report block claimed, none present
  EXPECT_EQ(ParseRtcpCompound(blocks_overflow, nullptr),
            RtcpParseError::kBadReportCount);

  const std::vector<uint8_t> sdes_first = {0x80, 202, 0, 0};
  EXPECT_EQ(ParseRtcpCompound(sdes_first, nullptr),
            RtcpParseError::kFirstPacketNotReport);
  RtcpParseOptions reduced_size;
  reduced_size.require_report_first = false;
  EXPECT_EQ(ParseRtcpCompound(sdes_first, nullptr, reduced_size),
            RtcpParseError::kOk);

  std::vector<uint8_t> bye = rr;
  bye.insert(bye.end(), {0x82, 203, 0, 1, 0, 0, 0, 1});  // 2 SSRCs, 1 given
  EXPECT_EQ(ParseRtcpCompound(bye, nullptr), RtcpParseError::kBadBye);
  std::vector<uint8_t> bye_reason = rr;
  bye_reason.insert(bye_reason.end(),
                    {0x81, 203, 0, 2, 0, 0, 0, 1, 9, 'x', 0, 0});
  EXPECT_EQ(ParseRtcpCompound(bye_reason, nullptr), RtcpParseError::kBadBye);

  std::vector<uint8_t> app = rr;
  app.insert(app.end(), {0x80, 204, 0, 1, 0, 0, 0, 1});  // no name
  EXPECT_EQ(ParseRtcpCompound(app, nullptr), RtcpParseError::kBadApp);
}

TEST(RtcpPacketTest, PaddingIsAllowedOnlyOnTheLastPacket) {
  // RR padded with 4 bytes (count 4), then nothing: valid.
  std::vector<uint8_t> last = {0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4};
  RecordingVisitor visitor;
  EXPECT_EQ(ParseRtcpCompound(last, &visitor), RtcpParseError::kOk);
  EXPECT_EQ(visitor.receiver_ssrc, 1u);

  std::vector<uint8_t> not_last = last;
  not_last.insert(not_last.end(), {0x80, 202, 0, 0});
  EXPECT_EQ(ParseRtcpCompound(not_last, nullptr), RtcpParseError::kBadPadding);

  std::vector<uint8_t> zero_count = last;
  zero_count.back() = 0;
  EXPECT_EQ(ParseRtcpCompound(zero_count, nullptr),
            RtcpParseError::kBadPadding);

  std::vector<uint8_t> eats_header = last;
  eats_header.back() = 12;
  EXPECT_EQ(ParseRtcpCompound(eats_header, nullptr),
            RtcpParseError::kBadPadding);
}

TEST(RtcpPacketTest, WritersRefuseTooSmallBuffers) {
  std::array<uint8_t, 27> small{};
  RtcpSenderInfo sender;
  EXPECT_EQ(WriteRtcpSenderReport(sender, {}, absl::MakeSpan(small)), 0u);
  std::array<uint8_t, 7> tiny{};
  EXPECT_EQ(WriteRtcpReceiverReport(1, {}, absl::MakeSpan(tiny)), 0u);
  EXPECT_EQ(WriteRtcpSdesCname(1, "cname", absl::MakeSpan(tiny)), 0u);
  std::array<RtcpReportBlock, 32> too_many{};
  std::array<uint8_t, 2048> big{};
  EXPECT_EQ(WriteRtcpReceiverReport(1, too_many, absl::MakeSpan(big)), 0u);
}

TEST(RtcpPacketTest, RoundTripTimeIsArrivalMinusLsrMinusDlsr) {
  RtcpReportBlock block;
  EXPECT_EQ(RoundTripCompactNtp(1000, block), -1);  // no SR seen yet
  block.last_sr = 0x00010000;                       // 1.0 s
  block.delay_since_last_sr = 0x00008000;           // 0.5 s
  // Arrival 1.75 s: RTT 0.25 s = 16384 / 65536.
  EXPECT_EQ(RoundTripCompactNtp(0x0001C000, block), 16384);
  // Arrival before LSR + DLSR (skew): zero, not a huge number.
  EXPECT_EQ(RoundTripCompactNtp(0x00010000, block), 0);
  EXPECT_EQ(CompactNtp(0x1234567890ABCDEFull), 0x567890ABu);
}

}  // namespace
}  // namespace sotto::media::rtp
