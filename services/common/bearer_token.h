// The bearer token of an incoming gRPC call (`authorization: Bearer <JWT>`),
// shared by every service with public RPCs.
#ifndef SOTTO_SERVICES_COMMON_BEARER_TOKEN_H_
#define SOTTO_SERVICES_COMMON_BEARER_TOKEN_H_

#include <string>

#include "grpcpp/server_context.h"

namespace sotto::service_kit {

// The token after "Bearer " (case-insensitive), trimmed; "" if the
// metadata entry is missing or is not a bearer token.
std::string BearerToken(const grpc::ServerContext& context);

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_BEARER_TOKEN_H_
