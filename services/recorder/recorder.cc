#include "services/recorder/recorder.h"

#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/common/logging.h"
#include "services/recorder/proto_time.h"

namespace sotto::recorder {
namespace {

namespace kit = service_kit;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr size_t kChunkBytes = 64 * 1024;

std::string NewRecordingId() {
  static thread_local absl::BitGen bits;
  return absl::StrFormat("rec-%016x", absl::Uniform<uint64_t>(bits));
}

// "tenants/{t}/calls/{c}" -> t.
absl::StatusOr<std::string> TenantOfCall(const std::string& call) {
  std::vector<std::string> parts = absl::StrSplit(call, '/');
  if (parts.size() != 4 || parts[0] != "tenants" || parts[1].empty() ||
      parts[2] != "calls" || parts[3].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "call must be \"tenants/{tenant}/calls/{call}\", got \"", call, "\""));
  }
  return parts[1];
}

std::string FilterFingerprint(const v1::ListRecordingsRequest& r) {
  return absl::StrCat(r.call(), "\x1f", r.team(), "\x1f", r.agent_id(), "\x1f",
                      r.time_range().SerializeAsString());
}

bool Readable(v1::Recording::State state) {
  return state == v1::Recording::FINISHED || state == v1::Recording::RECOVERED;
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> ParseRecordingName(
    const std::string& name, const std::string& field) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "tenants" || parts[1].empty() ||
      parts[2] != "recordings" || parts[3].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     " must be \"tenants/{tenant}/recordings/{id}\", "
                     "got \"",
                     name, "\""));
  }
  return std::make_pair(parts[1], parts[3]);
}

RecorderMetrics::RecorderMetrics(prometheus::Registry& registry)
    : active(&prometheus::BuildGauge()
                  .Name("sotto_recorder_active_recordings")
                  .Help("Recordings being written now (active or paused).")
                  .Register(registry)
                  .Add({})),
      bytes_written(&prometheus::BuildCounter()
                         .Name("sotto_recorder_bytes_written_total")
                         .Help("Audio bytes written to recording files.")
                         .Register(registry)
                         .Add({})),
      fsync_seconds(&prometheus::BuildHistogram()
                         .Name("sotto_recorder_fsync_seconds")
                         .Help("Latency of a recording file's header "
                               "rewrite and fdatasync.")
                         .Register(registry)
                         .Add({},
                              prometheus::Histogram::BucketBoundaries{
                                  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05, 0.1, 0.25, 0.5, 1})),
      gaps(&prometheus::BuildCounter()
                .Name("sotto_recorder_gaps_total")
                .Help("Gaps marked in recordings (tap broke, frames dropped, "
                      "a leg sent nothing for a second or more, restart).")
                .Register(registry)
                .Add({})),
      failures(&prometheus::BuildCounter()
                    .Name("sotto_recorder_failures_total")
                    .Help("Recording failures by stage (start, write, "
                          "finish, recover, retention).")
                    .Register(registry)) {
  for (const char* stage :
       {"start", "write", "finish", "recover", "retention"}) {
    failures->Add({{"stage", stage}});
  }
}

void RecorderMetrics::Failure(const std::string& stage) {
  failures->Add({{"stage", stage}}).Increment();
}

Recorder::Recorder(RecordingStore* store, TapSource* taps,
                   service_kit::PolicyClient* policy,
                   prometheus::Registry& registry, RecorderOptions options)
    : store_(store),
      taps_(taps),
      policy_(policy),
      metrics_(registry),
      options_(std::move(options)) {}

Recorder::~Recorder() { Shutdown(); }

