// libsrtp2 process-wide setup.
#include "media_engine/srtp/srtp_library.h"

#include <srtp2/srtp.h>

#include <atomic>
#include <cstring>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"
#include "media_engine/srtp/openssl_crypto.h"

namespace sotto::media::srtp {
namespace {

// libsrtp's messages are dropped: they are not rate-limited (a flood of bad
// packets must not become a flood of logs) and in debug builds include keys.
void DiscardSrtpLog(srtp_log_level_t level, const char* message, void* data) {}

absl::once_flag g_init_once;
// Written once inside g_init_once; read only after it (call_once orders it).
absl::Status* g_init_status = nullptr;
SrtpCryptoBackend g_backend = kDefaultSrtpCryptoBackend;
std::atomic<bool> g_initialised{false};

absl::once_flag g_gcm_once;
bool g_gcm_supported = false;

void RunInit(SrtpCryptoBackend backend) {
  g_backend = backend;
  const srtp_err_status_t status = srtp_init();
  if (status != srtp_err_status_ok) {
    g_init_status = new absl::Status(absl::InternalError(
        absl::StrCat("srtp_init failed with status ", status)));
  } else {
    srtp_install_log_handler(&DiscardSrtpLog, nullptr);
    g_init_status = new absl::Status(backend == SrtpCryptoBackend::kOpenSsl
                                         ? InstallOpenSslSrtpCrypto()
                                         : absl::OkStatus());
  }
  g_initialised.store(true, std::memory_order_release);
}

}  // namespace

absl::string_view SrtpCryptoBackendName(SrtpCryptoBackend backend) {
  switch (backend) {
    case SrtpCryptoBackend::kOpenSsl:
      return "openssl";
    case SrtpCryptoBackend::kLibrary:
      return "library";
  }
  return "unknown";
}

absl::optional<SrtpCryptoBackend> ParseSrtpCryptoBackend(
    absl::string_view name) {
  if (name == "openssl") return SrtpCryptoBackend::kOpenSsl;
  if (name == "library") return SrtpCryptoBackend::kLibrary;
  return absl::nullopt;
}

absl::Status InitSrtpLibrary(SrtpCryptoBackend backend) {
  absl::call_once(g_init_once, RunInit, backend);
  if (!g_init_status->ok()) return *g_init_status;
  if (g_backend != backend) {
    return absl::FailedPreconditionError(absl::StrCat(
        "libsrtp is already initialised with the ",
        SrtpCryptoBackendName(g_backend), " crypto backend; ",
        SrtpCryptoBackendName(backend), " must be chosen before any SRTP use"));
  }
  return absl::OkStatus();
}

absl::Status InitSrtpLibrary() {
  absl::call_once(g_init_once, RunInit, kDefaultSrtpCryptoBackend);
  return *g_init_status;
}

absl::optional<SrtpCryptoBackend> ActiveSrtpCryptoBackend() {
  if (!g_initialised.load(std::memory_order_acquire)) return absl::nullopt;
  return g_backend;
}

bool SrtpAeadAes128GcmSupported() {
  if (!InitSrtpLibrary().ok()) return false;
  absl::call_once(g_gcm_once, [] {
    // A throwaway all-zero key: only whether libsrtp accepts the policy
    // matters here.
    unsigned char key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {};
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof(policy));
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = key;
    policy.window_size = 1024;
    srtp_t session = nullptr;
    g_gcm_supported = srtp_create(&session, &policy) == srtp_err_status_ok;
    if (session != nullptr) srtp_dealloc(session);
  });
  return g_gcm_supported;
}

}  // namespace sotto::media::srtp
