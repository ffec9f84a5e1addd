// The broker's view of the policy service: the shared PolicyClient seam
// (services/common/policy_client.h) under the broker's names.
#ifndef SOTTO_SERVICES_BROKER_POLICY_CLIENT_H_
#define SOTTO_SERVICES_BROKER_POLICY_CLIENT_H_

#include "services/common/policy_client.h"

namespace sotto::broker {

using PolicyClient = service_kit::PolicyClient;
using GrpcPolicyClient = service_kit::GrpcPolicyClient;

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_POLICY_CLIENT_H_
