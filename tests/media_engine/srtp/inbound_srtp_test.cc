// Tests for InboundSrtp: re-keying with packets in flight, same-key stream
// restarts, and that replays can neither get through nor fake a restart.
#include "media_engine/srtp/inbound_srtp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "media_engine/rtp/rtcp_packet.h"
#include "tests/media_engine/srtp/srtp_test_util.h"

namespace sotto::media::srtp {
namespace {

constexpr uint32_t kSsrc = 0xC0FFEE01;
constexpr int64_t kPacketUs = 20'000;

class InboundSrtpTest : public ::testing::TestWithParam<SrtpCryptoSuite> {
 protected:
  InboundSrtpTest()
      : key_a_(TestKey(GetParam(), 1)),
        key_b_(TestKey(GetParam(), 2)),
        sender_a_(*SrtpSession::Create(SrtpDirection::kOutbound, key_a_)),
        sender_b_(*SrtpSession::Create(SrtpDirection::kOutbound, key_b_)),
        inbound_(*InboundSrtp::Create(key_a_)) {}

  SrtpResult Receive(const std::vector<uint8_t>& srtp,
                     std::vector<uint8_t>* plain = nullptr) {
    std::vector<uint8_t> buffer(srtp);
    size_t length = buffer.size();
    const SrtpResult result =
        inbound_.UnprotectRtp(absl::MakeSpan(buffer), &length, now_us_);
    if (plain != nullptr) *plain = {buffer.begin(), buffer.begin() + length};
    return result;
  }

  // Sends seq [first, last) from `sender`, one packet per 20 ms, expecting
  // every one to be accepted and decrypted correctly.
  void StreamOk(SrtpSession& sender, uint32_t first, uint32_t last) {
    for (uint32_t i = first; i < last; ++i) {
      now_us_ += kPacketUs;
      const std::vector<uint8_t> plain =
          MakeRtp(kSsrc, static_cast<uint16_t>(i), i);
      std::vector<uint8_t> decrypted;
      ASSERT_EQ(Receive(Protect(sender, plain), &decrypted), SrtpResult::kOk)
          << "seq " << i;
      ASSERT_EQ(decrypted, plain);
    }
  }

