// Tests for SrtpSession: round trips, authentication and replay failures,
// rollover across sequence wraps with reordering, buffer contracts.
#include "media_engine/srtp/srtp_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "media_engine/rtp/rtcp_packet.h"
#include "media_engine/srtp/srtp_library.h"
#include "tests/media_engine/srtp/srtp_test_util.h"

namespace sotto::media::srtp {
namespace {

constexpr uint32_t kSsrc = 0x5077051A;

#ifdef SOTTO_TEST_SRTP_LIBRARY_BACKEND
// Chosen during static initialisation, before any test creates a session.
const bool kLibraryBackendChosen =
    InitSrtpLibrary(SrtpCryptoBackend::kLibrary).ok();

TEST(SrtpLibraryTest, RunsOnTheLibrarysOwnBackend) {
  EXPECT_TRUE(kLibraryBackendChosen);
  EXPECT_EQ(ActiveSrtpCryptoBackend(), SrtpCryptoBackend::kLibrary);
}
#else
TEST(SrtpLibraryTest, DefaultBackendIsOpenSsl) {
  ASSERT_TRUE(InitSrtpLibrary().ok());
  EXPECT_EQ(ActiveSrtpCryptoBackend(), SrtpCryptoBackend::kOpenSsl);
}
#endif

class SrtpSessionTest : public ::testing::TestWithParam<SrtpCryptoSuite> {
 protected:
  void SetUp() override {
    if (GetParam() == SrtpCryptoSuite::kAeadAes128Gcm &&
        !SrtpAeadAes128GcmSupported()) {
      GTEST_SKIP() << "libsrtp built without AES-GCM";
    }
    key_ = std::make_unique<SrtpKeyMaterial>(TestKey(GetParam(), 1));
    sender_ = std::make_unique<SrtpSession>(
        *SrtpSession::Create(SrtpDirection::kOutbound, *key_));
    receiver_ = std::make_unique<SrtpSession>(
        *SrtpSession::Create(SrtpDirection::kInbound, *key_));
  }

  // Unprotects a copy of `srtp`; returns the result and the plain packet.
  SrtpResult Unprotect(SrtpSession& session, const std::vector<uint8_t>& srtp,
                       std::vector<uint8_t>* plain = nullptr) {
    std::vector<uint8_t> buffer(srtp);
    size_t length = buffer.size();
    const SrtpResult result =
        session.UnprotectRtp(absl::MakeSpan(buffer), &length);
    buffer.resize(length);
    if (plain != nullptr) *plain = buffer;
    return result;
  }

  std::unique_ptr<SrtpKeyMaterial> key_;
  std::unique_ptr<SrtpSession> sender_;
  std::unique_ptr<SrtpSession> receiver_;
};

TEST_P(SrtpSessionTest, RtpRoundTripRestoresThePacket) {
  const std::vector<uint8_t> plain = MakeRtp(kSsrc, 1000, 1);
  const std::vector<uint8_t> srtp = Protect(*sender_, plain);
  ASSERT_EQ(srtp.size(), plain.size() + sender_->rtp_trailer_size());
  EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), srtp.begin() + 12));
  std::vector<uint8_t> decrypted;
  ASSERT_EQ(Unprotect(*receiver_, srtp, &decrypted), SrtpResult::kOk);
  EXPECT_EQ(decrypted, plain);
}

TEST_P(SrtpSessionTest, TrailerSizesMatchTheSuite) {
  switch (GetParam()) {
    case SrtpCryptoSuite::kAesCm128HmacSha1_80:
      EXPECT_EQ(sender_->rtp_trailer_size(), 10u);
      EXPECT_EQ(sender_->rtcp_trailer_size(), 14u);
      break;
    case SrtpCryptoSuite::kAesCm128HmacSha1_32:
      EXPECT_EQ(sender_->rtp_trailer_size(), 4u);
      EXPECT_EQ(sender_->rtcp_trailer_size(), 14u);  // SRTCP keeps 80 bits
      break;
    case SrtpCryptoSuite::kAeadAes128Gcm:
      EXPECT_EQ(sender_->rtp_trailer_size(), 16u);
      EXPECT_EQ(sender_->rtcp_trailer_size(), 20u);
      break;
  }
}

