#include "services/recorder/recorder_service.h"

#include <utility>

#include "services/common/grpc_status.h"
#include "services/common/policy_client.h"

namespace sotto::recorder {
namespace {

using service_kit::BearerToken;
using service_kit::ToGrpcStatus;

template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status RecorderService::StartRecording(
    grpc::ServerContext*, const v1::StartRecordingRequest* request,
    v1::Recording* response) {
  return Answer(recorder_->StartRecording(*request), response);
}

grpc::Status RecorderService::StopRecording(
    grpc::ServerContext*, const v1::StopRecordingRequest* request,
    v1::Recording* response) {
  return Answer(recorder_->StopRecording(*request), response);
}

grpc::Status RecorderService::PauseRecording(
    grpc::ServerContext*, const v1::PauseRecordingRequest* request,
    v1::Recording* response) {
  return Answer(recorder_->PauseRecording(*request), response);
}

grpc::Status RecorderService::ResumeRecording(
    grpc::ServerContext*, const v1::ResumeRecordingRequest* request,
    v1::Recording* response) {
  return Answer(recorder_->ResumeRecording(*request), response);
}

grpc::Status RecorderService::AnnotateRecording(
    grpc::ServerContext*, const v1::AnnotateRecordingRequest* request,
    v1::Recording* response) {
  return Answer(recorder_->AnnotateRecording(*request), response);
}

grpc::Status RecorderService::GetRecording(
    grpc::ServerContext* context, const v1::GetRecordingRequest* request,
    v1::Recording* response) {
  return Answer(recorder_->GetRecording(BearerToken(*context), *request),
                response);
}

grpc::Status RecorderService::ListRecordings(
    grpc::ServerContext* context, const v1::ListRecordingsRequest* request,
    v1::ListRecordingsResponse* response) {
  return Answer(recorder_->ListRecordings(BearerToken(*context), *request),
                response);
}

grpc::Status RecorderService::DownloadRecording(
    grpc::ServerContext* context, const v1::DownloadRecordingRequest* request,
    grpc::ServerWriter<v1::DownloadRecordingResponse>* writer) {
  return ToGrpcStatus(recorder_->DownloadRecording(
      BearerToken(*context), *request,
      [writer](const v1::DownloadRecordingResponse& message) {
        return writer->Write(message);
      }));
}

grpc::Status RecorderService::ApplyRetention(
    grpc::ServerContext*, const v1::ApplyRetentionRequest* request,
    v1::ApplyRetentionResponse* response) {
  return Answer(recorder_->ApplyRetention(*request), response);
}

}  // namespace sotto::recorder
