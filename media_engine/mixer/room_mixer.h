// A room's mixing core: places each member's audio on the room timeline and
// emits each sink's mix-minus frame as soon as its inputs are in.
#ifndef SOTTO_MEDIA_ENGINE_MIXER_ROOM_MIXER_H_
#define SOTTO_MEDIA_ENGINE_MIXER_ROOM_MIXER_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "media_engine/base/audio_frame.h"
#include "media_engine/base/clock.h"
#include "media_engine/jitter/source_buffer.h"
#include "media_engine/mixer/frame_combiner.h"
#include "media_engine/mixer/routing_matrix.h"

namespace sotto::media {

// Receives what the mixer produces. Called synchronously on the room's
// worker thread from OnAudio/Process; must not call back into the mixer.
class RoomMixerObserver {
 public:
  virtual ~RoomMixerObserver() = default;
  // The mix for `sink` covering room slot `slot`. Slots arrive in order and
  // each exactly once per sink (a skipped slot is reported by `slot`
  // jumping; the sink's RTP timestamps follow the slot).
  // `max_input_wait` is how long the input that waited longest sat final
  // before this mix: the latency the mixer added (0 when the last input
  // just arrived).
  virtual void OnMixedFrame(int sink, int64_t slot, const AudioFrame& frame,
                            Micros max_input_wait) = 0;
  // A source's final frame for `slot` (for the recorder's tap), in order.
  virtual void OnSourceFrame(int source, int64_t slot, const AudioFrame& frame,
                             bool concealed) = 0;
};

// Audio added on top of one sink's mix (a cue tone, an announcement).
class ExtraAudio {
 public:
  virtual ~ExtraAudio() = default;
  // Fills `out` with the frame for `slot` and returns true, or returns
  // false when it has nothing (finished).
  virtual bool Render(int64_t slot, AudioFrame* out) = 0;
};

// Mixes one room. Not thread-safe: a room lives on one worker. Members are
// numbered 0..kMaxRoomMembers-1 by the caller (the leg table). Memory for a
// member is allocated when it is added (control path); audio handling and
// mixing allocate nothing.
//
// Timing: a sink's frame for slot k is mixed as soon as every source it
// hears (gain > 0) has its frame k final — complete, or concealed because
// its deadline passed — so no frame waits for a fixed tick once its inputs
// are in. A sink that hears no active source is paced by the room clock
// (one frame per 20 ms of wall time), so its stream never stops.
class RoomMixer {
 public:
  RoomMixer(Micros origin, RoomMixerObserver* observer,
            const SourceBufferConfig& config = {});

  // INVALID_ARGUMENT for a bad index, FAILED_PRECONDITION if taken.
  absl::Status AddMember(int member, Micros now);
  void RemoveMember(int member);
  bool HasMember(int member) const { return members_[member] != nullptr; }

  // Replaces the matrix; the next frame mixed for any sink follows it.
  void SetRouting(const RoutingMatrix& routing) { routing_ = routing; }
  const RoutingMatrix& routing() const { return routing_; }

  // Decoded audio from `member` (see SourceBuffer::Put), then mixes every
  // sink frame this completes.
  SourceBuffer::PutResult OnAudio(int member, uint32_t rtp_timestamp,
                                  absl::Span<const int16_t> samples,
                                  bool in_order, Micros now);
  // The member's stream restarted (SSRC change): re-anchor on its next packet.
  void OnStreamRestart(int member);
  // The member signalled silence (comfort noise): sinks stop waiting for
  // it, and every frame that was waiting only for it is mixed now.
  void OnSourceSilent(int member, Micros now);

  // Conceals what is overdue and mixes what is due. Call at NextWakeup().
  void Process(Micros now);
  // When Process must run next (absent new audio).
  Micros NextWakeup() const;

  // Adds `extra` to what `sink` hears until it finishes or is replaced;
  // nullptr removes it. Not owned.
  void SetExtraAudio(int sink, ExtraAudio* extra) {
    if (members_[sink]) members_[sink]->extra = extra;
  }

  const RoomTimeline& timeline() const { return timeline_; }
  const SourceBuffer* source(int member) const {
    return members_[member] ? &members_[member]->source : nullptr;
  }
  int64_t next_slot(int sink) const { return members_[sink]->next_slot; }

  // Counters.
  uint64_t frames_mixed() const { return frames_mixed_; }
  uint64_t frames_skipped() const { return frames_skipped_; }
  // Of frames_mixed(), those with an input that was final only because its
  // deadline passed (concealed): mixed at the deadline rather than as soon
  // as every input was in.
  uint64_t frames_mixed_at_deadline() const {
    return frames_mixed_at_deadline_;
  }

 private:
  struct Member {
    explicit Member(const SourceBufferConfig& config) : source(config) {}
    SourceBuffer source;
    FrameCombiner combiner;
    int64_t next_slot = 0;  // as a sink: next slot to mix
    int64_t tap_slot = 0;   // as a source: next final frame to report
    ExtraAudio* extra = nullptr;
  };

  void EmitTap(int member);
  void MixReady(Micros now);
  // Mixes slot `next_slot` for `sink` if its inputs are in (or it hears no
  // one and the slot is due). Returns whether it emitted.
  bool TryMix(int sink, Member& member, Micros now);
  // Whether the sink's next frame depends on a source's audio (rather than
  // on the clock alone).
  bool WaitsOnSource(int sink) const;

  RoomTimeline timeline_;
  RoomMixerObserver* observer_;
  SourceBufferConfig config_;
  RoutingMatrix routing_;
  std::array<std::unique_ptr<Member>, kMaxRoomMembers> members_;
  AudioFrame mixed_{};
  AudioFrame extra_frame_{};
  uint64_t frames_mixed_ = 0;
  uint64_t frames_skipped_ = 0;
  uint64_t frames_mixed_at_deadline_ = 0;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_MIXER_ROOM_MIXER_H_
