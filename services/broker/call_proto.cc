#include "services/broker/call_proto.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace sotto::broker {
namespace {

// What a non-owner of a leg may see of its answer: no key, and no SDP,
// whose a=crypto line carries the same key.
void StripKey(v1::MediaAnswer* answer) {
  answer->clear_local_key();
  answer->clear_sdp();
}

using json = nlohmann::json;

google::protobuf::Duration DurationToProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out.set_seconds(nanos / 1'000'000'000);
  out.set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  return out;
}

absl::Duration DurationFromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

bool Unset(absl::Time t) { return t == absl::UnixEpoch(); }

v1::Supervision::State SupervisionStateToProto(SupervisionState state) {
  switch (state) {
    case SupervisionState::kActive:
      return v1::Supervision::ACTIVE;
    case SupervisionState::kReleased:
      return v1::Supervision::RELEASED;
    case SupervisionState::kDetached:
      return v1::Supervision::DETACHED;
  }
  return v1::Supervision::STATE_UNSPECIFIED;
}

SupervisionState SupervisionStateFromProto(v1::Supervision::State state) {
  switch (state) {
    case v1::Supervision::RELEASED:
      return SupervisionState::kReleased;
    case v1::Supervision::DETACHED:
      return SupervisionState::kDetached;
    default:
      return SupervisionState::kActive;
  }
}

// The last segment of a resource name.
std::string LastSegment(absl::string_view name) {
  const size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name
                                                      : name.substr(slash + 1));
}

bool OwnsLeg(const ParticipantRecord& p, const CallView& view) {
  if (view.all_keys) return true;
  if (p.role == v1::ROLE_SUPERVISOR) {
    return !view.supervisor.empty() && p.user_id == view.supervisor;
  }
  return view.call_leg_keys;
}

int RoleOrder(v1::Role role) {
  switch (role) {
    case v1::ROLE_CUSTOMER:
      return 0;
    case v1::ROLE_AGENT:
      return 1;
    default:
      return 2;
  }
}

}  // namespace

google::protobuf::Timestamp TimeToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  if (Unset(t)) return out;
  const int64_t micros = absl::ToUnixMicros(t);
  out.set_seconds(micros / 1'000'000);
  out.set_nanos(static_cast<int32_t>((micros % 1'000'000) * 1000));
  return out;
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

v1::Call::State CallStateToProto(CallState state) {
  switch (state) {
    case CallState::kActive:
      return v1::Call::ACTIVE;
    case CallState::kOnHold:
      return v1::Call::ON_HOLD;
    case CallState::kEnded:
      return v1::Call::ENDED;
    case CallState::kFailed:
      return v1::Call::FAILED;
  }
  return v1::Call::STATE_UNSPECIFIED;
}

CallState CallStateFromProto(v1::Call::State state) {
  switch (state) {
    case v1::Call::ON_HOLD:
      return CallState::kOnHold;
    case v1::Call::ENDED:
      return CallState::kEnded;
    case v1::Call::FAILED:
      return CallState::kFailed;
    default:
      return CallState::kActive;
  }
}

v1::Supervision SupervisionToProto(const StoredCall& call,
                                   const SupervisionRecord& s,
                                   const CallView& view) {
  const CallRecord& record = call.record;
  v1::Supervision out;
  out.set_name(absl::StrCat(record.name(), "/supervisions/", s.id));
  out.set_supervisor(s.supervisor);
  out.set_participant(
      absl::StrCat(record.name(), "/participants/", s.participant));
  out.set_mode(s.mode);
  out.set_state(SupervisionStateToProto(s.state));
  *out.mutable_mode_time() = TimeToProto(s.mode_time);
  *out.mutable_create_time() = TimeToProto(s.create_time);
  *out.mutable_end_time() = TimeToProto(s.end_time);
  out.set_end_reason(s.end_reason);
  std::map<v1::Mode, absl::Duration> in_mode = s.time_in_mode;
  if (view.now.has_value() && s.state == SupervisionState::kActive) {
    in_mode[s.mode] += std::max(absl::ZeroDuration(), *view.now - s.mode_time);
  }
  for (const auto& [mode, duration] : in_mode) {
    (*out.mutable_time_in_mode())[v1::Mode_Name(mode)] =
        DurationToProto(duration);
  }
  auto answer = call.answers.find(s.participant);
  if (answer != call.answers.end()) {
    *out.mutable_media() = answer->second;
    const bool owner = view.all_keys || (!view.supervisor.empty() &&
                                         s.supervisor == view.supervisor);
    if (!owner) StripKey(out.mutable_media());
  }
  return out;
}

