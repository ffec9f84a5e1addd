// libsrtp2 session wrapper.
#include "media_engine/srtp/srtp_session.h"

#include <arpa/inet.h>
#include <srtp2/srtp.h>

#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "media_engine/srtp/srtp_library.h"

namespace sotto::media::srtp {
namespace {

constexpr size_t kRtpHeaderSize = 12;
constexpr size_t kRtcpHeaderSize = 8;  // header + sender SSRC
constexpr size_t kSrtcpIndexSize = 4;  // E flag + 31-bit SRTCP index

SrtpResult FromStatus(srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_ok:
      return SrtpResult::kOk;
    case srtp_err_status_auth_fail:
      return SrtpResult::kAuthFail;
    case srtp_err_status_replay_fail:
      return SrtpResult::kReplayFail;
    case srtp_err_status_replay_old:
      return SrtpResult::kReplayOld;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return SrtpResult::kBadParam;
    case srtp_err_status_key_expired:
      return SrtpResult::kKeyExpired;
    default:
      return SrtpResult::kOtherError;
  }
}

// RTP tag length by suite; the SRTCP tag is 80 bits for both AES-CM suites
// (RFC 4568 s6.2.2: _32 shortens the SRTP tag only).
size_t RtpTagSize(SrtpCryptoSuite suite) {
  switch (suite) {
    case SrtpCryptoSuite::kAesCm128HmacSha1_80:
      return 10;
    case SrtpCryptoSuite::kAesCm128HmacSha1_32:
      return 4;
    case SrtpCryptoSuite::kAeadAes128Gcm:
      return 16;
  }
  return 16;
}
size_t RtcpTagSize(SrtpCryptoSuite suite) {
  return suite == SrtpCryptoSuite::kAeadAes128Gcm ? 16 : 10;
}

}  // namespace

absl::string_view SrtpResultName(SrtpResult result) {
  switch (result) {
    case SrtpResult::kOk:
      return "ok";
    case SrtpResult::kAuthFail:
      return "auth_fail";
    case SrtpResult::kReplayFail:
      return "replay_fail";
    case SrtpResult::kReplayOld:
      return "replay_old";
    case SrtpResult::kMalformed:
      return "malformed";
    case SrtpResult::kBufferTooSmall:
      return "buffer_too_small";
    case SrtpResult::kBadParam:
      return "bad_param";
    case SrtpResult::kKeyExpired:
      return "key_expired";
    case SrtpResult::kRestartProbation:
      return "restart_probation";
    case SrtpResult::kOtherError:
      return "other_error";
  }
  return "unknown";
}

absl::StatusOr<SrtpSession> SrtpSession::Create(SrtpDirection direction,
                                                const SrtpKeyMaterial& key) {
  if (absl::Status status = InitSrtpLibrary(); !status.ok()) return status;
  if (key.suite() == SrtpCryptoSuite::kAeadAes128Gcm &&
      !SrtpAeadAes128GcmSupported()) {
    return absl::InvalidArgumentError(
        "this libsrtp build does not support AEAD_AES_128_GCM");
  }

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  switch (key.suite()) {
    case SrtpCryptoSuite::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpCryptoSuite::kAesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpCryptoSuite::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
  }
  policy.ssrc.type = direction == SrtpDirection::kInbound ? ssrc_any_inbound
                                                          : ssrc_any_outbound;
  // libsrtp copies the key during srtp_create (key derivation), so the
  // const_cast never lets it write to our key.
  policy.key = const_cast<unsigned char*>(key.bytes().data());
  policy.window_size = kReplayWindowPackets;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;

  srtp_t session = nullptr;
  const srtp_err_status_t status = srtp_create(&session, &policy);
  if (status != srtp_err_status_ok) {
    if (session != nullptr) srtp_dealloc(session);
    return absl::InternalError(
        absl::StrCat("srtp_create failed with status ", status));
  }
  return SrtpSession(session, direction, key.suite());
}

SrtpSession::SrtpSession(srtp_ctx_t_* session, SrtpDirection direction,
                         SrtpCryptoSuite suite)
    : session_(session),
      direction_(direction),
      suite_(suite),
      rtp_trailer_size_(RtpTagSize(suite)),
      rtcp_trailer_size_(RtcpTagSize(suite) + kSrtcpIndexSize) {}

