// Tests for the RTP header parser and writer.
#include "media_engine/rtp/rtp_packet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace sotto::media::rtp {
namespace {

using ::testing::ElementsAre;

std::vector<uint8_t> Bytes(std::initializer_list<int> values) {
  std::vector<uint8_t> bytes;
  for (int v : values) bytes.push_back(static_cast<uint8_t>(v));
  return bytes;
}

// V=2, M=1, PT=0, seq=0x1234, ts=0xDEADBEEF, SSRC=0x01020304, payload "abc".
const std::vector<uint8_t> kSimplePacket =
    Bytes({0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03,
           0x04, 'a', 'b', 'c'});

TEST(RtpPacketTest, ParsesFixedHeaderFields) {
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(kSimplePacket, &view), RtpParseError::kOk);
  EXPECT_TRUE(view.marker());
  EXPECT_EQ(view.payload_type(), 0);
  EXPECT_EQ(view.sequence_number(), 0x1234);
  EXPECT_EQ(view.timestamp(), 0xDEADBEEFu);
  EXPECT_EQ(view.ssrc(), 0x01020304u);
  EXPECT_EQ(view.csrc_count(), 0);
  EXPECT_FALSE(view.has_extension());
  EXPECT_EQ(view.header_size(), 12u);
  EXPECT_THAT(view.payload(), ElementsAre('a', 'b', 'c'));
}

TEST(RtpPacketTest, PayloadPointsIntoTheCallersBuffer) {
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(kSimplePacket, &view), RtpParseError::kOk);
  EXPECT_EQ(view.payload().data(), kSimplePacket.data() + 12);
}

TEST(RtpPacketTest, RejectsPacketsShorterThanTheFixedHeader) {
  RtpPacketView view;
  std::vector<uint8_t> packet(kSimplePacket.begin(),
                              kSimplePacket.begin() + 11);
  EXPECT_EQ(ParseRtp(packet, &view), RtpParseError::kTooShort);
  EXPECT_EQ(ParseRtp({}, &view), RtpParseError::kTooShort);
}

TEST(RtpPacketTest, RejectsVersionOtherThanTwo) {
  for (uint8_t version : {0, 1, 3}) {
    std::vector<uint8_t> packet = kSimplePacket;
    packet[0] = static_cast<uint8_t>((version << 6) | (packet[0] & 0x3F));
    RtpPacketView view;
    EXPECT_EQ(ParseRtp(packet, &view), RtpParseError::kBadVersion);
  }
}

TEST(RtpPacketTest, ParsesCsrcList) {
  std::vector<uint8_t> packet =
      Bytes({0x82, 0x08, 0,    1,    0,    0,    0,    2,    0,
             0,    0,    3,  // CC=2, PT=8
             0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22, 0x33, 0x44, 0x55});
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  EXPECT_EQ(view.payload_type(), 8);
  ASSERT_EQ(view.csrc_count(), 2);
  EXPECT_EQ(view.csrc(0), 0xAABBCCDDu);
  EXPECT_EQ(view.csrc(1), 0x11223344u);
  EXPECT_THAT(view.payload(), ElementsAre(0x55));
}

TEST(RtpPacketTest, RejectsCsrcListRunningPastTheEnd) {
  std::vector<uint8_t> packet = kSimplePacket;
  packet[0] = 0x8F;  // 15 CSRCs = 60 bytes, only 3 left
  RtpPacketView view;
  EXPECT_EQ(ParseRtp(packet, &view), RtpParseError::kBadCsrcCount);
}

