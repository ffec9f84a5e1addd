// Tells RTP from RTCP (and STUN/DTLS) on one muxed port (RFC 5761, 7983).
#ifndef SOTTO_MEDIA_ENGINE_RTP_RTP_DEMUX_H_
#define SOTTO_MEDIA_ENGINE_RTP_RTP_DEMUX_H_

#include <cstdint>

#include "absl/types/span.h"

namespace sotto::media::rtp {

enum class MuxedPacketKind : uint8_t { kRtp, kRtcp, kStun, kDtls, kUnknown };

// Classifies by the first two bytes only; it does not validate the packet.
// RFC 7983 s7 ranges pick the protocol by the first byte; among RTP/RTCP
// (first byte 128..191) the second byte 192..223 is RTCP (RFC 5761 s4):
// those are RTCP packet types, which as an RTP byte would be marker set with
// payload type 64..95 -- the range a muxing endpoint must not use for RTP.
inline MuxedPacketKind ClassifyMuxedPacket(absl::Span<const uint8_t> packet) {
  if (packet.size() < 2) return MuxedPacketKind::kUnknown;
  const uint8_t first = packet[0];
  if (first <= 3) return MuxedPacketKind::kStun;
  if (first >= 20 && first <= 63) return MuxedPacketKind::kDtls;
  if (first >= 128 && first <= 191) {
    const uint8_t second = packet[1];
    return (second >= 192 && second <= 223) ? MuxedPacketKind::kRtcp
                                            : MuxedPacketKind::kRtp;
  }
  return MuxedPacketKind::kUnknown;
}

// True if `payload_type` may be used for RTP on a muxed port (RFC 5761 s4).
inline bool IsMuxSafePayloadType(uint8_t payload_type) {
  return payload_type < 64 || (payload_type > 95 && payload_type < 128);
}

}  // namespace sotto::media::rtp

#endif  // SOTTO_MEDIA_ENGINE_RTP_RTP_DEMUX_H_
