// Helpers shared by the SRTP tests: building RTP packets with a payload
// that identifies them, and protecting them.
#ifndef SOTTO_TESTS_MEDIA_ENGINE_SRTP_SRTP_TEST_UTIL_H_
#define SOTTO_TESTS_MEDIA_ENGINE_SRTP_SRTP_TEST_UTIL_H_

#include <cstdint>
#include <vector>

#include "media_engine/rtp/rtp_packet.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_session.h"

namespace sotto::media::srtp {

// Room for any suite's trailer after a 172-byte packet.
inline constexpr size_t kTestBufferSize = 256;

// A 172-byte PCMU packet whose payload encodes `index`, so a decrypted
// packet can be matched to what was sent.
inline std::vector<uint8_t> MakeRtp(uint32_t ssrc, uint16_t seq,
                                    uint64_t index) {
  rtp::RtpHeaderFields fields;
  fields.ssrc = ssrc;
  fields.sequence_number = seq;
  fields.timestamp = static_cast<uint32_t>(index * 160);
  std::vector<uint8_t> payload(160);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>((index >> (8 * (i % 8))) + i);
  }
  std::vector<uint8_t> packet(kTestBufferSize);
  packet.resize(rtp::WriteRtpPacket(fields, payload, absl::MakeSpan(packet)));
  return packet;
}

// Protects `plain` and returns the SRTP packet (empty on failure).
inline std::vector<uint8_t> Protect(SrtpSession& session,
                                    const std::vector<uint8_t>& plain) {
  std::vector<uint8_t> buffer(plain);
  buffer.resize(kTestBufferSize);
  size_t length = plain.size();
  if (session.ProtectRtp(absl::MakeSpan(buffer), &length) != SrtpResult::kOk) {
    return {};
  }
  buffer.resize(length);
  return buffer;
}

inline SrtpKeyMaterial TestKey(SrtpCryptoSuite suite, uint8_t seed) {
  std::vector<uint8_t> bytes(SrtpMasterKeyLength(suite));
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  }
  return *SrtpKeyMaterial::FromBytes(suite, bytes);
}

}  // namespace sotto::media::srtp

#endif  // SOTTO_TESTS_MEDIA_ENGINE_SRTP_SRTP_TEST_UTIL_H_
