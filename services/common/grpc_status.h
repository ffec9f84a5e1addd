// The one place absl::Status becomes grpc::Status (codes map one to one; the
// message is kept, so callers read the field or rule that failed).
#ifndef SOTTO_SERVICES_COMMON_GRPC_STATUS_H_
#define SOTTO_SERVICES_COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace sotto::service_kit {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_GRPC_STATUS_H_
