// The routing matrix refuses what can never be a routing decision.
#include "media_engine/mixer/routing_matrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sotto::media {
namespace {

TEST(RoutingMatrixTest, StartsSilent) {
  RoutingMatrix matrix;
  for (int a = 0; a < kMaxRoomMembers; ++a) {
    for (int b = 0; b < kMaxRoomMembers; ++b) EXPECT_EQ(matrix.Gain(a, b), 0);
  }
}

TEST(RoutingMatrixTest, RejectsSelfLoopsBadIndicesAndBadGains) {
  RoutingMatrix matrix;
  EXPECT_EQ(matrix.Set(1, 1, 1.0f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.Set(-1, 1, 1.0f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.Set(0, kMaxRoomMembers, 1.0f).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.Set(0, 1, -0.5f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.Set(0, 1, 4.5f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.Set(0, 1, std::numeric_limits<float>::quiet_NaN()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(matrix.Set(0, 1, 0.5f).ok());
  EXPECT_EQ(matrix.Gain(0, 1), 0.5f);
  EXPECT_TRUE(matrix.Hears(1, 0));
  EXPECT_FALSE(matrix.Hears(0, 1));
}

TEST(RoutingMatrixTest, ClearingAMemberSilencesItsRowAndColumn) {
  RoutingMatrix matrix;
  ASSERT_TRUE(matrix.Set(0, 1, 1).ok());
  ASSERT_TRUE(matrix.Set(1, 0, 1).ok());
  ASSERT_TRUE(matrix.Set(1, 2, 1).ok());
  ASSERT_TRUE(matrix.Set(0, 2, 1).ok());
  matrix.ClearMember(1);
  EXPECT_EQ(matrix.Gain(0, 1), 0);
  EXPECT_EQ(matrix.Gain(1, 0), 0);
  EXPECT_EQ(matrix.Gain(1, 2), 0);
  EXPECT_EQ(matrix.Gain(0, 2), 1);
}

}  // namespace
}  // namespace sotto::media
