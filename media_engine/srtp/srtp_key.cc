// SRTP master keys and their SDES encoding.
#include "media_engine/srtp/srtp_key.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sotto::media::srtp {
namespace {

// Zeroing that the optimiser may not drop (the buffer dies right after).
void SecureZero(void* data, size_t size) {
  volatile uint8_t* p = static_cast<volatile uint8_t*>(data);
  while (size-- > 0) *p++ = 0;
}

bool IsBase64(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' &&
        c != '/' && c != '=') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::string_view SrtpCryptoSuiteName(SrtpCryptoSuite suite) {
  switch (suite) {
    case SrtpCryptoSuite::kAesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpCryptoSuite::kAesCm128HmacSha1_32:
      return "AES_CM_128_HMAC_SHA1_32";
    case SrtpCryptoSuite::kAeadAes128Gcm:
      return "AEAD_AES_128_GCM";
  }
  return "unknown";
}

absl::optional<SrtpCryptoSuite> SrtpCryptoSuiteFromName(
    absl::string_view name) {
  for (SrtpCryptoSuite suite : {SrtpCryptoSuite::kAesCm128HmacSha1_80,
                                SrtpCryptoSuite::kAesCm128HmacSha1_32,
                                SrtpCryptoSuite::kAeadAes128Gcm}) {
    if (name == SrtpCryptoSuiteName(suite)) return suite;
  }
  return absl::nullopt;
}

size_t SrtpMasterKeyLength(SrtpCryptoSuite suite) {
  return suite == SrtpCryptoSuite::kAeadAes128Gcm ? 28 : 30;
}

SrtpKeyMaterial::~SrtpKeyMaterial() {
  SecureZero(bytes_.data(), bytes_.size());
}

absl::StatusOr<SrtpKeyMaterial> SrtpKeyMaterial::FromBytes(
    SrtpCryptoSuite suite, absl::Span<const uint8_t> key_and_salt) {
  const size_t length = SrtpMasterKeyLength(suite);
  if (key_and_salt.size() != length) {
    return absl::InvalidArgumentError(
        absl::StrCat(SrtpCryptoSuiteName(suite), " needs a ", length,
                     "-byte master key and salt, got ", key_and_salt.size()));
  }
  SrtpKeyMaterial key;
  key.suite_ = suite;
  key.length_ = length;
  std::memcpy(key.bytes_.data(), key_and_salt.data(), length);
  return key;
}

absl::StatusOr<SrtpKeyMaterial> SrtpKeyMaterial::Generate(
    SrtpCryptoSuite suite) {
  SrtpKeyMaterial key;
  key.suite_ = suite;
  key.length_ = SrtpMasterKeyLength(suite);
  size_t filled = 0;
  while (filled < key.length_) {
    const ssize_t n = getrandom(key.bytes_.data() + filled,
                                key.length_ - filled, /*flags=*/0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(
          absl::StrCat("getrandom failed: ", std::strerror(errno)));
    }
    filled += static_cast<size_t>(n);
  }
  return key;
}

absl::StatusOr<SrtpKeyMaterial> SrtpKeyMaterial::FromSdesKeyParams(
    SrtpCryptoSuite suite, absl::string_view key_params) {
  if (!absl::ConsumePrefix(&key_params, "inline:")) {
    return absl::InvalidArgumentError("SDES key-params must start 'inline:'");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(key_params, '|');
  if (parts.size() > 3) {
    return absl::InvalidArgumentError("too many '|' fields in SDES key-params");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    // "<n>:<len>" is an MKI; a lifetime is "2^<n>" or a decimal.
    if (absl::StrContains(parts[i], ':')) {
      return absl::InvalidArgumentError("SDES MKI is not supported");
    }
  }
  const absl::string_view encoded = parts[0];
  if (!IsBase64(encoded)) {
    return absl::InvalidArgumentError("SDES key is not base64");
  }
  std::string decoded;
  if (!absl::Base64Unescape(encoded, &decoded)) {
    return absl::InvalidArgumentError("SDES key is not base64");
  }
  absl::StatusOr<SrtpKeyMaterial> key = FromBytes(
      suite,
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(decoded.data()),
                          decoded.size()));
  SecureZero(decoded.data(), decoded.size());
  return key;
}

std::string SrtpKeyMaterial::ToSdesKeyParams() const {
  return absl::StrCat(
      "inline:", absl::Base64Escape(absl::string_view(
                     reinterpret_cast<const char*>(bytes_.data()), length_)));
}

std::string SrtpKeyMaterial::DebugString() const {
  return absl::StrCat("SrtpKeyMaterial{", SrtpCryptoSuiteName(suite_),
                      ", <redacted>}");
}

bool operator==(const SrtpKeyMaterial& a, const SrtpKeyMaterial& b) {
  return a.suite_ == b.suite_ && a.length_ == b.length_ &&
         std::memcmp(a.bytes_.data(), b.bytes_.data(), a.length_) == 0;
}

namespace {

// A field of an a=crypto line, safe to quote in an error message: only its
// name (up to '=' or ':'), and only if that is short. A misplaced
// "inline:<key>" is quoted as "inline", and a bare key (40 base64
// characters for AES-CM) is not quoted at all.
std::string QuotableName(absl::string_view field) {
  field = field.substr(0, field.find_first_of("=:"));
  if (field.size() > 32) {
    return absl::StrCat("<", field.size(), " characters>");
  }
  return std::string(field);
}

}  // namespace

absl::StatusOr<SdesCryptoAttribute> ParseSdesCryptoAttribute(
    absl::string_view value) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(value, ' ', absl::SkipEmpty());
  if (fields.size() < 3) {
    return absl::InvalidArgumentError(
        "a=crypto needs '<tag> <suite> <key-params>'");
  }
  int tag = 0;
  if (!absl::SimpleAtoi(fields[0], &tag) || tag < 0 || tag > 999999999) {
    return absl::InvalidArgumentError("a=crypto tag is not a 1-9 digit number");
  }
  const absl::optional<SrtpCryptoSuite> suite =
      SrtpCryptoSuiteFromName(fields[1]);
  if (!suite.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported SRTP crypto suite '", QuotableName(fields[1]), "'"));
  }
  if (absl::StrContains(fields[2], ';')) {
    return absl::InvalidArgumentError("several SDES keys are not supported");
  }
  for (size_t i = 3; i < fields.size(); ++i) {
    if (!absl::StartsWith(fields[i], "WSH=")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported SDES session parameter '",
                       QuotableName(fields[i]), "'"));
    }
  }
  absl::StatusOr<SrtpKeyMaterial> key =
      SrtpKeyMaterial::FromSdesKeyParams(*suite, fields[2]);
  if (!key.ok()) return key.status();
  return SdesCryptoAttribute{tag, *std::move(key)};
}

std::string FormatSdesCryptoAttribute(const SdesCryptoAttribute& attribute) {
  return absl::StrCat(attribute.tag, " ",
                      SrtpCryptoSuiteName(attribute.key.suite()), " ",
                      attribute.key.ToSdesKeyParams());
}

}  // namespace sotto::media::srtp
