// SRTP crypto suites and master keys: generation from the kernel CSPRNG,
// and the SDES (RFC 4568) `a=crypto` / `inline:` text forms.
//
// Key bytes never reach a log: DebugString() and operator<< redact them;
// the only ways out are bytes() (for libsrtp) and the SDES text that has to
// go into the SDP.
#ifndef SOTTO_MEDIA_ENGINE_SRTP_SRTP_KEY_H_
#define SOTTO_MEDIA_ENGINE_SRTP_SRTP_KEY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"

namespace sotto::media::srtp {

enum class SrtpCryptoSuite : uint8_t {
  kAesCm128HmacSha1_80,  // RFC 4568; RTCP tag 80 bits
  kAesCm128HmacSha1_32,  // RFC 4568; RTP tag 32 bits, RTCP tag 80 bits
  kAeadAes128Gcm,        // RFC 7714; only if SrtpAeadAes128GcmSupported()
};

// The SDES names: "AES_CM_128_HMAC_SHA1_80", ..., "AEAD_AES_128_GCM".
absl::string_view SrtpCryptoSuiteName(SrtpCryptoSuite suite);
absl::optional<SrtpCryptoSuite> SrtpCryptoSuiteFromName(absl::string_view name);
// Master key + master salt: 16 + 14 = 30 bytes, or 16 + 12 = 28 for GCM.
size_t SrtpMasterKeyLength(SrtpCryptoSuite suite);

// One master key and salt for one suite. Copyable (sessions keep their own
// copy inside libsrtp anyway); zeroed on destruction.
class SrtpKeyMaterial {
 public:
  // INVALID_ARGUMENT unless `key_and_salt` is exactly the suite's length.
  static absl::StatusOr<SrtpKeyMaterial> FromBytes(
      SrtpCryptoSuite suite, absl::Span<const uint8_t> key_and_salt);
  // Fresh random key from getrandom(2). UNAVAILABLE if the kernel CSPRNG
  // fails (it blocks only before the pool is seeded at boot).
  static absl::StatusOr<SrtpKeyMaterial> Generate(SrtpCryptoSuite suite);
  // Parses RFC 4568 key-params: "inline:<base64>[|<lifetime>][|<MKI>:<len>]".
  // Lifetime is accepted and ignored (we re-key per call, far below any
  // lifetime); an MKI is rejected (INVALID_ARGUMENT) because libsrtp would
  // then need the MKI in every packet, and nobody we talk to sends one.
  static absl::StatusOr<SrtpKeyMaterial> FromSdesKeyParams(
      SrtpCryptoSuite suite, absl::string_view key_params);

  SrtpKeyMaterial(const SrtpKeyMaterial& other) = default;
  SrtpKeyMaterial& operator=(const SrtpKeyMaterial& other) = default;
  ~SrtpKeyMaterial();

  SrtpCryptoSuite suite() const { return suite_; }
  // The raw key || salt, for libsrtp. Never log this.
  absl::Span<const uint8_t> bytes() const {
    return absl::MakeConstSpan(bytes_.data(), length_);
  }
  // "inline:<base64>" for an SDP a=crypto line.
  std::string ToSdesKeyParams() const;
  // "SrtpKeyMaterial{AES_CM_128_HMAC_SHA1_80, <redacted>}".
  std::string DebugString() const;

  friend bool operator==(const SrtpKeyMaterial& a, const SrtpKeyMaterial& b);
  friend bool operator!=(const SrtpKeyMaterial& a, const SrtpKeyMaterial& b) {
    return !(a == b);
  }
  friend std::ostream& operator<<(std::ostream& os,
                                  const SrtpKeyMaterial& key) {
    return os << key.DebugString();
  }

 private:
  SrtpKeyMaterial() = default;

  SrtpCryptoSuite suite_ = SrtpCryptoSuite::kAesCm128HmacSha1_80;
  size_t length_ = 0;
  // Two spare zero bytes past the 30-byte maximum so that no libsrtp key
  // derivation can read past the end of our buffer.
  std::array<uint8_t, 32> bytes_{};
};

// One SDP crypto attribute (RFC 4568 s9.1), the value after "a=crypto:":
// "<tag> <suite> inline:<base64>[|lifetime][|MKI:len] [session params]".
struct SdesCryptoAttribute {
  int tag = 1;
  SrtpKeyMaterial key;
};

// INVALID_ARGUMENT for unknown suites, bad keys, MKI, several keys, or a
// session parameter that weakens protection (UNENCRYPTED_SRTP/SRTCP,
// UNAUTHENTICATED_SRTP) or that we do not implement (KDR, FEC_ORDER,
// FEC_KEY); WSH (window size hint) is accepted and ignored.
absl::StatusOr<SdesCryptoAttribute> ParseSdesCryptoAttribute(
    absl::string_view value);
std::string FormatSdesCryptoAttribute(const SdesCryptoAttribute& attribute);

}  // namespace sotto::media::srtp

#endif  // SOTTO_MEDIA_ENGINE_SRTP_SRTP_KEY_H_
