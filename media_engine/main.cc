// sotto-media: SRTP legs, jitter buffers and mixing by routing matrix.
// For now it serves health checking, reflection and /metrics only;
// the media control service and its drain hook are wired in here by a later
// issue.
#include <utility>

#include "absl/status/statusor.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"

int main(int argc, char** argv) {
  namespace kit = sotto::service_kit;
  kit::ServiceInfo info;
  info.name = "media";
  info.description = "SRTP legs, jitter buffers and mixing by routing matrix.";
  info.default_grpc_port = 7102;
  info.default_metrics_port = 9102;
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  kit::ServerRunner runner(*std::move(options));
  return kit::ExitCodeFor(runner.Run());
}
