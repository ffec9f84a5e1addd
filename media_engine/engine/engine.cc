#include "media_engine/engine/engine.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::media {
namespace {

absl::Status NoRoom(const std::string& room_id) {
  return absl::NotFoundError(absl::StrCat("no room '", room_id, "'"));
}

absl::Status NoLeg(const std::string& room_id, const std::string& leg_id) {
  return absl::NotFoundError(
      absl::StrCat("no leg '", leg_id, "' in room '", room_id, "'"));
}

}  // namespace

Engine::Engine(const EngineOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      ports_(options.bind_ip, options.port_min, options.port_max) {
  const int count = std::max(1, options.workers);
  for (int i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, clock_));
    workers_.back()->loop()->set_coalescing(
        options.coalesce_us, options.coalesce_min_wakeups_per_second);
    workers_.back()->Start();
  }
}

Engine::~Engine() {
  for (auto& worker : workers_) worker->Stop();
}

absl::Status Engine::CheckLegConfig(const LegConfig& config) const {
  if (config.telephone_event_payload_type != 0 &&
      config.telephone_event_payload_type == config.payload_type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "payload type ", static_cast<int>(config.payload_type),
        " would carry both the leg's audio and its telephone events: voice "
        "and telephone events need different payload types"));
  }
  // RFC 5761 s4: with RTCP on the RTP port, payload types 64-95 would be
  // read as RTCP packet types 192-223 whenever the marker bit is set.
  for (const int pt : {static_cast<int>(config.payload_type),
                       static_cast<int>(config.telephone_event_payload_type)}) {
    if (config.rtcp_mux && pt >= 64 && pt <= 95) {
      return absl::InvalidArgumentError(absl::StrCat(
          "payload type ", pt,
          " collides with RTCP packet types when RTCP is muxed (RFC 5761): "
          "use 96-127"));
    }
  }
  // Sockets bound to an IPv4 address cannot send to an IPv6 one (and the
  // reverse): refuse the leg rather than have it send nothing.
  const bool bind_v6 = options_.bind_ip.find(':') != std::string::npos;
  for (const auto* remote : {&config.remote_rtp, &config.remote_rtcp}) {
    if (remote->has_value() && (*remote)->is_ipv6() != bind_v6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "remote address ", (*remote)->ip(), " is IPv", bind_v6 ? "4" : "6",
          " but this engine's media sockets are IPv", bind_v6 ? "6" : "4",
          " (--media_bind_ip=", options_.bind_ip, ")"));
    }
  }
  return absl::OkStatus();
}

Worker* Engine::PickWorker() {
  Worker* best = workers_.front().get();
  for (auto& worker : workers_) {
    if (worker->room_count().load() < best->room_count().load()) {
      best = worker.get();
    }
  }
  return best;
}

LegDescription Engine::Describe(const std::string& room_id,
                                const RoomRecord& room,
                                const std::string& leg_id,
                                const LegRecord& leg) {
  LegDescription description;
  description.room_id = room_id;
  description.leg_id = leg_id;
  description.config = leg.config;
  description.media_ip = options_.media_ip;
  description.rtp_port = leg.rtp_port;
  description.rtcp_port = leg.rtcp_port;
  Room* live = room.room;
  const int member = leg.member;
  std::optional<LegStats> stats = room.worker->Call([live, member] {
    Leg* l = live->leg(member);
    return l ? std::optional<LegStats>(l->Snapshot()) : std::nullopt;
  });
  if (stats) {
    description.stats = *stats;
    description.latched_remote = stats->remote;
  }
  return description;
}

