// Placement goes to the least-loaded healthy engine; draining and dead
// engines get nothing; leases expire once.
#include "services/broker/engine_registry.h"

#include <gtest/gtest.h>

#include <map>

namespace sotto::broker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

EngineRecord Engine(const std::string& id, int capacity) {
  EngineRecord e;
  e.engine_id = id;
  e.control_address = id + ":7102";
  e.media_address = "198.51.100.1";
  e.capacity_rooms = capacity;
  return e;
}

TEST(EngineRegistryTest, NewCallsSpreadOverTheLeastLoadedEngines) {
  EngineRegistry registry;
  ASSERT_TRUE(registry.Register(Engine("m-0", 100), kT0).ok());
  ASSERT_TRUE(registry.Register(Engine("m-1", 300), kT0).ok());
  std::map<std::string, int> placed;
  for (int i = 0; i < 200; ++i) placed[registry.Place(kT0)->engine_id]++;
  // Filled in proportion to capacity: 50 and 150.
  EXPECT_EQ(placed["m-0"], 50);
  EXPECT_EQ(placed["m-1"], 150);
}

TEST(EngineRegistryTest, DrainingAndFullEnginesGetNoNewCalls) {
  EngineRegistry registry;
  ASSERT_TRUE(registry.Register(Engine("m-0", 1), kT0).ok());
  EngineRecord draining = Engine("m-1", 100);
  draining.draining = true;
  ASSERT_TRUE(registry.Register(draining, kT0).ok());
  EXPECT_EQ(registry.Place(kT0)->engine_id, "m-0");
  EXPECT_EQ(registry.Place(kT0).status().code(),
            absl::StatusCode::kResourceExhausted);
  registry.Release("m-0");
  EXPECT_EQ(registry.Place(kT0)->engine_id, "m-0");
}

TEST(EngineRegistryTest,
     AnEngineThatStopsHeartbeatingIsDeadOnceAndGetsNothing) {
  EngineRegistry registry(absl::Seconds(10));
  ASSERT_TRUE(registry.Register(Engine("m-0", 10), kT0).ok());
  ASSERT_TRUE(registry.Register(Engine("m-1", 10), kT0).ok());
  ASSERT_TRUE(
      registry.Heartbeat("m-1", 0, false, 0.1, kT0 + absl::Seconds(9)).ok());
  EXPECT_TRUE(registry.ExpireLeases(kT0 + absl::Seconds(5)).empty());
  EXPECT_EQ(registry.ExpireLeases(kT0 + absl::Seconds(11)),
            std::vector<std::string>{"m-0"});
  EXPECT_TRUE(registry.ExpireLeases(kT0 + absl::Seconds(12)).empty());
  EXPECT_EQ(registry.Place(kT0 + absl::Seconds(12))->engine_id, "m-1");
  // A dead engine's heartbeat is refused: it must register again.
  EXPECT_EQ(
      registry.Heartbeat("m-0", 0, false, 0, kT0 + absl::Seconds(12)).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.ExpireLeases(kT0 + absl::Seconds(30)),
            std::vector<std::string>{"m-1"});
  EXPECT_EQ(registry.Place(kT0 + absl::Seconds(30)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(EngineRegistryTest, RegistrationIsValidated) {
  EngineRegistry registry;
  EngineRecord bad = Engine("", 10);
  EXPECT_EQ(registry.Register(bad, kT0).code(),
            absl::StatusCode::kInvalidArgument);
  bad = Engine("m-0", 0);
  EXPECT_EQ(registry.Register(bad, kT0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Heartbeat("ghost", 0, false, 0, kT0).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sotto::broker
