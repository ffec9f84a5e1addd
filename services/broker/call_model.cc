#include "services/broker/call_model.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sotto::broker {
namespace {

std::string RandomUuid() {
  // A random (version 4) UUID: unique across replicas without coordination.
  static thread_local absl::BitGen bits;
  uint64_t hi = absl::Uniform<uint64_t>(bits);
  uint64_t lo = absl::Uniform<uint64_t>(bits);
  hi = (hi & ~0xF000ULL) | 0x4000ULL;
  lo = (lo & ~(0xC0ULL << 56)) | (0x80ULL << 56);
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                         lo & 0xFFFFFFFFFFFFULL);
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t micros = absl::ToUnixMicros(t);
  out.set_seconds(micros / 1'000'000);
  out.set_nanos(static_cast<int32_t>((micros % 1'000'000) * 1000));
  return out;
}

bool Ended(const CallRecord& call) {
  return call.state == CallState::kEnded || call.state == CallState::kFailed;
}

v1::Event MakeEvent(CallRecord& call, v1::EventType type, absl::Time now) {
  v1::Event event;
  event.set_event_id(RandomUuid());
  event.set_tenant(call.tenant);
  event.set_type(type);
  *event.mutable_time() = ToProto(now);
  event.set_source("broker");
  event.set_call_sequence(call.next_event_sequence++);
  event.set_call(call.name());
  event.set_call_id(call.call_id);
  event.set_queue(call.queue);
  if (const ParticipantRecord* agent = call.Agent()) {
    event.set_agent_id(agent->user_id);
    event.set_team(agent->team);
  }
  return event;
}

void AddSupervision(const CallRecord& call, const SupervisionRecord& s,
                    v1::Event* event) {
  event->set_supervision(absl::StrCat(call.name(), "/supervisions/", s.id));
  event->set_supervisor(s.supervisor);
  event->set_mode(s.mode);
}