absl::StatusOr<LegDescription> Engine::AddLeg(LegSpec spec) {
  if (spec.room_id.empty() || spec.room_id.size() > 256) {
    return absl::InvalidArgumentError("room_id must be 1-256 characters");
  }
  if (spec.leg_id.empty() || spec.leg_id.size() > 64) {
    return absl::InvalidArgumentError("leg_id must be 1-64 characters");
  }
  if (absl::Status valid = CheckLegConfig(spec.config); !valid.ok()) {
    return valid;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(spec.room_id);
  if (room_it != rooms_.end()) {
    auto leg_it = room_it->second.legs.find(spec.leg_id);
    if (leg_it != room_it->second.legs.end()) {
      if (!spec.request_id.empty() &&
          leg_it->second.request_id == spec.request_id) {
        return Describe(spec.room_id, room_it->second, spec.leg_id,
                        leg_it->second);  // a retry: same answer
      }
      return absl::AlreadyExistsError(absl::StrCat("leg '", spec.leg_id,
                                                   "' already exists in room '",
                                                   spec.room_id, "'"));
    }
  } else {
    if (draining_) {
      return absl::FailedPreconditionError(
          "engine is draining: it takes no new rooms");
    }
    if (static_cast<int>(rooms_.size()) >= options_.capacity_rooms) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "engine at capacity (", options_.capacity_rooms, " rooms)"));
    }
  }

  spec.config.rtcp_interval = options_.rtcp_interval;
  // Keys: the engine's own, fresh for every leg.
  if (spec.config.remote_key) {
    const srtp::SrtpCryptoSuite suite =
        spec.local_suite.value_or(spec.config.remote_key->suite());
    auto key = srtp::SrtpKeyMaterial::Generate(suite);
    if (!key.ok()) return key.status();
    spec.config.local_key = *key;
  } else {
    spec.config.local_key.reset();
  }
  auto sockets = ports_.Allocate(!spec.config.rtcp_mux);
  if (!sockets.ok()) return sockets.status();
  const uint16_t rtp_port = sockets->rtp.local_address().port();
  const uint16_t rtcp_port =
      sockets->rtcp.valid() ? sockets->rtcp.local_address().port() : rtp_port;

  const bool new_room = room_it == rooms_.end();
  if (new_room) {
    RoomRecord record;
    record.worker = PickWorker();
    record.create_time = absl::Now();
    const std::string room_id = spec.room_id;
    Worker* worker = record.worker;
    const Micros origin = clock_.Now();
    record.room = worker->Call([worker, room_id, origin] {
      auto room = std::make_unique<Room>(room_id, origin, worker->loop(),
                                         &worker->counters());
      Room* raw = room.get();
      worker->rooms()[room_id] = std::move(room);
      return raw;
    });
    worker->room_count().fetch_add(1);
    room_it = rooms_.emplace(spec.room_id, std::move(record)).first;
  }
  RoomRecord& room = room_it->second;
  int member = -1;
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    if (!room.used[i]) {
      member = i;
      break;
    }
  }
  if (member < 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "room '", spec.room_id, "' has ", kMaxRoomMembers, " legs already"));
  }
  auto leg = Leg::Create(member, spec.config, std::move(*sockets), room.room);
  if (!leg.ok()) {
    if (new_room && room.legs.empty()) {
      Room* live = room.room;
      Worker* worker = room.worker;
      const std::string id = spec.room_id;
      worker->Call([worker, id] { return worker->rooms().erase(id); });
      worker->room_count().fetch_sub(1);
      (void)live;
      rooms_.erase(room_it);
    }
    return leg.status();
  }
  Room* live = room.room;
  std::unique_ptr<Leg> owned = std::move(*leg);
  absl::Status added = room.worker->Call([live, member, &owned] {
    return live->AddLeg(member, std::move(owned));
  });
  if (!added.ok()) return added;
  room.used[member] = true;
  LegRecord record;
  record.member = member;
  record.config = spec.config;
  record.rtp_port = rtp_port;
  record.rtcp_port = rtcp_port;
  record.request_id = spec.request_id;
  auto inserted = room.legs.emplace(spec.leg_id, std::move(record)).first;
  return Describe(spec.room_id, room, spec.leg_id, inserted->second);
}

absl::StatusOr<LegDescription> Engine::UpdateLeg(const std::string& room_id,
                                                 const std::string& leg_id,
                                                 const LegUpdate& update) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return NoRoom(room_id);
  auto leg_it = room_it->second.legs.find(leg_id);
  if (leg_it == room_it->second.legs.end()) return NoLeg(room_id, leg_id);
  LegConfig config = leg_it->second.config;
  if (update.codec) config.codec = *update.codec;
  if (update.payload_type) config.payload_type = *update.payload_type;
  if (update.telephone_event_payload_type) {
    config.telephone_event_payload_type = *update.telephone_event_payload_type;
  }
  if (update.ptime_ms) config.ptime_ms = *update.ptime_ms;
  if (update.remote_rtp) config.remote_rtp = update.remote_rtp;
  if (update.remote_rtcp) config.remote_rtcp = update.remote_rtcp;
  if (update.remote_key) {
    if (!config.remote_key) {
      return absl::InvalidArgumentError(
          "offer.remote_key: a leg cannot change between SRTP and plain RTP "
          "in place (that would downgrade or upgrade what was negotiated); "
          "remove the leg and add it again");
    }
    config.remote_key = update.remote_key;
  }
  if (absl::Status valid = CheckLegConfig(config); !valid.ok()) return valid;
  if (update.rotate_local_key && config.local_key) {
    auto key = srtp::SrtpKeyMaterial::Generate(config.local_key->suite());
    if (!key.ok()) return key.status();
    config.local_key = *key;
  }
  Room* live = room_it->second.room;
  const int member = leg_it->second.member;
  absl::Status status = room_it->second.worker->Call(
      [live, member, &config] { return live->UpdateLeg(member, config); });
  if (!status.ok()) return status;
  leg_it->second.config = config;
  return Describe(room_id, room_it->second, leg_id, leg_it->second);
}