absl::Status Recorder::Start() {
  auto unfinished =
      store_->ListInStates({v1::Recording::ACTIVE, v1::Recording::PAUSED});
  if (!unfinished.ok()) return unfinished.status();
  for (const StoredRecording& stored : *unfinished) {
    if (absl::Status status = Recover(stored); !status.ok()) {
      metrics_.Failure("recover");
      kit::LogError("recording could not be recovered",
                    {{"recording", stored.recording.name()},
                     {"error", status.ToString()}});
      StoredRecording failed = stored;
      failed.recording.set_state(v1::Recording::FAILED);
      v1::Recording::Gap* gap = failed.recording.add_gaps();
      *gap->mutable_range()->mutable_start_time() = ToProtoTime(Now());
      gap->set_reason(absl::StrCat("not recovered: ", status.message()));
      (void)store_->Put(failed);
      AuditEvent(failed.recording, v1::EVENT_TYPE_RECORDING_FAILED, "recorder",
                 std::string(status.message()));
    }
  }
  std::lock_guard<std::mutex> lock(threads_mu_);
  stopping_ = false;
  writer_ = std::thread([this] { WriterLoop(); });
  retention_ = std::thread([this] { RetentionLoop(); });
  return absl::OkStatus();
}

absl::Status Recorder::Recover(const StoredRecording& stored) {
  const absl::Time now = Now();
  absl::Status room =
      options_.resume_after_restart
          ? taps_->CheckRoom(stored.engine_address, stored.room_id)
          : absl::FailedPreconditionError("resume disabled");
  if (room.ok()) {
    auto session = RecordingSession::Reopen(options_.session, stored.recording,
                                            stored.policy, stored.legs,
                                            "recorder restarted", now);
    if (!session.ok()) return session.status();
    auto live = std::make_shared<Live>();
    live->session = *std::move(session);
    live->engine_address = stored.engine_address;
    live->room_id = stored.room_id;
    if (absl::Status status = Persist(*live); !status.ok()) return status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_[stored.recording.name()] = live;
    }
    StartReader(live);
    kit::LogInfo("recording resumed after restart",
                 {{"recording", stored.recording.name()}});
    return absl::OkStatus();
  }
  auto finished = RecordingSession::FinalizeAfterCrash(
      options_.session, stored.recording,
      absl::StrCat("recorder stopped; not resumed: ", room.message()), now);
  if (!finished.ok()) return finished.status();
  metrics_.gaps->Increment();
  StoredRecording updated = stored;
  updated.recording = *std::move(finished);
  if (absl::Status status = store_->Put(updated); !status.ok()) return status;
  AuditEvent(updated.recording, v1::EVENT_TYPE_RECORDING_STOPPED, "recorder",
             "recovered after a crash");
  kit::LogInfo("recording repaired and finalised after restart",
               {{"recording", stored.recording.name()},
                {"why", std::string(room.message())}});
  return absl::OkStatus();
}

void Recorder::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    stopping_ = true;
  }
  threads_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (retention_.joinable()) retention_.join();
  std::map<std::string, std::shared_ptr<Live>> lives;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lives.swap(live_);
  }
  const absl::Time now = Now();
  for (auto& [name, live] : lives) {
    live->reader->Stop();
    auto stats = live->session->Tick(now);
    absl::Status status =
        stats.ok() ? live->session->SyncNow(now) : stats.status();
    if (status.ok()) status = Persist(*live);
    if (!status.ok()) {
      kit::LogError("recording not synced at shutdown",
                    {{"recording", name}, {"error", status.ToString()}});
    }
  }
}

void Recorder::WriterLoop() {
  std::unique_lock<std::mutex> lock(threads_mu_);
  while (!stopping_) {
    lock.unlock();
    TickAll();
    lock.lock();
    threads_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.tick),
                         [this] { return stopping_; });
  }
}

void Recorder::RetentionLoop() {
  if (options_.retention_interval <= absl::ZeroDuration()) return;
  std::unique_lock<std::mutex> lock(threads_mu_);
  while (!threads_cv_.wait_for(
      lock, absl::ToChronoMilliseconds(options_.retention_interval),
      [this] { return stopping_; })) {
    lock.unlock();
    auto result = ApplyRetention(v1::ApplyRetentionRequest());
    if (!result.ok()) {
      kit::LogError("retention failed",
                    {{"error", result.status().ToString()}});
    }
    lock.lock();
  }
}

