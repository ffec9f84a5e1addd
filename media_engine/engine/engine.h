// The engine facade the control plane calls: rooms, legs, routing, taps,
// statistics and drain, placed on media workers. Thread-safe.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_ENGINE_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_ENGINE_H_

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "media_engine/engine/leg.h"
#include "media_engine/engine/tap.h"
#include "media_engine/engine/tone.h"
#include "media_engine/engine/worker.h"
#include "media_engine/net/port_allocator.h"
#include "media_engine/srtp/srtp_key.h"

namespace sotto::media {

struct EngineOptions {
  std::string engine_id = "media-0";
  // Local address legs bind to, and the address remote endpoints are told
  // to send to (the public one behind NAT / hostNetwork).
  std::string bind_ip = "0.0.0.0";
  std::string media_ip = "127.0.0.1";
  uint16_t port_min = 20000;
  uint16_t port_max = 29999;
  int workers = 2;
  int capacity_rooms = 2000;
  // Wake-up coalescing of each worker under load (see EventLoop): nap
  // length and the wake-up rate above which it applies. 0 disables.
  Micros coalesce_us = 0;
  double coalesce_min_wakeups_per_second = 4000;
  // Mean RTCP interval of every leg.
  Micros rtcp_interval = 5'000'000;
};

// What AddLeg needs. `config.local_key` is filled in by the engine.
struct LegSpec {
  std::string room_id;
  std::string leg_id;
  LegConfig config;
  // Suite of the engine's own key; the remote key's suite when unset.
  std::optional<srtp::SrtpCryptoSuite> local_suite;
  std::string request_id;
};

// Changes to a leg; unset fields keep their value.
struct LegUpdate {
  std::optional<AudioCodec> codec;
  std::optional<uint8_t> payload_type;
  std::optional<uint8_t> telephone_event_payload_type;
  std::optional<int> ptime_ms;
  std::optional<net::SocketAddress> remote_rtp;
  std::optional<net::SocketAddress> remote_rtcp;
  std::optional<srtp::SrtpKeyMaterial> remote_key;
  bool rotate_local_key = false;
};

struct LegDescription {
  std::string room_id;
  std::string leg_id;
  LegConfig config;  // keys included: callers decide what to reveal
  std::string media_ip;
  uint16_t rtp_port = 0;
  uint16_t rtcp_port = 0;
  std::optional<net::SocketAddress> latched_remote;
  LegStats stats;
};

struct RoutingEntry {
  std::string source_leg_id;
  std::string sink_leg_id;
  float gain = 0;
};

struct RoutingResult {
  uint64_t generation = 0;
  // Room media time of the first frame mixed with the new matrix.
  absl::Duration effective_media_time;
};

struct RoomDescription {
  std::string room_id;
  std::vector<LegDescription> legs;
  std::vector<RoutingEntry> routing;
  uint64_t routing_generation = 0;
  absl::Time create_time;
};

struct RoomStatsDescription {
  std::string room_id;
  std::map<std::string, LegStats> legs;
  uint64_t frames_mixed = 0;
  uint64_t frames_skipped = 0;
  // Of frames_mixed, those mixed at an input's deadline (it was concealed)
  // rather than as soon as every input was in.
  uint64_t frames_mixed_at_deadline = 0;
};

struct EngineStatus {
  int active_rooms = 0;
  int active_legs = 0;
  bool draining = false;
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options,
                  const Clock& clock = SteadyClock::Get());
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  absl::StatusOr<LegDescription> AddLeg(LegSpec spec);
  absl::StatusOr<LegDescription> UpdateLeg(const std::string& room_id,
                                           const std::string& leg_id,
                                           const LegUpdate& update);
  absl::StatusOr<LegStats> RemoveLeg(const std::string& room_id,
                                     const std::string& leg_id);
  absl::StatusOr<RoutingResult> SetRouting(
      const std::string& room_id, const std::vector<RoutingEntry>& entries,
      uint64_t expected_generation);
  // Returns the clip's duration.
  absl::StatusOr<absl::Duration> PlayClip(const std::string& room_id,
                                          const std::vector<std::string>& sinks,
                                          ClipPlayer clip);
  absl::Status DeleteRoom(const std::string& room_id);
  std::vector<RoomDescription> ListRooms();
  absl::StatusOr<std::vector<RoomStatsDescription>> GetStats(
      const std::string& room_id);
  // A tap on the room's sources. The caller reads it and Close()s it.
  absl::StatusOr<std::shared_ptr<TapQueue>> OpenTap(const std::string& room_id,
                                                    bool telephone_events);
  // Maps a tap item's member index to its leg id ("" if gone).
  std::string LegIdOf(const std::string& room_id, int member);

  // Stops taking new rooms. Returns the rooms still live.
  int StartDrain();
  // Deletes every room (drain deadline reached, or shutdown).
  void DeleteAllRooms();
  EngineStatus Status();
  EngineCounters Counters();
  const EngineOptions& options() const { return options_; }

 private:
  struct LegRecord {
    int member = 0;
    LegConfig config;
    uint16_t rtp_port = 0;
    uint16_t rtcp_port = 0;
    std::string request_id;
  };
  struct RoomRecord {
    Worker* worker = nullptr;
    Room* room = nullptr;  // owned by the worker; touched only on it
    std::map<std::string, LegRecord> legs;
    std::array<bool, kMaxRoomMembers> used{};
    std::vector<RoutingEntry> routing;
    uint64_t generation = 0;
    absl::Time create_time;
  };

  LegDescription Describe(const std::string& room_id, const RoomRecord& room,
                          const std::string& leg_id, const LegRecord& leg);
  Worker* PickWorker();
  // What no phone could use: equal voice and event payload types, payload
  // types that muxed RTCP would misread, a remote of the other IP family.
  absl::Status CheckLegConfig(const LegConfig& config) const;

  const EngineOptions options_;
  const Clock& clock_;
  net::PortAllocator ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // std::mutex: TSan cannot see Debian's un-annotated absl::Mutex. Held
  // across worker calls; workers never take it, so this cannot deadlock.
  std::mutex mutex_;
  std::map<std::string, RoomRecord> rooms_;  // guarded by mutex_
  bool draining_ = false;                    // guarded by mutex_
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_ENGINE_H_
