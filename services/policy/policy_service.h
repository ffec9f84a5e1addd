// The sotto.v1.Policy gRPC service: validates requests, translates between
// sotto.v1 messages and the policy's plain types, and maps errors with
// ToGrpcStatus. The decisions themselves live in PolicyEvaluator and
// TokenVerifier, on the snapshot the PolicyStore holds.
//
// Metrics: sotto_policy_decisions_total{tenant, action, decision, rule}
// counts every Authorize answer (decision "allow" or "deny"; rule ids come
// from the document, so the label set stays bounded).
#ifndef SOTTO_SERVICES_POLICY_POLICY_SERVICE_H_
#define SOTTO_SERVICES_POLICY_POLICY_SERVICE_H_

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/policy/policy_store.h"
#include "sotto/v1/policy.grpc.pb.h"

namespace sotto::policy {

class PolicyService final : public v1::Policy::Service {
 public:
  // `store` and `registry` must outlive the service.
  PolicyService(PolicyStore* store, prometheus::Registry& registry);

  grpc::Status Authenticate(grpc::ServerContext* context,
                            const v1::AuthenticateRequest* request,
                            v1::Principal* response) override;
  grpc::Status Authorize(grpc::ServerContext* context,
                         const v1::AuthorizeRequest* request,
                         v1::Decision* response) override;
  grpc::Status GetRecordingPolicy(grpc::ServerContext* context,
                                  const v1::GetRecordingPolicyRequest* request,
                                  v1::RecordingPolicy* response) override;
  grpc::Status GetPolicyStatus(grpc::ServerContext* context,
                               const v1::GetPolicyStatusRequest* request,
                               v1::PolicyStatus* response) override;

 private:
  PolicyStore* store_;
  prometheus::Family<prometheus::Counter>& decisions_;
};

}  // namespace sotto::policy

#endif  // SOTTO_SERVICES_POLICY_POLICY_SERVICE_H_
