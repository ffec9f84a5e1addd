// The ready file: how scripts and tests learn that a service is up and which
// (possibly ephemeral) ports it bound.
#ifndef SOTTO_SERVICES_COMMON_READY_FILE_H_
#define SOTTO_SERVICES_COMMON_READY_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace sotto::service_kit {

// Writes {"grpc_port":N,"metrics_port":M,"pid":P} to `path` atomically (a
// temporary file in the same directory, then rename), so a reader polling
// for the file never sees it half-written.
absl::Status WriteReadyFile(const std::string& path, int grpc_port,
                            int metrics_port);

// Removes the file; a missing file is not an error.
absl::Status RemoveReadyFile(const std::string& path);

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_READY_FILE_H_
