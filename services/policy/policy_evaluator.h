// Authorisation decisions over a policy document. Pure: no I/O, no clock,
// no locks; the same inputs always give the same decision. Deny by default:
// an action is allowed only when a rule of the principal's own tenant grants
// it, and the first such rule in document order decides.
#ifndef SOTTO_SERVICES_POLICY_POLICY_EVALUATOR_H_
#define SOTTO_SERVICES_POLICY_POLICY_EVALUATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/policy/policy_document.h"

namespace sotto::policy {

// Who asks, as a verified token named them (see TokenVerifier).
struct Principal {
  std::string tenant;
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> teams;
  absl::Time expire_time = absl::InfinitePast();
  std::string display_name;
};

// What is acted on.
struct Resource {
  std::string tenant;
  std::string call;
  std::string queue;
  std::string agent_id;
  std::string team;
  bool monitoring_disclosed = false;
  bool agent_declined_whisper = false;
};

// Obligations of an allowed calls.supervise.
struct SupervisionTerms {
  // The rule's modes, minus those that need a disclosure this call lacks.
  std::vector<Mode> allowed_modes;
  Mode downgrade_to = Mode::kUnspecified;
  uint32_t max_supervisors_per_call = 0;
  int takeover_rank = 0;  // The principal's highest role rank.
  bool whisper_cue_tone = false;
  bool customer_announcement = false;
};

struct Decision {
  bool allowed = false;
  // The deciding rule's id, the rule that denied (a disclosure requirement),
  // or "default-deny".
  std::string rule;
  // Safe to show the caller: names roles, action, mode, team and queue,
  // never another tenant.
  std::string reason;
  // Set for an allowed calls.supervise.
  std::optional<SupervisionTerms> supervision;
};

inline constexpr char kDefaultDenyRule[] = "default-deny";

class PolicyEvaluator {
 public:
  // `document` must outlive the evaluator.
  explicit PolicyEvaluator(const PolicyDocument* document)
      : document_(document) {}

  // `mode` matters only for Action::kCallsSupervise, where it must be set
  // (the adapter rejects kUnspecified before asking). `reason` is what the
  // principal gave for asking (rules may require one for TAKEOVER).
  Decision Authorize(const Principal& principal, Action action,
                     const Resource& resource, Mode mode,
                     absl::string_view reason = "") const;

  // The tenant's recording policy, with the queue's overrides when the
  // document has them. NOT_FOUND for a tenant the document does not define.
  absl::StatusOr<RecordingSpec> RecordingPolicy(absl::string_view tenant,
                                                absl::string_view queue) const;

  // The principal's highest rank among the roles its tenant defines; 0 if
  // it holds none of them.
  int TakeoverRank(const Principal& principal) const;

 private:
  const PolicyDocument* document_;
};

}  // namespace sotto::policy

#endif  // SOTTO_SERVICES_POLICY_POLICY_EVALUATOR_H_
