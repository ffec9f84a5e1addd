#include "media_engine/engine/room.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::media {

Room::Room(std::string id, Micros origin, net::EventLoop* loop,
           EngineCounters* counters)
    : id_(std::move(id)),
      loop_(loop),
      counters_(counters),
      mixer_(origin, this) {
  taps_.reserve(4);
}

Room::~Room() { Close(); }

int Room::leg_count() const {
  return static_cast<int>(std::count_if(
      legs_.begin(), legs_.end(), [](const auto& l) { return l != nullptr; }));
}

absl::Status Room::AddLeg(int member, std::unique_ptr<Leg> leg) {
  if (member < 0 || member >= kMaxRoomMembers || legs_[member]) {
    return absl::FailedPreconditionError(
        absl::StrCat("member slot ", member, " unavailable in room ", id_));
  }
  const Micros now = loop_->clock().Now();
  absl::Status status = mixer_.AddMember(member, now);
  if (!status.ok()) return status;
  leg->set_counters(counters_);
  status = leg->Attach(loop_);
  if (!status.ok()) {
    mixer_.RemoveMember(member);
    return status;
  }
  legs_[member] = std::move(leg);
  TapItem change;
  change.kind = TapItem::Kind::kLegAdded;
  change.member = member;
  change.set_leg_id(legs_[member]->config().leg_id);
  change.media_time = mixer_.timeline().SlotAtOrAfter(now) * kFrameMicros;
  PushTap(change, false);
  Reschedule();
  return absl::OkStatus();
}

std::unique_ptr<Leg> Room::RemoveLeg(int member) {
  if (member < 0 || member >= kMaxRoomMembers || !legs_[member]) return nullptr;
  std::unique_ptr<Leg> leg = std::move(legs_[member]);
  leg->Detach();
  mixer_.RemoveMember(member);
  clips_[member].reset();
  TapItem change;
  change.kind = TapItem::Kind::kLegRemoved;
  change.member = member;
  change.set_leg_id(leg->config().leg_id);
  change.media_time =
      mixer_.timeline().SlotAtOrAfter(loop_->clock().Now()) * kFrameMicros;
  PushTap(change, false);
  Reschedule();
  return leg;
}

absl::Status Room::UpdateLeg(int member, const LegConfig& config) {
  if (!legs_[member]) return absl::NotFoundError("no such leg");
  return legs_[member]->Update(config, loop_->clock().Now());
}

int64_t Room::SetRouting(const RoutingMatrix& routing) {
  mixer_.SetRouting(routing);
  int64_t effective = std::numeric_limits<int64_t>::max();
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    if (mixer_.HasMember(i))
      effective = std::min(effective, mixer_.next_slot(i));
  }
  Reschedule();
  return effective == std::numeric_limits<int64_t>::max() ? 0 : effective;
}

void Room::PlayClip(const std::vector<int>& sinks, const ClipPlayer& clip) {
  for (int sink : sinks) {
    if (sink < 0 || sink >= kMaxRoomMembers || !mixer_.HasMember(sink))
      continue;
    clips_[sink].emplace(clip);
    mixer_.SetExtraAudio(sink, &*clips_[sink]);
  }
}

void Room::AddTap(std::shared_ptr<TapQueue> tap, bool telephone_events) {
  // Tell the new reader which legs exist.
  const Micros media_time =
      mixer_.timeline().SlotAtOrAfter(loop_->clock().Now()) * kFrameMicros;
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    if (!legs_[i]) continue;
    TapItem change;
    change.kind = TapItem::Kind::kLegAdded;
    change.member = i;
    change.set_leg_id(legs_[i]->config().leg_id);
    change.media_time = media_time;
    tap->Push(change);
  }
  taps_.push_back(TapReader{std::move(tap), telephone_events});
}