absl::StatusOr<LegStats> Engine::RemoveLeg(const std::string& room_id,
                                           const std::string& leg_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return NoRoom(room_id);
  RoomRecord& room = room_it->second;
  auto leg_it = room.legs.find(leg_id);
  if (leg_it == room.legs.end()) return NoLeg(room_id, leg_id);
  Room* live = room.room;
  const int member = leg_it->second.member;
  LegStats stats = room.worker->Call([live, member] {
    std::unique_ptr<Leg> leg = live->RemoveLeg(member);
    return leg ? leg->Snapshot() : LegStats{};
  });
  room.used[member] = false;
  room.legs.erase(leg_it);
  const size_t entries = room.routing.size();
  room.routing.erase(std::remove_if(room.routing.begin(), room.routing.end(),
                                    [&](const RoutingEntry& e) {
                                      return e.source_leg_id == leg_id ||
                                             e.sink_leg_id == leg_id;
                                    }),
                     room.routing.end());
  // The matrix in force changed: a compare-and-set against the old one
  // must fail.
  if (room.routing.size() != entries) room.generation += 1;
  return stats;
}

absl::StatusOr<RoutingResult> Engine::SetRouting(
    const std::string& room_id, const std::vector<RoutingEntry>& entries,
    uint64_t expected_generation) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return NoRoom(room_id);
  RoomRecord& room = room_it->second;
  if (expected_generation != 0 && expected_generation != room.generation) {
    return absl::AbortedError(
        absl::StrCat("routing generation is ", room.generation, ", not ",
                     expected_generation, "; re-read and retry"));
  }
  RoutingMatrix matrix;
  std::array<std::array<bool, kMaxRoomMembers>, kMaxRoomMembers> listed{};
  for (const RoutingEntry& entry : entries) {
    auto source = room.legs.find(entry.source_leg_id);
    auto sink = room.legs.find(entry.sink_leg_id);
    if (source == room.legs.end() || sink == room.legs.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "routing names leg '",
          source == room.legs.end() ? entry.source_leg_id : entry.sink_leg_id,
          "', which is not in room '", room_id, "'"));
    }
    const std::string pair = absl::StrCat("routing ", entry.source_leg_id,
                                          " -> ", entry.sink_leg_id);
    if (source == sink) {
      return absl::InvalidArgumentError(
          absl::StrCat(pair, ": a leg never hears itself"));
    }
    if (!(entry.gain >= 0.0f && entry.gain <= kMaxGain)) {
      return absl::InvalidArgumentError(
          absl::StrCat(pair, ": gain ", entry.gain, " is outside 0-", kMaxGain,
                       " (0 silent, 1 unity)"));
    }
    bool& seen = listed[static_cast<size_t>(source->second.member)]
                       [static_cast<size_t>(sink->second.member)];
    if (seen) {
      return absl::InvalidArgumentError(
          absl::StrCat(pair, " is listed twice; list each pair once"));
    }
    seen = true;
    absl::Status status =
        matrix.Set(source->second.member, sink->second.member, entry.gain);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("routing ", entry.source_leg_id, " -> ",
                       entry.sink_leg_id, ": ", status.message()));
    }
  }
  matrix.set_generation(room.generation + 1);
  Room* live = room.room;
  const int64_t slot =
      room.worker->Call([live, &matrix] { return live->SetRouting(matrix); });
  room.generation += 1;
  room.routing = entries;
  RoutingResult result;
  result.generation = room.generation;
  result.effective_media_time = absl::Microseconds(slot * kFrameMicros);
  return result;
}

