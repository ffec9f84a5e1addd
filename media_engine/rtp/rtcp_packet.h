// RTCP (RFC 3550 s6) compound-packet parser and SR/RR/SDES writers.
//
// Parsing validates the whole compound packet before the visitor sees any
// of it (RFC 3550 A.2), so a malformed tail never leaves half-applied
// reports behind. No allocation; views point into the caller's buffer.
#ifndef SOTTO_MEDIA_ENGINE_RTP_RTCP_PACKET_H_
#define SOTTO_MEDIA_ENGINE_RTP_RTCP_PACKET_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sotto::media::rtp {

inline constexpr uint8_t kRtcpSenderReport = 200;
inline constexpr uint8_t kRtcpReceiverReport = 201;
inline constexpr uint8_t kRtcpSdes = 202;
inline constexpr uint8_t kRtcpBye = 203;
inline constexpr uint8_t kRtcpApp = 204;

inline constexpr size_t kRtcpHeaderSize = 4;
inline constexpr size_t kRtcpReportBlockSize = 24;
inline constexpr size_t kRtcpSenderInfoSize = 24;  // SSRC + 20-byte info
inline constexpr int kRtcpMaxReportBlocks = 31;
inline constexpr uint8_t kRtcpSdesCname = 1;

// Dense from 0: one drop counter per reason in an array of
// kRtcpParseErrorCount.
enum class RtcpParseError : uint8_t {
  kOk = 0,
  kTooShort,              // less than one 4-byte header, or a header's
                          // length runs past the end of the datagram
  kBadVersion,            // some packet's version is not 2
  kBadPadding,            // padding on a non-last packet, or bad count
  kFirstPacketNotReport,  // RFC 3550 A.2: compound must start with SR/RR
  kBadReportCount,        // SR/RR report blocks do not fit the length
  kBadSdes,               // SDES chunk or item runs past its packet
  kBadBye,                // BYE SSRC list or reason runs past its packet
  kBadApp,                // APP shorter than SSRC + name
};
inline constexpr size_t kRtcpParseErrorCount = 9;
absl::string_view RtcpParseErrorName(RtcpParseError error);

// RFC 3550 s6.4.1 report block, decoded.
struct RtcpReportBlock {
  uint32_t source_ssrc = 0;
  uint8_t fraction_lost = 0;    // fixed point, loss fraction * 256
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  uint32_t extended_highest_sequence = 0;
  uint32_t jitter = 0;   // timestamp units
  uint32_t last_sr = 0;  // middle 32 bits of the SR's NTP time, 0 if none
  uint32_t delay_since_last_sr = 0;  // units of 1/65536 s
};

// SR sender info.
struct RtcpSenderInfo {
  uint32_t ssrc = 0;
  uint64_t ntp_timestamp = 0;  // 32.32 fixed point seconds since 1900
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
};

// The report blocks of an SR or RR, decoded on access.
class RtcpReportBlocks {
 public:
  RtcpReportBlocks() = default;
  explicit RtcpReportBlocks(absl::Span<const uint8_t> blocks)
      : blocks_(blocks) {}
  size_t size() const { return blocks_.size() / kRtcpReportBlockSize; }
  // Precondition: index < size().
  RtcpReportBlock operator[](size_t index) const;

 private:
  absl::Span<const uint8_t> blocks_;
};

struct RtcpSenderReportView {
  RtcpSenderInfo sender;
  RtcpReportBlocks report_blocks;
  absl::Span<const uint8_t> profile_extension;
};

struct RtcpReceiverReportView {
  uint32_t sender_ssrc = 0;
  RtcpReportBlocks report_blocks;
  absl::Span<const uint8_t> profile_extension;
};

struct RtcpSdesItem {
  uint32_t ssrc = 0;
  uint8_t type = 0;  // kRtcpSdesCname, ...
  absl::Span<const uint8_t> value;
};

class RtcpByeView {
 public:
  RtcpByeView() = default;
  RtcpByeView(absl::Span<const uint8_t> ssrcs, absl::Span<const uint8_t> reason)
      : ssrcs_(ssrcs), reason_(reason) {}
  size_t ssrc_count() const { return ssrcs_.size() / 4; }
  uint32_t ssrc(size_t index) const;  // Precondition: index < ssrc_count().
  absl::Span<const uint8_t> reason() const { return reason_; }

 private:
  absl::Span<const uint8_t> ssrcs_;
  absl::Span<const uint8_t> reason_;
};

struct RtcpAppView {
  uint8_t subtype = 0;
  uint32_t ssrc = 0;
  absl::Span<const uint8_t> name;  // 4 bytes
  absl::Span<const uint8_t> data;
};

// Receives the packets of a validated compound, in order. Called on the
// parsing thread, on the same stack; views are valid during the call only.
class RtcpVisitor {
 public:
  virtual ~RtcpVisitor() = default;
  virtual void OnSenderReport(const RtcpSenderReportView& report) {}
  virtual void OnReceiverReport(const RtcpReceiverReportView& report) {}
  virtual void OnSdesItem(const RtcpSdesItem& item) {}
  virtual void OnBye(const RtcpByeView& bye) {}
  virtual void OnApp(const RtcpAppView& app) {}
  // Any other packet type (RTPFB, PSFB, XR, ...): skipped by length.
  virtual void OnUnknown(uint8_t packet_type, uint8_t count,
                         absl::Span<const uint8_t> body) {}
};

struct RtcpParseOptions {
  // RFC 3550 A.2 requires SR or RR first; RFC 5506 reduced-size RTCP
  // (negotiated with a=rtcp-rsize) lifts that rule.
  bool require_report_first = true;
};

// Validates `compound` and, only if it is valid, hands each packet to
// `visitor` (may be null to validate only).
RtcpParseError ParseRtcpCompound(absl::Span<const uint8_t> compound,
                                 RtcpVisitor* visitor,
                                 const RtcpParseOptions& options = {});

// Writers. Each returns the bytes written, or 0 (writing nothing) if `out`
// is too small or the input is invalid (more than 31 report blocks, ...).
// Cumulative loss is clamped to the 24-bit signed range.
size_t WriteRtcpSenderReport(const RtcpSenderInfo& sender,
                             absl::Span<const RtcpReportBlock> blocks,
                             absl::Span<uint8_t> out);
size_t WriteRtcpReceiverReport(uint32_t sender_ssrc,
                               absl::Span<const RtcpReportBlock> blocks,
                               absl::Span<uint8_t> out);
// One SDES chunk with a CNAME item (required in every compound, s6.1).
size_t WriteRtcpSdesCname(uint32_t ssrc, absl::string_view cname,
                          absl::Span<uint8_t> out);
// BYE for one SSRC with an optional reason (at most 255 bytes).
size_t WriteRtcpBye(uint32_t ssrc, absl::string_view reason,
                    absl::Span<uint8_t> out);

// Middle 32 bits of a 64-bit NTP time: the LSR / DLSR time base.
inline uint32_t CompactNtp(uint64_t ntp) {
  return static_cast<uint32_t>(ntp >> 16);
}

// Round-trip time from a report block about our stream (RFC 3550 s6.4.1):
// arrival - LSR - DLSR, in 1/65536 s. Returns -1 if the block carries no
// LSR (the peer has not received an SR from us yet).
int64_t RoundTripCompactNtp(uint32_t arrival_compact_ntp,
                            const RtcpReportBlock& block);

}  // namespace sotto::media::rtp

#endif  // SOTTO_MEDIA_ENGINE_RTP_RTCP_PACKET_H_
