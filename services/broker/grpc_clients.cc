// The gRPC implementation of MediaClient (GrpcPolicyClient is shared, in
// services/common/policy_client.cc).
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "services/broker/media_client.h"
#include "services/broker/policy_client.h"

namespace sotto::broker {
namespace {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return service_kit::FromGrpcStatus(status, what);
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

absl::StatusOr<v1::Leg> GrpcMediaClient::AddLeg(
    const std::string& engine, const v1::AddLegRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::Leg leg;
  absl::Status status =
      FromGrpc(StubFor(engine)->AddLeg(&context, request, &leg),
               absl::StrCat("media engine ", engine, " AddLeg"));
  if (!status.ok()) return status;
  return leg;
}

absl::Status GrpcMediaClient::RemoveLeg(const std::string& engine,
                                        const v1::RemoveLegRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::RemoveLegResponse response;
  return FromGrpc(StubFor(engine)->RemoveLeg(&context, request, &response),
                  absl::StrCat("media engine ", engine, " RemoveLeg"));
}

absl::StatusOr<v1::SetRoutingResponse> GrpcMediaClient::SetRouting(
    const std::string& engine, const v1::SetRoutingRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::SetRoutingResponse response;
  absl::Status status =
      FromGrpc(StubFor(engine)->SetRouting(&context, request, &response),
               absl::StrCat("media engine ", engine, " SetRouting"));
  if (!status.ok()) return status;
  return response;
}

absl::Status GrpcMediaClient::DeleteRoom(const std::string& engine,
                                         const v1::DeleteRoomRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::DeleteRoomResponse response;
  return FromGrpc(StubFor(engine)->DeleteRoom(&context, request, &response),
                  absl::StrCat("media engine ", engine, " DeleteRoom"));
}

}  // namespace sotto::broker
