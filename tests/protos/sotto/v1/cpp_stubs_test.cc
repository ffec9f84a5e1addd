// Proves the v1 API compiles to C++ stubs with every service and RPC the
// design names, and that messages survive a wire round trip.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sotto/v1/broker.grpc.pb.h"
#include "sotto/v1/media.grpc.pb.h"
#include "sotto/v1/policy.grpc.pb.h"
#include "sotto/v1/recorder.grpc.pb.h"
#include "sotto/v1/reporting.grpc.pb.h"

namespace sotto::v1 {
namespace {

const google::protobuf::ServiceDescriptor* FindService(
    const std::string& name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      name);
}

void ExpectMethods(const std::string& service,
                   const std::vector<std::string>& methods) {
  const auto* descriptor = FindService(service);
  ASSERT_NE(descriptor, nullptr) << service;
  for (const auto& method : methods) {
    EXPECT_NE(descriptor->FindMethodByName(method), nullptr)
        << service << "." << method;
  }
}

TEST(CppStubsTest, EveryServiceExposesItsRpcs) {
  ExpectMethods(
      "sotto.v1.Broker",
      {"RegisterCall", "GetCall", "ListCalls", "EndCall", "HoldCall",
       "ResumeCall", "UpdateCall", "PauseCallRecording", "ResumeCallRecording",
       "TransferCall", "UpdateParticipantMedia", "CreateSupervision",
       "SetSupervisionMode", "DeleteSupervision", "GetSupervision",
       "ListSupervisions", "WatchCall", "WatchCalls"});
  ExpectMethods("sotto.v1.EngineRegistry",
                {"RegisterEngine", "Heartbeat", "ListEngines"});
  ExpectMethods("sotto.v1.MediaEngine",
                {"AddLeg", "UpdateLeg", "RemoveLeg", "SetRouting", "PlayAudio",
                 "DeleteRoom", "ListRooms", "GetStats", "StreamTap", "Drain",
                 "GetEngineInfo"});
  ExpectMethods("sotto.v1.Policy", {"Authenticate", "Authorize",
                                    "GetRecordingPolicy", "GetPolicyStatus"});
  ExpectMethods("sotto.v1.Recorder",
                {"StartRecording", "StopRecording", "PauseRecording",
                 "ResumeRecording", "AnnotateRecording", "GetRecording",
                 "ListRecordings", "DownloadRecording", "ApplyRetention"});
  ExpectMethods(
      "sotto.v1.Reporting",
      {"IngestEvents", "ReportOutcome", "IngestMediaQuality",
       "ListAuditRecords", "VerifyAuditChain", "GetSupervisionActivityReport",
       "GetCoachingEffectivenessReport", "GetRampUpReport", "ExportReportCsv"});
}

TEST(CppStubsTest, StreamingRpcsAreServerStreams) {
  for (const auto& [service, method] :
       std::vector<std::pair<std::string, std::string>>{
           {"sotto.v1.Broker", "WatchCall"},
           {"sotto.v1.Broker", "WatchCalls"},
           {"sotto.v1.MediaEngine", "StreamTap"},
           {"sotto.v1.Recorder", "DownloadRecording"},
           {"sotto.v1.Reporting", "ExportReportCsv"}}) {
    const auto* m = FindService(service)->FindMethodByName(method);
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->server_streaming()) << method;
    EXPECT_FALSE(m->client_streaming()) << method;
  }
}

TEST(CppStubsTest, CallSurvivesWireRoundTrip) {
  Call call;
  call.set_name("tenants/acme/calls/c-1");
  call.set_state(Call::ON_HOLD);
  auto* supervision = call.add_supervisions();
  supervision->set_mode(MODE_WHISPER);
  auto* entry = call.mutable_routing()->add_entries();
  entry->set_source("supervisor-1");
  entry->set_sink("agent-1");
  entry->set_gain(1.0f);
  (*call.mutable_attributes())["language"] = "de";

  Call parsed;
  ASSERT_TRUE(parsed.ParseFromString(call.SerializeAsString()));
  EXPECT_EQ(parsed.name(), "tenants/acme/calls/c-1");
  EXPECT_EQ(parsed.state(), Call::ON_HOLD);
  EXPECT_EQ(parsed.supervisions(0).mode(), MODE_WHISPER);
  EXPECT_EQ(parsed.routing().entries(0).gain(), 1.0f);
  EXPECT_EQ(parsed.attributes().at("language"), "de");
}

TEST(CppStubsTest, GeneratedStubsConstructOnAChannel) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  EXPECT_NE(Broker::NewStub(channel), nullptr);
  EXPECT_NE(MediaEngine::NewStub(channel), nullptr);
  EXPECT_NE(Policy::NewStub(channel), nullptr);
  EXPECT_NE(Recorder::NewStub(channel), nullptr);
  EXPECT_NE(Reporting::NewStub(channel), nullptr);
}

}  // namespace
}  // namespace sotto::v1