TEST_P(SrtpSessionTest, ProtectWritesOnlyWithinAnExactlySizedBuffer) {
  // Heap buffer of exactly packet + trailer: ASan would catch any write past
  // the trailer (libsrtp's own contract asks for SRTP_MAX_TRAILER_LEN).
  const std::vector<uint8_t> plain = MakeRtp(kSsrc, 1, 1);
  const size_t capacity = plain.size() + sender_->rtp_trailer_size();
  std::unique_ptr<uint8_t[]> exact(new uint8_t[capacity]);
  std::copy(plain.begin(), plain.end(), exact.get());
  size_t length = plain.size();
  ASSERT_EQ(sender_->ProtectRtp(absl::MakeSpan(exact.get(), capacity), &length),
            SrtpResult::kOk);
  EXPECT_EQ(length, capacity);

  std::vector<uint8_t> short_buffer(plain);
  short_buffer.resize(capacity - 1);
  length = plain.size();
  EXPECT_EQ(sender_->ProtectRtp(absl::MakeSpan(short_buffer), &length),
            SrtpResult::kBufferTooSmall);
  EXPECT_EQ(length, plain.size());
}

TEST_P(SrtpSessionTest, RtcpRoundTripRestoresTheCompound) {
  std::vector<uint8_t> buffer(kTestBufferSize);
  rtp::RtcpSenderInfo info;
  info.ssrc = kSsrc;
  info.packet_count = 10;
  size_t length = rtp::WriteRtcpSenderReport(info, {}, absl::MakeSpan(buffer));
  length += rtp::WriteRtcpSdesCname(kSsrc, "leg",
                                    absl::MakeSpan(buffer).subspan(length));
  const std::vector<uint8_t> plain(buffer.begin(), buffer.begin() + length);
  ASSERT_EQ(sender_->ProtectRtcp(absl::MakeSpan(buffer), &length),
            SrtpResult::kOk);
  EXPECT_EQ(length, plain.size() + sender_->rtcp_trailer_size());
  ASSERT_EQ(receiver_->UnprotectRtcp(absl::MakeSpan(buffer), &length),
            SrtpResult::kOk);
  ASSERT_EQ(length, plain.size());
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buffer.begin()));
  EXPECT_EQ(rtp::ParseRtcpCompound(absl::MakeConstSpan(buffer.data(), length),
                                   nullptr),
            rtp::RtcpParseError::kOk);
}

TEST_P(SrtpSessionTest, WrongKeyFailsAuthenticationAndCreatesNoState) {
  SrtpSession stranger =
      *SrtpSession::Create(SrtpDirection::kInbound, TestKey(GetParam(), 2));
  const std::vector<uint8_t> srtp = Protect(*sender_, MakeRtp(kSsrc, 1, 1));
  const std::vector<uint8_t> copy = srtp;
  std::vector<uint8_t> buffer(srtp);
  size_t length = buffer.size();
  EXPECT_EQ(stranger.UnprotectRtp(absl::MakeSpan(buffer), &length),
            SrtpResult::kAuthFail);
  EXPECT_EQ(length, srtp.size());
  // ssrc_any_inbound: no per-SSRC state until a packet authenticates.
  EXPECT_FALSE(stranger.RolloverCounter(kSsrc).has_value());
  // The rightful receiver still accepts the same packet.
  EXPECT_EQ(Unprotect(*receiver_, copy), SrtpResult::kOk);
  EXPECT_TRUE(receiver_->RolloverCounter(kSsrc).has_value());
}

TEST_P(SrtpSessionTest, TamperedPacketFailsAuthentication) {
  std::vector<uint8_t> srtp = Protect(*sender_, MakeRtp(kSsrc, 1, 1));
  srtp[40] ^= 0x01;
  EXPECT_EQ(Unprotect(*receiver_, srtp), SrtpResult::kAuthFail);
}

TEST_P(SrtpSessionTest, ReplayedPacketIsRejected) {
  const std::vector<uint8_t> srtp = Protect(*sender_, MakeRtp(kSsrc, 7, 7));
  EXPECT_EQ(Unprotect(*receiver_, srtp), SrtpResult::kOk);
  EXPECT_EQ(Unprotect(*receiver_, srtp), SrtpResult::kReplayFail);
}

