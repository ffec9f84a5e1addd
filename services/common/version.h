// The Sotto release version reported by every service (logs and
// sotto_build_info).
#ifndef SOTTO_SERVICES_COMMON_VERSION_H_
#define SOTTO_SERVICES_COMMON_VERSION_H_

namespace sotto::service_kit {

// Bumped by the release process; builds between releases say "-dev" so a
// dashboard never mistakes one for a release.
inline constexpr char kSottoVersion[] = "0.1.0-dev";

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_VERSION_H_
