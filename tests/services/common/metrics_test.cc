// Tests for the gRPC server metrics: label sets stay bounded to the
// registered services' methods, status codes are counted, and the build-info
// gauge is present. Runs a real server in-process on loopback.
#include "services/common/metrics.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "services/common/server_runner.h"
#include "tests/services/common/kit_test_util.h"

namespace sotto::service_kit {
namespace {

using ::testing::ElementsAre;
using ::testing::IsSubsetOf;

// Value of the series of `family` whose labels include all of `labels`.
double SeriesValue(const std::vector<prometheus::MetricFamily>& families,
                   const std::string& family,
                   const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& f : families) {
    if (f.name != family) continue;
    for (const prometheus::ClientMetric& metric : f.metric) {
      size_t matched = 0;
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        auto it = labels.find(label.name);
        if (it != labels.end() && it->second == label.value) ++matched;
      }
      if (matched == labels.size()) {
        if (f.type == prometheus::MetricType::Histogram) {
          return static_cast<double>(metric.histogram.sample_count);
        }
        return metric.counter.value + metric.gauge.value;
      }
    }
  }
  return -1;
}

std::set<std::string> LabelValues(
    const std::vector<prometheus::MetricFamily>& families,
    const std::string& label_name) {
  std::set<std::string> values;
  for (const prometheus::MetricFamily& f : families) {
    if (f.name.rfind("grpc_server_", 0) != 0) continue;
    for (const prometheus::ClientMetric& metric : f.metric) {
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        if (label.name == label_name) values.insert(label.value);
      }
    }
  }
  return values;
}

// Calls any method name with an empty request, as a scanner would. Uses a
// completion queue polled on this thread, so the result never crosses
// threads through gRPC's (uninstrumented) callback machinery.
grpc::StatusCode CallRawMethod(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  auto call = stub.PrepareUnaryCall(&context, method, request, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, /*tag=*/&status);
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok));
  EXPECT_EQ(tag, &status);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status.error_code();
}

class GrpcServerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<ServerRunner>(testutil::LoopbackOptions());
    runner_->AddService(&echo_, "sotto.test.Echo");
    ASSERT_TRUE(runner_->Start().ok());
    channel_ = testutil::LoopbackChannel(runner_->grpc_port());
  }

  std::vector<prometheus::MetricFamily> Collect() {
    return runner_->metrics_registry()->Collect();
  }

  grpc::StatusCode Echo(const std::string& text) {
    auto stub = sotto::test::Echo::NewStub(channel_);
    grpc::ClientContext context;
    sotto::test::EchoRequest request;
    request.set_text(text);
    sotto::test::EchoResponse response;
    return stub->Echo(&context, request, &response).error_code();
  }

  testutil::EchoService echo_;
  std::unique_ptr<ServerRunner> runner_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GrpcServerMetricsTest, CountsRegisteredMethodsByStatusCode) {
  ASSERT_EQ(Echo("hi"), grpc::StatusCode::OK);
  ASSERT_EQ(Echo("hi"), grpc::StatusCode::OK);
  ASSERT_EQ(Echo("fail"), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(testutil::CheckHealth(channel_).ok());

  const auto families = Collect();
  const std::map<std::string, std::string> echo = {
      {"grpc_service", "sotto.test.Echo"}, {"grpc_method", "Echo"}};
  EXPECT_EQ(SeriesValue(families, "grpc_server_started_total", echo), 3);
  auto with_code = [](std::map<std::string, std::string> labels,
                      const std::string& code) {
    labels["grpc_code"] = code;
    return labels;
  };
  EXPECT_EQ(
      SeriesValue(families, "grpc_server_handled_total", with_code(echo, "OK")),
      2);
  EXPECT_EQ(SeriesValue(families, "grpc_server_handled_total",
                        with_code(echo, "InvalidArgument")),
            1);
  EXPECT_EQ(SeriesValue(families, "grpc_server_handling_seconds", echo), 3);
  EXPECT_EQ(SeriesValue(families, "grpc_server_handled_total",
                        {{"grpc_service", "grpc.health.v1.Health"},
                         {"grpc_method", "Check"},
                         {"grpc_code", "OK"}}),
            1);
}

TEST_F(GrpcServerMetricsTest, UnregisteredMethodsShareTheUnknownLabel) {
  // In the descriptor pool but not registered on this server.
  auto unregistered = sotto::test::Unregistered::NewStub(channel_);
  {
    grpc::ClientContext context;
    sotto::test::EchoResponse response;
    EXPECT_EQ(unregistered->Ping(&context, {}, &response).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  // Names nobody defined, as a scanner or a typo would send.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(CallRawMethod(channel_,
                            absl::StrCat("/made.up.Service", i, "/Method", i)),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  EXPECT_EQ(CallRawMethod(channel_, "/sotto.test.Echo/Missing"),
            grpc::StatusCode::UNIMPLEMENTED);

  const auto families = Collect();
  EXPECT_THAT(LabelValues(families, "grpc_method"),
              IsSubsetOf({"Echo", "Check", "Watch", "ServerReflectionInfo",
                          "unknown"}));
  EXPECT_THAT(
      LabelValues(families, "grpc_service"),
      IsSubsetOf({"sotto.test.Echo", "grpc.health.v1.Health",
                  "grpc.reflection.v1alpha.ServerReflection", "unknown"}));
  EXPECT_EQ(SeriesValue(families, "grpc_server_handled_total",
                        {{"grpc_service", "unknown"},
                         {"grpc_method", "unknown"},
                         {"grpc_code", "Unimplemented"}}),
            7);
}

TEST_F(GrpcServerMetricsTest, BuildInfoNamesServiceAndVersion) {
  EXPECT_EQ(SeriesValue(Collect(), "sotto_build_info",
                        {{"service", "kit_test"}, {"version", "0.1.0-dev"}}),
            1);
}

TEST(MethodsOfServiceTest, KnowsHealthReflectionAndGeneratedServices) {
  EXPECT_THAT(*MethodsOfService("grpc.health.v1.Health"),
              ElementsAre("/grpc.health.v1.Health/Check",
                          "/grpc.health.v1.Health/Watch"));
  EXPECT_THAT(*MethodsOfService("sotto.test.Echo"),
              ElementsAre("/sotto.test.Echo/Echo"));
  EXPECT_EQ(MethodsOfService("no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(GrpcCodeLabelTest, UsesGoSpellingAndClampsOutOfRange) {
  EXPECT_EQ(GrpcCodeLabel(0), "OK");
  EXPECT_EQ(GrpcCodeLabel(14), "Unavailable");
  EXPECT_EQ(GrpcCodeLabel(99), "Unknown");
}

}  // namespace
}  // namespace sotto::service_kit
