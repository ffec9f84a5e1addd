// Start-up shared by every Sotto binary: the common flags, logging set-up,
// signal blocking, and turning the flags into ServerOptions. main() calls
// InitService() first, wires its services into a ServerRunner, and returns
// ExitCodeFor(runner.Run()).
#ifndef SOTTO_SERVICES_COMMON_SERVICE_MAIN_H_
#define SOTTO_SERVICES_COMMON_SERVICE_MAIN_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/server_runner.h"

namespace sotto::service_kit {

// What a binary says about itself; the rest comes from flags.
struct ServiceInfo {
  std::string name;         // Short name for logs and metrics: "broker".
  std::string description;  // One line for --help.
  int default_grpc_port = 0;
  int default_metrics_port = 0;
  // --drain_deadline when the flag is not given.
  absl::Duration default_drain_deadline = absl::Seconds(10);
};

// Blocks SIGTERM/SIGINT, parses the command line (--help prints the flags
// and exits), sets up logging, and returns the server options. Call first in
// main(), before anything starts a thread. Flags:
//   --grpc_address, --metrics_address (empty: 0.0.0.0:<default port>),
//   --ready_file, --log_format=text|json, --log_level,
//   --tls_cert_file, --tls_key_file, --tls_client_ca_file,
//   --drain_grace (default 0s), --drain_deadline (default: the service's).
absl::StatusOr<ServerOptions> InitService(int argc, char** argv,
                                          const ServiceInfo& info);

// 0 for OK; otherwise logs why the process stops and returns 1.
int ExitCodeFor(const absl::Status& status);

// The value of a service's own duration flag (string flags, see
// service_main.cc): "500ms", "10s". INVALID_ARGUMENT naming `--name` if it
// does not parse, is negative, or is zero and `allow_zero` is false.
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view name,
                                                 const std::string& value,
                                                 bool allow_zero = false);

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_SERVICE_MAIN_H_
