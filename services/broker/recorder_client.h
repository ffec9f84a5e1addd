// The broker's view of the recorder (sotto.v1.Recorder): start, stop, pause
// and resume a call's recording, and tell it who joined and in which mode.
// RecorderClient is the seam; GrpcRecorderClient calls a real server, tests
// use a fake.
#ifndef SOTTO_SERVICES_BROKER_RECORDER_CLIENT_H_
#define SOTTO_SERVICES_BROKER_RECORDER_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sotto/v1/recorder.grpc.pb.h"

namespace sotto::broker {

// Thread-safe. Errors are the recorder's (see recorder.proto); UNAVAILABLE
// when it cannot be reached.
class RecorderClient {
 public:
  virtual ~RecorderClient() = default;
  virtual absl::StatusOr<v1::Recording> Start(
      const v1::StartRecordingRequest& request) = 0;
  virtual absl::Status Stop(const v1::StopRecordingRequest& request) = 0;
  virtual absl::StatusOr<v1::Recording> Pause(
      const v1::PauseRecordingRequest& request) = 0;
  virtual absl::StatusOr<v1::Recording> Resume(
      const v1::ResumeRecordingRequest& request) = 0;
  virtual absl::Status Annotate(
      const v1::AnnotateRecordingRequest& request) = 0;
};

class GrpcRecorderClient final : public RecorderClient {
 public:
  GrpcRecorderClient(std::unique_ptr<v1::Recorder::StubInterface> stub,
                     absl::Duration timeout)
      : stub_(std::move(stub)), timeout_(timeout) {}

  absl::StatusOr<v1::Recording> Start(
      const v1::StartRecordingRequest& request) override;
  absl::Status Stop(const v1::StopRecordingRequest& request) override;
  absl::StatusOr<v1::Recording> Pause(
      const v1::PauseRecordingRequest& request) override;
  absl::StatusOr<v1::Recording> Resume(
      const v1::ResumeRecordingRequest& request) override;
  absl::Status Annotate(const v1::AnnotateRecordingRequest& request) override;

 private:
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      absl::string_view method,
      grpc::Status (v1::Recorder::StubInterface::*rpc)(grpc::ClientContext*,
                                                       const Request&,
                                                       Response*),
      const Request& request);

  std::unique_ptr<v1::Recorder::StubInterface> stub_;
  const absl::Duration timeout_;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_RECORDER_CLIENT_H_
