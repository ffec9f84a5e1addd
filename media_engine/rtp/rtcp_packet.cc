// RTCP compound parsing (RFC 3550 s6, A.2) and report writers.
#include "media_engine/rtp/rtcp_packet.h"

#include <algorithm>
#include <cstring>

#include "media_engine/rtp/byte_io.h"

namespace sotto::media::rtp {
namespace {

constexpr int32_t kMaxCumulativeLost = 0x7FFFFF;
constexpr int32_t kMinCumulativeLost = -0x800000;

// One packet of a compound: header fields and body with padding removed.
struct RtcpPacket {
  uint8_t type = 0;
  uint8_t count = 0;
  absl::Span<const uint8_t> body;
};

RtcpParseError ParseSdes(const RtcpPacket& packet, RtcpVisitor* visitor) {
  absl::Span<const uint8_t> body = packet.body;
  size_t offset = 0;
  for (int chunk = 0; chunk < packet.count; ++chunk) {
    if (body.size() - offset < 4) return RtcpParseError::kBadSdes;
    const uint32_t ssrc = ReadBe32(body.data() + offset);
    offset += 4;
    while (true) {
      if (offset >= body.size()) return RtcpParseError::kBadSdes;
      const uint8_t type = body[offset];
      if (type == 0) {
        // The null item ends the chunk; pad to the next 32-bit boundary.
        offset = (offset + 4) & ~size_t{3};
        if (offset > body.size()) return RtcpParseError::kBadSdes;
        break;
      }
      if (body.size() - offset < 2) return RtcpParseError::kBadSdes;
      const size_t length = body[offset + 1];
      if (body.size() - offset - 2 < length) return RtcpParseError::kBadSdes;
      if (visitor != nullptr) {
        RtcpSdesItem item;
        item.ssrc = ssrc;
        item.type = type;
        item.value = body.subspan(offset + 2, length);
        visitor->OnSdesItem(item);
      }
      offset += 2 + length;
    }
  }
  return RtcpParseError::kOk;
}

RtcpParseError ParsePacket(const RtcpPacket& packet, RtcpVisitor* visitor) {
  const absl::Span<const uint8_t> body = packet.body;
  const size_t blocks_size = kRtcpReportBlockSize * packet.count;
  switch (packet.type) {
    case kRtcpSenderReport: {
      if (body.size() < kRtcpSenderInfoSize + blocks_size) {
        return RtcpParseError::kBadReportCount;
      }
      if (visitor != nullptr) {
        RtcpSenderReportView report;
        report.sender.ssrc = ReadBe32(body.data());
        report.sender.ntp_timestamp = ReadBe64(body.data() + 4);
        report.sender.rtp_timestamp = ReadBe32(body.data() + 12);
        report.sender.packet_count = ReadBe32(body.data() + 16);
        report.sender.octet_count = ReadBe32(body.data() + 20);
        report.report_blocks =
            RtcpReportBlocks(body.subspan(kRtcpSenderInfoSize, blocks_size));
        report.profile_extension =
            body.subspan(kRtcpSenderInfoSize + blocks_size);
        visitor->OnSenderReport(report);
      }
      return RtcpParseError::kOk;
    }
    case kRtcpReceiverReport: {
      if (body.size() < 4 + blocks_size) return RtcpParseError::kBadReportCount;
      if (visitor != nullptr) {
        RtcpReceiverReportView report;
        report.sender_ssrc = ReadBe32(body.data());
        report.report_blocks = RtcpReportBlocks(body.subspan(4, blocks_size));
        report.profile_extension = body.subspan(4 + blocks_size);
        visitor->OnReceiverReport(report);
      }
      return RtcpParseError::kOk;
    }
    case kRtcpSdes:
      return ParseSdes(packet, visitor);
    case kRtcpBye: {
      const size_t ssrcs_size = 4u * packet.count;
      if (body.size() < ssrcs_size) return RtcpParseError::kBadBye;
      absl::Span<const uint8_t> reason;
      if (body.size() > ssrcs_size) {
        const size_t length = body[ssrcs_size];
        if (body.size() - ssrcs_size - 1 < length) {
          return RtcpParseError::kBadBye;
        }
        reason = body.subspan(ssrcs_size + 1, length);
      }
      if (visitor != nullptr) {
        visitor->OnBye(RtcpByeView(body.subspan(0, ssrcs_size), reason));
      }
      return RtcpParseError::kOk;
    }
    case kRtcpApp: {
      if (body.size() < 8) return RtcpParseError::kBadApp;
      if (visitor != nullptr) {
        RtcpAppView app;
        app.subtype = packet.count;
        app.ssrc = ReadBe32(body.data());
        app.name = body.subspan(4, 4);
        app.data = body.subspan(8);
        visitor->OnApp(app);
      }
      return RtcpParseError::kOk;
    }
    default:
      if (visitor != nullptr) {
        visitor->OnUnknown(packet.type, packet.count, body);
      }
      return RtcpParseError::kOk;
  }
}

// Walks the compound once; with a null visitor it only validates.
RtcpParseError Walk(absl::Span<const uint8_t> compound,
                    const RtcpParseOptions& options, RtcpVisitor* visitor) {
  if (compound.size() < kRtcpHeaderSize) return RtcpParseError::kTooShort;
  size_t offset = 0;
  bool first = true;
  while (offset < compound.size()) {
    const size_t remaining = compound.size() - offset;
    if (remaining < kRtcpHeaderSize) return RtcpParseError::kTooShort;
    const uint8_t* header = compound.data() + offset;
    if ((header[0] >> 6) != 2) return RtcpParseError::kBadVersion;
    const size_t length = 4 * (size_t{ReadBe16(header + 2)} + 1);
    if (length > remaining) return RtcpParseError::kTooShort;

    RtcpPacket packet;
    packet.type = header[1];
    packet.count = header[0] & 0x1F;
    size_t padding = 0;
    if ((header[0] & 0x20) != 0) {
      // Only the last packet of a compound may be padded (A.2), since the
      // padding is what SRTCP encryption needs at the very end.
      if (length != remaining) return RtcpParseError::kBadPadding;
      padding = header[length - 1];
      if (padding == 0 || padding > length - kRtcpHeaderSize) {
        return RtcpParseError::kBadPadding;
      }
    }
    packet.body = compound.subspan(offset + kRtcpHeaderSize,
                                   length - kRtcpHeaderSize - padding);

    if (first && options.require_report_first &&
        packet.type != kRtcpSenderReport &&
        packet.type != kRtcpReceiverReport) {
      return RtcpParseError::kFirstPacketNotReport;
    }
    first = false;
    const RtcpParseError error = ParsePacket(packet, visitor);
    if (error != RtcpParseError::kOk) return error;
    offset += length;
  }
  return RtcpParseError::kOk;
}

void WriteReportBlock(const RtcpReportBlock& block, uint8_t* p) {
  const int32_t lost =
      std::clamp(block.cumulative_lost, kMinCumulativeLost, kMaxCumulativeLost);
  WriteBe32(p, block.source_ssrc);
  p[4] = block.fraction_lost;
  WriteBe24(p + 5, static_cast<uint32_t>(lost) & 0xFFFFFF);
  WriteBe32(p + 8, block.extended_highest_sequence);
  WriteBe32(p + 12, block.jitter);
  WriteBe32(p + 16, block.last_sr);
  WriteBe32(p + 20, block.delay_since_last_sr);
}

void WriteHeader(uint8_t* p, uint8_t count, uint8_t type, size_t size) {
  p[0] = static_cast<uint8_t>(0x80 | count);
  p[1] = type;
  WriteBe16(p + 2, static_cast<uint16_t>(size / 4 - 1));
}

}  // namespace

absl::string_view RtcpParseErrorName(RtcpParseError error) {
  switch (error) {
    case RtcpParseError::kOk:
      return "ok";
    case RtcpParseError::kTooShort:
      return "too_short";
    case RtcpParseError::kBadVersion:
      return "bad_version";
    case RtcpParseError::kBadPadding:
      return "bad_padding";
    case RtcpParseError::kFirstPacketNotReport:
      return "first_packet_not_report";
    case RtcpParseError::kBadReportCount:
      return "bad_report_count";
    case RtcpParseError::kBadSdes:
      return "bad_sdes";
    case RtcpParseError::kBadBye:
      return "bad_bye";
    case RtcpParseError::kBadApp:
      return "bad_app";
  }
  return "unknown";
}

RtcpReportBlock RtcpReportBlocks::operator[](size_t index) const {
  const uint8_t* p = blocks_.data() + index * kRtcpReportBlockSize;
  RtcpReportBlock block;
  block.source_ssrc = ReadBe32(p);
  block.fraction_lost = p[4];
  // Sign-extend the 24-bit two's complement value.
  const uint32_t lost = ReadBe24(p + 5);
  block.cumulative_lost = static_cast<int32_t>(lost ^ 0x800000) - 0x800000;
  block.extended_highest_sequence = ReadBe32(p + 8);
  block.jitter = ReadBe32(p + 12);
  block.last_sr = ReadBe32(p + 16);
  block.delay_since_last_sr = ReadBe32(p + 20);
  return block;
}

uint32_t RtcpByeView::ssrc(size_t index) const {
  return ReadBe32(ssrcs_.data() + 4 * index);
}

RtcpParseError ParseRtcpCompound(absl::Span<const uint8_t> compound,
                                 RtcpVisitor* visitor,
                                 const RtcpParseOptions& options) {
  const RtcpParseError error = Walk(compound, options, nullptr);
  if (error != RtcpParseError::kOk || visitor == nullptr) return error;
  return Walk(compound, options, visitor);
}

size_t WriteRtcpSenderReport(const RtcpSenderInfo& sender,
                             absl::Span<const RtcpReportBlock> blocks,
                             absl::Span<uint8_t> out) {
  if (blocks.size() > kRtcpMaxReportBlocks) return 0;
  const size_t size = kRtcpHeaderSize + kRtcpSenderInfoSize +
                      kRtcpReportBlockSize * blocks.size();
  if (size > out.size()) return 0;
  uint8_t* p = out.data();
  WriteHeader(p, static_cast<uint8_t>(blocks.size()), kRtcpSenderReport, size);
  WriteBe32(p + 4, sender.ssrc);
  WriteBe64(p + 8, sender.ntp_timestamp);
  WriteBe32(p + 16, sender.rtp_timestamp);
  WriteBe32(p + 20, sender.packet_count);
  WriteBe32(p + 24, sender.octet_count);
  p += kRtcpHeaderSize + kRtcpSenderInfoSize;
  for (const RtcpReportBlock& block : blocks) {
    WriteReportBlock(block, p);
    p += kRtcpReportBlockSize;
  }
  return size;
}

size_t WriteRtcpReceiverReport(uint32_t sender_ssrc,
                               absl::Span<const RtcpReportBlock> blocks,
                               absl::Span<uint8_t> out) {
  if (blocks.size() > kRtcpMaxReportBlocks) return 0;
  const size_t size =
      kRtcpHeaderSize + 4 + kRtcpReportBlockSize * blocks.size();
  if (size > out.size()) return 0;
  uint8_t* p = out.data();
  WriteHeader(p, static_cast<uint8_t>(blocks.size()), kRtcpReceiverReport,
              size);
  WriteBe32(p + 4, sender_ssrc);
  p += kRtcpHeaderSize + 4;
  for (const RtcpReportBlock& block : blocks) {
    WriteReportBlock(block, p);
    p += kRtcpReportBlockSize;
  }
  return size;
}

size_t WriteRtcpSdesCname(uint32_t ssrc, absl::string_view cname,
                          absl::Span<uint8_t> out) {
  if (cname.size() > 255) return 0;
  // SSRC, CNAME item, then at least one null byte padded to 32 bits.
  const size_t chunk = (4 + 2 + cname.size() + 1 + 3) & ~size_t{3};
  const size_t size = kRtcpHeaderSize + chunk;
  if (size > out.size()) return 0;
  uint8_t* p = out.data();
  WriteHeader(p, 1, kRtcpSdes, size);
  WriteBe32(p + 4, ssrc);
  p[8] = kRtcpSdesCname;
  p[9] = static_cast<uint8_t>(cname.size());
  if (!cname.empty()) std::memcpy(p + 10, cname.data(), cname.size());
  std::memset(p + 10 + cname.size(), 0, size - 10 - cname.size());
  return size;
}

size_t WriteRtcpBye(uint32_t ssrc, absl::string_view reason,
                    absl::Span<uint8_t> out) {
  if (reason.size() > 255) return 0;
  const size_t reason_size =
      reason.empty() ? 0 : ((1 + reason.size() + 3) & ~size_t{3});
  const size_t size = kRtcpHeaderSize + 4 + reason_size;
  if (size > out.size()) return 0;
  uint8_t* p = out.data();
  WriteHeader(p, 1, kRtcpBye, size);
  WriteBe32(p + 4, ssrc);
  if (!reason.empty()) {
    p[8] = static_cast<uint8_t>(reason.size());
    std::memcpy(p + 9, reason.data(), reason.size());
    std::memset(p + 9 + reason.size(), 0, size - 9 - reason.size());
  }
  return size;
}

int64_t RoundTripCompactNtp(uint32_t arrival_compact_ntp,
                            const RtcpReportBlock& block) {
  if (block.last_sr == 0) return -1;
  // Modular arithmetic handles the NTP era wrap; a negative result means
  // clock skew or a bogus DLSR, reported as zero rather than as huge.
  const int32_t rtt = static_cast<int32_t>(arrival_compact_ntp - block.last_sr -
                                           block.delay_since_last_sr);
  return rtt < 0 ? 0 : rtt;
}

}  // namespace sotto::media::rtp
