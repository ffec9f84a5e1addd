// The broker's view of the policy service: who a token names and whether
// it may do something. PolicyClient is the seam; GrpcPolicyClient calls a
// sotto.v1.Policy server, tests use a fake.
#ifndef SOTTO_SERVICES_BROKER_POLICY_CLIENT_H_
#define SOTTO_SERVICES_BROKER_POLICY_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sotto/v1/policy.grpc.pb.h"

namespace sotto::broker {

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
};

class GrpcPolicyClient final : public PolicyClient {
 public:
  GrpcPolicyClient(std::unique_ptr<v1::Policy::StubInterface> stub,
                   absl::Duration timeout)
      : stub_(std::move(stub)), timeout_(timeout) {}

  absl::StatusOr<v1::Principal> Authenticate(const std::string& token) override;
  absl::StatusOr<v1::Decision> Authorize(
      const v1::AuthorizeRequest& request) override;

 private:
  std::unique_ptr<v1::Policy::StubInterface> stub_;
  const absl::Duration timeout_;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_POLICY_CLIENT_H_