void Room::PushTap(const TapItem& item, bool is_event) {
  for (size_t i = 0; i < taps_.size();) {
    TapReader& reader = taps_[i];
    if (reader.queue->closed()) {  // the reader went away
      taps_.erase(taps_.begin() + static_cast<ptrdiff_t>(i));
      continue;
    }
    if (!is_event || reader.telephone_events) {
      const uint64_t before = reader.queue->dropped();
      reader.queue->Push(item);
      counters_->tap_frames_dropped += reader.queue->dropped() - before;
    }
    ++i;
  }
}

RoomSnapshot Room::Snapshot() const {
  RoomSnapshot snapshot;
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    if (legs_[i]) snapshot.legs[i] = legs_[i]->Snapshot();
    if (const SourceBuffer* source = mixer_.source(i)) {
      snapshot.frames_concealed[i] = source->stats().frames_concealed;
    }
  }
  snapshot.frames_mixed = mixer_.frames_mixed();
  snapshot.frames_skipped = mixer_.frames_skipped();
  snapshot.frames_mixed_at_deadline = mixer_.frames_mixed_at_deadline();
  return snapshot;
}

void Room::Close() {
  loop_->Cancel(this);
  for (auto& leg : legs_) {
    if (leg) leg->Detach();
  }
  for (TapReader& reader : taps_) reader.queue->Close();
  taps_.clear();
}

void Room::OnMixedFrame(int sink, int64_t slot, const AudioFrame& frame,
                        Micros max_input_wait) {
  ++counters_->frames_mixed;
  counters_->RecordLatency(max_input_wait);
  if (legs_[sink]) legs_[sink]->SendFrame(slot, frame, now_);
}

void Room::OnSourceFrame(int source, int64_t slot, const AudioFrame& frame,
                         bool concealed) {
  if (concealed) ++counters_->frames_concealed;
  if (taps_.empty()) return;
  tap_item_.kind = TapItem::Kind::kFrame;
  tap_item_.member = source;
  tap_item_.media_time = slot * kFrameMicros;
  tap_item_.samples = frame;
  tap_item_.concealed = concealed;
  PushTap(tap_item_, false);
}

void Room::OnLegAudio(int member, uint32_t rtp_timestamp,
                      absl::Span<const int16_t> samples, bool in_order,
                      Micros now) {
  now_ = now;
  const SourceBuffer::PutResult result =
      mixer_.OnAudio(member, rtp_timestamp, samples, in_order, now);
  if (result == SourceBuffer::PutResult::kLate) {
    legs_[member]->CountDrop(DropReason::kLate);
  } else if (result == SourceBuffer::PutResult::kDuplicate) {
    legs_[member]->CountDrop(DropReason::kDuplicate);
  }
  Reschedule();
}

void Room::OnLegStreamRestart(int member) {
  mixer_.OnStreamRestart(member);
  if (taps_.empty()) return;
  TapItem gap;
  gap.kind = TapItem::Kind::kGap;
  gap.member = member;
  gap.media_time = mixer_.timeline().SlotAtOrAfter(now_) * kFrameMicros;
  gap.gap_cause = TapItem::GapCause::kStreamRestart;
  PushTap(gap, false);
}

void Room::OnLegComfortNoise(int member, Micros now) {
  now_ = now;
  mixer_.OnSourceSilent(member, now);
  Reschedule();
}

void Room::OnLegTelephoneEvent(int member, const rtp::TelephoneEvent& event,
                               uint32_t rtp_timestamp, Micros now) {
  (void)rtp_timestamp;
  if (taps_.empty()) return;
  TapItem item;
  item.kind = TapItem::Kind::kTelephoneEvent;
  item.member = member;
  item.media_time = mixer_.timeline().SlotAtOrAfter(now) * kFrameMicros;
  item.event = event;
  PushTap(item, true);
}

void Room::OnTimer(Micros now) {
  now_ = now;
  mixer_.Process(now);
  Reschedule();
}

void Room::Reschedule() {
  const Micros next = mixer_.NextWakeup();
  if (next == std::numeric_limits<Micros>::max()) {
    loop_->Cancel(this);
  } else {
    loop_->Schedule(this, next);
  }
}

}  // namespace sotto::media