TEST(RtpPacketTest, SkipsExtensionOfAnyProfile) {
  // Profile 0xABCD (not RFC 8285), 2 words of opaque data.
  std::vector<uint8_t> packet =
      Bytes({0x90, 0x00, 0,    1, 0, 0, 0, 2, 0, 0, 0, 3,   0xAB,
             0xCD, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 0x77});
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  EXPECT_TRUE(view.has_extension());
  EXPECT_EQ(view.extension_profile(), 0xABCD);
  EXPECT_THAT(view.extension_data(), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_EQ(view.header_size(), 24u);
  EXPECT_THAT(view.payload(), ElementsAre(0x77));
  RtpExtensionIterator it(view);
  RtpExtensionElement element;
  EXPECT_FALSE(it.Next(&element));  // opaque profile: no elements
}

TEST(RtpPacketTest, RejectsExtensionHeaderOrBodyPastTheEnd) {
  RtpPacketView view;
  // X set but no room for the 4-byte extension header.
  std::vector<uint8_t> no_header =
      Bytes({0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE});
  EXPECT_EQ(ParseRtp(no_header, &view), RtpParseError::kBadExtensionLength);
  // Extension claims 3 words, 1 present.
  std::vector<uint8_t> short_body = Bytes(
      {0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 3, 0x10, 1, 0, 0});
  EXPECT_EQ(ParseRtp(short_body, &view), RtpParseError::kBadExtensionLength);
}

TEST(RtpPacketTest, IteratesOneByteExtensionsSkippingPaddingAndStoppingAtId15) {
  // 0xBEDE, 3 words: id1 len1 [0xAA], pad, id2 len2 [1 2 3], id15 ..., junk.
  std::vector<uint8_t> packet =
      Bytes({0x90, 0,    0,    1,    0, 0, 0, 2,    0, 0, 0, 3,  //
             0xBE, 0xDE, 0,    3,                                //
             0x10, 0xAA, 0x00, 0x22, 1, 2, 3, 0x00,              //
             0xF0, 0x31, 9,    9,                                //
             0x55});
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  RtpExtensionIterator it(view);
  RtpExtensionElement element;
  ASSERT_TRUE(it.Next(&element));
  EXPECT_EQ(element.id, 1);
  EXPECT_THAT(element.data, ElementsAre(0xAA));
  ASSERT_TRUE(it.Next(&element));
  EXPECT_EQ(element.id, 2);
  EXPECT_THAT(element.data, ElementsAre(1, 2, 3));
  EXPECT_FALSE(it.Next(&element));  // id 15 ends processing
  EXPECT_FALSE(it.malformed());
  EXPECT_THAT(view.payload(), ElementsAre(0x55));
}

TEST(RtpPacketTest, IteratesTwoByteExtensionsIncludingEmptyElements) {
  // 0x1000 (appbits 0), 2 words: id 5 len 0, id 200 len 3 [7 8 9], pad.
  std::vector<uint8_t> packet =
      Bytes({0x90, 0,    0,   1, 0, 0, 0, 2, 0, 0, 0, 3,  //
             0x10, 0x00, 0,   2,                          //
             5,    0,    200, 3, 7, 8, 9, 0});
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  absl::Span<const uint8_t> data;
  ASSERT_TRUE(FindRtpExtension(view, 5, &data));
  EXPECT_TRUE(data.empty());
  ASSERT_TRUE(FindRtpExtension(view, 200, &data));
  EXPECT_THAT(data, ElementsAre(7, 8, 9));
  EXPECT_FALSE(FindRtpExtension(view, 6, &data));
}

TEST(RtpPacketTest, MalformedExtensionElementDoesNotRejectThePacket) {
  // One-byte element claims 16 bytes inside a 4-byte block.
  std::vector<uint8_t> packet =
      Bytes({0x90, 0,    0,    1, 0, 0,    0, 2, 0, 0,   0,
             3,    0xBE, 0xDE, 0, 1, 0x1F, 1, 2, 3, 0x42});
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  RtpExtensionIterator it(view);
  RtpExtensionElement element;
  EXPECT_FALSE(it.Next(&element));
  EXPECT_TRUE(it.malformed());
  EXPECT_THAT(view.payload(), ElementsAre(0x42));
}

TEST(RtpPacketTest, StripsValidPadding) {
  std::vector<uint8_t> packet = kSimplePacket;
  packet[0] |= 0x20;
  packet.insert(packet.end(), {0, 0, 3});  // 3 padding bytes incl. count
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  EXPECT_EQ(view.padding_size(), 3u);
  EXPECT_THAT(view.payload(), ElementsAre('a', 'b', 'c'));
}

TEST(RtpPacketTest, AcceptsPaddingThatConsumesTheWholePayload) {
  std::vector<uint8_t> packet(kSimplePacket.begin(),
                              kSimplePacket.begin() + 12);
  packet[0] |= 0x20;
  packet.insert(packet.end(), {0, 0, 0, 4});
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(packet, &view), RtpParseError::kOk);
  EXPECT_TRUE(view.payload().empty());
}

TEST(RtpPacketTest, RejectsZeroOrOversizedPadCount) {
  RtpPacketView view;
  std::vector<uint8_t> zero = kSimplePacket;
  zero[0] |= 0x20;
  zero.back() = 0;
  EXPECT_EQ(ParseRtp(zero, &view), RtpParseError::kBadPadding);
  std::vector<uint8_t> too_big = kSimplePacket;
  too_big[0] |= 0x20;
  too_big.back() = 4;  // payload is only 3 bytes
  EXPECT_EQ(ParseRtp(too_big, &view), RtpParseError::kBadPadding);
  // Padding may not eat into the header: 12-byte packet with P set.
  std::vector<uint8_t> header_only(kSimplePacket.begin(),
                                   kSimplePacket.begin() + 12);
  header_only[0] |= 0x20;
  EXPECT_EQ(ParseRtp(header_only, &view), RtpParseError::kBadPadding);
}

