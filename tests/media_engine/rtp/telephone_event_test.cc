// Tests for RFC 4733 telephone-event payloads and RTP/RTCP demultiplexing.
#include "media_engine/rtp/telephone_event.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "media_engine/rtp/rtp_demux.h"

namespace sotto::media::rtp {
namespace {

TEST(TelephoneEventTest, ParsesEventEndVolumeAndDuration) {
  // RFC 4733 s2.3: '5', E=1, R=1 (must be ignored), volume 10, 1280 units.
  const std::vector<uint8_t> payload = {5, 0x80 | 0x40 | 10, 0x05, 0x00};
  TelephoneEvent event;
  ASSERT_EQ(ParseTelephoneEvent(payload, &event),
            TelephoneEventParseError::kOk);
  EXPECT_EQ(event.event, 5);
  EXPECT_TRUE(event.end);
  EXPECT_EQ(event.volume, 10);
  EXPECT_EQ(event.duration, 1280);
  EXPECT_EQ(DtmfCharFromEvent(event.event), '5');
}

TEST(TelephoneEventTest, RejectsShortAndRaggedPayloads) {
  TelephoneEvent event;
  const std::vector<uint8_t> short_payload = {1, 2, 3};
  EXPECT_EQ(ParseTelephoneEvent(short_payload, &event),
            TelephoneEventParseError::kTooShort);
  const std::vector<uint8_t> ragged = {1, 2, 3, 4, 5};
  EXPECT_EQ(ParseTelephoneEvent(ragged, &event),
            TelephoneEventParseError::kBadLength);
  const std::vector<uint8_t> two_blocks = {11, 0, 0, 160, 11, 0x80, 1, 64};
  ASSERT_EQ(ParseTelephoneEvent(two_blocks, &event),
            TelephoneEventParseError::kOk);
  EXPECT_EQ(DtmfCharFromEvent(event.event), '#');
  EXPECT_FALSE(event.end);
}

TEST(TelephoneEventTest, WriterRoundTripsAndKeepsReservedBitZero) {
  TelephoneEvent event;
  event.event = 10;
  event.end = true;
  event.volume = 63;
  event.duration = 65535;
  std::array<uint8_t, 4> out{};
  ASSERT_EQ(WriteTelephoneEvent(event, absl::MakeSpan(out)), 4u);
  EXPECT_EQ(out[1] & 0x40, 0);
  TelephoneEvent parsed;
  ASSERT_EQ(ParseTelephoneEvent(out, &parsed), TelephoneEventParseError::kOk);
  EXPECT_EQ(parsed.event, 10);
  EXPECT_TRUE(parsed.end);
  EXPECT_EQ(parsed.volume, 63);
  EXPECT_EQ(parsed.duration, 65535);
  EXPECT_EQ(DtmfCharFromEvent(parsed.event), '*');
}

TEST(TelephoneEventTest, WriterRefusesOutOfRangeVolumeAndSmallBuffer) {
  TelephoneEvent event;
  event.volume = 64;
  std::array<uint8_t, 4> out{};
  EXPECT_EQ(WriteTelephoneEvent(event, absl::MakeSpan(out)), 0u);
  event.volume = 0;
  std::array<uint8_t, 3> small{};
  EXPECT_EQ(WriteTelephoneEvent(event, absl::MakeSpan(small)), 0u);
}

TEST(TelephoneEventTest, DtmfCharsCoverSixteenEventsOnly) {
  EXPECT_EQ(DtmfCharFromEvent(0), '0');
  EXPECT_EQ(DtmfCharFromEvent(12), 'A');
  EXPECT_EQ(DtmfCharFromEvent(15), 'D');
  EXPECT_EQ(DtmfCharFromEvent(16), '\0');
}

TEST(RtpDemuxTest, SecondByteInRtcpTypeRangeIsRtcp) {
  for (int second = 0; second < 256; ++second) {
    const std::vector<uint8_t> packet = {0x80, static_cast<uint8_t>(second)};
    const MuxedPacketKind expected = (second >= 192 && second <= 223)
                                         ? MuxedPacketKind::kRtcp
                                         : MuxedPacketKind::kRtp;
    EXPECT_EQ(ClassifyMuxedPacket(packet), expected) << second;
  }
}

TEST(RtpDemuxTest, RtpWithMarkerAndHighPayloadTypeStaysRtp) {
  // Marker + PT 96 = 0xE0 = 224, just above the RTCP range.
  const std::vector<uint8_t> packet = {0x80, 0xE0};
  EXPECT_EQ(ClassifyMuxedPacket(packet), MuxedPacketKind::kRtp);
  EXPECT_TRUE(IsMuxSafePayloadType(96));
  EXPECT_TRUE(IsMuxSafePayloadType(0));
  EXPECT_FALSE(IsMuxSafePayloadType(72));
}

TEST(RtpDemuxTest, StunDtlsAndShortPacketsAreRecognised) {
  EXPECT_EQ(ClassifyMuxedPacket(std::vector<uint8_t>{0x00, 0x01}),
            MuxedPacketKind::kStun);
  EXPECT_EQ(ClassifyMuxedPacket(std::vector<uint8_t>{22, 0xFE}),
            MuxedPacketKind::kDtls);
  EXPECT_EQ(ClassifyMuxedPacket(std::vector<uint8_t>{0x80}),
            MuxedPacketKind::kUnknown);
  EXPECT_EQ(ClassifyMuxedPacket(std::vector<uint8_t>{0x40, 0x00}),
            MuxedPacketKind::kUnknown);
}

}  // namespace
}  // namespace sotto::media::rtp