ParticipantRecord* FindParticipant(CallRecord& call, const std::string& id) {
  for (ParticipantRecord& p : call.participants) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

SupervisionRecord* FindMutableSupervision(CallRecord& call,
                                          const std::string& id) {
  for (SupervisionRecord& s : call.supervisions) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

void ChangeMode(SupervisionRecord& s, v1::Mode mode, absl::Time now) {
  s.time_in_mode[s.mode] += now - s.mode_time;
  s.mode = mode;
  s.mode_time = now;
}

void EndSupervision(CallRecord& call, SupervisionRecord& s,
                    SupervisionState state, const std::string& reason,
                    absl::Time now) {
  s.time_in_mode[s.mode] += now - s.mode_time;
  s.state = state;
  s.end_time = now;
  s.end_reason = reason;
  if (ParticipantRecord* p = FindParticipant(call, s.participant)) {
    p->connected = false;
    p->leave_time = now;
  }
}

bool Allowed(const SupervisionGrant& grant, v1::Mode mode) {
  return std::find(grant.allowed_modes.begin(), grant.allowed_modes.end(),
                   mode) != grant.allowed_modes.end();
}

absl::StatusOr<Change> Done(const CallRecord& call,
                            std::vector<v1::Event> events) {
  auto routing = CurrentRouting(call);
  if (!routing.ok()) return routing.status();
  return Change{std::move(events), *std::move(routing)};
}

absl::Status CheckMode(v1::Mode mode, const SupervisionGrant& grant) {
  if (mode == v1::MODE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "mode is required: MODE_LISTEN, MODE_WHISPER, MODE_BARGE or "
        "MODE_TAKEOVER");
  }
  if (!Allowed(grant, mode)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "your grant does not allow ", v1::Mode_Name(mode), " on this call"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string NewEventId() { return RandomUuid(); }

v1::Event MakeCallEvent(CallRecord& call, v1::EventType type, absl::Time now) {
  return MakeEvent(call, type, now);
}

std::string CallRecord::name() const {
  return absl::StrCat("tenants/", tenant, "/calls/", call_id);
}

const ParticipantRecord* CallRecord::Agent() const {
  for (const ParticipantRecord& p : participants) {
    if (p.role == v1::ROLE_AGENT && p.connected) return &p;
  }
  return nullptr;
}

const SupervisionRecord* CallRecord::FindSupervision(
    const std::string& id) const {
  for (const SupervisionRecord& s : supervisions) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const SupervisionRecord* CallRecord::ActiveSupervisionOf(
    const std::string& subject) const {
  for (const SupervisionRecord& s : supervisions) {
    if (s.supervisor == subject && s.state == SupervisionState::kActive) {
      return &s;
    }
  }
  return nullptr;
}

const SupervisionRecord* CallRecord::TakeoverHolder() const {
  for (const SupervisionRecord& s : supervisions) {
    if (s.state == SupervisionState::kActive && s.mode == v1::MODE_TAKEOVER) {
      return &s;
    }
  }
  return nullptr;
}

int CallRecord::ActiveSupervisions() const {
  return static_cast<int>(std::count_if(
      supervisions.begin(), supervisions.end(), [](const SupervisionRecord& s) {
        return s.state == SupervisionState::kActive;
      }));
}

absl::StatusOr<std::vector<Route>> CurrentRouting(const CallRecord& call) {
  if (Ended(call)) return std::vector<Route>{};
  std::vector<RoutedParticipant> routed;
  for (const ParticipantRecord& p : call.participants) {
    if (!p.connected) continue;
    RoutedParticipant r{p.id, p.role, v1::MODE_UNSPECIFIED};
    if (p.role == v1::ROLE_SUPERVISOR) {
      for (const SupervisionRecord& s : call.supervisions) {
        if (s.participant == p.id && s.state == SupervisionState::kActive) {
          r.mode = s.mode;
        }
      }
    }
    routed.push_back(std::move(r));
  }
  return DeriveRouting(routed, call.state == CallState::kOnHold);
}

absl::StatusOr<Change> Attach(CallRecord& call, const std::string& supervisor,
                              v1::Mode mode, const SupervisionGrant& grant,
                              absl::Time now, std::string* supervision_id) {
  if (Ended(call)) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call.name(), " has ended"));
  }
  if (absl::Status status = CheckMode(mode, grant); !status.ok()) {
    return status;
  }
  if (const SupervisionRecord* existing =
          call.ActiveSupervisionOf(supervisor)) {
    return absl::AlreadyExistsError(
        absl::StrCat("you already supervise this call (supervision ",
                     existing->id, "); use SetSupervisionMode to change mode"));
  }
  if (grant.max_supervisors_per_call > 0 &&
      call.ActiveSupervisions() >= grant.max_supervisors_per_call) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the call already has ", call.ActiveSupervisions(),
                     " supervisors, the most policy allows"));
  }
  if (mode == v1::MODE_TAKEOVER) {
    if (const SupervisionRecord* holder = call.TakeoverHolder()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "TAKEOVER is held by ", holder->supervisor, " (supervision ",
          holder->id, "); attach in another mode, then ask to pre-empt"));
    }
  }
  const int n = call.next_supervisor++;
  ParticipantRecord participant;
  participant.id = absl::StrCat("supervisor-", n);
  participant.role = v1::ROLE_SUPERVISOR;
  participant.user_id = supervisor;
  participant.join_time = now;
  call.participants.push_back(participant);
  SupervisionRecord s;
  s.id = std::to_string(n);
  s.supervisor = supervisor;
  s.participant = participant.id;
  s.mode = mode;
  s.takeover_rank = grant.takeover_rank;
  s.downgrade_to = grant.downgrade_to;
  s.create_time = now;
  s.mode_time = now;
  call.supervisions.push_back(s);
  if (supervision_id != nullptr) *supervision_id = s.id;
  v1::Event event = MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_STARTED, now);
  AddSupervision(call, s, &event);
  event.set_actor(supervisor);
  return Done(call, {std::move(event)});
}

