// The PCM tap: a bounded single-producer single-consumer queue from a room's
// worker to one reader (the recorder's stream). The worker never waits.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_TAP_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_TAP_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "media_engine/base/audio_frame.h"
#include "media_engine/base/clock.h"
#include "media_engine/mixer/routing_matrix.h"
#include "media_engine/rtp/telephone_event.h"

namespace sotto::media {

struct TapItem {
  enum class Kind : uint8_t {
    kFrame,
    kTelephoneEvent,
    kGap,
    kLegAdded,
    kLegRemoved
  };
  Kind kind = Kind::kFrame;
  int member = 0;
  // Media time of the item's first sample: slot * 20 ms on the room clock.
  Micros media_time = 0;
  AudioFrame samples{};
  bool concealed = false;
  rtp::TelephoneEvent event;
  // kGap: what this member (leg) lost: audio frames, and other items
  // (telephone events, leg changes).
  uint32_t frames_dropped = 0;
  uint32_t other_items_dropped = 0;
  // kLegAdded/kLegRemoved: the leg's id, NUL-terminated (ids are at most
  // 64 characters). Carried in the item because a reader may read it after
  // the engine has forgotten the leg; a fixed array so that no push
  // allocates.
  std::array<char, 65> leg_id{};
  void set_leg_id(const std::string& id) {
    const size_t n = std::min(id.size(), leg_id.size() - 1);
    id.copy(leg_id.data(), n);
    leg_id[n] = '\0';
  }
  // kGap: why. A restarted stream (new SSRC: transfer, re-INVITE) loses
  // no frame here, but what follows is another stream: readers mark it.
  enum class GapCause : uint8_t { kReaderTooSlow, kStreamRestart };
  GapCause gap_cause = GapCause::kReaderTooSlow;
};

// One reader's queue. Push runs on the worker, Pop on the reader's thread.
// When full, Push drops the item and counts it against the item's member.
// Before the next item that fits, each member that lost items gets one kGap
// item (its own member, the media time of its first lost item, how many
// frames and other items it lost), so a recorder knows whose audio is
// missing and where. Every pushed item is delivered or counted in a gap.
class TapQueue {
 public:
  static constexpr size_t kCapacity = 512;  // ~3.4 s of a 3-party room

  TapQueue();
  ~TapQueue();
  TapQueue(const TapQueue&) = delete;
  TapQueue& operator=(const TapQueue&) = delete;

  // Worker thread. Never blocks; wakes the reader if it sleeps.
  void Push(const TapItem& item);
  // Reader thread. Waits up to `timeout` for an item; false on timeout or
  // once Close()d and drained.
  bool Pop(TapItem* item, Micros timeout);
  // Either side: no more items will come (room deleted, reader gone).
  void Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  uint64_t dropped() const {
    return dropped_total_.load(std::memory_order_relaxed);
  }

 private:
  struct PendingGap {
    uint32_t frames = 0;
    uint32_t other_items = 0;
    Micros media_time = 0;  // of the first lost item
  };

  bool TryPop(TapItem* item);
  bool TryPush(const TapItem& item);
  // Pushes the pending gaps, lowest member first; false if one did not fit
  // (it and those after it stay pending).
  bool FlushGaps();
  void CountDropped(const TapItem& item);
  void Wake();

  std::unique_ptr<std::array<TapItem, kCapacity>> items_;
  std::atomic<uint64_t> head_{0};  // next to pop (reader)
  std::atomic<uint64_t> tail_{0};  // next to push (worker)
  std::atomic<bool> reader_waiting_{false};
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> dropped_total_{0};
  std::array<PendingGap, kMaxRoomMembers> pending_{};  // worker only
  uint32_t pending_members_ = 0;  // worker only: bit m = pending_[m] is set
  int event_fd_ = -1;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_TAP_H_