v1::Call CallToProto(const StoredCall& call, const CallView& view) {
  const CallRecord& record = call.record;
  v1::Call out;
  out.set_name(record.name());
  out.set_tenant(record.tenant);
  out.set_call_id(record.call_id);
  out.set_queue(record.queue);
  out.set_state(CallStateToProto(record.state));
  std::vector<const ParticipantRecord*> participants;
  for (const ParticipantRecord& p : record.participants) {
    participants.push_back(&p);
  }
  std::stable_sort(participants.begin(), participants.end(),
                   [](const ParticipantRecord* a, const ParticipantRecord* b) {
                     return RoleOrder(a->role) < RoleOrder(b->role);
                   });
  for (const ParticipantRecord* p : participants) {
    v1::Participant* participant = out.add_participants();
    participant->set_name(absl::StrCat(record.name(), "/participants/", p->id));
    participant->set_role(p->role);
    participant->set_user_id(p->user_id);
    participant->set_team(p->team);
    auto name = call.display_names.find(p->id);
    if (name != call.display_names.end()) {
      participant->set_display_name(name->second);
    }
    participant->set_state(p->connected ? v1::Participant::CONNECTED
                                        : v1::Participant::REMOVED);
    auto answer = call.answers.find(p->id);
    if (answer != call.answers.end()) {
      *participant->mutable_media() = answer->second;
      if (!OwnsLeg(*p, view)) StripKey(participant->mutable_media());
    }
    *participant->mutable_join_time() = TimeToProto(p->join_time);
    *participant->mutable_leave_time() = TimeToProto(p->leave_time);
  }
  for (const SupervisionRecord& s : record.supervisions) {
    *out.add_supervisions() = SupervisionToProto(call, s, view);
  }
  absl::StatusOr<std::vector<Route>> routing = CurrentRouting(record);
  if (routing.ok()) {
    for (const Route& route : *routing) {
      v1::RoutingMatrix::Entry* entry = out.mutable_routing()->add_entries();
      entry->set_source(route.source);
      entry->set_sink(route.sink);
      entry->set_gain(route.gain);
    }
  }
  for (const auto& [key, value] : record.attributes) {
    (*out.mutable_attributes())[key] = value;
  }
  out.set_monitoring_disclosed(record.monitoring_disclosed);
  out.set_agent_declined_whisper(record.agent_declined_whisper);
  out.set_recording(record.recording);
  *out.mutable_create_time() = TimeToProto(record.create_time);
  *out.mutable_end_time() = TimeToProto(record.end_time);
  out.set_end_reason(record.end_reason);
  out.set_media_engine(call.engine_id);
  return out;
}

std::string InternalToJson(const StoredCall& call) {
  json ranks = json::object();
  json downgrades = json::object();
  json principals = json::object();
  for (const SupervisionRecord& s : call.record.supervisions) {
    ranks[s.id] = s.takeover_rank;
    downgrades[s.id] = static_cast<int>(s.downgrade_to);
    principals[s.id] = absl::Base64Escape(s.principal);
  }
  json doc = {
      {"next_agent", call.record.next_agent},
      {"next_supervisor", call.record.next_supervisor},
      {"next_event_sequence", call.record.next_event_sequence},
      {"routing_generation", call.routing_generation},
      {"engine_control_address", call.engine_control_address},
      {"takeover_ranks", ranks},
      {"downgrades", downgrades},
      {"principals", principals},
  };
  return doc.dump();
}

