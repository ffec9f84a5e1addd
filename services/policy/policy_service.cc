#include "services/policy/policy_service.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/common/grpc_status.h"
#include "services/common/logging.h"
#include "services/policy/policy_evaluator.h"

namespace sotto::policy {
namespace {

namespace kit = ::sotto::service_kit;

void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(time);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

std::optional<Action> FromProto(v1::Action action) {
  switch (action) {
    case v1::ACTION_CALLS_MANAGE:
      return Action::kCallsManage;
    case v1::ACTION_CALLS_VIEW:
      return Action::kCallsView;
    case v1::ACTION_CALLS_SUPERVISE:
      return Action::kCallsSupervise;
    case v1::ACTION_RECORDINGS_READ:
      return Action::kRecordingsRead;
    case v1::ACTION_RECORDINGS_CONTROL:
      return Action::kRecordingsControl;
    case v1::ACTION_REPORTS_READ:
      return Action::kReportsRead;
    case v1::ACTION_OUTCOMES_WRITE:
      return Action::kOutcomesWrite;
    default:
      return std::nullopt;
  }
}

std::optional<Mode> FromProto(v1::Mode mode) {
  switch (mode) {
    case v1::MODE_LISTEN:
      return Mode::kListen;
    case v1::MODE_WHISPER:
      return Mode::kWhisper;
    case v1::MODE_BARGE:
      return Mode::kBarge;
    case v1::MODE_TAKEOVER:
      return Mode::kTakeover;
    default:
      return std::nullopt;
  }
}

v1::Mode ToProto(Mode mode) {
  switch (mode) {
    case Mode::kListen:
      return v1::MODE_LISTEN;
    case Mode::kWhisper:
      return v1::MODE_WHISPER;
    case Mode::kBarge:
      return v1::MODE_BARGE;
    case Mode::kTakeover:
      return v1::MODE_TAKEOVER;
    case Mode::kUnspecified:
      break;
  }
  return v1::MODE_UNSPECIFIED;
}

v1::RecordingPolicy::Layout ToProto(RecordingLayout layout) {
  switch (layout) {
    case RecordingLayout::kMultichannel:
      return v1::RecordingPolicy::MULTICHANNEL;
    case RecordingLayout::kStereoPlusSupervisorFile:
      return v1::RecordingPolicy::STEREO_PLUS_SUPERVISOR_FILE;
    case RecordingLayout::kUnspecified:
      break;
  }
  return v1::RecordingPolicy::LAYOUT_UNSPECIFIED;
}

void ToProto(const Principal& principal, v1::Principal* out) {
  out->set_tenant(principal.tenant);
  out->set_subject(principal.subject);
  for (const std::string& role : principal.roles) out->add_roles(role);
  for (const std::string& team : principal.teams) out->add_teams(team);
  ToTimestamp(principal.expire_time, out->mutable_expire_time());
  out->set_display_name(principal.display_name);
}

Principal FromProto(const v1::Principal& principal) {
  Principal out;
  out.tenant = principal.tenant();
  out.subject = principal.subject();
  out.roles.assign(principal.roles().begin(), principal.roles().end());
  out.teams.assign(principal.teams().begin(), principal.teams().end());
  if (principal.has_expire_time()) {
    out.expire_time = FromTimestamp(principal.expire_time());
  }
  out.display_name = principal.display_name();
  return out;
}

Resource FromProto(const v1::ResourceAttributes& resource) {
  Resource out;
  out.tenant = resource.tenant();
  out.call = resource.call();
  out.queue = resource.queue();
  out.agent_id = resource.agent_id();
  out.team = resource.team();
  out.monitoring_disclosed = resource.monitoring_disclosed();
  out.agent_declined_whisper = resource.agent_declined_whisper();
  return out;
}

absl::Status ValidateAuthorize(const v1::AuthorizeRequest& request) {
  if (!request.has_principal() || request.principal().tenant().empty() ||
      request.principal().subject().empty()) {
    return absl::InvalidArgumentError(
        "principal with tenant and subject is required (as returned by "
        "Authenticate)");
  }
  if (!FromProto(request.action()).has_value()) {
    return absl::InvalidArgumentError(
        "action is required and must be a known Action");
  }
  if (!request.has_resource() || request.resource().tenant().empty()) {
    return absl::InvalidArgumentError("resource.tenant is required");
  }
  if (request.action() == v1::ACTION_CALLS_SUPERVISE &&
      !FromProto(request.mode()).has_value()) {
    return absl::InvalidArgumentError(
        "mode is required for ACTION_CALLS_SUPERVISE");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status PolicyService::Authenticate(grpc::ServerContext* context,
                                         const v1::AuthenticateRequest* request,
                                         v1::Principal* response) {
  std::shared_ptr<const PolicySnapshot> snapshot = store_->Current();
  absl::StatusOr<Principal> principal =
      snapshot->verifier.Verify(request->token(), absl::Now());
  if (!principal.ok()) {
    // The reason never contains the token (TokenVerifier's contract).
    kit::LogDebug("authentication failed",
                  {{"reason", principal.status().message()}});
    return kit::ToGrpcStatus(principal.status());
  }
  ToProto(*principal, response);
  return grpc::Status::OK;
}

grpc::Status PolicyService::Authorize(grpc::ServerContext* context,
                                      const v1::AuthorizeRequest* request,
                                      v1::Decision* response) {
  absl::Status valid = ValidateAuthorize(*request);
  if (!valid.ok()) return kit::ToGrpcStatus(valid);
  std::shared_ptr<const PolicySnapshot> snapshot = store_->Current();
  const PolicyEvaluator evaluator(&snapshot->document);
  const Decision decision = evaluator.Authorize(
      FromProto(request->principal()), *FromProto(request->action()),
      FromProto(request->resource()),
      FromProto(request->mode()).value_or(Mode::kUnspecified),
      request->reason());
  response->set_allowed(decision.allowed);
  response->set_rule(decision.rule);
  response->set_reason(decision.reason);
  if (decision.supervision.has_value()) {
    const SupervisionTerms& terms = *decision.supervision;
    v1::SupervisionTerms* out = response->mutable_supervision();
    for (Mode mode : terms.allowed_modes) out->add_allowed_modes(ToProto(mode));
    out->set_downgrade_to(ToProto(terms.downgrade_to));
    out->set_max_supervisors_per_call(terms.max_supervisors_per_call);
    out->set_takeover_rank(terms.takeover_rank);
    out->set_whisper_cue_tone(terms.whisper_cue_tone);
    out->set_customer_announcement(terms.customer_announcement);
  }
  return grpc::Status::OK;
}

grpc::Status PolicyService::GetRecordingPolicy(
    grpc::ServerContext* context, const v1::GetRecordingPolicyRequest* request,
    v1::RecordingPolicy* response) {
  if (request->tenant().empty()) {
    return kit::ToGrpcStatus(absl::InvalidArgumentError("tenant is required"));
  }
  std::shared_ptr<const PolicySnapshot> snapshot = store_->Current();
  absl::StatusOr<RecordingSpec> spec =
      PolicyEvaluator(&snapshot->document)
          .RecordingPolicy(request->tenant(), request->queue());
  if (!spec.ok()) return kit::ToGrpcStatus(spec.status());
  response->set_enabled(spec->enabled);
  response->set_require_disclosure(spec->require_disclosure);
  response->set_layout(ToProto(spec->layout));
  response->set_keep_whisper_audio(spec->keep_whisper_audio);
  response->set_keep_telephone_events(spec->keep_telephone_events);
  response->mutable_retention()->set_seconds(
      absl::ToInt64Seconds(spec->retention));
  return grpc::Status::OK;
}

grpc::Status PolicyService::GetPolicyStatus(
    grpc::ServerContext* context, const v1::GetPolicyStatusRequest* request,
    v1::PolicyStatus* response) {
  const PolicyStatus status = store_->Status();
  response->set_source(status.source);
  response->set_sha256(status.sha256);
  ToTimestamp(status.load_time, response->mutable_load_time());
  response->set_last_error(status.last_error);
  response->set_tenants(status.tenants);
  response->set_rules(status.rules);
  return grpc::Status::OK;
}

}  // namespace sotto::policy
