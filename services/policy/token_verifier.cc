#include "services/policy/token_verifier.h"

#include <jwt.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace sotto::policy {
namespace {

using json = nlohmann::json;

absl::Status Unauthenticated(absl::string_view reason) {
  return absl::UnauthenticatedError(reason);
}

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
struct FreeDeleter {
  void operator()(char* p) const { free(p); }
};

jwt_alg_t LibjwtAlgorithm(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHs256:
      return JWT_ALG_HS256;
    case JwtAlgorithm::kRs256:
      return JWT_ALG_RS256;
    case JwtAlgorithm::kEs256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

// Decodes one base64url part of a token into a JSON object.
std::optional<json> DecodePart(absl::string_view part) {
  std::string bytes;
  if (part.empty() || !absl::WebSafeBase64Unescape(part, &bytes)) {
    return std::nullopt;
  }
  json value = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// A NumericDate claim (RFC 7519 2): seconds since the epoch, maybe
// fractional.
std::optional<absl::Time> NumericDate(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds)) return std::nullopt;
  return absl::FromUnixSeconds(static_cast<int64_t>(std::floor(seconds)));
}

bool StringList(const json& claims, const char* name,
                std::vector<std::string>* out) {
  auto it = claims.find(name);
  if (it == claims.end()) return true;  // Optional.
  if (!it->is_array()) return false;
  for (const json& item : *it) {
    if (!item.is_string()) return false;
    out->push_back(item.get<std::string>());
  }
  return true;
}

bool AudienceMatches(const json& claims, const std::string& audience) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get<std::string>() == audience;
  if (!it->is_array()) return false;
  for (const json& item : *it) {
    if (item.is_string() && item.get<std::string>() == audience) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Principal> TokenVerifier::Verify(absl::string_view token,
                                                absl::Time now) const {
  if (token.empty()) return Unauthenticated("no token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too large");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) {
    return Unauthenticated("malformed token (not three base64url parts)");
  }
  std::optional<json> header = DecodePart(parts[0]);
  std::optional<json> unverified = DecodePart(parts[1]);
  if (!header.has_value() || !unverified.has_value()) {
    return Unauthenticated("malformed token (header or payload is not JSON)");
  }

  // The issuer is chosen by the unverified `iss`; nothing else is trusted
  // before the signature checks out with that issuer's key.
  auto iss = unverified->find("iss");
  if (iss == unverified->end() || !iss->is_string()) {
    return Unauthenticated("token has no issuer (iss)");
  }
  const IssuerSpec* issuer = nullptr;
  for (const IssuerSpec& candidate : issuers_) {
    if (candidate.issuer == iss->get<std::string>()) issuer = &candidate;
  }
  if (issuer == nullptr) return Unauthenticated("unknown issuer");

  auto alg = header->find("alg");
  const std::string expected(JwtAlgorithmName(issuer->algorithm));
  if (alg == header->end() || !alg->is_string() ||
      alg->get<std::string>() != expected) {
    return Unauthenticated(absl::StrCat("algorithm not accepted: issuer ",
                                        issuer->name, " signs with ",
                                        expected));
  }

  // libjwt verifies the signature with the algorithm named in the header,
  // which was just pinned to the issuer's.
  const std::string token_string(token);
  jwt_t* raw = nullptr;
  const int error =
      jwt_decode(&raw, token_string.c_str(),
                 reinterpret_cast<const unsigned char*>(issuer->key.data()),
                 static_cast<int>(issuer->key.size()));
  std::unique_ptr<jwt_t, JwtDeleter> jwt(raw);
  if (error != 0 || jwt == nullptr ||
      jwt_get_alg(jwt.get()) != LibjwtAlgorithm(issuer->algorithm)) {
    return Unauthenticated("bad signature");
  }
  std::unique_ptr<char, FreeDeleter> grants(
      jwt_get_grants_json(jwt.get(), nullptr));
  if (grants == nullptr) return Unauthenticated("malformed token (claims)");
  const json claims = json::parse(grants.get(), nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) {
    return Unauthenticated("malformed token (claims)");
  }

  std::optional<absl::Time> expire_time = NumericDate(claims, "exp");
  if (!expire_time.has_value())
    return Unauthenticated("token has no expiry (exp)");
  if (now >= *expire_time + leeway_) return Unauthenticated("expired");
  if (claims.contains("nbf")) {
    std::optional<absl::Time> not_before = NumericDate(claims, "nbf");
    if (!not_before.has_value()) return Unauthenticated("malformed nbf claim");
    if (now + leeway_ < *not_before) return Unauthenticated("not yet valid");
  }
  if (!AudienceMatches(claims, issuer->audience)) {
    return Unauthenticated("wrong audience");
  }

  Principal principal;
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() ||
      sub->get<std::string>().empty()) {
    return Unauthenticated("missing subject (sub) claim");
  }
  principal.subject = sub->get<std::string>();
  auto tenant = claims.find("tenant");
  if (tenant == claims.end() || !tenant->is_string() ||
      tenant->get<std::string>().empty()) {
    return Unauthenticated("missing tenant claim");
  }
  principal.tenant = tenant->get<std::string>();
  if (!issuer->tenants.empty() &&
      std::find(issuer->tenants.begin(), issuer->tenants.end(),
                principal.tenant) == issuer->tenants.end()) {
    return Unauthenticated(absl::StrCat("issuer ", issuer->name,
                                        " may not issue tokens for this "
                                        "tenant"));
  }
  if (!StringList(claims, "roles", &principal.roles)) {
    return Unauthenticated("roles claim must be a list of strings");
  }
  if (!StringList(claims, "teams", &principal.teams)) {
    return Unauthenticated("teams claim must be a list of strings");
  }
  if (auto name = claims.find("name"); name != claims.end()) {
    if (!name->is_string())
      return Unauthenticated("name claim must be a string");
    principal.display_name = name->get<std::string>();
  }
  principal.expire_time = *expire_time;
  return principal;
}

}  // namespace sotto::policy
