// A room on its worker: legs, the mixer between them, taps and the room's
// wake-up timer. Everything here runs on the room's worker thread.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_ROOM_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_ROOM_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "media_engine/engine/engine_stats.h"
#include "media_engine/engine/leg.h"
#include "media_engine/engine/tap.h"
#include "media_engine/engine/tone.h"
#include "media_engine/mixer/room_mixer.h"
#include "media_engine/net/event_loop.h"

namespace sotto::media {

struct RoomSnapshot {
  std::array<std::optional<LegStats>, kMaxRoomMembers> legs;
  uint64_t frames_mixed = 0;
  uint64_t frames_skipped = 0;
  uint64_t frames_mixed_at_deadline = 0;
  std::array<uint64_t, kMaxRoomMembers> frames_concealed{};
};

class Room final : public RoomMixerObserver, public LegHost, public net::Timer {
 public:
  // `counters` belong to the worker; the room adds to them.
  Room(std::string id, Micros origin, net::EventLoop* loop,
       EngineCounters* counters);
  ~Room() override;

  const std::string& id() const { return id_; }

  absl::Status AddLeg(int member, std::unique_ptr<Leg> leg);
  std::unique_ptr<Leg> RemoveLeg(int member);
  absl::Status UpdateLeg(int member, const LegConfig& config);
  Leg* leg(int member) { return legs_[member].get(); }
  int leg_count() const;

  // Swaps the matrix in; returns the first slot any sink mixes with it.
  int64_t SetRouting(const RoutingMatrix& routing);
  void PlayClip(const std::vector<int>& sinks, const ClipPlayer& clip);
  void AddTap(std::shared_ptr<TapQueue> tap, bool telephone_events);

  RoomSnapshot Snapshot() const;
  // Detaches every leg and closes the taps (before destruction).
  void Close();

  // RoomMixerObserver
  void OnMixedFrame(int sink, int64_t slot, const AudioFrame& frame,
                    Micros max_input_wait) override;
  void OnSourceFrame(int source, int64_t slot, const AudioFrame& frame,
                     bool concealed) override;
  // LegHost
  void OnLegAudio(int member, uint32_t rtp_timestamp,
                  absl::Span<const int16_t> samples, bool in_order,
                  Micros now) override;
  void OnLegStreamRestart(int member) override;
  void OnLegComfortNoise(int member, Micros now) override;
  void OnLegTelephoneEvent(int member, const rtp::TelephoneEvent& event,
                           uint32_t rtp_timestamp, Micros now) override;
  // net::Timer
  void OnTimer(Micros now) override;

 private:
  struct TapReader {
    std::shared_ptr<TapQueue> queue;
    bool telephone_events;
  };
  void Reschedule();
  void PushTap(const TapItem& item, bool is_event);

  const std::string id_;
  net::EventLoop* loop_;
  EngineCounters* counters_;
  RoomMixer mixer_;
  std::array<std::unique_ptr<Leg>, kMaxRoomMembers> legs_;
  std::array<std::optional<ClipPlayer>, kMaxRoomMembers> clips_;
  std::vector<TapReader> taps_;
  Micros now_ = 0;
  TapItem tap_item_;  // scratch, reused
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_ROOM_H_