absl::StatusOr<Change> SetMode(CallRecord& call,
                               const std::string& supervision_id, v1::Mode mode,
                               bool preempt, const SupervisionGrant& grant,
                               absl::Time now) {
  SupervisionRecord* s = FindMutableSupervision(call, supervision_id);
  if (s == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no supervision ", supervision_id, " on ", call.name()));
  }
  if (Ended(call) || s->state != SupervisionState::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("supervision ", supervision_id, " has ended"));
  }
  if (absl::Status status = CheckMode(mode, grant); !status.ok()) {
    return status;
  }
  if (s->mode == mode) return Done(call, {});
  s->takeover_rank = grant.takeover_rank;
  s->downgrade_to = grant.downgrade_to;
  std::vector<v1::Event> events;
  if (mode == v1::MODE_TAKEOVER) {
    const SupervisionRecord* holder = call.TakeoverHolder();
    if (holder != nullptr && holder->id != s->id) {
      if (!preempt || grant.takeover_rank <= holder->takeover_rank) {
        return absl::FailedPreconditionError(
            absl::StrCat("TAKEOVER is held by ", holder->supervisor,
                         " (supervision ", holder->id, ")",
                         preempt ? "; your role does not outrank theirs" : ""));
      }
      SupervisionRecord* previous = FindMutableSupervision(call, holder->id);
      ChangeMode(*previous, v1::MODE_BARGE, now);
      v1::Event event =
          MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED, now);
      AddSupervision(call, *previous, &event);
      event.set_previous_mode(v1::MODE_TAKEOVER);
      event.set_actor(s->supervisor);
      event.set_reason(absl::StrCat("TAKEOVER taken by ", s->supervisor));
      events.push_back(std::move(event));
    }
  }
  const v1::Mode previous_mode = s->mode;
  ChangeMode(*s, mode, now);
  v1::Event event =
      MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED, now);
  AddSupervision(call, *s, &event);
  event.set_previous_mode(previous_mode);
  event.set_actor(s->supervisor);
  events.push_back(std::move(event));
  return Done(call, std::move(events));
}

absl::StatusOr<Change> Release(CallRecord& call,
                               const std::string& supervision_id,
                               absl::Time now) {
  SupervisionRecord* s = FindMutableSupervision(call, supervision_id);
  if (s == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no supervision ", supervision_id, " on ", call.name()));
  }
  if (s->state != SupervisionState::kActive) return Done(call, {});
  EndSupervision(call, *s, SupervisionState::kReleased, "released", now);
  v1::Event event = MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_ENDED, now);
  AddSupervision(call, *s, &event);
  event.set_actor(s->supervisor);
  return Done(call, {std::move(event)});
}

absl::StatusOr<Change> Hold(CallRecord& call, bool hold, absl::Time now) {
  if (Ended(call)) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call.name(), " has ended"));
  }
  const CallState wanted = hold ? CallState::kOnHold : CallState::kActive;
  if (call.state == wanted) return Done(call, {});
  call.state = wanted;
  return Done(call, {MakeEvent(call,
                               hold ? v1::EVENT_TYPE_CALL_HELD
                                    : v1::EVENT_TYPE_CALL_RESUMED,
                               now)});
}

namespace {

// Lowers `s` to `mode` because policy no longer allows its current one.
v1::Event LowerMode(CallRecord& call, SupervisionRecord& s, v1::Mode mode,
                    const std::string& rule, const std::string& reason,
                    absl::Time now) {
  const v1::Mode previous = s.mode;
  ChangeMode(s, mode, now);
  v1::Event event = MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_DOWNGRADED, now);
  AddSupervision(call, s, &event);
  event.set_previous_mode(previous);
  event.set_policy_rule(rule);
  event.set_reason(reason);
  return event;
}

}  // namespace

