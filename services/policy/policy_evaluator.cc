#include "services/policy/policy_evaluator.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sotto::policy {
namespace {

template <typename T>
bool Contains(const std::vector<T>& values, const T& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool RoleMatches(const RuleSpec& rule, const Principal& principal) {
  for (const std::string& role : principal.roles) {
    if (Contains(rule.roles, role)) return true;
  }
  return false;
}

// "own" needs the resource's team among the principal's teams; a resource
// without a team matches only "*".
bool TeamMatches(const RuleSpec& rule, const Principal& principal,
                 const Resource& resource) {
  for (const std::string& team : rule.teams) {
    if (team == "*") return true;
    if (resource.team.empty()) continue;
    if (team == "own" && Contains(principal.teams, resource.team)) return true;
    if (team == resource.team) return true;
  }
  return false;
}

bool QueueMatches(const RuleSpec& rule, const Resource& resource) {
  for (const std::string& queue : rule.queues) {
    if (queue == "*") return true;
    if (!resource.queue.empty() && queue == resource.queue) return true;
  }
  return false;
}

Decision Deny(std::string rule, std::string reason) {
  Decision decision;
  decision.allowed = false;
  decision.rule = std::move(rule);
  decision.reason = std::move(reason);
  return decision;
}

}  // namespace

int PolicyEvaluator::TakeoverRank(const Principal& principal) const {
  auto tenant = document_->tenants.find(principal.tenant);
  if (tenant == document_->tenants.end()) return 0;
  int rank = 0;
  for (const std::string& role : principal.roles) {
    auto it = tenant->second.role_ranks.find(role);
    if (it != tenant->second.role_ranks.end())
      rank = std::max(rank, it->second);
  }
  return rank;
}

Decision PolicyEvaluator::Authorize(const Principal& principal, Action action,
                                    const Resource& resource, Mode mode,
                                    absl::string_view reason) const {
  // Tenant isolation comes first and names only the caller's own tenant.
  if (principal.tenant.empty() || principal.tenant != resource.tenant) {
    return Deny(kDefaultDenyRule,
                absl::StrCat("principal of tenant \"", principal.tenant,
                             "\" may act only on resources of its own "
                             "tenant"));
  }
  auto tenant_it = document_->tenants.find(principal.tenant);
  if (tenant_it == document_->tenants.end()) {
    return Deny(kDefaultDenyRule,
                absl::StrCat("the policy defines no rules for tenant \"",
                             principal.tenant, "\""));
  }
  const TenantSpec& tenant = tenant_it->second;
  const bool supervise = action == Action::kCallsSupervise;

  // A rule that would grant but for a condition the call or request does
  // not meet: the denial names it (the first such rule).
  const RuleSpec* needs_disclosure = nullptr;
  const RuleSpec* declined_whisper = nullptr;
  const RuleSpec* needs_reason = nullptr;
  for (const RuleSpec& rule : tenant.rules) {
    if (!Contains(rule.actions, action) || !RoleMatches(rule, principal) ||
        !TeamMatches(rule, principal, resource) ||
        !QueueMatches(rule, resource)) {
      continue;
    }
    if (supervise) {
      if (!Contains(rule.modes, mode)) continue;
      if (!resource.monitoring_disclosed &&
          Contains(rule.require_disclosure_for, mode)) {
        if (needs_disclosure == nullptr) needs_disclosure = &rule;
        continue;
      }
      if (mode == Mode::kWhisper && rule.agent_may_decline_whisper &&
          resource.agent_declined_whisper) {
        if (declined_whisper == nullptr) declined_whisper = &rule;
        continue;
      }
      if (mode == Mode::kTakeover && rule.takeover_requires_reason &&
          absl::StripAsciiWhitespace(reason).empty()) {
        if (needs_reason == nullptr) needs_reason = &rule;
        continue;
      }
    }
    Decision decision;
    decision.allowed = true;
    decision.rule = rule.id;
    decision.reason =
        supervise
            ? absl::StrCat("rule ", rule.id, " grants ", ActionName(action),
                           " in ", ModeName(mode))
            : absl::StrCat("rule ", rule.id, " grants ", ActionName(action));
    if (supervise) {
      SupervisionTerms terms;
      for (Mode granted : rule.modes) {
        const bool lacks_disclosure =
            !resource.monitoring_disclosed &&
            Contains(rule.require_disclosure_for, granted);
        const bool declined = granted == Mode::kWhisper &&
                              rule.agent_may_decline_whisper &&
                              resource.agent_declined_whisper;
        if (!lacks_disclosure && !declined) {
          terms.allowed_modes.push_back(granted);
        }
      }
      terms.downgrade_to = rule.downgrade_to;
      terms.max_supervisors_per_call = rule.max_supervisors_per_call;
      terms.takeover_rank = TakeoverRank(principal);
      terms.whisper_cue_tone = rule.whisper_cue_tone;
      terms.customer_announcement = rule.customer_announcement;
      decision.supervision = std::move(terms);
    }
    return decision;
  }

  if (declined_whisper != nullptr) {
    return Deny(declined_whisper->id,
                absl::StrCat("the agent declined whisper, and rule ",
                             declined_whisper->id, " lets agents decline it"));
  }
  if (needs_reason != nullptr) {
    return Deny(needs_reason->id,
                absl::StrCat("rule ", needs_reason->id,
                             " grants TAKEOVER only with a reason: say why"));
  }
  if (needs_disclosure != nullptr) {
    return Deny(
        needs_disclosure->id,
        absl::StrCat("rule ", needs_disclosure->id, " grants ", ModeName(mode),
                     " only when the customer was told the call may "
                     "be monitored (monitoring_disclosed)"));
  }
  std::string what = std::string(ActionName(action));
  if (supervise) absl::StrAppend(&what, " in ", ModeName(mode));
  std::string denial = absl::StrCat(
      "no rule grants ", what, " to roles [",
      absl::StrJoin(principal.roles, ", "), "] on ",
      resource.team.empty() ? std::string("no team")
                            : absl::StrCat("team ", resource.team));
  if (!resource.queue.empty())
    absl::StrAppend(&denial, " in queue ", resource.queue);
  return Deny(kDefaultDenyRule, std::move(denial));
}

absl::StatusOr<RecordingSpec> PolicyEvaluator::RecordingPolicy(
    absl::string_view tenant, absl::string_view queue) const {
  auto it = document_->tenants.find(std::string(tenant));
  if (it == document_->tenants.end()) {
    return absl::NotFoundError(
        absl::StrCat("the policy defines no tenant \"", tenant, "\""));
  }
  auto queue_it = it->second.queue_recording.find(std::string(queue));
  if (!queue.empty() && queue_it != it->second.queue_recording.end()) {
    return queue_it->second;
  }
  return it->second.recording;
}

}  // namespace sotto::policy
