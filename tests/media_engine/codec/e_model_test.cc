// Tests for the G.711 E-model estimate at known points.
#include "media_engine/codec/e_model.h"

#include <gtest/gtest.h>

namespace sotto::media::codec {
namespace {

EModelResult Estimate(double loss, double jitter, double rtt) {
  EModelInput input;
  input.packet_loss_percent = loss;
  input.jitter_ms = jitter;
  input.round_trip_ms = rtt;
  return EstimateG711Quality(input);
}

TEST(EModelTest, MosMappingMatchesG107AnnexB) {
  EXPECT_DOUBLE_EQ(MosFromRFactor(-5), 1.0);
  EXPECT_DOUBLE_EQ(MosFromRFactor(0), 1.0);
  EXPECT_DOUBLE_EQ(MosFromRFactor(100), 4.5);
  EXPECT_NEAR(MosFromRFactor(93.2), 4.41, 0.005);  // G.107 default R
  EXPECT_NEAR(MosFromRFactor(50), 2.575, 1e-9);
}

TEST(EModelTest, CleanLowDelayLegScoresAbout4Point4) {
  const EModelResult result = Estimate(0, 0, 0);
  EXPECT_NEAR(result.r_factor, 92.72, 0.01);  // 93.2 - 0.024 * 20 ms
  EXPECT_NEAR(result.mos, 4.40, 0.01);
  EXPECT_NEAR(Estimate(0, 2, 40).mos, 4.39, 0.01);
}

TEST(EModelTest, OnePercentRandomLossWithConcealmentCostsAboutATenth) {
  const EModelResult result = Estimate(1, 0, 0);
  // Ie_eff = 95 * 1 / (1 + 25.1) = 3.64.
  EXPECT_NEAR(result.r_factor, 92.72 - 3.64, 0.01);
  EXPECT_NEAR(result.mos, 4.31, 0.01);
}

TEST(EModelTest, HeavyLossGivesPoorScore) {
  EXPECT_NEAR(Estimate(20, 0, 0).mos, 2.6, 0.05);
  EXPECT_LT(Estimate(30, 0, 0).mos, 2.3);
  EXPECT_LT(Estimate(50, 0, 0).mos, 1.7);
  EXPECT_GE(Estimate(100, 0, 0).mos, 1.0);
}

TEST(EModelTest, LossWithoutConcealmentHurtsMore) {
  EModelInput input;
  input.packet_loss_percent = 2;
  const double with_plc = EstimateG711Quality(input).mos;
  input.packet_loss_concealment = false;
  const double without_plc = EstimateG711Quality(input).mos;
  EXPECT_LT(without_plc, with_plc - 0.5);
}

TEST(EModelTest, DelayBeyond177MsAddsTheSteeperImpairment) {
  // Ta = 20 + 2 * 10 + 400 / 2 = 240 ms: Id = 0.024 Ta + 0.11 (Ta - 177.3).
  const EModelResult result = Estimate(0, 10, 400);
  EXPECT_NEAR(result.r_factor, 93.2 - 0.024 * 240 - 0.11 * (240 - 177.3), 1e-9);
  EXPECT_LT(result.mos, 4.1);
}

TEST(EModelTest, ScoreNeverIncreasesWithWorseNetwork) {
  double previous = 5;
  for (double loss = 0; loss <= 100; loss += 2.5) {
    const double mos = Estimate(loss, 0, 0).mos;
    EXPECT_LE(mos, previous);
    previous = mos;
  }
  previous = 5;
  for (double rtt = 0; rtt <= 2000; rtt += 50) {
    const double mos = Estimate(0, 0, rtt).mos;
    EXPECT_LE(mos, previous);
    previous = mos;
  }
}

TEST(EModelTest, OutOfRangeInputsAreClamped) {
  EXPECT_DOUBLE_EQ(Estimate(-5, -1, -10).mos, Estimate(0, 0, 0).mos);
  EXPECT_DOUBLE_EQ(Estimate(250, 0, 0).mos, Estimate(100, 0, 0).mos);
}

}  // namespace
}  // namespace sotto::media::codec
