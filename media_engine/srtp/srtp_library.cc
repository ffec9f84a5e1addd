// libsrtp2 process-wide setup.
#include "media_engine/srtp/srtp_library.h"

#include <srtp2/srtp.h>

#include <cstring>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"

namespace sotto::media::srtp {
namespace {

// libsrtp's messages are dropped: they are not rate-limited (a flood of bad
// packets must not become a flood of logs) and in debug builds include keys.
void DiscardSrtpLog(srtp_log_level_t level, const char* message, void* data) {}

absl::once_flag g_init_once;
srtp_err_status_t g_init_status = srtp_err_status_fail;

absl::once_flag g_gcm_once;
bool g_gcm_supported = false;

}  // namespace

absl::Status InitSrtpLibrary() {
  absl::call_once(g_init_once, [] {
    g_init_status = srtp_init();
    if (g_init_status == srtp_err_status_ok) {
      srtp_install_log_handler(&DiscardSrtpLog, nullptr);
    }
  });
  if (g_init_status != srtp_err_status_ok) {
    return absl::InternalError(
        absl::StrCat("srtp_init failed with status ", g_init_status));
  }
  return absl::OkStatus();
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
