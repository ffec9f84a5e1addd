// The policy document: the YAML file that says who may do what (issuers of
// tokens, per-tenant roles, rules and recording policy), parsed and
// validated into typed structs. Parsing is strict: an unknown key, action or
// mode is an error (a typo must never widen or silently narrow access), and
// every error names the file, the line and the key path.
// The format is documented in services/policy/README.md.
#ifndef SOTTO_SERVICES_POLICY_POLICY_DOCUMENT_H_
#define SOTTO_SERVICES_POLICY_POLICY_DOCUMENT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sotto::policy {

// What a principal wants to do (mirrors sotto.v1.Action).
enum class Action {
  kUnspecified,
  kCallsManage,
  kCallsView,
  kCallsSupervise,
  kRecordingsRead,
  kRecordingsControl,
  kReportsRead,
  kOutcomesWrite,
};

// Supervision mode (mirrors sotto.v1.Mode).
enum class Mode { kUnspecified, kListen, kWhisper, kBarge, kTakeover };

// "calls.supervise" etc.; "unspecified" for kUnspecified.
absl::string_view ActionName(Action action);
// The inverse of ActionName for the seven real actions.
std::optional<Action> ParseAction(absl::string_view name);
// "LISTEN" etc.; "UNSPECIFIED" for kUnspecified.
absl::string_view ModeName(Mode mode);
// The inverse of ModeName for the four real modes.
std::optional<Mode> ParseMode(absl::string_view name);

enum class JwtAlgorithm { kHs256, kRs256, kEs256 };
absl::string_view JwtAlgorithmName(JwtAlgorithm algorithm);

// One token issuer the service trusts.
struct IssuerSpec {
  std::string name;  // Document-local label, for messages.
  JwtAlgorithm algorithm = JwtAlgorithm::kHs256;
  // HS256: the shared secret (trailing whitespace trimmed). RS256/ES256: the
  // PEM public key. Secret for HS256; never logged.
  std::string key;
  std::string key_file;  // Resolved path, for messages.
  std::string issuer;    // Required `iss` claim.
  std::string audience;  // Required in the `aud` claim.
  // Tenants this issuer may vouch for; empty means any.
  std::vector<std::string> tenants;
  int line = 0;
};

// A grant: roles that may perform actions on matching calls.
struct RuleSpec {
  std::string id;
  int line = 0;  // 1-based line of the rule in the document.
  std::vector<std::string> roles;
  std::vector<Action> actions;
  // "own" (the principal's teams), "*" (any team, including none) or names.
  std::vector<std::string> teams;
  // "*" (any queue, including none) or names.
  std::vector<std::string> queues;
  // Modes granted for calls.supervise (required iff that action is listed).
  std::vector<Mode> modes;
  // Modes granted only when the customer was told the call may be monitored.
  std::vector<Mode> require_disclosure_for;
  Mode downgrade_to = Mode::kUnspecified;
  uint32_t max_supervisors_per_call = 0;
  bool whisper_cue_tone = false;
  bool customer_announcement = false;
  // WHISPER is not granted on a call whose agent declined it.
  bool agent_may_decline_whisper = false;
  // TAKEOVER is granted only with a reason.
  bool takeover_requires_reason = false;
};

enum class RecordingLayout {
  kUnspecified,
  kMultichannel,
  kStereoPlusSupervisorFile,
};

// How a tenant's (or a queue's) calls are recorded.
struct RecordingSpec {
  bool enabled = false;
  bool require_disclosure = true;
  RecordingLayout layout = RecordingLayout::kMultichannel;
  bool keep_whisper_audio = false;
  bool keep_telephone_events = false;
  absl::Duration retention = absl::ZeroDuration();  // Zero: keep forever.
};

struct TenantSpec {
  std::string id;
  std::map<std::string, int> role_ranks;  // Role name -> takeover rank.
  std::vector<RuleSpec> rules;            // In document order.
  RecordingSpec recording;
  // Per-queue recording: the tenant's settings with the queue's overrides.
  std::map<std::string, RecordingSpec> queue_recording;
};

struct PolicyDocument {
  int version = 0;
  std::vector<IssuerSpec> issuers;
  std::map<std::string, TenantSpec> tenants;

  size_t RuleCount() const;
};

// Parses `yaml` as the document at `path`. `path` is used in error messages
// and as the base of relative `key_file`s, which are read here (a document
// whose keys cannot be read is not loadable). Errors are INVALID_ARGUMENT
// ("policy.yaml:12: tenants.acme.rules[0].actions[1]: unknown action ...").
absl::StatusOr<PolicyDocument> ParsePolicyDocument(absl::string_view yaml,
                                                   const std::string& path);

// Reads `path` and parses it. NOT_FOUND / PERMISSION_DENIED style errors
// name the file.
absl::StatusOr<PolicyDocument> LoadPolicyDocument(const std::string& path);

// Reads a whole file. Errors name the path and the OS reason.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// "90d", "12h", "30m", "45s" or "0" (forever) as a duration.
absl::StatusOr<absl::Duration> ParseRetention(absl::string_view text);

}  // namespace sotto::policy

#endif  // SOTTO_SERVICES_POLICY_POLICY_DOCUMENT_H_
