// Verifies bearer tokens (JWT) against the issuers of the policy document
// and turns their claims into a Principal. The one wrapper of libjwt.
//
// A token verifies when, in this order: it has three base64url parts with
// JSON header and payload; its `iss` names a configured issuer; its header
// `alg` is exactly that issuer's algorithm (so an HS256 token "signed" with
// an RS256 issuer's public key is refused: no algorithm confusion); the
// signature verifies with the issuer's key; `exp` is present and not past;
// `nbf`, if present, is not in the future (both with `leeway`); `aud` (a
// string or a list) contains the issuer's audience; and `sub` and `tenant`
// are non-empty strings. `roles` and `teams` are optional string lists,
// `name` an optional string.
//
// Errors are UNAUTHENTICATED with a short reason ("expired", "bad
// signature", ...). No error message ever contains the token or any part of
// it, so callers may log them.
#ifndef SOTTO_SERVICES_POLICY_TOKEN_VERIFIER_H_
#define SOTTO_SERVICES_POLICY_TOKEN_VERIFIER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/policy/policy_document.h"
#include "services/policy/policy_evaluator.h"

namespace sotto::policy {

// Tokens longer than this are refused before any parsing.
inline constexpr size_t kMaxTokenBytes = 16 * 1024;

class TokenVerifier {
 public:
  // Immutable after construction; Verify() may be called from any thread.
  TokenVerifier(std::vector<IssuerSpec> issuers, absl::Duration leeway)
      : issuers_(std::move(issuers)), leeway_(leeway) {}

  absl::StatusOr<Principal> Verify(absl::string_view token,
                                   absl::Time now) const;

 private:
  std::vector<IssuerSpec> issuers_;
  absl::Duration leeway_;
};

}  // namespace sotto::policy

#endif  // SOTTO_SERVICES_POLICY_TOKEN_VERIFIER_H_