void Recorder::TickAll() {
  std::vector<std::pair<std::string, std::shared_ptr<Live>>> lives;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lives.assign(live_.begin(), live_.end());
    metrics_.active->Set(static_cast<double>(live_.size()));
  }
  const absl::Time now = Now();
  for (auto& [name, live] : lives) {
    auto stats = live->session->Tick(now);
    if (!stats.ok()) {
      // A write error (disk full, I/O): the recording fails rather than
      // silently missing audio.
      metrics_.Failure("write");
      kit::LogError(
          "recording write failed",
          {{"recording", name}, {"error", stats.status().ToString()}});
      live->session->Fail(now);
      v1::Recording snapshot = live->session->Snapshot();
      (void)Persist(*live);
      AuditEvent(snapshot, v1::EVENT_TYPE_RECORDING_FAILED, "recorder",
                 std::string(stats.status().message()));
    } else {
      metrics_.bytes_written->Increment(
          static_cast<double>(stats->bytes_written));
      for (absl::Duration d : stats->fsync_latencies) {
        metrics_.fsync_seconds->Observe(absl::ToDoubleSeconds(d));
      }
      if (stats->gaps_opened > 0) metrics_.gaps->Increment(stats->gaps_opened);
      if (stats->index_changed) (void)Persist(*live);
    }
    if (live->session->finished()) {
      bool mine;
      {
        std::lock_guard<std::mutex> lock(mu_);
        mine = live_.erase(name) > 0;
      }
      if (mine) {
        live->reader->Stop();
        (void)Persist(*live);
      }
    }
  }
}

std::shared_ptr<Recorder::Live> Recorder::FindLive(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = live_.find(name);
  return found == live_.end() ? nullptr : found->second;
}

absl::Status Recorder::Persist(const Live& live) {
  StoredRecording stored;
  stored.recording = live.session->Snapshot();
  auto parsed = ParseRecordingName(stored.recording.name());
  if (!parsed.ok()) return parsed.status();
  stored.id = parsed->second;
  stored.engine_address = live.engine_address;
  stored.room_id = live.room_id;
  stored.policy = live.session->policy();
  stored.legs = live.session->Legs();
  return store_->Put(stored);
}

void Recorder::StartReader(const std::shared_ptr<Live>& live) {
  RecordingSession* session = live->session.get();
  const std::string name = session->Snapshot().name();
  TapCallbacks callbacks;
  callbacks.connected = [session](absl::Time now) {
    session->OnTapConnected(now);
  };
  callbacks.message = [session](const v1::TapMessage& message, absl::Time now) {
    session->OnTapMessage(message, now);
  };
  callbacks.broken = [session, name](const std::string& reason,
                                     absl::Time now) {
    kit::LogWarning("tap stream broke; reconnecting",
                    {{"recording", name}, {"reason", reason}});
    session->OnTapBroken(reason, now);
  };
  callbacks.room_gone = [this, name](const absl::Status& why) {
    OnRoomGone(name, why);
  };
  live->reader =
      std::make_unique<TapReader>(taps_, live->engine_address, live->room_id,
                                  session->policy().keep_telephone_events(),
                                  std::move(callbacks), options_.tap);
  live->reader->Start();
}

void Recorder::OnRoomGone(const std::string& name, const absl::Status& why) {
  // On the reader's own thread: finish the session here; TickAll removes it
  // and joins the (then finished) reader thread.
  std::shared_ptr<Live> live = FindLive(name);
  if (live == nullptr) return;
  kit::LogWarning("room gone without StopRecording; recording finished",
                  {{"recording", name}, {"why", std::string(why.message())}});
  (void)live->session->Stop(Now(), v1::Recording::FINISHED);
}

