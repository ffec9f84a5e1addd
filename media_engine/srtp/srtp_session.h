// SrtpSession: the one wrapper around a libsrtp2 session (like mediasoup's
// SrtpSession). Everything else in Sotto reaches libsrtp through here, so
// the SRTP backend can change by build configuration alone.
#ifndef SOTTO_MEDIA_ENGINE_SRTP_SRTP_SESSION_H_
#define SOTTO_MEDIA_ENGINE_SRTP_SRTP_SESSION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "media_engine/srtp/srtp_key.h"

struct srtp_ctx_t_;  // libsrtp's session; kept out of our headers.

namespace sotto::media::srtp {

// Outcome of one protect/unprotect, dense from 0 so callers can keep one
// counter per value in an array of kSrtpResultCount.
enum class SrtpResult : uint8_t {
  kOk = 0,
  kAuthFail,          // tag mismatch: wrong key, tampering, or wrong ROC
  kReplayFail,        // index already seen (duplicate or replay)
  kReplayOld,         // index older than the replay window
  kMalformed,         // too short or bad header; libsrtp never saw it
  kBufferTooSmall,    // protect: no room for the trailer
  kBadParam,          // libsrtp rejected the call (bad header, ...)
  kKeyExpired,        // key usage limit reached: re-key
  kRestartProbation,  // InboundSrtp: authentic packet of a restarted
                      // stream, held back until the restart is confirmed
  kOtherError,
};
inline constexpr size_t kSrtpResultCount = 10;
absl::string_view SrtpResultName(SrtpResult result);

enum class SrtpDirection : uint8_t { kInbound, kOutbound };

// One SRTP session for one direction of one leg: inbound sessions accept any
// SSRC (ssrc_any_inbound: libsrtp creates per-SSRC state only once a
// packet from that SSRC has authenticated, so garbage cannot make it
// allocate); outbound sessions protect any SSRC (ssrc_any_outbound).
//
// Replay window 1024 packets (20 s of 20 ms audio, tolerant of deep
// reordering); retransmission of an already protected index is refused
// (allow_repeat_tx off: reusing a keystream would leak plaintext).
//
// Thread contract: not thread-safe; a session belongs to the thread that
// runs its leg. Distinct sessions may be used on distinct threads.
// Per-packet calls do not allocate, lock or log; libsrtp allocates once per
// new SSRC.
class SrtpSession {
 public:
  static constexpr unsigned long kReplayWindowPackets = 1024;

  // INVALID_ARGUMENT for an unsupported suite (GCM without backend support),
  // INTERNAL if libsrtp fails.
  static absl::StatusOr<SrtpSession> Create(SrtpDirection direction,
                                            const SrtpKeyMaterial& key);

  SrtpSession(SrtpSession&& other) noexcept;
  SrtpSession& operator=(SrtpSession&& other) noexcept;
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;
  ~SrtpSession();

  // In place. `buffer` is the whole writable buffer (its size is the
  // capacity); *length is the packet length on input and the new length on
  // output (only changed on kOk). Protect needs capacity for the trailer:
  // *length + rtp_trailer_size() (RTP) or + rtcp_trailer_size() (RTCP).
  // On failure the buffer holds the unmodified input, except that an
  // AEAD (GCM) unprotect failure may leave it scrambled (backend-specific).
  SrtpResult ProtectRtp(absl::Span<uint8_t> buffer, size_t* length);
  SrtpResult UnprotectRtp(absl::Span<uint8_t> buffer, size_t* length);
  SrtpResult ProtectRtcp(absl::Span<uint8_t> buffer, size_t* length);
  SrtpResult UnprotectRtcp(absl::Span<uint8_t> buffer, size_t* length);

  // Forgets the per-SSRC state (replay window, ROC) of `ssrc`; its next
  // packet starts afresh from the session template. False if none existed.
  bool RemoveStream(uint32_t ssrc);
  // libsrtp's current rollover counter for `ssrc`, if it has state for it.
  absl::optional<uint32_t> RolloverCounter(uint32_t ssrc) const;

  SrtpDirection direction() const { return direction_; }
  SrtpCryptoSuite suite() const { return suite_; }
  size_t rtp_trailer_size() const { return rtp_trailer_size_; }
  size_t rtcp_trailer_size() const { return rtcp_trailer_size_; }

 private:
  SrtpSession(srtp_ctx_t_* session, SrtpDirection direction,
              SrtpCryptoSuite suite);

  srtp_ctx_t_* session_ = nullptr;
  SrtpDirection direction_;
  SrtpCryptoSuite suite_;
  size_t rtp_trailer_size_ = 0;
  size_t rtcp_trailer_size_ = 0;
};

}  // namespace sotto::media::srtp

#endif  // SOTTO_MEDIA_ENGINE_SRTP_SRTP_SESSION_H_