TEST_P(SrtpSessionTest, PacketOlderThanTheReplayWindowIsRejected) {
  const std::vector<uint8_t> old = Protect(*sender_, MakeRtp(kSsrc, 1, 1));
  std::vector<uint8_t> newest;
  for (uint16_t seq = 2; seq < 2 + SrtpSession::kReplayWindowPackets + 10;
       ++seq) {
    newest = Protect(*sender_, MakeRtp(kSsrc, seq, seq));
  }
  ASSERT_EQ(Unprotect(*receiver_, newest), SrtpResult::kOk);
  EXPECT_EQ(Unprotect(*receiver_, old), SrtpResult::kReplayOld);
}

TEST_P(SrtpSessionTest, ProtectRefusesToReuseAnIndex) {
  // allow_repeat_tx is off: a second protect of the same index would reuse
  // keystream.
  ASSERT_FALSE(Protect(*sender_, MakeRtp(kSsrc, 5, 5)).empty());
  std::vector<uint8_t> buffer = MakeRtp(kSsrc, 5, 5);
  const size_t plain_size = buffer.size();
  buffer.resize(kTestBufferSize);
  size_t length = plain_size;
  EXPECT_EQ(sender_->ProtectRtp(absl::MakeSpan(buffer), &length),
            SrtpResult::kReplayFail);
}

TEST_P(SrtpSessionTest, RolloverCounterFollowsWrapsWithReordering) {
  // 70 000 packets from seq 65000: crosses two wraps. Packets are shuffled
  // within blocks of 16 (up to 15 apart), so some cross each wrap backwards.
  constexpr uint32_t kStart = 65000;
  constexpr uint32_t kCount = 70'000;
  std::vector<std::vector<uint8_t>> block;
  std::mt19937 random(1234);
  uint32_t accepted = 0;
  for (uint32_t i = 0; i < kCount; ++i) {
    const uint64_t index = kStart + i;
    block.push_back(
        Protect(*sender_, MakeRtp(kSsrc, static_cast<uint16_t>(index), index)));
    if (block.size() == 16 || i + 1 == kCount) {
      std::shuffle(block.begin(), block.end(), random);
      for (const std::vector<uint8_t>& srtp : block) {
        std::vector<uint8_t> plain;
        ASSERT_EQ(Unprotect(*receiver_, srtp, &plain), SrtpResult::kOk)
            << "packet " << i;
        // The payload says which packet this was: decryption used the right
        // ROC, not just a passing tag.
        rtp::RtpPacketView view;
        ASSERT_EQ(rtp::ParseRtp(plain, &view), rtp::RtpParseError::kOk);
        const uint64_t sent_index = view.timestamp() / 160;
        ASSERT_EQ(plain, MakeRtp(kSsrc, view.sequence_number(), sent_index));
        ++accepted;
      }
      block.clear();
    }
  }
  EXPECT_EQ(accepted, kCount);
  // (65000 + 70000) >> 16 == 2 for both ends.
  EXPECT_EQ(sender_->RolloverCounter(kSsrc), 2u);
  EXPECT_EQ(receiver_->RolloverCounter(kSsrc), 2u);
}

TEST_P(SrtpSessionTest, PlainSessionRejectsSameKeySequenceRestart) {
  // Documents the libsrtp behaviour InboundSrtp works around: after a
  // restart at a lower sequence number the index looks old.
  for (uint16_t seq = 20000; seq < 22000; ++seq) {
    ASSERT_EQ(
        Unprotect(*receiver_, Protect(*sender_, MakeRtp(kSsrc, seq, seq))),
        SrtpResult::kOk);
  }
  SrtpSession restarted_sender =
      *SrtpSession::Create(SrtpDirection::kOutbound, *key_);
  for (uint16_t seq = 100; seq < 110; ++seq) {
    EXPECT_EQ(Unprotect(*receiver_,
                        Protect(restarted_sender, MakeRtp(kSsrc, seq, seq))),
              SrtpResult::kReplayOld);
  }
}