absl::StatusOr<absl::Duration> Engine::PlayClip(
    const std::string& room_id, const std::vector<std::string>& sinks,
    ClipPlayer clip) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return NoRoom(room_id);
  std::vector<int> members;
  for (const std::string& sink : sinks) {
    auto leg_it = room_it->second.legs.find(sink);
    if (leg_it == room_it->second.legs.end()) return NoLeg(room_id, sink);
    members.push_back(leg_it->second.member);
  }
  const absl::Duration duration = absl::Milliseconds(clip.duration_ms());
  Room* live = room_it->second.room;
  room_it->second.worker->Call([live, &members, &clip] {
    live->PlayClip(members, clip);
    return true;
  });
  return duration;
}

absl::Status Engine::DeleteRoom(const std::string& room_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return NoRoom(room_id);
  Worker* worker = room_it->second.worker;
  worker->Call([worker, room_id] {
    auto found = worker->rooms().find(room_id);
    if (found != worker->rooms().end()) {
      found->second->Close();
      worker->rooms().erase(found);
    }
    return true;
  });
  worker->room_count().fetch_sub(1);
  rooms_.erase(room_it);
  return absl::OkStatus();
}

void Engine::DeleteAllRooms() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, room] : rooms_) ids.push_back(id);
  }
  for (const std::string& id : ids) (void)DeleteRoom(id);
}

std::vector<RoomDescription> Engine::ListRooms() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RoomDescription> rooms;
  for (const auto& [id, room] : rooms_) {
    RoomDescription description;
    description.room_id = id;
    for (const auto& [leg_id, leg] : room.legs) {
      description.legs.push_back(Describe(id, room, leg_id, leg));
    }
    description.routing = room.routing;
    description.routing_generation = room.generation;
    description.create_time = room.create_time;
    rooms.push_back(std::move(description));
  }
  return rooms;
}

absl::StatusOr<std::vector<RoomStatsDescription>> Engine::GetStats(
    const std::string& room_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!room_id.empty() && rooms_.find(room_id) == rooms_.end()) {
    return NoRoom(room_id);
  }
  std::vector<RoomStatsDescription> result;
  for (const auto& [id, room] : rooms_) {
    if (!room_id.empty() && id != room_id) continue;
    Room* live = room.room;
    RoomSnapshot snapshot =
        room.worker->Call([live] { return live->Snapshot(); });
    RoomStatsDescription stats;
    stats.room_id = id;
    stats.frames_mixed = snapshot.frames_mixed;
    stats.frames_skipped = snapshot.frames_skipped;
    stats.frames_mixed_at_deadline = snapshot.frames_mixed_at_deadline;
    for (const auto& [leg_id, leg] : room.legs) {
      if (snapshot.legs[leg.member])
        stats.legs[leg_id] = *snapshot.legs[leg.member];
    }
    result.push_back(std::move(stats));
  }
  return result;
}

absl::StatusOr<std::shared_ptr<TapQueue>> Engine::OpenTap(
    const std::string& room_id, bool telephone_events) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return NoRoom(room_id);
  auto tap = std::make_shared<TapQueue>();
  Room* live = room_it->second.room;
  room_it->second.worker->Call([live, tap, telephone_events] {
    live->AddTap(tap, telephone_events);
    return true;
  });
  return tap;
}

std::string Engine::LegIdOf(const std::string& room_id, int member) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return "";
  for (const auto& [leg_id, leg] : room_it->second.legs) {
    if (leg.member == member) return leg_id;
  }
  return "";
}

int Engine::StartDrain() {
  std::lock_guard<std::mutex> lock(mutex_);
  draining_ = true;
  return static_cast<int>(rooms_.size());
}

EngineStatus Engine::Status() {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStatus status;
  status.active_rooms = static_cast<int>(rooms_.size());
  for (const auto& [id, room] : rooms_) {
    status.active_legs += static_cast<int>(room.legs.size());
  }
  status.draining = draining_;
  return status;
}

EngineCounters Engine::Counters() {
  EngineCounters total;
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    total.Add(w->Call([w] {
      EngineCounters counters = w->counters();
      counters.loop_wakeups = w->loop()->iterations();
      counters.loop_events = w->loop()->io_events();
      return counters;
    }));
  }
  return total;
}

}  // namespace sotto::media
