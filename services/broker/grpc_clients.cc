// The gRPC implementations of PolicyClient, MediaClient and EventSink.
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "services/broker/event_sink.h"
#include "services/broker/media_client.h"
#include "services/broker/policy_client.h"

namespace sotto::broker {
namespace {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  // Codes map one to one; the message says which dependency failed.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

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
  absl::Status converted = FromGrpc(status, "policy service");
  if (!converted.ok()) return converted;
  return principal;
}

absl::StatusOr<v1::Decision> GrpcPolicyClient::Authorize(
    const v1::AuthorizeRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  v1::Decision decision;
  absl::Status status = FromGrpc(stub_->Authorize(&context, request, &decision),
                                 "policy service");
  if (!status.ok()) {
    // Whatever went wrong there, it is a dependency failure here.
    return absl::UnavailableError(status.message());
  }
  return decision;
}

v1::MediaEngine::Stub* GrpcMediaClient::StubFor(const std::string& engine) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = stubs_.find(engine);
  if (found == stubs_.end()) {
    found =
        stubs_
            .emplace(engine, v1::MediaEngine::NewStub(grpc::CreateCustomChannel(
                                 engine, credentials_, arguments_)))
            .first;
  }
  return found->second.get();
}

template <typename Request, typename Response>
absl::StatusOr<Response> GrpcMediaClient::Call(
    const std::string& engine, absl::string_view method,
    grpc::Status (v1::MediaEngine::Stub::*rpc)(grpc::ClientContext*,
                                               const Request&, Response*),
    const Request& request) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  Response response;
  absl::Status status =
      FromGrpc((StubFor(engine)->*rpc)(&context, request, &response),
               absl::StrCat("media engine ", engine, " ", method));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::Leg> GrpcMediaClient::AddLeg(
    const std::string& engine, const v1::AddLegRequest& request) {
  return Call(engine, "AddLeg", &v1::MediaEngine::Stub::AddLeg, request);
}

absl::StatusOr<v1::Leg> GrpcMediaClient::UpdateLeg(
    const std::string& engine, const v1::UpdateLegRequest& request) {
  return Call(engine, "UpdateLeg", &v1::MediaEngine::Stub::UpdateLeg, request);
}

absl::Status GrpcMediaClient::RemoveLeg(const std::string& engine,
                                        const v1::RemoveLegRequest& request) {
  return Call(engine, "RemoveLeg", &v1::MediaEngine::Stub::RemoveLeg, request)
      .status();
}

absl::StatusOr<v1::SetRoutingResponse> GrpcMediaClient::SetRouting(
    const std::string& engine, const v1::SetRoutingRequest& request) {
  return Call(engine, "SetRouting", &v1::MediaEngine::Stub::SetRouting,
              request);
}

absl::Status GrpcMediaClient::DeleteRoom(const std::string& engine,
                                         const v1::DeleteRoomRequest& request) {
  return Call(engine, "DeleteRoom", &v1::MediaEngine::Stub::DeleteRoom, request)
      .status();
}

absl::Status GrpcMediaClient::PlayAudio(const std::string& engine,
                                        const v1::PlayAudioRequest& request) {
  return Call(engine, "PlayAudio", &v1::MediaEngine::Stub::PlayAudio, request)
      .status();
}

absl::StatusOr<v1::ListRoomsResponse> GrpcMediaClient::ListRooms(
    const std::string& engine) {
  return Call(engine, "ListRooms", &v1::MediaEngine::Stub::ListRooms,
              v1::ListRoomsRequest());
}

absl::Status GrpcEventSink::Deliver(const std::vector<v1::Event>& events) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_);
  if (!bearer_token_.empty()) {
    context.AddMetadata("authorization",
                        absl::StrCat("Bearer ", bearer_token_));
  }
  v1::IngestEventsRequest request;
  for (const v1::Event& event : events) *request.add_events() = event;
  v1::IngestEventsResponse response;
  return FromGrpc(stub_->IngestEvents(&context, request, &response),
                  "reporting IngestEvents");
}

}  // namespace sotto::broker
