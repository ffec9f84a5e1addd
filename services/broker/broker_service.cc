#include "services/broker/broker_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/broker/call_proto.h"
#include "services/common/grpc_status.h"

namespace sotto::broker {
namespace {

using service_kit::ToGrpcStatus;

template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

google::protobuf::Duration ToDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out.set_seconds(nanos / 1'000'000'000);
  out.set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  return out;
}

}  // namespace

grpc::Status BrokerService::WatchCall(
    grpc::ServerContext* context, const v1::WatchCallRequest* request,
    grpc::ServerWriter<v1::CallEvent>* writer) {
  return ToGrpcStatus(broker_->WatchCall(
      BearerToken(*context), *request,
      [writer](const v1::CallEvent& event) { return writer->Write(event); },
      [context] { return context->IsCancelled(); }));
}

grpc::Status BrokerService::WatchCalls(
    grpc::ServerContext* context, const v1::WatchCallsRequest* request,
    grpc::ServerWriter<v1::CallEvent>* writer) {
  return ToGrpcStatus(broker_->WatchCalls(
      BearerToken(*context), *request,
      [writer](const v1::CallEvent& event) { return writer->Write(event); },
      [context] { return context->IsCancelled(); }));
}

grpc::Status BrokerService::RegisterCall(grpc::ServerContext* context,
                                         const v1::RegisterCallRequest* request,
                                         v1::Call* response) {
  return Answer(broker_->RegisterCall(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::GetCall(grpc::ServerContext* context,
                                    const v1::GetCallRequest* request,
                                    v1::Call* response) {
  return Answer(broker_->GetCall(BearerToken(*context), *request), response);
}

grpc::Status BrokerService::ListCalls(grpc::ServerContext* context,
                                      const v1::ListCallsRequest* request,
                                      v1::ListCallsResponse* response) {
  return Answer(broker_->ListCalls(BearerToken(*context), *request), response);
}

grpc::Status BrokerService::EndCall(grpc::ServerContext* context,
                                    const v1::EndCallRequest* request,
                                    v1::Call* response) {
  return Answer(broker_->EndCall(BearerToken(*context), *request), response);
}

grpc::Status BrokerService::TransferCall(grpc::ServerContext* context,
                                         const v1::TransferCallRequest* request,
                                         v1::TransferCallResponse* response) {
  return Answer(broker_->TransferCall(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::UpdateCall(grpc::ServerContext* context,
                                       const v1::UpdateCallRequest* request,
                                       v1::Call* response) {
  return Answer(broker_->UpdateCall(BearerToken(*context), *request), response);
}

grpc::Status BrokerService::UpdateParticipantMedia(
    grpc::ServerContext* context,
    const v1::UpdateParticipantMediaRequest* request,
    v1::Participant* response) {
  return Answer(
      broker_->UpdateParticipantMedia(BearerToken(*context), *request),
      response);
}

grpc::Status BrokerService::ListSupervisions(
    grpc::ServerContext* context, const v1::ListSupervisionsRequest* request,
    v1::ListSupervisionsResponse* response) {
  return Answer(broker_->ListSupervisions(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::PauseCallRecording(
    grpc::ServerContext* context, const v1::PauseCallRecordingRequest* request,
    v1::Call* response) {
  return Answer(broker_->PauseCallRecording(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::ResumeCallRecording(
    grpc::ServerContext* context, const v1::ResumeCallRecordingRequest* request,
    v1::Call* response) {
  return Answer(broker_->ResumeCallRecording(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::HoldCall(grpc::ServerContext* context,
                                     const v1::HoldCallRequest* request,
                                     v1::Call* response) {
  return Answer(broker_->HoldCall(BearerToken(*context), *request), response);
}

grpc::Status BrokerService::ResumeCall(grpc::ServerContext* context,
                                       const v1::ResumeCallRequest* request,
                                       v1::Call* response) {
  return Answer(broker_->ResumeCall(BearerToken(*context), *request), response);
}

grpc::Status BrokerService::CreateSupervision(
    grpc::ServerContext* context, const v1::CreateSupervisionRequest* request,
    v1::Supervision* response) {
  return Answer(broker_->CreateSupervision(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::SetSupervisionMode(
    grpc::ServerContext* context, const v1::SetSupervisionModeRequest* request,
    v1::Supervision* response) {
  return Answer(broker_->SetSupervisionMode(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::DeleteSupervision(
    grpc::ServerContext* context, const v1::DeleteSupervisionRequest* request,
    v1::Supervision* response) {
  return Answer(broker_->DeleteSupervision(BearerToken(*context), *request),
                response);
}

grpc::Status BrokerService::GetSupervision(
    grpc::ServerContext* context, const v1::GetSupervisionRequest* request,
    v1::Supervision* response) {
  return Answer(broker_->GetSupervision(BearerToken(*context), *request),
                response);
}

grpc::Status EngineRegistryService::RegisterEngine(
    grpc::ServerContext*, const v1::RegisterEngineRequest* request,
    v1::RegisterEngineResponse* response) {
  EngineRecord engine;
  engine.engine_id = request->engine_id();
  engine.control_address = request->control_address();
  engine.media_address = request->media_address();
  engine.capacity_rooms = static_cast<int>(request->capacity_rooms());
  engine.draining = request->draining();
  absl::Status status = registry_->Register(std::move(engine), clock_());
  if (!status.ok()) return ToGrpcStatus(status);
  // Three heartbeats per lease: one lost packet does not kill an engine.
  *response->mutable_heartbeat_interval() = ToDuration(registry_->lease() / 3);
  *response->mutable_lease() = ToDuration(registry_->lease());
  return grpc::Status::OK;
}

grpc::Status EngineRegistryService::Heartbeat(
    grpc::ServerContext*, const v1::HeartbeatRequest* request,
    v1::HeartbeatResponse*) {
  if (request->engine_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "engine_id is required");
  }
  if (!(request->load() >= 0 && request->load() <= 1)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "load must be within 0..1");
  }
  return ToGrpcStatus(registry_->Heartbeat(
      request->engine_id(), static_cast<int>(request->active_rooms()),
      request->draining(), request->load(), clock_()));
}

grpc::Status EngineRegistryService::ListEngines(
    grpc::ServerContext*, const v1::ListEnginesRequest*,
    v1::ListEnginesResponse* response) {
  registry_->ExpireLeases(clock_());
  for (const EngineRecord& engine : registry_->List()) {
    v1::Engine* out = response->add_engines();
    out->set_engine_id(engine.engine_id);
    out->set_control_address(engine.control_address);
    out->set_media_address(engine.media_address);
    out->set_capacity_rooms(static_cast<uint32_t>(engine.capacity_rooms));
    out->set_active_rooms(static_cast<uint32_t>(engine.active_rooms));
    out->set_draining(engine.draining);
    out->set_load(engine.load);
    switch (engine.state) {
      case EngineRecord::State::kHealthy:
        out->set_state(v1::Engine::HEALTHY);
        break;
      case EngineRecord::State::kDraining:
        out->set_state(v1::Engine::DRAINING);
        break;
      case EngineRecord::State::kDead:
        out->set_state(v1::Engine::DEAD);
        break;
    }
    *out->mutable_last_heartbeat_time() = TimeToProto(engine.last_heartbeat);
  }
  return grpc::Status::OK;
}

}  // namespace sotto::broker
