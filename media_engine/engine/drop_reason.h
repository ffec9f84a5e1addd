// Why the engine dropped a received packet: one counter per reason.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_DROP_REASON_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_DROP_REASON_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace sotto::media {

// Why a received packet was dropped. Dense from 0: one counter per reason.
enum class DropReason : uint8_t {
  kTruncated = 0,       // longer than our receive buffer
  kNotRtp,              // STUN, DTLS or garbage on the media port
  kMalformedRtp,        // failed the RTP header parser
  kSrtpAuth,            // failed SRTP authentication (wrong key, forged)
  kSrtpReplay,          // SRTP replay protection (duplicate, replay)
  kSrtpOther,           // other SRTP failures
  kUnknownPayloadType,  // a payload type the leg did not negotiate
  kForeignSource,       // plain RTP from an address that is not the peer
  kMalformedRtcp,       // failed the RTCP parser
  kRtcpAuth,            // failed SRTCP authentication
  kLate,                // arrived after its frame was played
  kDuplicate,           // every sample already there
  kMalformedTelephoneEvent,
  kBadPayloadSize,  // audio payload empty or over 120 ms
  kRateLimited,     // from an address that is not the peer, over the
                    // rate at which such packets are even checked
};
inline constexpr int kDropReasonCount = 15;
absl::string_view DropReasonName(DropReason reason);

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_DROP_REASON_H_
