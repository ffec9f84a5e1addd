#include "media_engine/mixer/room_mixer.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace sotto::media {
namespace {

// A sink more than this far behind the room clock (the worker stalled) jumps
// ahead instead of bursting out stale audio.
constexpr Micros kMaxSinkLag = 200'000;
// Frames mixed for one sink in one go, at most (bounds work per packet).
constexpr int kMaxFramesPerPass = 8;

}  // namespace

RoomMixer::RoomMixer(Micros origin, RoomMixerObserver* observer,
                     const SourceBufferConfig& config)
    : timeline_(origin), observer_(observer), config_(config) {}

absl::Status RoomMixer::AddMember(int member, Micros now) {
  if (member < 0 || member >= kMaxRoomMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("member index ", member, " out of range"));
  }
  if (members_[member] != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("member index ", member, " is taken"));
  }
  auto added = std::make_unique<Member>(config_);
  added->next_slot = timeline_.SlotAtOrAfter(now);
  members_[member] = std::move(added);
  return absl::OkStatus();
}

void RoomMixer::RemoveMember(int member) {
  if (member < 0 || member >= kMaxRoomMembers) return;
  members_[member].reset();
  routing_.ClearMember(member);
}

SourceBuffer::PutResult RoomMixer::OnAudio(int member, uint32_t rtp_timestamp,
                                           absl::Span<const int16_t> samples,
                                           bool in_order, Micros now) {
  Member* m = members_[member].get();
  if (m == nullptr) return SourceBuffer::PutResult::kInvalid;
  const SourceBuffer::PutResult result =
      m->source.Put(rtp_timestamp, samples, in_order, now, timeline_);
  EmitTap(member);
  MixReady(now);
  return result;
}

void RoomMixer::OnStreamRestart(int member) {
  if (members_[member]) members_[member]->source.Restart();
}

void RoomMixer::OnSourceSilent(int member, Micros now) {
  if (members_[member] == nullptr) return;
  members_[member]->source.Silence();
  MixReady(now);
}

void RoomMixer::EmitTap(int member) {
  Member& m = *members_[member];
  const SourceBuffer& source = m.source;
  if (m.tap_slot < source.first_valid_slot()) {
    m.tap_slot = source.first_valid_slot();
  }
  while (m.tap_slot < source.final_slot()) {
    if (source.Readable(m.tap_slot)) {
      observer_->OnSourceFrame(member, m.tap_slot, source.Frame(m.tap_slot),
                               source.Concealed(m.tap_slot));
    }
    ++m.tap_slot;
  }
}

void RoomMixer::Process(Micros now) {
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    if (!members_[i]) continue;
    members_[i]->source.AdvanceTo(now);
    EmitTap(i);
  }
  MixReady(now);
}

void RoomMixer::MixReady(Micros now) {
  for (int sink = 0; sink < kMaxRoomMembers; ++sink) {
    Member* m = members_[sink].get();
    if (m == nullptr) continue;
    const int64_t due = timeline_.SlotAtOrAfter(now - kMaxSinkLag);
    if (m->next_slot < due) {
      frames_skipped_ += static_cast<uint64_t>(due - m->next_slot);
      m->next_slot = due;
    }
    for (int i = 0; i < kMaxFramesPerPass && TryMix(sink, *m, now); ++i) {
    }
  }
}

bool RoomMixer::TryMix(int sink, Member& member, Micros now) {
  const int64_t slot = member.next_slot;
  std::array<MixInput, kMaxRoomMembers> inputs;
  int input_count = 0;
  bool hears_active_source = false;
  bool waited_for_deadline = false;
  Micros earliest_final = now;
  for (int source = 0; source < kMaxRoomMembers; ++source) {
    if (source == sink || !members_[source]) continue;
    const float gain = routing_.Gain(source, sink);
    if (gain <= 0.0f) continue;
    const SourceBuffer& buffer = members_[source]->source;
    if (buffer.Readable(slot)) {
      inputs[input_count++] = MixInput{&buffer.Frame(slot), gain};
      earliest_final = std::min(earliest_final, buffer.FinalTime(slot));
      hears_active_source = true;
      waited_for_deadline |= buffer.Concealed(slot);
    } else if (buffer.active() && buffer.final_slot() <= slot) {
      return false;  // its frame is still coming (or not yet overdue)
    }
    // Otherwise the source is silent for this slot (inactive, or it
    // restarted after it).
  }
  if (!hears_active_source && now < timeline_.SlotTime(slot)) {
    return false;  // nothing to hear: keep wall-clock pace
  }
  // Audio played to this sink alone (a cue tone, an announcement), on top
  // of what it hears; one frame of it per mixed slot until it ends.
  const AudioFrame* extra = nullptr;
  if (member.extra != nullptr) {
    if (member.extra->Render(slot, &extra_frame_)) {
      extra = &extra_frame_;
    } else {
      member.extra = nullptr;  // finished
    }
  }
  member.combiner.MixWithExtra(absl::MakeConstSpan(inputs.data(), input_count),
                               extra, &mixed_);
  observer_->OnMixedFrame(sink, slot, mixed_, now - earliest_final);
  ++member.next_slot;
  ++frames_mixed_;
  if (waited_for_deadline) ++frames_mixed_at_deadline_;
  return true;
}

bool RoomMixer::WaitsOnSource(int sink) const {
  const int64_t slot = members_[sink]->next_slot;
  for (int source = 0; source < kMaxRoomMembers; ++source) {
    if (source == sink || !members_[source]) continue;
    if (routing_.Gain(source, sink) <= 0.0f) continue;
    const SourceBuffer& buffer = members_[source]->source;
    if (buffer.Readable(slot)) return true;
    if (buffer.active() && buffer.final_slot() <= slot) return true;
  }
  return false;
}

Micros RoomMixer::NextWakeup() const {
  Micros next = std::numeric_limits<Micros>::max();
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    const Member* m = members_[i].get();
    if (m == nullptr) continue;
    if (m->source.active()) next = std::min(next, m->source.NextDeadline());
    // A sink that hears an active source is driven by that source's audio
    // and deadlines (above); one that hears no one is paced by the clock.
    if (!WaitsOnSource(i)) {
      next = std::min(next, timeline_.SlotTime(m->next_slot));
    }
  }
  return next;
}

}  // namespace sotto::media
