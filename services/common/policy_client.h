// The services' view of the policy service (sotto.v1.Policy): who a token
// names, whether it may do something, and a tenant's recording policy.
// PolicyClient is the seam; GrpcPolicyClient calls a real server, tests use
// fakes. Shared by the broker and the recorder.
#ifndef SOTTO_SERVICES_COMMON_POLICY_CLIENT_H_
#define SOTTO_SERVICES_COMMON_POLICY_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "sotto/v1/policy.grpc.pb.h"

namespace sotto::service_kit {

// Thread-safe.
class PolicyClient {
 public:
  virtual ~PolicyClient() = default;
  // UNAUTHENTICATED with the reason for a token that does not verify;
  // UNAVAILABLE when the policy service cannot be reached.
  virtual absl::StatusOr<v1::Principal> Authenticate(
      const std::string& token) = 0;
  // Always a decision when OK; UNAVAILABLE when the service is down.
  virtual absl::StatusOr<v1::Decision> Authorize(
      const v1::AuthorizeRequest& request) = 0;
  // The tenant's recording policy for a queue; NOT_FOUND for a tenant the
  // document does not know, UNAVAILABLE when the service is down. Callers
  // that never ask for it (the broker) need not implement it.
  virtual absl::StatusOr<v1::RecordingPolicy> GetRecordingPolicy(
      const std::string& tenant, const std::string& queue) {
    (void)tenant;
    (void)queue;
    return absl::UnimplementedError("GetRecordingPolicy");
  }
};

class GrpcPolicyClient final : public PolicyClient {
 public:
  GrpcPolicyClient(std::unique_ptr<v1::Policy::StubInterface> stub,
                   absl::Duration timeout)
      : stub_(std::move(stub)), timeout_(timeout) {}

  absl::StatusOr<v1::Principal> Authenticate(const std::string& token) override;
  absl::StatusOr<v1::Decision> Authorize(
      const v1::AuthorizeRequest& request) override;
  absl::StatusOr<v1::RecordingPolicy> GetRecordingPolicy(
      const std::string& tenant, const std::string& queue) override;

 private:
  std::unique_ptr<v1::Policy::StubInterface> stub_;
  const absl::Duration timeout_;
};

// The JWT of an `authorization: Bearer <JWT>` metadata entry; empty if
// there is none (the scheme is case-insensitive).
std::string BearerToken(const grpc::ServerContext& context);

// A dependency's grpc::Status as absl::Status: codes map one to one and the
// message says which dependency (`what`) failed.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what);

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_POLICY_CLIENT_H_