absl::StatusOr<StoredCall> CallFromProto(const v1::Call& call,
                                         const std::string& internal_json) {
  const json doc = json::parse(internal_json, nullptr, /*allow_exceptions=*/
                               false);
  if (!doc.is_object()) {
    return absl::InternalError(
        absl::StrCat("stored call ", call.name(), ": bad internal document"));
  }
  StoredCall out;
  CallRecord& record = out.record;
  record.tenant = call.tenant();
  record.call_id = call.call_id();
  record.queue = call.queue();
  record.state = CallStateFromProto(call.state());
  for (const v1::Participant& p : call.participants()) {
    ParticipantRecord participant;
    participant.id = LastSegment(p.name());
    participant.role = p.role();
    participant.user_id = p.user_id();
    participant.team = p.team();
    participant.connected = p.state() == v1::Participant::CONNECTED;
    participant.join_time = TimeFromProto(p.join_time());
    participant.leave_time = TimeFromProto(p.leave_time());
    if (!p.display_name().empty()) {
      out.display_names[participant.id] = p.display_name();
    }
    if (p.has_media()) out.answers[participant.id] = p.media();
    record.participants.push_back(std::move(participant));
  }
  const json ranks = doc.value("takeover_ranks", json::object());
  const json downgrades = doc.value("downgrades", json::object());
  const json principals = doc.value("principals", json::object());
  for (const v1::Supervision& s : call.supervisions()) {
    SupervisionRecord supervision;
    supervision.id = LastSegment(s.name());
    supervision.supervisor = s.supervisor();
    supervision.participant = LastSegment(s.participant());
    supervision.mode = s.mode();
    supervision.state = SupervisionStateFromProto(s.state());
    if (ranks.is_object() && ranks.contains(supervision.id) &&
        ranks[supervision.id].is_number_integer()) {
      supervision.takeover_rank = ranks[supervision.id].get<int>();
    }
    if (downgrades.is_object() && downgrades.contains(supervision.id) &&
        downgrades[supervision.id].is_number_integer() &&
        v1::Mode_IsValid(downgrades[supervision.id].get<int>())) {
      supervision.downgrade_to =
          static_cast<v1::Mode>(downgrades[supervision.id].get<int>());
    }
    if (principals.is_object() && principals.contains(supervision.id) &&
        principals[supervision.id].is_string() &&
        !absl::Base64Unescape(principals[supervision.id].get<std::string>(),
                              &supervision.principal)) {
      return absl::InternalError(absl::StrCat("stored call ", call.name(),
                                              ": bad principal of supervision ",
                                              supervision.id));
    }
    supervision.create_time = TimeFromProto(s.create_time());
    supervision.mode_time = TimeFromProto(s.mode_time());
    supervision.end_time = TimeFromProto(s.end_time());
    supervision.end_reason = s.end_reason();
    for (const auto& [name, duration] : s.time_in_mode()) {
      v1::Mode mode;
      if (v1::Mode_Parse(name, &mode)) {
        supervision.time_in_mode[mode] = DurationFromProto(duration);
      }
    }
    record.supervisions.push_back(std::move(supervision));
  }
  for (const auto& [key, value] : call.attributes()) {
    record.attributes[key] = value;
  }
  record.monitoring_disclosed = call.monitoring_disclosed();
  record.agent_declined_whisper = call.agent_declined_whisper();
  record.recording = call.recording();
  record.create_time = TimeFromProto(call.create_time());
  record.end_time = TimeFromProto(call.end_time());
  record.end_reason = call.end_reason();
  record.next_agent = doc.value("next_agent", 1);
  record.next_supervisor = doc.value("next_supervisor", 1);
  record.next_event_sequence = doc.value("next_event_sequence", uint64_t{1});
  out.routing_generation = doc.value("routing_generation", uint64_t{0});
  out.engine_control_address = doc.value("engine_control_address", "");
  out.engine_id = call.media_engine();
  return out;
}

}  // namespace sotto::broker
