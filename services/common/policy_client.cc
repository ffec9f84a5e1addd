#include "services/common/policy_client.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/client_context.h"

namespace sotto::service_kit {
namespace {

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

std::string BearerToken(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find("authorization");
  if (found == metadata.end()) return "";
  absl::string_view value(found->second.data(), found->second.size());
  value = absl::StripLeadingAsciiWhitespace(value);
  if (value.size() < 7 || !absl::StartsWithIgnoreCase(value, "bearer ")) {
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(value.substr(7)));
}

absl::Status FromGrpcStatus(const grpc::Status& status,
                            absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

absl::StatusOr<v1::Principal> GrpcPolicyClient::Authenticate(
    const std::string& token) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::AuthenticateRequest request;
  request.set_token(token);
  v1::Principal principal;
  grpc::Status status = stub_->Authenticate(&context, request, &principal);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return absl::UnauthenticatedError(status.error_message());
  }
  absl::Status converted = FromGrpcStatus(status, "policy service");
  if (!converted.ok()) return converted;
  return principal;
}

absl::StatusOr<v1::Decision> GrpcPolicyClient::Authorize(
    const v1::AuthorizeRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::Decision decision;
  absl::Status status = FromGrpcStatus(
      stub_->Authorize(&context, request, &decision), "policy service");
  if (!status.ok()) {
    // Whatever went wrong there, it is a dependency failure here.
    return absl::UnavailableError(status.message());
  }
  return decision;
}

absl::StatusOr<v1::RecordingPolicy> GrpcPolicyClient::GetRecordingPolicy(
    const std::string& tenant, const std::string& queue) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::GetRecordingPolicyRequest request;
  request.set_tenant(tenant);
  request.set_queue(queue);
  v1::RecordingPolicy policy;
  grpc::Status status = stub_->GetRecordingPolicy(&context, request, &policy);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(status.error_message());
  }
  absl::Status converted = FromGrpcStatus(status, "policy service");
  if (!converted.ok()) return absl::UnavailableError(converted.message());
  return policy;
}

}  // namespace sotto::service_kit