void Recorder::AuditEvent(const v1::Recording& recording, v1::EventType type,
                          const std::string& subject,
                          const std::string& detail) {
  AuditEntry entry;
  entry.time = Now();
  entry.tenant = recording.tenant();
  entry.recording = recording.name();
  entry.type = type;
  entry.subject = subject;
  entry.detail = detail;
  if (absl::Status status = store_->Audit(entry); !status.ok()) {
    metrics_.Failure("audit");
    kit::LogError("audit entry not stored",
                  {{"recording", recording.name()},
                   {"event", v1::EventType_Name(type)},
                   {"error", status.ToString()}});
  }
  kit::LogInfo("recording audit", {{"recording", recording.name()},
                                   {"event", v1::EventType_Name(type)},
                                   {"subject", subject},
                                   {"detail", detail}});
}

absl::StatusOr<v1::Recording> Recorder::Idempotent(
    const std::string& tenant, const std::string& method,
    const std::string& request_id,
    const std::function<absl::StatusOr<v1::Recording>()>& body) {
  if (!request_id.empty()) {
    auto remembered = store_->FindResponse(tenant, method, request_id);
    if (!remembered.ok()) return remembered.status();
    if (remembered->has_value()) {
      v1::Recording answer;
      if (!answer.ParseFromString(**remembered)) {
        return absl::DataLossError("unreadable remembered response");
      }
      return answer;
    }
  }
  absl::StatusOr<v1::Recording> answer = body();
  if (answer.ok() && !request_id.empty()) {
    if (absl::Status status = store_->RememberResponse(
            tenant, method, request_id, answer->SerializeAsString());
        !status.ok()) {
      return status;
    }
  }
  return answer;
}

absl::StatusOr<v1::Recording> Recorder::StartRecording(
    const v1::StartRecordingRequest& request) {
  auto tenant = TenantOfCall(request.call());
  if (!tenant.ok()) return tenant.status();
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError("request_id is required");
  }
  if (request.engine_address().empty()) {
    return absl::InvalidArgumentError(
        "engine_address is required (the media engine's control host:port)");
  }
  if (request.room_id().empty()) {
    return absl::InvalidArgumentError("room_id is required");
  }
  if (!request.has_policy()) {
    return absl::InvalidArgumentError(
        "policy is required (the tenant's RecordingPolicy from "
        "Policy.GetRecordingPolicy)");
  }
  std::vector<LegBinding> legs;
  for (const auto& [leg_id, role] : request.legs()) {
    if (role == v1::ROLE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("legs[\"", leg_id, "\"] needs a role"));
    }
    LegBinding leg;
    leg.leg_id = leg_id;
    leg.role = role;
    if (role == v1::ROLE_AGENT) leg.user_id = request.agent_id();
    legs.push_back(leg);
  }
  std::lock_guard<std::mutex> start_lock(start_mu_);
  return Idempotent(
      *tenant, "StartRecording", request.request_id(),
      [&]() -> absl::StatusOr<v1::Recording> {
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (const auto& [name, live] : live_) {
            v1::Recording snapshot = live->session->Snapshot();
            if (snapshot.call() == request.call() &&
                (snapshot.state() == v1::Recording::ACTIVE ||
                 snapshot.state() == v1::Recording::PAUSED)) {
              return snapshot;
            }
          }
        }
        if (!request.policy().enabled()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the recording policy of tenant ", *tenant,
              " does not record this call (recording.enabled is false)"));
        }
        if (request.policy().require_disclosure() &&
            !request.monitoring_disclosed()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the recording policy of tenant ", *tenant,
              " requires disclosure (recording.require_disclosure) and the "
              "customer was not told (monitoring_disclosed is false)"));
        }
        if (absl::Status room =
                taps_->CheckRoom(request.engine_address(), request.room_id());
            !room.ok()) {
          metrics_.Failure("start");
          if (absl::IsNotFound(room)) {
            return absl::FailedPreconditionError(room.message());
          }
          return absl::UnavailableError(room.message());
        }
        v1::Recording recording;
        const std::string id = NewRecordingId();
        recording.set_name(
            absl::StrCat("tenants/", *tenant, "/recordings/", id));
        recording.set_tenant(*tenant);
        recording.set_call(request.call());
        recording.set_queue(request.queue());
        recording.set_team(request.team());
        recording.set_agent_id(request.agent_id());
        auto session = RecordingSession::Create(options_.session, recording,
                                                request.policy(), legs, Now());
        if (!session.ok()) {
          metrics_.Failure("start");
          return session.status();
        }
        auto live = std::make_shared<Live>();
        live->session = *std::move(session);
        live->engine_address = request.engine_address();
        live->room_id = request.room_id();
        if (absl::Status status = Persist(*live); !status.ok()) {
          metrics_.Failure("start");
          return status;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          live_[live->session->Snapshot().name()] = live;
        }
        StartReader(live);
        v1::Recording snapshot = live->session->Snapshot();
        AuditEvent(snapshot, v1::EVENT_TYPE_RECORDING_STARTED, "broker",
                   absl::StrCat("room ", request.room_id(), " on ",
                                request.engine_address()));
        return snapshot;
      });
}