SrtpSession::SrtpSession(SrtpSession&& other) noexcept
    : session_(std::exchange(other.session_, nullptr)),
      direction_(other.direction_),
      suite_(other.suite_),
      rtp_trailer_size_(other.rtp_trailer_size_),
      rtcp_trailer_size_(other.rtcp_trailer_size_) {}

SrtpSession& SrtpSession::operator=(SrtpSession&& other) noexcept {
  if (this != &other) {
    if (session_ != nullptr) srtp_dealloc(session_);
    session_ = std::exchange(other.session_, nullptr);
    direction_ = other.direction_;
    suite_ = other.suite_;
    rtp_trailer_size_ = other.rtp_trailer_size_;
    rtcp_trailer_size_ = other.rtcp_trailer_size_;
  }
  return *this;
}

SrtpSession::~SrtpSession() {
  if (session_ != nullptr) srtp_dealloc(session_);
}

SrtpResult SrtpSession::ProtectRtp(absl::Span<uint8_t> buffer, size_t* length) {
  if (direction_ != SrtpDirection::kOutbound) return SrtpResult::kBadParam;
  if (*length < kRtpHeaderSize || *length > buffer.size()) {
    return SrtpResult::kMalformed;
  }
  // libsrtp writes the tag past *length without knowing the capacity.
  if (buffer.size() - *length < rtp_trailer_size_ || buffer.size() > INT_MAX) {
    return SrtpResult::kBufferTooSmall;
  }
  int len = static_cast<int>(*length);
  const SrtpResult result =
      FromStatus(srtp_protect(session_, buffer.data(), &len));
  if (result == SrtpResult::kOk) *length = static_cast<size_t>(len);
  return result;
}

SrtpResult SrtpSession::UnprotectRtp(absl::Span<uint8_t> buffer,
                                     size_t* length) {
  if (direction_ != SrtpDirection::kInbound) return SrtpResult::kBadParam;
  if (*length < kRtpHeaderSize + rtp_trailer_size_ || *length > buffer.size() ||
      *length > INT_MAX) {
    return SrtpResult::kMalformed;
  }
  int len = static_cast<int>(*length);
  const SrtpResult result =
      FromStatus(srtp_unprotect(session_, buffer.data(), &len));
  if (result == SrtpResult::kOk) *length = static_cast<size_t>(len);
  return result;
}

SrtpResult SrtpSession::ProtectRtcp(absl::Span<uint8_t> buffer,
                                    size_t* length) {
  if (direction_ != SrtpDirection::kOutbound) return SrtpResult::kBadParam;
  if (*length < kRtcpHeaderSize || *length > buffer.size()) {
    return SrtpResult::kMalformed;
  }
  if (buffer.size() - *length < rtcp_trailer_size_ || buffer.size() > INT_MAX) {
    return SrtpResult::kBufferTooSmall;
  }
  int len = static_cast<int>(*length);
  const SrtpResult result =
      FromStatus(srtp_protect_rtcp(session_, buffer.data(), &len));
  if (result == SrtpResult::kOk) *length = static_cast<size_t>(len);
  return result;
}

SrtpResult SrtpSession::UnprotectRtcp(absl::Span<uint8_t> buffer,
                                      size_t* length) {
  if (direction_ != SrtpDirection::kInbound) return SrtpResult::kBadParam;
  if (*length < kRtcpHeaderSize + rtcp_trailer_size_ ||
      *length > buffer.size() || *length > INT_MAX) {
    return SrtpResult::kMalformed;
  }
  int len = static_cast<int>(*length);
  const SrtpResult result =
      FromStatus(srtp_unprotect_rtcp(session_, buffer.data(), &len));
  if (result == SrtpResult::kOk) *length = static_cast<size_t>(len);
  return result;
}

bool SrtpSession::RemoveStream(uint32_t ssrc) {
  return srtp_remove_stream(session_, htonl(ssrc)) == srtp_err_status_ok;
}

absl::optional<uint32_t> SrtpSession::RolloverCounter(uint32_t ssrc) const {
  uint32_t roc = 0;
  if (srtp_get_stream_roc(session_, ssrc, &roc) != srtp_err_status_ok) {
    return absl::nullopt;
  }
  return roc;
}

}  // namespace sotto::media::srtp
