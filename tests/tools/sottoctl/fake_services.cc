#include "tests/tools/sottoctl/fake_services.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace sotto::sottoctl::fakes {
namespace {

using google::protobuf::Message;

#define FAKE_UNARY(Method, Req, Resp)                                   \
  grpc::Status Method(grpc::ServerContext* context, const Req* request, \
                      Resp* response) override {                        \
    return script_->Answer(#Method, context, *request, response);       \
  }

// Writes the canned messages, then holds the stream open if asked (until
// the client cancels or a deadline passes), then the canned status.
template <typename Resp>
grpc::Status Stream(Script* script, const std::string& method,
                    grpc::ServerContext* context, const Message& request,
                    grpc::ServerWriter<Resp>* writer) {
  script->Log(method, context, request);
  grpc::Status failure = script->FailureOf(method);
  if (!failure.ok()) return failure;
  for (const auto& message : script->StreamOf(method)) {
    writer->Write(static_cast<const Resp&>(*message));
  }
  if (script->hold_streams_open) {
    const auto limit =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!context->IsCancelled() &&
           std::chrono::steady_clock::now() < limit) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return grpc::Status::OK;
}

#define FAKE_STREAM(Method, Req, Resp)                                  \
  grpc::Status Method(grpc::ServerContext* context, const Req* request, \
                      grpc::ServerWriter<Resp>* writer) override {      \
    return Stream<Resp>(script_, #Method, context, *request, writer);   \
  }

class FakeBroker final : public v1::Broker::Service {
 public:
  explicit FakeBroker(Script* script) : script_(script) {}
  FAKE_UNARY(RegisterCall, v1::RegisterCallRequest, v1::Call)
  FAKE_UNARY(GetCall, v1::GetCallRequest, v1::Call)
  FAKE_UNARY(ListCalls, v1::ListCallsRequest, v1::ListCallsResponse)
  FAKE_UNARY(EndCall, v1::EndCallRequest, v1::Call)
  FAKE_UNARY(HoldCall, v1::HoldCallRequest, v1::Call)
  FAKE_UNARY(ResumeCall, v1::ResumeCallRequest, v1::Call)
  FAKE_UNARY(UpdateCall, v1::UpdateCallRequest, v1::Call)
  FAKE_UNARY(PauseCallRecording, v1::PauseCallRecordingRequest, v1::Call)
  FAKE_UNARY(ResumeCallRecording, v1::ResumeCallRecordingRequest, v1::Call)
  FAKE_UNARY(TransferCall, v1::TransferCallRequest, v1::TransferCallResponse)
  FAKE_UNARY(UpdateParticipantMedia, v1::UpdateParticipantMediaRequest,
             v1::Participant)
  FAKE_UNARY(CreateSupervision, v1::CreateSupervisionRequest, v1::Supervision)
  FAKE_UNARY(SetSupervisionMode, v1::SetSupervisionModeRequest, v1::Supervision)
  FAKE_UNARY(DeleteSupervision, v1::DeleteSupervisionRequest, v1::Supervision)
  FAKE_UNARY(GetSupervision, v1::GetSupervisionRequest, v1::Supervision)
  FAKE_UNARY(ListSupervisions, v1::ListSupervisionsRequest,
             v1::ListSupervisionsResponse)
  FAKE_STREAM(WatchCall, v1::WatchCallRequest, v1::CallEvent)
  FAKE_STREAM(WatchCalls, v1::WatchCallsRequest, v1::CallEvent)

 private:
  Script* script_;
};

class FakeRegistry final : public v1::EngineRegistry::Service {
 public:
  explicit FakeRegistry(Script* script) : script_(script) {}
  FAKE_UNARY(ListEngines, v1::ListEnginesRequest, v1::ListEnginesResponse)

 private:
  Script* script_;
};

class FakeRecorder final : public v1::Recorder::Service {
 public:
  explicit FakeRecorder(Script* script) : script_(script) {}
  FAKE_UNARY(StartRecording, v1::StartRecordingRequest, v1::Recording)
  FAKE_UNARY(StopRecording, v1::StopRecordingRequest, v1::Recording)
  FAKE_UNARY(PauseRecording, v1::PauseRecordingRequest, v1::Recording)
  FAKE_UNARY(ResumeRecording, v1::ResumeRecordingRequest, v1::Recording)
  FAKE_UNARY(AnnotateRecording, v1::AnnotateRecordingRequest, v1::Recording)
  FAKE_UNARY(GetRecording, v1::GetRecordingRequest, v1::Recording)
  FAKE_UNARY(ListRecordings, v1::ListRecordingsRequest,
             v1::ListRecordingsResponse)
  FAKE_STREAM(DownloadRecording, v1::DownloadRecordingRequest,
              v1::DownloadRecordingResponse)
  FAKE_UNARY(ApplyRetention, v1::ApplyRetentionRequest,
             v1::ApplyRetentionResponse)

 private:
  Script* script_;
};

class FakeReporting final : public v1::Reporting::Service {
 public:
  explicit FakeReporting(Script* script) : script_(script) {}
  FAKE_UNARY(ReportOutcome, v1::ReportOutcomeRequest, v1::CallOutcome)
  FAKE_UNARY(ListAuditRecords, v1::ListAuditRecordsRequest,
             v1::ListAuditRecordsResponse)
  FAKE_UNARY(VerifyAuditChain, v1::VerifyAuditChainRequest,
             v1::VerifyAuditChainResponse)
  FAKE_UNARY(GetSupervisionActivityReport, v1::SupervisionActivityReportRequest,
             v1::SupervisionActivityReport)
  FAKE_UNARY(GetCoachingEffectivenessReport,
             v1::CoachingEffectivenessReportRequest,
             v1::CoachingEffectivenessReport)
  FAKE_UNARY(GetRampUpReport, v1::RampUpReportRequest, v1::RampUpReport)
  FAKE_STREAM(ExportReportCsv, v1::ExportReportCsvRequest, v1::CsvChunk)

 private:
  Script* script_;
};

class FakePolicy final : public v1::Policy::Service {
 public:
  explicit FakePolicy(Script* script) : script_(script) {}
  FAKE_UNARY(Authenticate, v1::AuthenticateRequest, v1::Principal)
  FAKE_UNARY(Authorize, v1::AuthorizeRequest, v1::Decision)
  FAKE_UNARY(GetRecordingPolicy, v1::GetRecordingPolicyRequest,
             v1::RecordingPolicy)
  FAKE_UNARY(GetPolicyStatus, v1::GetPolicyStatusRequest, v1::PolicyStatus)

 private:
  Script* script_;
};

class FakeMedia final : public v1::MediaEngine::Service {
 public:
  explicit FakeMedia(Script* script) : script_(script) {}
  FAKE_UNARY(GetEngineInfo, v1::GetEngineInfoRequest, v1::EngineInfo)
  FAKE_UNARY(ListRooms, v1::ListRoomsRequest, v1::ListRoomsResponse)
  FAKE_UNARY(GetStats, v1::GetStatsRequest, v1::GetStatsResponse)
  FAKE_UNARY(Drain, v1::DrainRequest, v1::DrainResponse)

 private:
  Script* script_;
};

}  // namespace

void Script::Respond(const std::string& method, const Message& response) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Message> copy(response.New());
  copy->CopyFrom(response);
  responses_[method].push_back(std::move(copy));
}

void Script::Fail(const std::string& method, grpc::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_[method] = std::move(status);
}

std::vector<std::string> Script::methods() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& r : received_) out.push_back(r->method);
  return out;
}

