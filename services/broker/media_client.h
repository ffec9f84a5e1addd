// The broker's view of media engines: add and remove legs, set a room's
// routing, delete rooms. MediaClient is the seam; GrpcMediaClient keeps one
// channel per engine control address, tests use a fake.
#ifndef SOTTO_SERVICES_BROKER_MEDIA_CLIENT_H_
#define SOTTO_SERVICES_BROKER_MEDIA_CLIENT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/common/stub_cache.h"
#include "sotto/v1/media.grpc.pb.h"

namespace sotto::broker {

// Thread-safe. `engine` is the engine's control address (host:port).
// Errors are the engine's (see media.proto); UNAVAILABLE when it cannot
// be reached.
class MediaClient {
 public:
  virtual ~MediaClient() = default;
  virtual absl::StatusOr<v1::Leg> AddLeg(const std::string& engine,
                                         const v1::AddLegRequest& request) = 0;
  virtual absl::StatusOr<v1::Leg> UpdateLeg(
      const std::string& engine, const v1::UpdateLegRequest& request) = 0;
  virtual absl::Status RemoveLeg(const std::string& engine,
                                 const v1::RemoveLegRequest& request) = 0;
  // Returns once the engine mixes by the new matrix.
  virtual absl::StatusOr<v1::SetRoutingResponse> SetRouting(
      const std::string& engine, const v1::SetRoutingRequest& request) = 0;
  virtual absl::Status DeleteRoom(const std::string& engine,
                                  const v1::DeleteRoomRequest& request) = 0;
  // Cue tones and announcements.
  virtual absl::Status PlayAudio(const std::string& engine,
                                 const v1::PlayAudioRequest& request) = 0;
  // Every room the engine carries (reconciliation after a restart).
  virtual absl::StatusOr<v1::ListRoomsResponse> ListRooms(
      const std::string& engine) = 0;
};

class GrpcMediaClient final : public MediaClient {
 public:
  GrpcMediaClient(std::shared_ptr<grpc::ChannelCredentials> credentials,
                  grpc::ChannelArguments arguments, absl::Duration timeout)
      : stubs_(std::move(credentials), std::move(arguments)),
        timeout_(timeout) {}

  absl::StatusOr<v1::Leg> AddLeg(const std::string& engine,
                                 const v1::AddLegRequest& request) override;
  absl::StatusOr<v1::Leg> UpdateLeg(
      const std::string& engine, const v1::UpdateLegRequest& request) override;
  absl::Status RemoveLeg(const std::string& engine,
                         const v1::RemoveLegRequest& request) override;
  absl::StatusOr<v1::SetRoutingResponse> SetRouting(
      const std::string& engine, const v1::SetRoutingRequest& request) override;
  absl::Status DeleteRoom(const std::string& engine,
                          const v1::DeleteRoomRequest& request) override;
  absl::Status PlayAudio(const std::string& engine,
                         const v1::PlayAudioRequest& request) override;
  absl::StatusOr<v1::ListRoomsResponse> ListRooms(
      const std::string& engine) override;

 private:
  // One unary call to `engine` with the deadline; errors name the method.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      const std::string& engine, absl::string_view method,
      grpc::Status (v1::MediaEngine::Stub::*rpc)(grpc::ClientContext*,
                                                 const Request&, Response*),
      const Request& request);

  v1::MediaEngine::Stub* StubFor(const std::string& engine) {
    return stubs_.For(engine);
  }

  // One stub (and channel) per engine address.
  service_kit::StubCache<v1::MediaEngine> stubs_;
  const absl::Duration timeout_;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_MEDIA_CLIENT_H_