absl::StatusOr<StoredRecording> Recorder::Load(const std::string& tenant,
                                               const std::string& id) {
  auto stored = store_->Get(tenant, id);
  if (!stored.ok()) return stored.status();
  if (std::shared_ptr<Live> live = FindLive(stored->recording.name())) {
    stored->recording = live->session->Snapshot();  // fresher sizes
  }
  return stored;
}

absl::StatusOr<v1::Recording> Recorder::Finish(const std::string& name,
                                               v1::Recording::State state) {
  std::shared_ptr<Live> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = live_.find(name);
    if (found != live_.end()) {
      live = found->second;
      live_.erase(found);
    }
  }
  if (live == nullptr) return absl::NotFoundError(name);
  live->reader->Stop();
  auto stats = live->session->Stop(Now(), state);
  if (!stats.ok()) {
    metrics_.Failure("finish");
    return stats.status();
  }
  metrics_.bytes_written->Increment(static_cast<double>(stats->bytes_written));
  if (stats->gaps_opened > 0) metrics_.gaps->Increment(stats->gaps_opened);
  if (absl::Status status = Persist(*live); !status.ok()) return status;
  return live->session->Snapshot();
}

absl::StatusOr<v1::Recording> Recorder::StopRecording(
    const v1::StopRecordingRequest& request) {
  auto parsed = ParseRecordingName(request.name());
  if (!parsed.ok()) return parsed.status();
  return Idempotent(
      parsed->first, "StopRecording", request.request_id(),
      [&]() -> absl::StatusOr<v1::Recording> {
        auto finished = Finish(request.name(), v1::Recording::FINISHED);
        if (finished.ok()) {
          AuditEvent(*finished, v1::EVENT_TYPE_RECORDING_STOPPED, "broker", "");
          return finished;
        }
        if (!absl::IsNotFound(finished.status())) {
          return finished.status();
        }
        // Not live: stopping a stopped recording returns it.
        auto stored = store_->Get(parsed->first, parsed->second);
        if (!stored.ok()) return stored.status();
        return stored->recording;
      });
}

