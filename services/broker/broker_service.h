// The gRPC adapters of sotto-broker: sotto.v1.Broker (the public API) and
// sotto.v1.EngineRegistry (media engines announcing themselves). Thin: they
// take the bearer token from the `authorization` metadata, hand the request
// to Broker or EngineRegistry, and map errors with ToGrpcStatus.
#ifndef SOTTO_SERVICES_BROKER_BROKER_SERVICE_H_
#define SOTTO_SERVICES_BROKER_BROKER_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "services/broker/broker.h"
#include "services/broker/engine_registry.h"
#include "services/common/policy_client.h"
#include "sotto/v1/broker.grpc.pb.h"

namespace sotto::broker {

class BrokerService final : public v1::Broker::Service {
 public:
  // `broker` must outlive the service.
  explicit BrokerService(Broker* broker) : broker_(broker) {}

  grpc::Status RegisterCall(grpc::ServerContext* context,
                            const v1::RegisterCallRequest* request,
                            v1::Call* response) override;
  grpc::Status GetCall(grpc::ServerContext* context,
                       const v1::GetCallRequest* request,
                       v1::Call* response) override;
  grpc::Status ListCalls(grpc::ServerContext* context,
                         const v1::ListCallsRequest* request,
                         v1::ListCallsResponse* response) override;
  grpc::Status EndCall(grpc::ServerContext* context,
                       const v1::EndCallRequest* request,
                       v1::Call* response) override;
  grpc::Status TransferCall(grpc::ServerContext* context,
                            const v1::TransferCallRequest* request,
                            v1::TransferCallResponse* response) override;
  grpc::Status UpdateCall(grpc::ServerContext* context,
                          const v1::UpdateCallRequest* request,
                          v1::Call* response) override;
  grpc::Status UpdateParticipantMedia(
      grpc::ServerContext* context,
      const v1::UpdateParticipantMediaRequest* request,
      v1::Participant* response) override;
  grpc::Status ListSupervisions(
      grpc::ServerContext* context, const v1::ListSupervisionsRequest* request,
      v1::ListSupervisionsResponse* response) override;
  grpc::Status PauseCallRecording(grpc::ServerContext* context,
                                  const v1::PauseCallRecordingRequest* request,
                                  v1::Call* response) override;
  grpc::Status ResumeCallRecording(
      grpc::ServerContext* context,
      const v1::ResumeCallRecordingRequest* request,
      v1::Call* response) override;
  grpc::Status HoldCall(grpc::ServerContext* context,
                        const v1::HoldCallRequest* request,
                        v1::Call* response) override;
  grpc::Status ResumeCall(grpc::ServerContext* context,
                          const v1::ResumeCallRequest* request,
                          v1::Call* response) override;
  grpc::Status CreateSupervision(grpc::ServerContext* context,
                                 const v1::CreateSupervisionRequest* request,
                                 v1::Supervision* response) override;
  grpc::Status SetSupervisionMode(grpc::ServerContext* context,
                                  const v1::SetSupervisionModeRequest* request,
                                  v1::Supervision* response) override;
  grpc::Status DeleteSupervision(grpc::ServerContext* context,
                                 const v1::DeleteSupervisionRequest* request,
                                 v1::Supervision* response) override;
  grpc::Status GetSupervision(grpc::ServerContext* context,
                              const v1::GetSupervisionRequest* request,
                              v1::Supervision* response) override;
  // Streams hold a server thread each for as long as they watch.
  grpc::Status WatchCall(grpc::ServerContext* context,
                         const v1::WatchCallRequest* request,
                         grpc::ServerWriter<v1::CallEvent>* writer) override;
  grpc::Status WatchCalls(grpc::ServerContext* context,
                          const v1::WatchCallsRequest* request,
                          grpc::ServerWriter<v1::CallEvent>* writer) override;

 private:
  Broker* const broker_;
};

class EngineRegistryService final : public v1::EngineRegistry::Service {
 public:
  // `registry` must outlive the service.
  explicit EngineRegistryService(
      EngineRegistry* registry,
      std::function<absl::Time()> clock = [] { return absl::Now(); })
      : registry_(registry), clock_(std::move(clock)) {}

  grpc::Status RegisterEngine(grpc::ServerContext* context,
                              const v1::RegisterEngineRequest* request,
                              v1::RegisterEngineResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context,
                         const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ListEngines(grpc::ServerContext* context,
                           const v1::ListEnginesRequest* request,
                           v1::ListEnginesResponse* response) override;

 private:
  EngineRegistry* const registry_;
  const std::function<absl::Time()> clock_;
};

using service_kit::BearerToken;  // shared: services/common/policy_client.h

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_BROKER_SERVICE_H_
