// sotto-recorder: multi-channel recordings of supervised calls.
// For now it serves health checking, reflection and /metrics only;
// the recorder service is wired in here by a later issue.
#include <utility>

#include "absl/status/statusor.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"

int main(int argc, char** argv) {
  namespace kit = sotto::service_kit;
  kit::ServiceInfo info;
  info.name = "recorder";
  info.description = "multi-channel recordings of supervised calls.";
  info.default_grpc_port = 7103;
  info.default_metrics_port = 9103;
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  kit::ServerRunner runner(*std::move(options));
  return kit::ExitCodeFor(runner.Run());
}
