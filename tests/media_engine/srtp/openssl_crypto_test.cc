// The OpenSSL crypto registered into libsrtp must be indistinguishable on
// the wire from libsrtp's own (NSS) backend: same SRTP and SRTCP bytes for
// the same key and packets, and each side unprotects the other's packets.
// One test, in order, because the replacement is process-wide and one-way:
// first the library backend makes reference packets, then ours is installed.
#include "media_engine/srtp/openssl_crypto.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_library.h"
#include "media_engine/srtp/srtp_session.h"
#include "tests/media_engine/srtp/srtp_test_util.h"

namespace sotto::media::srtp {
namespace {

constexpr SrtpCryptoSuite kSuites[] = {SrtpCryptoSuite::kAesCm128HmacSha1_80,
                                       SrtpCryptoSuite::kAesCm128HmacSha1_32,
                                       SrtpCryptoSuite::kAeadAes128Gcm};

// RTP packets of two SSRCs across the 65535 -> 0 wrap, plus RTCP.
struct Stream {
  std::vector<std::vector<uint8_t>> rtp;
  std::vector<std::vector<uint8_t>> rtcp;
};

std::vector<std::vector<uint8_t>> PlainRtp() {
  std::vector<std::vector<uint8_t>> packets;
  for (uint32_t ssrc : {0x11223344u, 0xcafef00du}) {
    for (uint32_t i = 0; i < 40; ++i) {
      packets.push_back(
          MakeRtp(ssrc, static_cast<uint16_t>(65520 + i), ssrc ^ i));
    }
  }
  return packets;
}

std::vector<uint8_t> PlainRtcp(uint8_t n) {
  // A receiver report with one block: header, sender SSRC, 24-byte block.
  std::vector<uint8_t> packet = {0x81, 201, 0x00, 0x07, 0x11, 0x22, 0x33, 0x44};
  for (uint8_t i = 0; i < 24; ++i)
    packet.push_back(static_cast<uint8_t>(n + i));
  return packet;
}

Stream ProtectAll(SrtpCryptoSuite suite) {
  SrtpSession out =
      *SrtpSession::Create(SrtpDirection::kOutbound, TestKey(suite, 9));
  Stream stream;
  for (const std::vector<uint8_t>& plain : PlainRtp()) {
    stream.rtp.push_back(Protect(out, plain));
  }
  for (uint8_t n = 0; n < 5; ++n) {
    std::vector<uint8_t> buffer = PlainRtcp(n);
    size_t length = buffer.size();
    buffer.resize(kTestBufferSize);
    EXPECT_EQ(out.ProtectRtcp(absl::MakeSpan(buffer), &length),
              SrtpResult::kOk);
    buffer.resize(length);
    stream.rtcp.push_back(buffer);
  }
  return stream;
}

// Unprotects every packet of `stream`; true if all authenticate and give
// back the plain packets.
void ExpectUnprotects(SrtpCryptoSuite suite, const Stream& stream) {
  SrtpSession in =
      *SrtpSession::Create(SrtpDirection::kInbound, TestKey(suite, 9));
  const std::vector<std::vector<uint8_t>> plain = PlainRtp();
  ASSERT_EQ(stream.rtp.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    std::vector<uint8_t> buffer = stream.rtp[i];
    size_t length = buffer.size();
    ASSERT_EQ(in.UnprotectRtp(absl::MakeSpan(buffer), &length), SrtpResult::kOk)
        << "packet " << i;
    buffer.resize(length);
    EXPECT_EQ(buffer, plain[i]) << "packet " << i;
  }
  for (uint8_t n = 0; n < stream.rtcp.size(); ++n) {
    std::vector<uint8_t> buffer = stream.rtcp[n];
    size_t length = buffer.size();
    ASSERT_EQ(in.UnprotectRtcp(absl::MakeSpan(buffer), &length),
              SrtpResult::kOk);
    buffer.resize(length);
    EXPECT_EQ(buffer, PlainRtcp(n));
  }
  // A flipped bit in the payload still fails authentication.
  std::vector<uint8_t> tampered = stream.rtp.back();
  tampered[20] ^= 0x01;
  size_t length = tampered.size();
  SrtpSession fresh =
      *SrtpSession::Create(SrtpDirection::kInbound, TestKey(suite, 9));
  EXPECT_EQ(fresh.UnprotectRtp(absl::MakeSpan(tampered), &length),
            SrtpResult::kAuthFail);
}

TEST(OpenSslSrtpCryptoTest, SameBytesOnTheWireAsTheLibraryBackend) {
  ASSERT_TRUE(InitSrtpLibrary(SrtpCryptoBackend::kLibrary).ok());
  ASSERT_EQ(ActiveSrtpCryptoBackend(), SrtpCryptoBackend::kLibrary);
  std::vector<Stream> reference;
  for (SrtpCryptoSuite suite : kSuites) reference.push_back(ProtectAll(suite));

  ASSERT_TRUE(InstallOpenSslSrtpCrypto().ok());

  for (size_t s = 0; s < std::size(kSuites); ++s) {
    SCOPED_TRACE(testing::Message() << "suite " << static_cast<int>(s));
    const Stream ours = ProtectAll(kSuites[s]);
    // GCM's own cipher stays the library's, but its session keys come from
    // the key derivation, which now runs on our AES-ICM.
    EXPECT_EQ(ours.rtp, reference[s].rtp);
    EXPECT_EQ(ours.rtcp, reference[s].rtcp);
    ExpectUnprotects(kSuites[s], reference[s]);
  }
}

TEST(OpenSslSrtpCryptoTest, ChoosingAnotherBackendLaterIsRefused) {
  ASSERT_TRUE(InitSrtpLibrary(SrtpCryptoBackend::kLibrary).ok());
  const absl::Status status = InitSrtpLibrary(SrtpCryptoBackend::kOpenSsl);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("already initialised with the library"),
            absl::string_view::npos)
      << status;
}

TEST(OpenSslSrtpCryptoTest, BackendNamesRoundTrip) {
  for (SrtpCryptoBackend backend :
       {SrtpCryptoBackend::kOpenSsl, SrtpCryptoBackend::kLibrary}) {
    EXPECT_EQ(ParseSrtpCryptoBackend(SrtpCryptoBackendName(backend)), backend);
  }
  EXPECT_EQ(ParseSrtpCryptoBackend("nss"), absl::nullopt);
}

}  // namespace
}  // namespace sotto::media::srtp
