// The gRPC adapter's statistics against a live engine: what GetStats reports
// is what the legs and the mixer measured.
#include "media_engine/control/media_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "tests/media_engine/engine/loopback_engine_options.h"
#include "tests/media_engine/engine/srtp_peer.h"

namespace sotto::media {
namespace {

using testing::SrtpPeer;

class MediaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = std::make_unique<Engine>(testing::LoopbackEngineOptions(
        /*workers=*/1, /*rtcp_interval=*/200'000));
    service_ = std::make_unique<MediaService>(engine_.get());
  }

  // A plain-RTP leg in room-1 whose phone is `peer`.
  void AddLeg(const std::string& leg, SrtpPeer& peer) {
    LegSpec spec;
    spec.room_id = "room-1";
    spec.leg_id = leg;
    spec.config.leg_id = leg;
    spec.config.remote_rtp = peer.address();
    auto description = engine_->AddLeg(spec);
    ASSERT_TRUE(description.ok()) << description.status();
    peer.set_target(
        *net::SocketAddress::Parse("127.0.0.1", description->rtp_port));
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<MediaService> service_;
};

TEST_F(MediaServiceTest, GetStatsReportsQualityAndFramesMixedAtTheDeadline) {
  SrtpPeer customer(std::nullopt, std::nullopt);
  SrtpPeer agent(std::nullopt, std::nullopt);
  AddLeg("customer", customer);
  AddLeg("agent", agent);
  ASSERT_TRUE(
      engine_
          ->SetRouting("room-1",
                       {{"customer", "agent", 1}, {"agent", "customer", 1}}, 0)
          .ok());
  // Two seconds of a call paced like phones; the agent's network loses
  // every tenth packet (its sequence numbers and timestamps move on).
  int lost = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int tick = 0; tick < 100; ++tick) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(20 * tick));
    customer.Send(std::vector<int16_t>(kSamplesPerFrame, 1000));
    if (tick > 10 && tick % 10 == 5) {
      agent.set_sequence(static_cast<uint16_t>(agent.sequence() + 1));
      agent.set_timestamp(agent.timestamp() + kSamplesPerFrame);
      ++lost;
    } else {
      agent.Send(std::vector<int16_t>(kSamplesPerFrame, 2000));
    }
    customer.Drain();
    agent.Drain();
  }

  v1::GetStatsRequest request;
  request.set_room_id("room-1");
  v1::GetStatsResponse response;
  ASSERT_TRUE(service_->GetStats(nullptr, &request, &response).ok());
  ASSERT_EQ(response.rooms_size(), 1);
  const v1::RoomStats& room = response.rooms(0);
  EXPECT_EQ(room.room_id(), "room-1");
  ASSERT_EQ(room.legs().count("customer"), 1u);
  ASSERT_EQ(room.legs().count("agent"), 1u);
  const v1::MediaQuality& clean = room.legs().at("customer");
  const v1::MediaQuality& lossy = room.legs().at("agent");
  EXPECT_GE(clean.packets_received(), 95u);
  EXPECT_EQ(clean.packets_lost(), 0);
  EXPECT_EQ(lossy.packets_lost(), lost);
  EXPECT_NEAR(lossy.loss_ratio(), static_cast<double>(lost) / 100, 0.01);
  // G.711 on loopback (no loss, sub-millisecond jitter, no round trip yet)
  // is as good as the E-model rates G.711: R 93.2, MOS 4.41.
  EXPECT_GT(clean.mos(), 4.3);
  EXPECT_LE(clean.mos(), 4.5);
  // 9% random loss with concealment costs well over half a MOS point.
  EXPECT_GT(lossy.mos(), 1.0);
  EXPECT_LT(lossy.mos(), clean.mos() - 0.5);

  // Every lost agent packet left the customer's frame for its slot waiting
  // for the agent's deadline; the count is the mixer's, through the engine.
  EXPECT_GT(room.frames_mixed(), 150u);
  EXPECT_GE(room.frames_mixed_at_deadline(), static_cast<uint64_t>(lost));
  EXPECT_LT(room.frames_mixed_at_deadline(), room.frames_mixed() / 4);
}

}  // namespace
}  // namespace sotto::media
