// The gRPC adapter of sotto-recorder (sotto.v1.Recorder): takes the bearer
// token from the `authorization` metadata for the public reads, hands each
// request to Recorder and maps errors with ToGrpcStatus. Control RPCs are
// internal (mutual TLS at the transport) and carry no token.
#ifndef SOTTO_SERVICES_RECORDER_RECORDER_SERVICE_H_
#define SOTTO_SERVICES_RECORDER_RECORDER_SERVICE_H_

#include "services/recorder/recorder.h"
#include "sotto/v1/recorder.grpc.pb.h"

namespace sotto::recorder {

class RecorderService final : public v1::Recorder::Service {
 public:
  // `recorder` must outlive the service.
  explicit RecorderService(Recorder* recorder) : recorder_(recorder) {}

  grpc::Status StartRecording(grpc::ServerContext* context,
                              const v1::StartRecordingRequest* request,
                              v1::Recording* response) override;
  grpc::Status StopRecording(grpc::ServerContext* context,
                             const v1::StopRecordingRequest* request,
                             v1::Recording* response) override;
  grpc::Status PauseRecording(grpc::ServerContext* context,
                              const v1::PauseRecordingRequest* request,
                              v1::Recording* response) override;
  grpc::Status ResumeRecording(grpc::ServerContext* context,
                               const v1::ResumeRecordingRequest* request,
                               v1::Recording* response) override;
  grpc::Status AnnotateRecording(grpc::ServerContext* context,
                                 const v1::AnnotateRecordingRequest* request,
                                 v1::Recording* response) override;
  grpc::Status GetRecording(grpc::ServerContext* context,
                            const v1::GetRecordingRequest* request,
                            v1::Recording* response) override;
  grpc::Status ListRecordings(grpc::ServerContext* context,
                              const v1::ListRecordingsRequest* request,
                              v1::ListRecordingsResponse* response) override;
  grpc::Status DownloadRecording(
      grpc::ServerContext* context, const v1::DownloadRecordingRequest* request,
      grpc::ServerWriter<v1::DownloadRecordingResponse>* writer) override;
  grpc::Status ApplyRetention(grpc::ServerContext* context,
                              const v1::ApplyRetentionRequest* request,
                              v1::ApplyRetentionResponse* response) override;

 private:
  Recorder* const recorder_;
};

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_RECORDER_SERVICE_H_