TEST_P(SrtpSessionTest, RejectsPacketsTooShortToBeSrtp) {
  std::vector<uint8_t> tiny(12 + receiver_->rtp_trailer_size() - 1, 0x80);
  EXPECT_EQ(Unprotect(*receiver_, tiny), SrtpResult::kMalformed);
  std::vector<uint8_t> buffer(64);
  size_t length = 11;
  EXPECT_EQ(sender_->ProtectRtp(absl::MakeSpan(buffer), &length),
            SrtpResult::kMalformed);
  length = 4;
  EXPECT_EQ(receiver_->UnprotectRtcp(absl::MakeSpan(buffer), &length),
            SrtpResult::kMalformed);
}

TEST_P(SrtpSessionTest, DirectionIsEnforced) {
  std::vector<uint8_t> buffer = MakeRtp(kSsrc, 1, 1);
  size_t length = buffer.size();
  buffer.resize(kTestBufferSize);
  EXPECT_EQ(receiver_->ProtectRtp(absl::MakeSpan(buffer), &length),
            SrtpResult::kBadParam);
  EXPECT_EQ(sender_->UnprotectRtp(absl::MakeSpan(buffer), &length),
            SrtpResult::kBadParam);
}

TEST_P(SrtpSessionTest, MovedFromSessionIsSafeToDestroy) {
  SrtpSession moved = std::move(*sender_);
  EXPECT_FALSE(Protect(moved, MakeRtp(kSsrc, 1, 1)).empty());
  *sender_ = std::move(moved);
  EXPECT_FALSE(Protect(*sender_, MakeRtp(kSsrc, 2, 2)).empty());
}

INSTANTIATE_TEST_SUITE_P(
    AllSuites, SrtpSessionTest,
    ::testing::Values(SrtpCryptoSuite::kAesCm128HmacSha1_80,
                      SrtpCryptoSuite::kAesCm128HmacSha1_32,
                      SrtpCryptoSuite::kAeadAes128Gcm),
    [](const ::testing::TestParamInfo<SrtpCryptoSuite>& info) {
      switch (info.param) {
        case SrtpCryptoSuite::kAesCm128HmacSha1_80:
          return "AesCm128HmacSha1_80";
        case SrtpCryptoSuite::kAesCm128HmacSha1_32:
          return "AesCm128HmacSha1_32";
        case SrtpCryptoSuite::kAeadAes128Gcm:
          return "AeadAes128Gcm";
      }
      return "Unknown";
    });

TEST(SrtpLibraryTest, DebianNssBuildSupportsGcm) {
  // Debian's libsrtp2 is built on NSS, which provides AES-GCM. If this
  // fails, the GCM suite is silently unavailable: say so loudly.
  EXPECT_TRUE(SrtpAeadAes128GcmSupported());
}

TEST(SrtpLibraryTest, ConcurrentInitAndSessionsOnManyThreads) {
  // Threads race to initialise the library and then each runs its own
  // sessions; run under TSan to check the once-only init.
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &ok] {
      if (!InitSrtpLibrary().ok()) return;
      const SrtpKeyMaterial key = TestKey(SrtpCryptoSuite::kAesCm128HmacSha1_80,
                                          static_cast<uint8_t>(t));
      SrtpSession out = *SrtpSession::Create(SrtpDirection::kOutbound, key);
      SrtpSession in = *SrtpSession::Create(SrtpDirection::kInbound, key);
      for (uint16_t seq = 0; seq < 200; ++seq) {
        std::vector<uint8_t> srtp = Protect(out, MakeRtp(kSsrc + t, seq, seq));
        size_t length = srtp.size();
        if (in.UnprotectRtp(absl::MakeSpan(srtp), &length) != SrtpResult::kOk) {
          return;
        }
      }
      ok[t] = 1;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::count(ok.begin(), ok.end(), 1), 8);
}

TEST(SrtpResultTest, NamesAreDenseAndDistinct) {
  EXPECT_EQ(SrtpResultName(SrtpResult::kAuthFail), "auth_fail");
  EXPECT_EQ(static_cast<size_t>(SrtpResult::kOtherError) + 1, kSrtpResultCount);
}

}  // namespace
}  // namespace sotto::media::srtp
