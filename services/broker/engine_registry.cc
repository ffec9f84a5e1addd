#include "services/broker/engine_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::broker {

absl::Status EngineRegistry::Register(EngineRecord engine, absl::Time now) {
  if (engine.engine_id.empty()) {
    return absl::InvalidArgumentError("engine_id is required");
  }
  if (engine.control_address.empty() || engine.media_address.empty()) {
    return absl::InvalidArgumentError(
        "control_address and media_address are required");
  }
  if (engine.capacity_rooms <= 0) {
    return absl::InvalidArgumentError("capacity_rooms must be positive");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = engines_.find(engine.engine_id);
  if (found != engines_.end() &&
      found->second.state != EngineRecord::State::kDead) {
    // A re-registration keeps the room count the broker placed.
    engine.active_rooms =
        std::max(engine.active_rooms, found->second.active_rooms);
  }
  engine.last_heartbeat = now;
  engine.state = engine.draining ? EngineRecord::State::kDraining
                                 : EngineRecord::State::kHealthy;
  engines_[engine.engine_id] = std::move(engine);
  return absl::OkStatus();
}

absl::Status EngineRegistry::Heartbeat(const std::string& engine_id,
                                       int active_rooms, bool draining,
                                       double load, absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = engines_.find(engine_id);
  if (found == engines_.end() ||
      found->second.state == EngineRecord::State::kDead) {
    return absl::NotFoundError(absl::StrCat(
        "engine '", engine_id, "' is not registered; register again"));
  }
  EngineRecord& engine = found->second;
  engine.active_rooms = active_rooms;
  engine.draining = draining;
  engine.load = load;
  engine.last_heartbeat = now;
  engine.state =
      draining ? EngineRecord::State::kDraining : EngineRecord::State::kHealthy;
  return absl::OkStatus();
}

void EngineRegistry::Observe(const EngineRecord& seen) {
  if (seen.engine_id.empty() || seen.capacity_rooms <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = engines_.find(seen.engine_id);
  if (found != engines_.end() &&
      found->second.last_heartbeat >= seen.last_heartbeat) {
    return;
  }
  EngineRecord adopted = seen;
  adopted.state = seen.draining ? EngineRecord::State::kDraining
                                : EngineRecord::State::kHealthy;
  engines_[seen.engine_id] = std::move(adopted);
}

std::vector<std::string> EngineRegistry::ExpireLeases(absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> dead;
  for (auto& [id, engine] : engines_) {
    if (engine.state != EngineRecord::State::kDead &&
        now - engine.last_heartbeat > lease_) {
      engine.state = EngineRecord::State::kDead;
      dead.push_back(id);
    }
  }
  return dead;
}

absl::StatusOr<EngineRecord> EngineRegistry::Place(absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineRecord* best = nullptr;
  bool any_healthy = false;
  for (auto& [id, engine] : engines_) {
    if (engine.state != EngineRecord::State::kHealthy) continue;
    if (now - engine.last_heartbeat > lease_) continue;  // about to expire
    any_healthy = true;
    if (engine.active_rooms >= engine.capacity_rooms) continue;
    auto fill = [](const EngineRecord& e) {
      return static_cast<double>(e.active_rooms) / e.capacity_rooms;
    };
    if (best == nullptr || fill(engine) < fill(*best) ||
        (fill(engine) == fill(*best) && engine.load < best->load)) {
      best = &engine;
    }
  }
  if (best == nullptr) {
    if (!any_healthy) {
      return absl::UnavailableError(
          "no healthy media engine is registered; retry shortly");
    }
    return absl::ResourceExhaustedError(
        "every healthy media engine is at capacity");
  }
  ++best->active_rooms;
  return *best;
}

void EngineRegistry::Release(const std::string& engine_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = engines_.find(engine_id);
  if (found != engines_.end() && found->second.active_rooms > 0) {
    --found->second.active_rooms;
  }
}

std::vector<EngineRecord> EngineRegistry::List() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<EngineRecord> out;
  for (const auto& [id, engine] : engines_) out.push_back(engine);
  return out;
}

absl::StatusOr<EngineRecord> EngineRegistry::Get(
    const std::string& engine_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = engines_.find(engine_id);
  if (found == engines_.end()) {
    return absl::NotFoundError(absl::StrCat("no engine '", engine_id, "'"));
  }
  return found->second;
}

}  // namespace sotto::broker