  SrtpKeyMaterial key_a_;
  SrtpKeyMaterial key_b_;
  SrtpSession sender_a_;
  SrtpSession sender_b_;
  InboundSrtp inbound_;
  int64_t now_us_ = 1'000'000'000;
};

TEST_P(InboundSrtpTest, RekeyWithPacketsInFlightUnderBothKeysLosesNothing) {
  StreamOk(sender_a_, 1, 100);
  // Packets 100..109 left the remote under key A before it switched.
  std::vector<std::vector<uint8_t>> in_flight;
  for (uint16_t seq = 100; seq < 110; ++seq) {
    in_flight.push_back(Protect(sender_a_, MakeRtp(kSsrc, seq, seq)));
  }
  ASSERT_TRUE(inbound_.Rekey(key_b_, now_us_).ok());
  EXPECT_TRUE(inbound_.has_previous_key());
  // New-key packets 110..129 interleave with the late old-key ones.
  for (uint16_t seq = 110; seq < 130; ++seq) {
    now_us_ += kPacketUs;
    EXPECT_EQ(Receive(Protect(sender_b_, MakeRtp(kSsrc, seq, seq))),
              SrtpResult::kOk)
        << seq;
    if (seq % 2 == 0 && !in_flight.empty()) {
      EXPECT_EQ(Receive(in_flight.back()), SrtpResult::kOk);
      in_flight.pop_back();
    }
  }
  EXPECT_TRUE(in_flight.empty());
  EXPECT_EQ(inbound_.counters().previous_key_accepted, 10u);
  EXPECT_EQ(inbound_.counters().rtp[static_cast<size_t>(SrtpResult::kOk)],
            99u + 10 + 20);
  EXPECT_EQ(inbound_.counters().rtp[static_cast<size_t>(SrtpResult::kAuthFail)],
            0u);
}

TEST_P(InboundSrtpTest, OldKeyKeepsWorkingUntilTheRemoteSwitches) {
  StreamOk(sender_a_, 1, 50);
  ASSERT_TRUE(inbound_.Rekey(key_b_, now_us_).ok());
  StreamOk(sender_a_, 50, 300);  // 5 s: the remote is slow to switch
  StreamOk(sender_b_, 300, 400);
  EXPECT_EQ(inbound_.counters().previous_key_accepted, 250u);
}

TEST_P(InboundSrtpTest, PreviousKeyIsDroppedAfterTheOverlap) {
  StreamOk(sender_a_, 1, 50);
  const std::vector<uint8_t> straggler =
      Protect(sender_a_, MakeRtp(kSsrc, 50, 50));
  ASSERT_TRUE(inbound_.Rekey(key_b_, now_us_).ok());
  StreamOk(sender_b_, 51, 52);  // new key proven: overlap window starts
  now_us_ += InboundSrtpOptions().previous_key_overlap_us;
  EXPECT_EQ(Receive(straggler), SrtpResult::kAuthFail);
  EXPECT_FALSE(inbound_.has_previous_key());
}

TEST_P(InboundSrtpTest, PreviousKeyIsDroppedAtMaxLifetimeEvenUnused) {
  StreamOk(sender_a_, 1, 10);
  ASSERT_TRUE(inbound_.Rekey(key_b_, now_us_).ok());
  now_us_ += InboundSrtpOptions().previous_key_max_lifetime_us;
  EXPECT_EQ(Receive(Protect(sender_a_, MakeRtp(kSsrc, 10, 10))),
            SrtpResult::kAuthFail);
}

TEST_P(InboundSrtpTest, RtcpUnderThePreviousKeyIsAcceptedDuringOverlap) {
  StreamOk(sender_a_, 1, 10);
  ASSERT_TRUE(inbound_.Rekey(key_b_, now_us_).ok());
  StreamOk(sender_b_, 10, 20);
  std::vector<uint8_t> buffer(kTestBufferSize);
  size_t length =
      rtp::WriteRtcpReceiverReport(kSsrc, {}, absl::MakeSpan(buffer));
  ASSERT_EQ(sender_a_.ProtectRtcp(absl::MakeSpan(buffer), &length),
            SrtpResult::kOk);
  EXPECT_EQ(inbound_.UnprotectRtcp(absl::MakeSpan(buffer), &length, now_us_),
            SrtpResult::kOk);
  EXPECT_EQ(length, 8u);
}

TEST_P(InboundSrtpTest, ReplayedPacketIsRejectedAndCounted) {
  StreamOk(sender_a_, 1, 10);
  const std::vector<uint8_t> packet =
      Protect(sender_a_, MakeRtp(kSsrc, 10, 10));
  EXPECT_EQ(Receive(packet), SrtpResult::kOk);
  EXPECT_EQ(Receive(packet), SrtpResult::kReplayFail);
  EXPECT_EQ(
      inbound_.counters().rtp[static_cast<size_t>(SrtpResult::kReplayFail)],
      1u);
}

TEST_P(InboundSrtpTest, WrongKeyIsCountedAsAuthFailure) {
  StreamOk(sender_a_, 1, 10);
  for (uint16_t seq = 10; seq < 20; ++seq) {
    now_us_ += kPacketUs;
    // Same SSRC, wrong key: must not be mistaken for a restart either.
    EXPECT_EQ(Receive(Protect(sender_b_, MakeRtp(kSsrc, seq, seq))),
              SrtpResult::kAuthFail);
  }
  EXPECT_EQ(inbound_.counters().rtp[static_cast<size_t>(SrtpResult::kAuthFail)],
            10u);
  EXPECT_EQ(inbound_.counters().restarts_recovered, 0u);
}

TEST_P(InboundSrtpTest, SameKeyRestartWithBackwardsJumpRecoversAfterProbation) {
  StreamOk(sender_a_, 10000, 10500);
  // The remote restarts: fresh crypto context, same key and SSRC, ROC 0.
  SrtpSession restarted =
      *SrtpSession::Create(SrtpDirection::kOutbound, key_a_);
  std::vector<SrtpResult> results;
  for (uint16_t seq = 3000; seq < 3004; ++seq) {
    now_us_ += kPacketUs;
    results.push_back(Receive(Protect(restarted, MakeRtp(kSsrc, seq, seq))));
  }
  // 20 ms after the old stream's last packet: not yet silent long enough.
  EXPECT_EQ(results[0], SrtpResult::kReplayOld);
  // Then authentic in the probe but held back until the third confirms.
  EXPECT_EQ(results[1], SrtpResult::kRestartProbation);
  EXPECT_EQ(results[2], SrtpResult::kRestartProbation);
  EXPECT_EQ(results[3], SrtpResult::kOk);
  EXPECT_EQ(inbound_.counters().restarts_recovered, 1u);
  StreamOk(restarted, 3004, 4000);
  EXPECT_EQ(inbound_.RolloverCounter(kSsrc), 0u);
}

TEST_P(InboundSrtpTest, SameKeyRestartAfterRolloverRecovers) {
  // The old stream wrapped (ROC 1); the restarted one is at ROC 0, so
  // libsrtp guesses the wrong ROC and authentication fails.
  StreamOk(sender_a_, 65000, 66000);
  ASSERT_EQ(inbound_.RolloverCounter(kSsrc), 1u);
  SrtpSession restarted =
      *SrtpSession::Create(SrtpDirection::kOutbound, key_a_);
  int accepted = 0;
  for (uint16_t seq = 500; seq < 510; ++seq) {
    now_us_ += kPacketUs;
    accepted += Receive(Protect(restarted, MakeRtp(kSsrc, seq, seq))) ==
                SrtpResult::kOk;
  }
  EXPECT_EQ(accepted, 7);  // all but the three of the restart
  EXPECT_EQ(inbound_.counters().restarts_recovered, 1u);
  EXPECT_EQ(inbound_.RolloverCounter(kSsrc), 0u);
}

TEST_P(InboundSrtpTest, ReplayedOldPacketsCannotResetALiveStream) {
  // An attacker captured 100 packets and replays them, three per genuine
  // packet. They would authenticate in a fresh probe, but the live stream
  // keeps the SSRC busy, so no restart is declared and no replay delivered.
  std::vector<std::vector<uint8_t>> captured;
  for (uint16_t seq = 1; seq < 101; ++seq) {
    now_us_ += kPacketUs;
    captured.push_back(Protect(sender_a_, MakeRtp(kSsrc, seq, seq)));
    ASSERT_EQ(Receive(captured.back()), SrtpResult::kOk);
  }
  StreamOk(sender_a_, 101, 2000);  // captured packets now beyond the window
  size_t next = 0;
  for (uint16_t seq = 2000; seq < 2100; ++seq) {
    now_us_ += kPacketUs;
    EXPECT_EQ(Receive(Protect(sender_a_, MakeRtp(kSsrc, seq, seq))),
              SrtpResult::kOk);
    for (int i = 0; i < 3; ++i) {
      EXPECT_NE(Receive(captured[next++ % captured.size()]), SrtpResult::kOk);
    }
  }
  EXPECT_EQ(inbound_.counters().restarts_recovered, 0u);
}

TEST_P(InboundSrtpTest, RestartRecoveryCanBeTurnedOff) {
  InboundSrtpOptions options;
  options.recover_restarts = false;
  inbound_ = *InboundSrtp::Create(key_a_, options);
  StreamOk(sender_a_, 10000, 10100);
  SrtpSession restarted =
      *SrtpSession::Create(SrtpDirection::kOutbound, key_a_);
  for (uint16_t seq = 3000; seq < 3010; ++seq) {
    now_us_ += kPacketUs;
    EXPECT_EQ(Receive(Protect(restarted, MakeRtp(kSsrc, seq, seq))),
              SrtpResult::kReplayOld);
  }
}

TEST_P(InboundSrtpTest, ReorderingAroundTheWrapNeverLooksLikeARestart) {
  std::mt19937 random(99);
  std::vector<std::vector<uint8_t>> block;
  for (uint32_t index = 65000; index < 70000; ++index) {
    block.push_back(Protect(
        sender_a_, MakeRtp(kSsrc, static_cast<uint16_t>(index), index)));
    if (block.size() == 8) {
      std::shuffle(block.begin(), block.end(), random);
      for (const std::vector<uint8_t>& srtp : block) {
        now_us_ += kPacketUs;
        ASSERT_EQ(Receive(srtp), SrtpResult::kOk);
      }
      block.clear();
    }
  }
  EXPECT_EQ(inbound_.counters().restarts_recovered, 0u);
  EXPECT_EQ(inbound_.RolloverCounter(kSsrc), 1u);
}

TEST_P(InboundSrtpTest, GarbageIsCountedAsMalformed) {
  std::vector<uint8_t> garbage(5, 0xFF);
  size_t length = garbage.size();
  EXPECT_EQ(inbound_.UnprotectRtp(absl::MakeSpan(garbage), &length, now_us_),
            SrtpResult::kMalformed);
  EXPECT_EQ(
      inbound_.counters().rtp[static_cast<size_t>(SrtpResult::kMalformed)], 1u);
}

// GCM matters here: its backends may scramble the buffer on a failed
// unprotect, which the fallback and probe paths must not depend on.
INSTANTIATE_TEST_SUITE_P(
    AllSuites, InboundSrtpTest,
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

}  // namespace
}  // namespace sotto::media::srtp
