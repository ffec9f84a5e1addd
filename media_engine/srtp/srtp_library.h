// Process-wide libsrtp2 initialisation, crypto backend choice and capability
// queries. The only place that calls srtp_init.
#ifndef SOTTO_MEDIA_ENGINE_SRTP_SRTP_LIBRARY_H_
#define SOTTO_MEDIA_ENGINE_SRTP_SRTP_LIBRARY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace sotto::media::srtp {

// Where libsrtp's AES-CM and HMAC-SHA1 come from. SRTP itself (packet
// format, key derivation, replay window, rollover) is libsrtp's either way.
enum class SrtpCryptoBackend {
  // OpenSSL, registered into libsrtp's crypto kernel (openssl_crypto.h):
  // ≈4× cheaper per packet than Debian's NSS build, no per-packet lock or
  // allocation. The default.
  kOpenSsl,
  // Whatever libsrtp was built with (NSS on Debian). Kept to compare and as
  // a fallback.
  kLibrary,
};
inline constexpr SrtpCryptoBackend kDefaultSrtpCryptoBackend =
    SrtpCryptoBackend::kOpenSsl;

absl::string_view SrtpCryptoBackendName(SrtpCryptoBackend backend);
// "openssl" or "library"; nullopt otherwise.
absl::optional<SrtpCryptoBackend> ParseSrtpCryptoBackend(
    absl::string_view name);

// Initialises libsrtp once per process with `backend`; thread-safe, cheap
// after the first call, and never undone (libsrtp state is global and
// sessions may outlive any owner we could pick). The first call decides the
// backend: a later call asking for another one is FAILED_PRECONDITION.
// Also installs a log handler that discards libsrtp's messages, since its
// debug output can include key material.
absl::Status InitSrtpLibrary(SrtpCryptoBackend backend);
// The same with the backend already chosen, or the default if none was.
absl::Status InitSrtpLibrary();

// The backend in use; nullopt before initialisation.
absl::optional<SrtpCryptoBackend> ActiveSrtpCryptoBackend();

// True if this libsrtp build can do AEAD_AES_128_GCM (it needs a crypto
// backend: Debian's NSS build can, a plain build cannot). Probed once by
// creating a GCM session. Calls InitSrtpLibrary().
bool SrtpAeadAes128GcmSupported();

}  // namespace sotto::media::srtp

#endif  // SOTTO_MEDIA_ENGINE_SRTP_SRTP_LIBRARY_H_
