#include "tools/sottoctl/names.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace sotto::sottoctl {
namespace {

// Ids use [A-Za-z0-9._~-], 1–128 characters (common.proto).
bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '~' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status BadName(absl::string_view what, absl::string_view text,
                     absl::string_view shape,
                     absl::string_view bare = "a bare id (with --tenant)") {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": \"", text, "\" is neither ", shape, " nor ", bare));
}

// `tenants/{t}/<collection>/{id}`... checks: the literal segments and ids.
bool MatchesShape(absl::string_view text,
                  const std::vector<absl::string_view>& literals) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() != literals.size() * 2) return false;
  for (size_t i = 0; i < literals.size(); ++i) {
    if (parts[2 * i] != literals[i] || !ValidId(parts[2 * i + 1])) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> TenantParent(absl::string_view tenant) {
  if (tenant.empty()) {
    return absl::InvalidArgumentError(
        "no tenant: pass --tenant (or set SOTTO_TENANT), or give a token "
        "(SOTTO_TOKEN, --token or --token_file) that carries a \"tenant\" "
        "claim; the token given, if any, has none or is not a JWT");
  }
  if (!ValidId(tenant)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tenant: \"", tenant, "\" is not a valid tenant id"));
  }
  return absl::StrCat("tenants/", tenant);
}

absl::StatusOr<std::string> CallName(absl::string_view what,
                                     absl::string_view text,
                                     absl::string_view tenant) {
  if (absl::StartsWith(text, "tenants/")) {
    if (!MatchesShape(text, {"tenants", "calls"})) {
      return BadName(what, text, "tenants/{tenant}/calls/{call}");
    }
    return std::string(text);
  }
  if (!ValidId(text))
    return BadName(what, text, "tenants/{tenant}/calls/{call}");
  absl::StatusOr<std::string> parent = TenantParent(tenant);
  if (!parent.ok()) return parent.status();
  return absl::StrCat(*parent, "/calls/", text);
}

absl::StatusOr<std::string> CallChildName(absl::string_view what,
                                          absl::string_view collection,
                                          absl::string_view text,
                                          absl::string_view call,
                                          absl::string_view tenant) {
  const std::string shape =
      absl::StrCat("tenants/{tenant}/calls/{call}/", collection, "/{id}");
  if (absl::StartsWith(text, "tenants/")) {
    if (!MatchesShape(text, {"tenants", "calls", collection})) {
      return BadName(what, text, shape, "a bare id with --call");
    }
    return std::string(text);
  }
  if (!ValidId(text))
    return BadName(what, text, shape, "a bare id with --call");
  if (call.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": \"", text, "\" is a bare id: give the full name (", shape,
        ") or --call"));
  }
  absl::StatusOr<std::string> call_name = CallName("--call", call, tenant);
  if (!call_name.ok()) return call_name.status();
  return absl::StrCat(*call_name, "/", collection, "/", text);
}

absl::StatusOr<std::string> RecordingName(absl::string_view what,
                                          absl::string_view text,
                                          absl::string_view tenant) {
  if (absl::StartsWith(text, "tenants/")) {
    if (!MatchesShape(text, {"tenants", "recordings"})) {
      return BadName(what, text, "tenants/{tenant}/recordings/{recording}");
    }
    return std::string(text);
  }
  if (!ValidId(text)) {
    return BadName(what, text, "tenants/{tenant}/recordings/{recording}");
  }
  absl::StatusOr<std::string> parent = TenantParent(tenant);
  if (!parent.ok()) return parent.status();
  return absl::StrCat(*parent, "/recordings/", text);
}

absl::string_view LastSegment(absl::string_view name) {
  const size_t slash = name.rfind('/');
  return slash == absl::string_view::npos ? name : name.substr(slash + 1);
}

std::string TenantFromToken(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return "";
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return "";
  nlohmann::json claims =
      nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) return "";
  auto tenant = claims.find("tenant");
  if (tenant == claims.end() || !tenant->is_string()) return "";
  return tenant->get<std::string>();
}

std::string NewRequestId() {
  // absl::BitGen is seeded from the OS entropy source on construction.
  absl::BitGen gen;
  const uint64_t high = absl::Uniform<uint64_t>(gen);
  const uint64_t low = absl::Uniform<uint64_t>(gen);
  // Version 4, variant 10xx (RFC 4122 section 4.4).
  const uint64_t h = (high & ~uint64_t{0xF000}) | uint64_t{0x4000};
  const uint64_t l = (low & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", h >> 32,
                         (h >> 16) & 0xFFFF, h & 0xFFFF, l >> 48,
                         l & 0xFFFFFFFFFFFFULL);
}

}  // namespace sotto::sottoctl