absl::StatusOr<Change> Downgrade(CallRecord& call,
                                 const std::string& supervision_id,
                                 v1::Mode mode, const std::string& rule,
                                 const std::string& reason, absl::Time now) {
  SupervisionRecord* s = FindMutableSupervision(call, supervision_id);
  if (s == nullptr) {
    return absl::NotFoundError(absl::StrCat("no supervision ", supervision_id));
  }
  if (s->state != SupervisionState::kActive || s->mode == mode) {
    return Done(call, {});
  }
  return Done(call, {LowerMode(call, *s, mode, rule, reason, now)});
}

absl::StatusOr<Change> Transfer(
    CallRecord& call, ParticipantRecord new_agent,
    const std::function<TransferDecision(const SupervisionRecord&)>& decide,
    absl::Time now) {
  if (Ended(call)) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call.name(), " has ended"));
  }
  if (new_agent.user_id.empty()) {
    return absl::InvalidArgumentError("new_agent.user_id is required");
  }
  std::string previous_agent_id;
  for (ParticipantRecord& p : call.participants) {
    if (p.role == v1::ROLE_AGENT && p.connected) {
      previous_agent_id = p.user_id;
      p.connected = false;
      p.leave_time = now;
    }
  }
  new_agent.id = absl::StrCat("agent-", call.next_agent++);
  new_agent.role = v1::ROLE_AGENT;
  new_agent.connected = true;
  new_agent.join_time = now;
  call.participants.push_back(new_agent);

  std::vector<v1::Event> events;
  v1::Event transferred = MakeEvent(call, v1::EVENT_TYPE_CALL_TRANSFERRED, now);
  transferred.set_previous_agent_id(previous_agent_id);
  events.push_back(std::move(transferred));
  for (SupervisionRecord& s : call.supervisions) {
    if (s.state != SupervisionState::kActive) continue;
    const TransferDecision decision = decide(s);
    if (decision.allowed) continue;  // kept as is
    if (decision.downgrade_to != v1::MODE_UNSPECIFIED &&
        decision.downgrade_to != s.mode) {
      events.push_back(LowerMode(call, s, decision.downgrade_to, decision.rule,
                                 decision.reason, now));
      continue;
    }
    const v1::Mode mode = s.mode;
    EndSupervision(call, s, SupervisionState::kDetached, decision.reason, now);
    v1::Event event = MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_DETACHED, now);
    AddSupervision(call, s, &event);
    event.set_mode(mode);
    event.set_policy_rule(decision.rule);
    event.set_reason(decision.reason);
    events.push_back(std::move(event));
  }
  return Done(call, std::move(events));
}

absl::StatusOr<Change> End(CallRecord& call, bool failed,
                           const std::string& reason, absl::Time now) {
  if (Ended(call)) return Done(call, {});
  std::vector<v1::Event> events;
  for (SupervisionRecord& s : call.supervisions) {
    if (s.state != SupervisionState::kActive) continue;
    EndSupervision(call, s, SupervisionState::kDetached,
                   failed ? "call failed" : "call ended", now);
    v1::Event event = MakeEvent(call, v1::EVENT_TYPE_SUPERVISION_DETACHED, now);
    AddSupervision(call, s, &event);
    event.set_reason(s.end_reason);
    events.push_back(std::move(event));
  }
  for (ParticipantRecord& p : call.participants) {
    if (p.connected) {
      p.connected = false;
      p.leave_time = now;
    }
  }
  call.state = failed ? CallState::kFailed : CallState::kEnded;
  call.end_time = now;
  call.end_reason = reason;
  v1::Event event = MakeEvent(
      call, failed ? v1::EVENT_TYPE_CALL_FAILED : v1::EVENT_TYPE_CALL_ENDED,
      now);
  event.set_reason(reason);
  events.push_back(std::move(event));
  return Done(call, std::move(events));
}

}  // namespace sotto::broker