absl::StatusOr<v1::Recording> Recorder::MutateLive(
    const std::string& name, const std::string& method,
    const std::string& request_id, const std::string& not_live,
    const std::function<absl::Status(RecordingSession&)>& change,
    v1::EventType audit, const std::string& detail) {
  auto parsed = ParseRecordingName(name);
  if (!parsed.ok()) return parsed.status();
  if (request_id.empty()) {
    return absl::InvalidArgumentError("request_id is required");
  }
  return Idempotent(
      parsed->first, method, request_id,
      [&]() -> absl::StatusOr<v1::Recording> {
        std::shared_ptr<Live> live = FindLive(name);
        if (live == nullptr) {
          auto stored = store_->Get(parsed->first, parsed->second);
          if (!stored.ok()) return stored.status();
          return absl::FailedPreconditionError(absl::StrCat(
              name, " is ",
              v1::Recording::State_Name(stored->recording.state()), not_live));
        }
        if (absl::Status status = change(*live->session); !status.ok()) {
          return status;
        }
        if (absl::Status status = Persist(*live); !status.ok()) return status;
        v1::Recording snapshot = live->session->Snapshot();
        if (audit != v1::EVENT_TYPE_UNSPECIFIED) {
          AuditEvent(snapshot, audit, "broker", detail);
        }
        return snapshot;
      });
}

absl::StatusOr<v1::Recording> Recorder::PauseRecording(
    const v1::PauseRecordingRequest& request) {
  return MutateLive(
      request.name(), "PauseRecording", request.request_id(), ", not ACTIVE",
      [&](RecordingSession& session) {
        return session.Pause(request.reason(), Now());
      },
      v1::EVENT_TYPE_RECORDING_PAUSED, request.reason());
}

absl::StatusOr<v1::Recording> Recorder::ResumeRecording(
    const v1::ResumeRecordingRequest& request) {
  return MutateLive(
      request.name(), "ResumeRecording", request.request_id(), ", not PAUSED",
      [&](RecordingSession& session) { return session.Resume(Now()); },
      v1::EVENT_TYPE_RECORDING_RESUMED, "");
}

absl::StatusOr<v1::Recording> Recorder::AnnotateRecording(
    const v1::AnnotateRecordingRequest& request) {
  if (request.added_leg_id().empty() && request.supervision().empty()) {
    return absl::InvalidArgumentError(
        "nothing to annotate: set added_leg_id and/or supervision");
  }
  return MutateLive(
      request.name(), "AnnotateRecording", request.request_id(),
      "; nothing to annotate",
      [&](RecordingSession& session) {
        return session.Annotate(request, Now());
      },
      v1::EVENT_TYPE_UNSPECIFIED, "");
}

absl::StatusOr<v1::Principal> Recorder::Authenticate(const std::string& token) {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no bearer token: send `authorization: Bearer <JWT>` metadata");
  }
  if (policy_ == nullptr) {
    return absl::UnavailableError("no policy service configured");
  }
  return policy_->Authenticate(token);
}

absl::Status Recorder::CheckRead(const v1::Principal& principal,
                                 const v1::Recording& recording) {
  v1::AuthorizeRequest request;
  *request.mutable_principal() = principal;
  request.set_action(v1::ACTION_RECORDINGS_READ);
  v1::ResourceAttributes* resource = request.mutable_resource();
  resource->set_tenant(recording.tenant());
  resource->set_call(recording.call());
  resource->set_queue(recording.queue());
  resource->set_agent_id(recording.agent_id());
  resource->set_team(recording.team());
  auto decision = policy_->Authorize(request);
  if (!decision.ok()) return decision.status();
  if (!decision->allowed()) {
    return absl::PermissionDeniedError(
        decision->reason().empty()
            ? absl::StrCat("no recording access to ", recording.name())
            : decision->reason());
  }
  return absl::OkStatus();
}

absl::StatusOr<Recorder::Access> Recorder::ReadAccess(
    const std::string& token, const std::string& name,
    const std::string& method) {
  auto parsed = ParseRecordingName(name);
  if (!parsed.ok()) return parsed.status();
  auto principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  if (principal->tenant() != parsed->first) {
    return absl::NotFoundError(absl::StrCat(name, " not found"));
  }
  auto stored = Load(parsed->first, parsed->second);
  if (!stored.ok()) return stored.status();
  if (absl::Status status = CheckRead(*principal, stored->recording);
      !status.ok()) {
    if (absl::IsPermissionDenied(status)) {
      AuditEvent(stored->recording, v1::EVENT_TYPE_ACCESS_DENIED,
                 principal->subject(), method);
    }
    return status;
  }
  return Access{*std::move(principal), stored->recording};
}

