// OpenSSL-backed AES-128 counter mode and HMAC-SHA1 for libsrtp2's crypto
// kernel, so that Debian's libsrtp2 (built on NSS) does its per-packet
// crypto without NSS' per-packet context creation, lock and allocation.
#ifndef SOTTO_MEDIA_ENGINE_SRTP_OPENSSL_CRYPTO_H_
#define SOTTO_MEDIA_ENGINE_SRTP_OPENSSL_CRYPTO_H_

#include "absl/status/status.h"

namespace sotto::media::srtp {

// Replaces libsrtp's AES_ICM_128 cipher (SRTP's AES-CM for both
// AES_CM_128_HMAC_SHA1 suites, and the key derivation of every 128-bit
// suite, GCM included) and HMAC_SHA1 auth type with ours, through libsrtp's
// public srtp_replace_cipher_type / srtp_replace_auth_type. libsrtp runs its
// own known-answer tests and ours against the new types before accepting
// them, so a wrong implementation fails here, not on the wire. SRTP itself
// (packet format, key derivation, replay, rollover) stays libsrtp's.
//
// Call once, after srtp_init and before any session exists (InitSrtpLibrary
// does). AEAD_AES_128_GCM stays on the library's own backend.
absl::Status InstallOpenSslSrtpCrypto();

}  // namespace sotto::media::srtp

#endif  // SOTTO_MEDIA_ENGINE_SRTP_OPENSSL_CRYPTO_H_
