// The media engines the broker knows: registration, heartbeats, leases,
// and placement of new calls on the least-loaded healthy engine.
#ifndef SOTTO_SERVICES_BROKER_ENGINE_REGISTRY_H_
#define SOTTO_SERVICES_BROKER_ENGINE_REGISTRY_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sotto::broker {

struct EngineRecord {
  std::string engine_id;
  std::string control_address;  // host:port of its MediaEngine service
  std::string media_address;    // where remote endpoints send media
  int capacity_rooms = 0;
  int active_rooms = 0;
  bool draining = false;
  double load = 0;  // 0..1, its workers' CPU
  absl::Time last_heartbeat;
  enum class State { kHealthy, kDraining, kDead } state = State::kHealthy;
};

// Thread-safe. Time comes from the caller so tests control it.
class EngineRegistry {
 public:
  explicit EngineRegistry(absl::Duration lease = absl::Seconds(10))
      : lease_(lease) {}

  // Upsert by engine_id. INVALID_ARGUMENT for a missing id or address.
  absl::Status Register(EngineRecord engine, absl::Time now);
  // NOT_FOUND if the engine never registered (or was forgotten): the engine
  // must register again.
  absl::Status Heartbeat(const std::string& engine_id, int active_rooms,
                         bool draining, double load, absl::Time now);

  // Takes what another replica saw of an engine (from the shared store):
  // adopted when its heartbeat is newer than the one known here.
  void Observe(const EngineRecord& seen);

  // Marks engines whose lease ran out as dead and returns their ids (each
  // once): the caller fails their calls.
  std::vector<std::string> ExpireLeases(absl::Time now);

  // The healthy, non-draining engine with the most spare room (fewest
  // rooms relative to capacity, then lowest load). Counts the placement at
  // once so concurrent placements spread. UNAVAILABLE when no engine is
  // healthy, RESOURCE_EXHAUSTED when all healthy ones are full.
  absl::StatusOr<EngineRecord> Place(absl::Time now);
  // A placed call ended: its room is gone from that engine.
  void Release(const std::string& engine_id);

  std::vector<EngineRecord> List() const;
  absl::StatusOr<EngineRecord> Get(const std::string& engine_id) const;
  absl::Duration lease() const { return lease_; }

 private:
  const absl::Duration lease_;
  mutable std::mutex mutex_;
  std::map<std::string, EngineRecord> engines_;  // guarded by mutex_
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_ENGINE_REGISTRY_H_
