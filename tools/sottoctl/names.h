// Resource names for sottoctl: a full name (`tenants/acme/calls/c-1`) is
// taken as is after a shape check; a bare id is completed with the tenant
// (--tenant, SOTTO_TENANT, or the `tenant` claim of the token). Also the
// tenant claim itself and fresh request ids.
#ifndef SOTTO_TOOLS_SOTTOCTL_NAMES_H_
#define SOTTO_TOOLS_SOTTOCTL_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::sottoctl {

// `tenants/{tenant}`. INVALID_ARGUMENT when no tenant is known.
absl::StatusOr<std::string> TenantParent(absl::string_view tenant);

// A call: `tenants/{t}/calls/{c}` or a bare call id.
absl::StatusOr<std::string> CallName(absl::string_view what,
                                     absl::string_view text,
                                     absl::string_view tenant);

// A child of a call (`supervisions` or `participants`): the full name, or a
// bare id with `call` (a call name or id, from --call).
absl::StatusOr<std::string> CallChildName(absl::string_view what,
                                          absl::string_view collection,
                                          absl::string_view text,
                                          absl::string_view call,
                                          absl::string_view tenant);

// A recording: `tenants/{t}/recordings/{r}` or a bare recording id.
absl::StatusOr<std::string> RecordingName(absl::string_view what,
                                          absl::string_view text,
                                          absl::string_view tenant);

// The last segment of a resource name ("tenants/a/calls/c-1" → "c-1").
absl::string_view LastSegment(absl::string_view name);

// The `tenant` claim of a JWT, read without verifying it (the server
// verifies); empty if the token is not a JWT or has no such claim. Only a
// default for names: the server still checks the tenant against the token.
std::string TenantFromToken(absl::string_view token);

// A fresh random UUID (version 4), the default request_id of mutations.
std::string NewRequestId();

}  // namespace sotto::sottoctl

#endif  // SOTTO_TOOLS_SOTTOCTL_NAMES_H_
