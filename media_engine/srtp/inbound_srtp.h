// InboundSrtp: the receive side of one SRTP leg. Adds to SrtpSession the two
// things a long call needs: re-keying without an audible gap, and recovery
// when the remote restarts its stream (same SSRC and key, sequence numbers
// starting over), which a plain libsrtp session rejects forever.
//
// Re-keying. Rekey() installs the new key as current and keeps the old one
// as previous. A packet that fails authentication under one key is retried
// under the other; the key that last worked is tried first, so steady
// traffic costs one attempt. The previous key is dropped `previous_key_
// overlap_us` after the new key first authenticates a packet, or at the latest
// `previous_key_max_lifetime_us` after Rekey(). A re-key starts a new crypto
// context, so ROCs start from zero, as libsrtp-based peers do when they
// re-key.
//
// Restart recovery. libsrtp estimates each packet's index (ROC:seq) from
// the highest index it has accepted for the SSRC. A sender that restarts
// with the same SSRC and key begins again at ROC 0 with an unrelated
// sequence number, so libsrtp says replay_old (a backwards jump, checked
// before authentication), replay_fail, or auth_fail (wrong ROC guess), and
// keeps saying it. InboundSrtp therefore retries such packets of an SSRC it
// has already authenticated in a probe session with the same key and fresh
// per-SSRC state -- but only once the current session has accepted nothing
// from that SSRC for `restart_min_silence_us`. After
// `restart_probation_packets` packets authenticate in the probe (each new
// to the probe's own replay window) it declares a restart: it removes the
// SSRC's state from the current session (the next packet starts afresh at
// ROC 0) and delivers the confirming packet. Earlier probe successes return
// kRestartProbation (authentic but held back). With the defaults and 20 ms
// packets a restart costs three packets (60 ms) of audio.
// The silence rule is what keeps an attacker replaying captured packets
// from resetting a live stream, and makes replays cost nothing extra while
// the genuine stream flows. A replay while the sender is silent is
// indistinguishable from a same-key restart -- that is inherent to reusing
// a key across a restart, and why the engine should re-key when it can.
// Known limit: if the new stream wraps its sequence number during the
// probation packets (odds ~ probation/65536 per restart), the re-created
// state guesses ROC 0 and the stream needs a re-key to recover.
//
// Thread contract: not thread-safe; one per leg, used by the leg's thread.
// Per-packet calls do not allocate (libsrtp allocates once per new SSRC and
// on a declared restart), lock or log.
#ifndef SOTTO_MEDIA_ENGINE_SRTP_INBOUND_SRTP_H_
#define SOTTO_MEDIA_ENGINE_SRTP_INBOUND_SRTP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_session.h"

namespace sotto::media::srtp {

// Times are microseconds on the caller's monotonic clock (the media path's
// `Micros`, media_engine/base/clock.h).
struct InboundSrtpOptions {
  int64_t previous_key_overlap_us = 2'000'000;
  int64_t previous_key_max_lifetime_us = 30'000'000;
  bool recover_restarts = true;
  int restart_probation_packets = 3;
  int64_t restart_min_silence_us = 40'000;
  // Packets larger than this are never retried (no fallback key, no
  // restart probe): the retry needs a copy of the ciphertext.
  size_t max_retry_packet_size = 1500;
};

// Counters for metrics; plain integers, read on the owning thread.
struct InboundSrtpCounters {
  std::array<uint64_t, kSrtpResultCount> rtp{};
  std::array<uint64_t, kSrtpResultCount> rtcp{};
  uint64_t previous_key_accepted = 0;  // packets authenticated by the old key
  uint64_t restarts_recovered = 0;
};

class InboundSrtp {
 public:
  static absl::StatusOr<InboundSrtp> Create(
      const SrtpKeyMaterial& key,
      const InboundSrtpOptions& options = InboundSrtpOptions());

  InboundSrtp(InboundSrtp&&) noexcept;
  InboundSrtp& operator=(InboundSrtp&&) noexcept;
  ~InboundSrtp();

  // Installs `key` as current; the current key becomes previous (a still
  // older previous key is dropped). Allocates; call from the control path.
  absl::Status Rekey(const SrtpKeyMaterial& key, int64_t now_us);

  // As SrtpSession::Unprotect*, in place; `now_us` is the packet's arrival
  // time, used for the overlap and silence windows. The buffer's contents
  // are unspecified unless the result is kOk.
  SrtpResult UnprotectRtp(absl::Span<uint8_t> buffer, size_t* length,
                          int64_t now_us);
  SrtpResult UnprotectRtcp(absl::Span<uint8_t> buffer, size_t* length,
                           int64_t now_us);

  bool has_previous_key() const { return previous_ != nullptr; }
  const InboundSrtpCounters& counters() const { return counters_; }
  // The current session's rollover counter for `ssrc` (tests, diagnostics).
  absl::optional<uint32_t> RolloverCounter(uint32_t ssrc) const;

 private:
  struct Epoch;
  struct TrackedSsrc {
    uint32_t ssrc = 0;
    bool in_use = false;
    int64_t last_accepted_us = 0;
    int probe_successes = 0;
    uint64_t last_used = 0;  // for least-recently-used replacement
  };
  static constexpr size_t kTrackedSsrcs = 4;

  InboundSrtp(std::unique_ptr<Epoch> current,
              const InboundSrtpOptions& options);

  void ExpirePrevious(int64_t now_us);
  TrackedSsrc* FindTracked(uint32_t ssrc);
  TrackedSsrc* Track(uint32_t ssrc);
  void OnCurrentAccepted(uint32_t ssrc, int64_t now_us);
  SrtpResult TryRestartProbe(absl::Span<uint8_t> buffer, size_t* length,
                             TrackedSsrc* tracked, int64_t now_us);

  InboundSrtpOptions options_;
  std::unique_ptr<Epoch> current_;
  std::unique_ptr<Epoch> previous_;
  int64_t previous_deadline_us_ = INT64_MIN;
  bool previous_preferred_ = false;  // the old key worked last
  std::array<TrackedSsrc, kTrackedSsrcs> tracked_{};
  uint64_t track_clock_ = 0;
  std::unique_ptr<uint8_t[]> scratch_;  // ciphertext copy for retries
  InboundSrtpCounters counters_;
};

}  // namespace sotto::media::srtp

#endif  // SOTTO_MEDIA_ENGINE_SRTP_INBOUND_SRTP_H_
