// IdempotencyCache: common.proto's retry contract for the media engine.
#include "media_engine/control/idempotency_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace sotto::media {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(IdempotencyCacheTest, ARetryGetsTheFirstAnswer) {
  IdempotencyCache cache;
  auto miss = cache.Find("r-1", "SetRouting", "body", kNow);
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  cache.Store("r-1", "SetRouting", "body", "answer-1", kNow);
  auto hit = cache.Find("r-1", "SetRouting", "body", kNow + absl::Minutes(5));
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ(**hit, "answer-1");
}

TEST(IdempotencyCacheTest, AReusedIdWithAnotherRequestIsRefusedByName) {
  IdempotencyCache cache;
  cache.Store("r-1", "AddLeg", "leg a", "answer", kNow);
  auto other_body = cache.Find("r-1", "AddLeg", "leg b", kNow);
  ASSERT_FALSE(other_body.ok());
  EXPECT_EQ(other_body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other_body.status().message().find("'r-1' was already used"),
            absl::string_view::npos);
  auto other_method = cache.Find("r-1", "DeleteRoom", "leg a", kNow);
  ASSERT_FALSE(other_method.ok());
  EXPECT_NE(other_method.status().message().find("AddLeg"),
            absl::string_view::npos);
}

TEST(IdempotencyCacheTest, AnswersAreForgottenAfterADayOrWhenFull) {
  IdempotencyCache cache(IdempotencyCache::Options{3, absl::Hours(24)});
  cache.Store("old", "M", "b", "a", kNow);
  auto day_later = cache.Find("old", "M", "other", kNow + absl::Hours(25));
  ASSERT_TRUE(day_later.ok()) << "a day-old id is free again";
  EXPECT_FALSE(day_later->has_value());
  for (int i = 0; i < 5; ++i) {
    cache.Store("id-" + std::to_string(i), "M", "b", "a", kNow);
  }
  EXPECT_EQ(cache.size(), 3u);
  auto oldest = cache.Find("id-0", "M", "b", kNow);
  ASSERT_TRUE(oldest.ok());
  EXPECT_FALSE(oldest->has_value()) << "the oldest goes first";
  auto newest = cache.Find("id-4", "M", "b", kNow);
  ASSERT_TRUE(newest.ok());
  EXPECT_TRUE(newest->has_value());
}

}  // namespace
}  // namespace sotto::media
