#include "services/common/bearer_token.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace sotto::service_kit {

std::string BearerToken(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find("authorization");
  if (found == metadata.end()) return "";
  absl::string_view value(found->second.data(), found->second.size());
  value = absl::StripLeadingAsciiWhitespace(value);
  if (value.size() < 7 || !absl::StartsWithIgnoreCase(value, "bearer ")) {
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(value.substr(7)));
}

}  // namespace sotto::service_kit