const Received* Script::Last(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = received_.rbegin(); it != received_.rend(); ++it) {
    if ((*it)->method == method) return it->get();
  }
  return nullptr;
}

std::vector<const Received*> Script::All(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const Received*> out;
  for (const auto& r : received_) {
    if (r->method == method) out.push_back(r.get());
  }
  return out;
}

size_t Script::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_.size();
}

void Script::Log(const std::string& method, grpc::ServerContext* context,
                 const Message& request) {
  auto received = std::make_unique<Received>();
  received->method = method;
  received->request.reset(request.New());
  received->request->CopyFrom(request);
  const auto& metadata = context->client_metadata();
  auto found = metadata.find("authorization");
  if (found != metadata.end()) {
    received->authorization.assign(found->second.data(), found->second.size());
  }
  std::lock_guard<std::mutex> lock(mu_);
  received_.push_back(std::move(received));
}

grpc::Status Script::FailureOf(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = failures_.find(method);
  return found == failures_.end() ? grpc::Status::OK : found->second;
}

grpc::Status Script::Answer(const std::string& method,
                            grpc::ServerContext* context,
                            const Message& request, Message* response) {
  Log(method, context, request);
  grpc::Status failure = FailureOf(method);
  if (!failure.ok()) return failure;
  std::lock_guard<std::mutex> lock(mu_);
  auto& queue = responses_[method];
  if (!queue.empty()) {
    response->CopyFrom(*queue.front());
    if (queue.size() > 1) queue.pop_front();
  }
  return grpc::Status::OK;
}

std::vector<std::unique_ptr<Message>> Script::StreamOf(
    const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::unique_ptr<Message>> out;
  for (const auto& message : responses_[method]) {
    out.emplace_back(message->New());
    out.back()->CopyFrom(*message);
  }
  return out;
}

FakeServer::FakeServer() : script_(std::make_unique<Script>()) {
  services_.push_back(std::make_unique<FakeBroker>(script_.get()));
  services_.push_back(std::make_unique<FakeRegistry>(script_.get()));
  services_.push_back(std::make_unique<FakeRecorder>(script_.get()));
  services_.push_back(std::make_unique<FakeReporting>(script_.get()));
  services_.push_back(std::make_unique<FakePolicy>(script_.get()));
  services_.push_back(std::make_unique<FakeMedia>(script_.get()));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  for (auto& service : services_) builder.RegisterService(service.get());
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeServer::~FakeServer() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace sotto::sottoctl::fakes