absl::StatusOr<v1::Recording> Recorder::GetRecording(
    const std::string& token, const v1::GetRecordingRequest& request) {
  auto access = ReadAccess(token, request.name(), "GetRecording");
  if (!access.ok()) return access.status();
  return access->recording;
}

absl::StatusOr<v1::ListRecordingsResponse> Recorder::ListRecordings(
    const std::string& token, const v1::ListRecordingsRequest& request) {
  std::vector<std::string> parent = absl::StrSplit(request.parent(), '/');
  if (parent.size() != 2 || parent[0] != "tenants" || parent[1].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parent must be \"tenants/{tenant}\", got \"", request.parent(), "\""));
  }
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  auto principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  if (principal->tenant() != parent[1]) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the token is for tenant ", principal->tenant(), ", not ", parent[1]));
  }
  const int page_size = request.page_size() == 0
                            ? kDefaultPageSize
                            : std::min(request.page_size(), kMaxPageSize);
  ListQuery query;
  query.tenant = parent[1];
  query.call = request.call();
  query.team = request.team();
  query.agent_id = request.agent_id();
  if (request.time_range().has_start_time()) {
    query.started_from = FromProtoTime(request.time_range().start_time());
  }
  if (request.time_range().has_end_time()) {
    query.started_before = FromProtoTime(request.time_range().end_time());
  }
  if (!request.page_token().empty()) {
    std::string decoded;
    std::vector<std::string> fields;
    int64_t start_us = 0;
    if (absl::WebSafeBase64Unescape(request.page_token(), &decoded)) {
      fields = absl::StrSplit(decoded, absl::MaxSplits('\x1e', 2));
    }
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &start_us) ||
        fields[2] != FilterFingerprint(request)) {
      return absl::InvalidArgumentError(
          "page_token is not from a previous ListRecordings with the same "
          "filters");
    }
    query.after = std::make_pair(absl::FromUnixMicros(start_us), fields[1]);
  }
  query.limit = page_size;
  v1::ListRecordingsResponse response;
  // Rows the caller may not read are skipped; decisions are cached per
  // (team, queue, agent), what the policy decides on.
  std::map<std::string, bool> allowed;
  while (true) {
    auto batch = store_->List(query);
    if (!batch.ok()) return batch.status();
    for (const StoredRecording& stored : *batch) {
      const v1::Recording& r = stored.recording;
      query.after = std::make_pair(FromProtoTime(r.start_time()), stored.id);
      const std::string key =
          absl::StrCat(r.team(), "\x1f", r.queue(), "\x1f", r.agent_id());
      auto decision = allowed.find(key);
      if (decision == allowed.end()) {
        absl::Status status = CheckRead(*principal, r);
        if (!status.ok() && !absl::IsPermissionDenied(status)) return status;
        decision = allowed.emplace(key, status.ok()).first;
      }
      if (!decision->second) continue;
      std::shared_ptr<Live> live = FindLive(r.name());
      *response.add_recordings() = live ? live->session->Snapshot() : r;
      if (response.recordings_size() == page_size) break;
    }
    const bool more = static_cast<int>(batch->size()) == query.limit;
    if (response.recordings_size() == page_size || !more) {
      if (more || response.recordings_size() == page_size) {
        response.set_next_page_token(absl::WebSafeBase64Escape(absl::StrCat(
            absl::ToUnixMicros(query.after->first), "\x1e", query.after->second,
            "\x1e", FilterFingerprint(request))));
      }
      return response;
    }
  }
}