TEST(RtpPacketTest, FailedParseLeavesTheViewUntouched) {
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(kSimplePacket, &view), RtpParseError::kOk);
  std::vector<uint8_t> bad = kSimplePacket;
  bad[0] = 0x40;
  EXPECT_EQ(ParseRtp(bad, &view), RtpParseError::kBadVersion);
  EXPECT_EQ(view.sequence_number(), 0x1234);
}

TEST(RtpPacketTest, ErrorNamesAreDistinct) {
  EXPECT_EQ(RtpParseErrorName(RtpParseError::kBadPadding), "bad_padding");
  EXPECT_EQ(static_cast<size_t>(RtpParseError::kBadPadding) + 1,
            kRtpParseErrorCount);
}

TEST(RtpPacketTest, WriterRoundTripsThroughTheParser) {
  const std::array<uint32_t, 2> csrcs = {0x11111111, 0x22222222};
  const std::array<uint8_t, 4> extension = {0x10, 0xAB, 0, 0};
  const std::array<uint8_t, 160> payload{};
  RtpHeaderFields fields;
  fields.marker = true;
  fields.payload_type = 8;
  fields.sequence_number = 65535;
  fields.timestamp = 0xFFFFFF00;
  fields.ssrc = 0xCAFEBABE;
  fields.csrcs = csrcs;
  fields.has_extension = true;
  fields.extension_profile = kRtpOneByteExtensionProfile;
  fields.extension_data = extension;
  std::array<uint8_t, 256> buffer{};
  const size_t size = WriteRtpPacket(fields, payload, absl::MakeSpan(buffer));
  ASSERT_EQ(size, 12u + 8 + 4 + 4 + 160);

  RtpPacketView view;
  ASSERT_EQ(ParseRtp(absl::MakeConstSpan(buffer.data(), size), &view),
            RtpParseError::kOk);
  EXPECT_TRUE(view.marker());
  EXPECT_EQ(view.payload_type(), 8);
  EXPECT_EQ(view.sequence_number(), 65535);
  EXPECT_EQ(view.timestamp(), 0xFFFFFF00u);
  EXPECT_EQ(view.ssrc(), 0xCAFEBABEu);
  ASSERT_EQ(view.csrc_count(), 2);
  EXPECT_EQ(view.csrc(1), 0x22222222u);
  absl::Span<const uint8_t> data;
  ASSERT_TRUE(FindRtpExtension(view, 1, &data));
  EXPECT_THAT(data, ElementsAre(0xAB));
  EXPECT_EQ(view.payload().size(), 160u);
}

TEST(RtpPacketTest, WriterRefusesTooSmallBufferAndInvalidFields) {
  RtpHeaderFields fields;
  std::array<uint8_t, 11> small{};
  EXPECT_EQ(WriteRtpHeader(fields, absl::MakeSpan(small)), 0u);
  EXPECT_EQ(small, (std::array<uint8_t, 11>{}));  // nothing written

  std::array<uint8_t, 64> buffer{};
  fields.payload_type = 128;
  EXPECT_EQ(WriteRtpHeader(fields, absl::MakeSpan(buffer)), 0u);
  fields.payload_type = 0;
  const std::array<uint8_t, 3> unaligned = {1, 2, 3};
  fields.has_extension = true;
  fields.extension_data = unaligned;
  EXPECT_EQ(WriteRtpHeader(fields, absl::MakeSpan(buffer)), 0u);
  std::array<uint32_t, 16> too_many_csrcs{};
  fields.has_extension = false;
  fields.csrcs = too_many_csrcs;
  EXPECT_EQ(WriteRtpHeader(fields, absl::MakeSpan(buffer)), 0u);
}

TEST(RtpPacketTest, HeaderOnlyWriteLeavesRoomForInPlaceEncoding) {
  RtpHeaderFields fields;
  fields.sequence_number = 7;
  std::array<uint8_t, 172> buffer{};
  const size_t header = WriteRtpHeader(fields, absl::MakeSpan(buffer));
  ASSERT_EQ(header, 12u);
  RtpPacketView view;
  ASSERT_EQ(ParseRtp(buffer, &view), RtpParseError::kOk);
  EXPECT_EQ(view.payload().size(), 160u);
  EXPECT_EQ(view.sequence_number(), 7);
}

}  // namespace
}  // namespace sotto::media::rtp
