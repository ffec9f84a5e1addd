// Tests for ServerRunner: start-up (ready file, health, port conflicts) and
// the drain sequence, driven in-process through RequestDrain().
#include "services/common/server_runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/ready_file.h"
#include "tests/services/common/kit_test_util.h"

namespace sotto::service_kit {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir == nullptr ? "/tmp" : dir, "/", name);
}

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

TEST(ServerRunnerTest, ReadyFileHoldsTheBoundPortsWhileServing) {
  ServerOptions options = testutil::LoopbackOptions();
  options.ready_file = TempPath("ready.json");
  ServerRunner runner(options);
  ASSERT_TRUE(runner.Start().ok());

  std::ifstream in(options.ready_file);
  const nlohmann::json ready = nlohmann::json::parse(in);
  EXPECT_EQ(ready["grpc_port"], runner.grpc_port());
  EXPECT_EQ(ready["metrics_port"], runner.metrics_port());
  EXPECT_EQ(ready["pid"], getpid());
  EXPECT_GT(runner.grpc_port(), 0);
  EXPECT_GT(runner.metrics_port(), 0);

  runner.RequestDrain();
  ASSERT_TRUE(runner.Wait().ok());
  EXPECT_FALSE(FileExists(options.ready_file));
}

TEST(ServerRunnerTest, RegisteredServicesReportServing) {
  testutil::EchoService echo;
  ServerRunner runner(testutil::LoopbackOptions());
  runner.AddService(&echo, "sotto.test.Echo");
  ASSERT_TRUE(runner.Start().ok());
  auto channel = testutil::LoopbackChannel(runner.grpc_port());
  EXPECT_EQ(*testutil::CheckHealth(channel), HealthCheckResponse::SERVING);
  EXPECT_EQ(*testutil::CheckHealth(channel, "sotto.test.Echo"),
            HealthCheckResponse::SERVING);
}

TEST(ServerRunnerTest, DrainHooksRunWhileRpcsAreServedButHealthIsDown) {
  testutil::EchoService echo;
  ServerOptions options = testutil::LoopbackOptions();
  options.drain_grace = absl::Milliseconds(50);
  options.drain_deadline = absl::Seconds(5);
  ServerRunner runner(options);
  runner.AddService(&echo, "sotto.test.Echo");
  bool hook_ran = false;
  absl::Time hook_deadline;
  absl::StatusOr<HealthCheckResponse::ServingStatus> overall;
  absl::StatusOr<HealthCheckResponse::ServingStatus> echo_health;
  grpc::Status echo_during_drain;
  runner.AddDrainHook([&](absl::Time deadline) {
    hook_ran = true;
    hook_deadline = deadline;
    auto channel = testutil::LoopbackChannel(runner.grpc_port());
    overall = testutil::CheckHealth(channel);
    echo_health = testutil::CheckHealth(channel, "sotto.test.Echo");
    auto stub = sotto::test::Echo::NewStub(channel);
    grpc::ClientContext context;
    sotto::test::EchoRequest request;
    request.set_text("still here");
    sotto::test::EchoResponse response;
    echo_during_drain = stub->Echo(&context, request, &response);
  });
  ASSERT_TRUE(runner.Start().ok());
  const int port = runner.grpc_port();

  const absl::Time drain_start = absl::Now();
  std::thread requester([&runner] { runner.RequestDrain(); });
  ASSERT_TRUE(runner.Wait().ok());
  requester.join();

  ASSERT_TRUE(hook_ran);
  EXPECT_GE(hook_deadline - drain_start, absl::Seconds(5));
  EXPECT_EQ(*overall, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(*echo_health, HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(echo_during_drain.ok());
  // After Wait() the server is gone: new RPCs fail.
  auto after = testutil::CheckHealth(testutil::LoopbackChannel(port));
  EXPECT_FALSE(after.ok());
}

TEST(ServerRunnerTest, UnknownServiceNameFailsStart) {
  testutil::EchoService echo;
  ServerRunner runner(testutil::LoopbackOptions());
  runner.AddService(&echo, "sotto.test.Ecko");
  const absl::Status status = runner.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("sotto.test.Ecko"));
}

TEST(ServerRunnerTest, PortInUseFailsStartInsteadOfSharingIt) {
  ServerRunner first(testutil::LoopbackOptions());
  ASSERT_TRUE(first.Start().ok());
  ServerOptions options = testutil::LoopbackOptions();
  options.grpc_address = absl::StrCat("127.0.0.1:", first.grpc_port());
  ServerRunner second(options);
  const absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr(options.grpc_address));
}

TEST(ServerRunnerTest, MetricsPortInUseFailsStart) {
  ServerRunner first(testutil::LoopbackOptions());
  ASSERT_TRUE(first.Start().ok());
  ServerOptions options = testutil::LoopbackOptions();
  options.metrics_address = absl::StrCat("127.0.0.1:", first.metrics_port());
  ServerRunner second(options);
  const absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr(options.metrics_address));
}

TEST(ServerRunnerTest, RunRefusesWhenSignalsAreNotBlocked) {
  ServerRunner runner(testutil::LoopbackOptions());
  EXPECT_EQ(runner.Run().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReadyFileTest, UnwritableDirectoryIsAnErrorNamingThePath) {
  const absl::Status status =
      WriteReadyFile("/nonexistent-dir/ready.json", 1, 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("/nonexistent-dir/ready.json"));
}

}  // namespace
}  // namespace sotto::service_kit