absl::Status Recorder::DownloadRecording(
    const std::string& token, const v1::DownloadRecordingRequest& request,
    const std::function<bool(const v1::DownloadRecordingResponse&)>& write) {
  auto access = ReadAccess(token, request.name(), "DownloadRecording");
  if (!access.ok()) return access.status();
  const v1::Recording& recording = access->recording;
  const v1::Principal* principal = &access->principal;
  if (!Readable(recording.state())) {
    return absl::FailedPreconditionError(absl::StrCat(
        request.name(), " is ", v1::Recording::State_Name(recording.state()),
        recording.state() == v1::Recording::DELETED
            ? " (deleted by retention)"
            : "; download it once it is FINISHED"));
  }
  if (request.file() >= static_cast<uint32_t>(recording.files_size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("file must be below ", recording.files_size(),
                     " (the recording's number of files)"));
  }
  const v1::Recording::File& file =
      recording.files(static_cast<int>(request.file()));
  const std::string path =
      (std::filesystem::path(options_.session.storage_root) / file.path())
          .string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::DataLossError(absl::StrCat("the file ", file.path(), " of ",
                                            request.name(),
                                            " is missing from storage"));
  }
  AuditEvent(recording, v1::EVENT_TYPE_RECORDING_ACCESSED, principal->subject(),
             absl::StrCat("download ", file.path()));
  v1::DownloadRecordingResponse message;
  *message.mutable_file() = file;
  if (!write(message)) return absl::CancelledError("client went away");
  std::string chunk(kChunkBytes, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    message.Clear();
    message.set_chunk(chunk.data(), static_cast<size_t>(n));
    if (!write(message)) return absl::CancelledError("client went away");
  }
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("read error on ", file.path()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ApplyRetentionResponse> Recorder::ApplyRetention(
    const v1::ApplyRetentionRequest& request) {
  auto candidates =
      store_->ListInStates({v1::Recording::FINISHED, v1::Recording::RECOVERED,
                            v1::Recording::FAILED});
  if (!candidates.ok()) return candidates.status();
  const absl::Time now = Now();
  // The tenant's current limit wins over the one in force when recorded.
  std::map<std::pair<std::string, std::string>, absl::Duration> limits;
  v1::ApplyRetentionResponse response;
  for (StoredRecording& stored : *candidates) {
    v1::Recording& r = stored.recording;
    if (!request.tenant().empty() && r.tenant() != request.tenant()) continue;
    const auto key = std::make_pair(r.tenant(), r.queue());
    auto limit = limits.find(key);
    if (limit == limits.end()) {
      absl::Duration retention = FromProtoDuration(stored.policy.retention());
      if (policy_ != nullptr) {
        auto current = policy_->GetRecordingPolicy(r.tenant(), r.queue());
        if (current.ok()) retention = FromProtoDuration(current->retention());
      }
      limit = limits.emplace(key, retention).first;
    }
    if (limit->second <= absl::ZeroDuration()) continue;  // keep forever
    const absl::Time ended = r.has_end_time() ? FromProtoTime(r.end_time())
                                              : FromProtoTime(r.start_time());
    if (now - ended <= limit->second) continue;
    response.add_deleted_recordings(r.name());
    if (request.dry_run()) continue;
    std::error_code error;
    for (const v1::Recording::File& file : r.files()) {
      const std::filesystem::path path =
          std::filesystem::path(options_.session.storage_root) / file.path();
      std::filesystem::remove(path, error);
      if (error) {
        metrics_.Failure("retention");
        return absl::InternalError(
            absl::StrCat("cannot delete ", file.path(), ": ", error.message()));
      }
      std::filesystem::remove(path.parent_path(), error);  // if empty
      error.clear();
    }
    r.set_state(v1::Recording::DELETED);
    if (absl::Status status = store_->Put(stored); !status.ok()) {
      metrics_.Failure("retention");
      return status;
    }
    AuditEvent(r, v1::EVENT_TYPE_RECORDING_DELETED, "retention",
               absl::StrCat("older than the tenant's retention of ",
                            absl::FormatDuration(limit->second)));
  }
  return response;
}

}  // namespace sotto::recorder
