// Per-leg adaptive jitter buffer that places decoded audio on the room's
// frame timeline and decides when a frame is complete or must be concealed.
#ifndef SOTTO_MEDIA_ENGINE_JITTER_SOURCE_BUFFER_H_
#define SOTTO_MEDIA_ENGINE_JITTER_SOURCE_BUFFER_H_

#include <array>
#include <cstdint>

#include "absl/types/span.h"
#include "media_engine/base/audio_frame.h"
#include "media_engine/base/clock.h"

namespace sotto::media {

// The room's frame clock: slot k (a 20 ms frame) is due at
// SlotTime(k) = origin + k * 20 ms. When a stream (re)starts, its packet
// arriving at t is placed in the first slot due at or after t, so a source on
// a clean network adds no buffering delay.
class RoomTimeline {
 public:
  explicit RoomTimeline(Micros origin) : origin_(origin) {}
  Micros SlotTime(int64_t slot) const { return origin_ + slot * kFrameMicros; }
  // First slot whose SlotTime is >= t.
  int64_t SlotAtOrAfter(Micros t) const {
    const Micros d = t - origin_;
    if (d <= 0) return 0;
    return (d + kFrameMicros - 1) / kFrameMicros;
  }
  Micros origin() const { return origin_; }

 private:
  Micros origin_;
};

struct SourceBufferConfig {
  // Least extra wait past a frame's expected arrival before concealing it.
  Micros min_allowance = 10'000;
  // Wait allowed for a new stream before any jitter is measured. It costs
  // nothing on a clean network (complete frames never wait); it only decides
  // how long a missing frame is waited for while the buffer is still
  // learning the network.
  Micros initial_allowance = 20'000;
  // Most extra wait (adaptive growth stops here).
  Micros max_allowance = 200'000;
  // How fast the jitter allowance shrinks back after jitter goes away
  // (time constant of the decay of the peak delay variation).
  Micros allowance_decay = 2'000'000;
  // A source with no packet for this long past its last frame stops being
  // waited for; its audio has faded to silence by then.
  Micros inactive_after = 120'000;
  // Concealment fades a lost stream to silence over this many frames.
  int fade_frames = 5;
};

// Counters the buffer keeps; the leg exports them.
struct SourceBufferStats {
  uint64_t frames_complete = 0;
  uint64_t frames_concealed = 0;   // at least one sample synthesised
  uint64_t packets_late = 0;       // arrived after their frame was final
  uint64_t packets_duplicate = 0;  // every sample already present
  uint64_t resyncs = 0;            // timeline re-anchored (start, jump, hold)
};

// Holds one source's decoded audio for the room. Not thread-safe: it lives
// on its room's worker. Allocates nothing after construction.
//
// Model: each RTP timestamp maps to a position on the room's timeline
// (anchor). The buffer learns when samples arrive relative to their
// timestamp (the lowest recent transit is the network's base delay; the
// spread above it is jitter) and so when each frame's samples are due; a
// frame is final when it is complete, or when its due time plus the jitter
// allowance has passed (then missing samples are concealed). A stream that
// restarts (first packet, SSRC change, timestamp jump, resumption after
// silence) is re-anchored at the current time, so it is never played late.
class SourceBuffer {
 public:
  explicit SourceBuffer(const SourceBufferConfig& config = {});

  enum class PutResult { kStored, kLate, kDuplicate, kResynced, kInvalid };

  // Adds decoded samples (at most 60 ms) whose first sample has RTP
  // timestamp `rtp_timestamp`, arriving at `now`. `in_order` says the RTP
  // layer saw the next sequence number, so a timestamp that disagrees with
  // the stream's timing is a jump, not a late packet.
  // Empty or over-long inputs are refused (kInvalid) and change nothing.
  PutResult Put(uint32_t rtp_timestamp, absl::Span<const int16_t> samples,
                bool in_order, Micros now, const RoomTimeline& timeline);

  // The stream restarted (new SSRC): the next packet re-anchors.
  void Restart() { anchored_ = false; }
  // The sender said it is silent (RFC 3389 comfort noise): nothing more is
  // coming, so stop waiting for it now rather than concealing frame after
  // frame at their deadlines until it times out. Frames already final stay
  // readable; its next audio re-anchors, as after any silence.
  void Silence() { active_ = false; }

