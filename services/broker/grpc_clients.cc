// The gRPC implementations of MediaClient, RecorderClient and EventSink
// (GrpcPolicyClient is shared, in services/common/policy_client.cc).
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "services/broker/event_sink.h"
#include "services/broker/media_client.h"
#include "services/broker/policy_client.h"
#include "services/broker/recorder_client.h"

namespace sotto::broker {
namespace {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return service_kit::FromGrpcStatus(status, what);
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// One unary call with a deadline; errors name the dependency and method.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Unary(
    Stub* stub,
    grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, absl::Duration timeout, const std::string& what) {
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  Response response;
  absl::Status status =
      FromGrpc((stub->*rpc)(&context, request, &response), what);
  if (!status.ok()) return status;
  return response;
}

}  // namespace

template <typename Request, typename Response>
absl::StatusOr<Response> GrpcMediaClient::Call(
    const std::string& engine, absl::string_view method,
    grpc::Status (v1::MediaEngine::Stub::*rpc)(grpc::ClientContext*,
                                               const Request&, Response*),
    const Request& request) {
  return Unary(StubFor(engine), rpc, request, timeout_,
               absl::StrCat("media engine ", engine, " ", method));
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

template <typename Request, typename Response>
absl::StatusOr<Response> GrpcRecorderClient::Call(
    absl::string_view method,
    grpc::Status (v1::Recorder::StubInterface::*rpc)(grpc::ClientContext*,
                                                     const Request&, Response*),
    const Request& request) {
  return Unary(stub_.get(), rpc, request, timeout_,
               absl::StrCat("recorder ", method));
}

absl::StatusOr<v1::Recording> GrpcRecorderClient::Start(
    const v1::StartRecordingRequest& request) {
  return Call("StartRecording", &v1::Recorder::StubInterface::StartRecording,
              request);
}

absl::Status GrpcRecorderClient::Stop(const v1::StopRecordingRequest& request) {
  return Call("StopRecording", &v1::Recorder::StubInterface::StopRecording,
              request)
      .status();
}

absl::StatusOr<v1::Recording> GrpcRecorderClient::Pause(
    const v1::PauseRecordingRequest& request) {
  return Call("PauseRecording", &v1::Recorder::StubInterface::PauseRecording,
              request);
}

absl::StatusOr<v1::Recording> GrpcRecorderClient::Resume(
    const v1::ResumeRecordingRequest& request) {
  return Call("ResumeRecording", &v1::Recorder::StubInterface::ResumeRecording,
              request);
}

absl::Status GrpcRecorderClient::Annotate(
    const v1::AnnotateRecordingRequest& request) {
  return Call("AnnotateRecording",
              &v1::Recorder::StubInterface::AnnotateRecording, request)
      .status();
}

}  // namespace sotto::broker
