// Leg's send side in isolation: what a phone receives when the room hands
// it mixed frames, including after a skipped slot (a worker held up past
// the sink's lag limit).
#include "media_engine/engine/leg.h"

#include <gtest/gtest.h>

#include <thread>

#include "media_engine/net/port_allocator.h"
#include "tests/media_engine/engine/srtp_peer.h"

namespace sotto::media {
namespace {

using testing::ReceivedPacket;
using testing::SrtpPeer;

class IgnoringHost : public LegHost {
 public:
  void OnLegAudio(int, uint32_t, absl::Span<const int16_t>, bool,
                  Micros) override {}
  void OnLegStreamRestart(int) override {}
  void OnLegComfortNoise(int, Micros) override {}
  void OnLegTelephoneEvent(int, const rtp::TelephoneEvent&, uint32_t,
                           Micros) override {}
};

// Sends frames for `slots` through a plain PCMU leg of `ptime_ms` and
// returns what its phone received, in order.
std::vector<ReceivedPacket> SendSlots(int ptime_ms,
                                      const std::vector<int64_t>& slots) {
  SrtpPeer phone(std::nullopt, std::nullopt);
  net::PortAllocator ports("127.0.0.1", 30000, 39999);
  auto sockets = ports.Allocate(/*separate_rtcp=*/false);
  EXPECT_TRUE(sockets.ok()) << sockets.status();
  LegConfig config;
  config.leg_id = "agent";
  config.ptime_ms = ptime_ms;
  config.remote_rtp = phone.address();
  config.rtcp_interval = 3'600'000'000;  // no RTCP in the way
  IgnoringHost host;
  auto leg = Leg::Create(0, config, *std::move(sockets), &host);
  EXPECT_TRUE(leg.ok()) << leg.status();
  AudioFrame frame{};
  for (int64_t slot : slots) {
    frame.fill(static_cast<int16_t>(slot * 8));
    (*leg)->SendFrame(slot, frame, /*now=*/slot * kFrameMicros);
  }
  std::vector<ReceivedPacket> received;
  for (int attempt = 0; attempt < 200 && received.size() < slots.size();
       ++attempt) {
    auto more = phone.Drain();
    received.insert(received.end(), more.begin(), more.end());
    if (more.empty()) std::this_thread::yield();
  }
  return received;
}

TEST(LegSendTest, ASkippedSlotMarksTheFirstPacketAfterTheJumpAt20Ms) {
  const std::vector<ReceivedPacket> got =
      SendSlots(20, {100, 101, 102, 103, 120, 121, 122});
  ASSERT_EQ(got.size(), 7u);
  const std::vector<bool> markers = {true, false, false, false,
                                     true, false, false};
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].marker, markers[i]) << "packet " << i;
    if (i > 0) {
      EXPECT_EQ(static_cast<uint16_t>(got[i].sequence - got[i - 1].sequence),
                1);
    }
  }
  // The timestamp jumps by the skipped slots, so the phone plays on time.
  EXPECT_EQ(got[4].timestamp - got[3].timestamp, 17u * 160);
  EXPECT_EQ(got[5].timestamp - got[4].timestamp, 160u);
}

TEST(LegSendTest, ASkippedSlotFlushesTheHalfPacketAndMarksTheNextAt40Ms) {
  // 40 ms packets: slots 100-101, 102-103, then 104 alone (its pair was
  // skipped), then 120-121 marked.
  const std::vector<ReceivedPacket> got =
      SendSlots(40, {100, 101, 102, 103, 104, 120, 121});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(got[0].marker);
  EXPECT_FALSE(got[1].marker);
  EXPECT_FALSE(got[2].marker);
  EXPECT_EQ(got[2].samples.size(), 160u);  // the half packet, on its own
  EXPECT_TRUE(got[3].marker);
  EXPECT_EQ(got[3].samples.size(), 320u);
  EXPECT_EQ(got[3].timestamp - got[2].timestamp, 16u * 160);
  // Audio is where it belongs: the first sample of each packet is its
  // slot's level (slot * 8), through PCMU.
  EXPECT_EQ(got[2].samples[0],
            codec::UlawToLinear(codec::LinearToUlaw(104 * 8)));
  EXPECT_EQ(got[3].samples[0],
            codec::UlawToLinear(codec::LinearToUlaw(120 * 8)));
}

TEST(LegSendTest, AContinuousStreamIsMarkedOnlyAtItsStart) {
  std::vector<int64_t> slots;
  for (int64_t slot = 7; slot < 57; ++slot) slots.push_back(slot);
  const std::vector<ReceivedPacket> got = SendSlots(20, slots);
  ASSERT_EQ(got.size(), slots.size());
  EXPECT_TRUE(got[0].marker);
  EXPECT_LT(got[0].sequence, 1u << 15);  // RFC 3711 headroom for the ROC
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_FALSE(got[i].marker) << "packet " << i;
    EXPECT_EQ(got[i].timestamp - got[i - 1].timestamp, 160u);
  }
}

}  // namespace
}  // namespace sotto::media
