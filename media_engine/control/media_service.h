// The MediaEngine gRPC service: validates requests, translates between
// sotto.v1 messages and the engine's types, and maps errors in one place.
#ifndef SOTTO_MEDIA_ENGINE_CONTROL_MEDIA_SERVICE_H_
#define SOTTO_MEDIA_ENGINE_CONTROL_MEDIA_SERVICE_H_

#include <atomic>
#include <mutex>

#include "media_engine/control/drain_timer.h"
#include "media_engine/control/idempotency_cache.h"
#include "media_engine/engine/engine.h"
#include "sotto/v1/media.grpc.pb.h"

namespace sotto::media {

class MediaService final : public v1::MediaEngine::Service {
 public:
  // `engine` must outlive the service.
  explicit MediaService(Engine* engine);

  grpc::Status AddLeg(grpc::ServerContext* context,
                      const v1::AddLegRequest* request,
                      v1::Leg* response) override;
  grpc::Status UpdateLeg(grpc::ServerContext* context,
                         const v1::UpdateLegRequest* request,
                         v1::Leg* response) override;
  grpc::Status RemoveLeg(grpc::ServerContext* context,
                         const v1::RemoveLegRequest* request,
                         v1::RemoveLegResponse* response) override;
  grpc::Status SetRouting(grpc::ServerContext* context,
                          const v1::SetRoutingRequest* request,
                          v1::SetRoutingResponse* response) override;
  grpc::Status PlayAudio(grpc::ServerContext* context,
                         const v1::PlayAudioRequest* request,
                         v1::PlayAudioResponse* response) override;
  grpc::Status DeleteRoom(grpc::ServerContext* context,
                          const v1::DeleteRoomRequest* request,
                          v1::DeleteRoomResponse* response) override;
  grpc::Status ListRooms(grpc::ServerContext* context,
                         const v1::ListRoomsRequest* request,
                         v1::ListRoomsResponse* response) override;
  grpc::Status GetStats(grpc::ServerContext* context,
                        const v1::GetStatsRequest* request,
                        v1::GetStatsResponse* response) override;
  grpc::Status StreamTap(grpc::ServerContext* context,
                         const v1::StreamTapRequest* request,
                         grpc::ServerWriter<v1::TapMessage>* writer) override;
  grpc::Status Drain(grpc::ServerContext* context,
                     const v1::DrainRequest* request,
                     v1::DrainResponse* response) override;
  grpc::Status GetEngineInfo(grpc::ServerContext* context,
                             const v1::GetEngineInfoRequest* request,
                             v1::EngineInfo* response) override;

  // Set when the process drains; StreamTap readers end then. Also ends
  // the deadline of a drain started by the Drain RPC (the process's own
  // drain deletes the rooms itself).
  void Shutdown();

 private:
  void EndRoomsAtDrainDeadline();
  // Runs a mutating RPC at most once per request_id: a retry gets the
  // first success's answer, a reused id with another request is refused.
  template <typename Request, typename Response, typename Run>
  grpc::Status Once(absl::string_view method, const Request& request,
                    Response* response, Run run);
  grpc::Status AddLegOnce(const v1::AddLegRequest* request, v1::Leg* response);
  grpc::Status UpdateLegOnce(const v1::UpdateLegRequest* request,
                             v1::Leg* response);
  grpc::Status SetRoutingOnce(const v1::SetRoutingRequest* request,
                              v1::SetRoutingResponse* response);
  grpc::Status PlayAudioOnce(const v1::PlayAudioRequest* request,
                             v1::PlayAudioResponse* response);

  Engine* engine_;
  std::atomic<bool> shutting_down_{false};
  // Held across a mutation so that a retry racing its first attempt waits
  // for it (the engine serialises mutations anyway).
  std::mutex mutations_mutex_;
  IdempotencyCache answers_;
  // A Drain RPC's deadline: the rooms still live then are deleted.
  DrainTimer drain_deadline_;
};

// Exposed for tests: the SDP media section for a leg's answer.
std::string AnswerSdp(const LegDescription& leg);

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_CONTROL_MEDIA_SERVICE_H_
