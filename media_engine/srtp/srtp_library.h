// Process-wide libsrtp2 initialisation and capability queries. The only
// place that calls srtp_init.
#ifndef SOTTO_MEDIA_ENGINE_SRTP_SRTP_LIBRARY_H_
#define SOTTO_MEDIA_ENGINE_SRTP_SRTP_LIBRARY_H_

#include "absl/status/status.h"

namespace sotto::media::srtp {

// Initialises libsrtp once per process; thread-safe, cheap after the first
// call, and never undone (libsrtp state is global and sessions may outlive
// any owner we could pick). Also installs a log handler that discards
// libsrtp's messages, since its debug output can include key material.
absl::Status InitSrtpLibrary();

// True if this libsrtp build can do AEAD_AES_128_GCM (it needs a crypto
// backend: Debian's NSS build can, a plain build cannot). Probed once by
// creating a GCM session. Calls InitSrtpLibrary().
bool SrtpAeadAes128GcmSupported();

}  // namespace sotto::media::srtp

#endif  // SOTTO_MEDIA_ENGINE_SRTP_SRTP_LIBRARY_H_