  // Finalises, by concealment, every frame whose deadline has passed; marks
  // the source inactive after a long silence.
  void AdvanceTo(Micros now);

  // Frames in [first_valid_slot(), final_slot()) are final and readable
  // (the room never reads further back than the ring holds).
  int64_t final_slot() const { return final_slot_; }
  int64_t first_valid_slot() const { return first_valid_slot_; }
  bool Readable(int64_t slot) const {
    return slot >= first_valid_slot_ && slot < final_slot_ &&
           slot > final_slot_ - kRingSlots + kMaxAheadSlots;
  }
  bool active() const { return active_; }
  // When the frame `final_slot()` will be concealed if still incomplete.
  Micros NextDeadline() const;
  const AudioFrame& Frame(int64_t slot) const {
    return ring_[Index(slot)].samples;
  }
  bool Concealed(int64_t slot) const { return ring_[Index(slot)].concealed; }
  // When the frame became final (its last sample arrived, or it was
  // concealed). The mixer measures added latency from it.
  Micros FinalTime(int64_t slot) const { return ring_[Index(slot)].final_time; }

  // Current allowance for jitter (added delay on a jittery network).
  Micros allowance() const { return allowance_; }
  const SourceBufferStats& stats() const { return stats_; }

  // The ring must hold every frame a sink still needs; see the room.
  static constexpr int kRingSlots = 64;  // 1.28 s
  // Audio further ahead of the final frame than this is a timestamp jump.
  static constexpr int kMaxAheadSlots = 16;  // 320 ms
  // A re-anchored stream starts at most this far ahead of the clock.
  static constexpr int kMaxAnchorLeadSlots = 2;  // 40 ms

 private:
  struct Slot {
    AudioFrame samples;
    std::array<uint64_t, 3> filled;  // one bit per sample (160 bits)
    int filled_count = 0;
    bool concealed = false;
    Micros final_time = 0;
  };

  static size_t Index(int64_t slot) {
    return static_cast<size_t>(((slot % kRingSlots) + kRingSlots) % kRingSlots);
  }
  int64_t Unwrap(uint32_t rtp_timestamp) const;
  void Anchor(int64_t ts, int64_t samples, Micros now,
              const RoomTimeline& timeline);
  void ResetSlot(int64_t slot);
  // Stores the samples of `samples` not yet present at `offset`.. of
  // `slot`; returns how many were new.
  int FillSlot(Slot& slot, int offset, absl::Span<const int16_t> samples);
  void Conceal(int64_t slot, Micros now);
  void FinalizeComplete(Micros now);
  void ObserveTransit(int64_t ts_end, Micros now);
  // Expected arrival of the packet that completes `slot`.
  Micros ExpectedArrival(int64_t slot) const;

  SourceBufferConfig config_;
  std::array<Slot, kRingSlots> ring_;

  bool anchored_ = false;
  bool active_ = false;
  int64_t anchor_slot_ = 0;
  int64_t anchor_ts_ = 0;  // unwrapped RTP timestamp at anchor_slot start
  int64_t last_ts_ = 0;    // unwrapped timestamp of the newest packet
  int64_t last_in_order_end_ = 0;
  int64_t packet_samples_ = kSamplesPerFrame;  // size of the newest packet
  int64_t packet_phase_ = 0;  // ts of a packet boundary (newest packet start)
  int64_t final_slot_ = 0;
  int64_t first_valid_slot_ = 0;
  int64_t max_written_slot_ = -1;
  int concealed_run_ = 0;
  int late_in_order_run_ = 0;
  Micros last_arrival_ = 0;

  // Arrival model: transit = arrival - timestamp_end * 125 us.
  static constexpr int kTransitWindow = 64;
  std::array<Micros, kTransitWindow> transits_{};
  int transit_count_ = 0;
  int transit_next_ = 0;
  Micros base_transit_ = 0;
  Micros peak_deviation_ = 0;
  Micros last_decay_time_ = 0;
  Micros allowance_;

  SourceBufferStats stats_;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_JITTER_SOURCE_BUFFER_H_
