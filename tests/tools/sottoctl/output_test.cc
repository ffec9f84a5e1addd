// What sottoctl prints: aligned tables, times, the human forms of the main
// responses (keys never shown), and one-line proto JSON.
#include "tools/sottoctl/output.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tools/sottoctl/values.h"

namespace sotto::sottoctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

TEST(OutputTest, TablesAlignColumnsAndShowEmptyCellsAsDash) {
  const std::string table =
      FormatTable({"NAME", "STATE"}, {{"a-long-name", "active"}, {"b", ""}});
  EXPECT_EQ(table,
            "NAME         STATE\n"
            "a-long-name  active\n"
            "b            -\n");
}

TEST(OutputTest, TimesAreUtcToTheSecondAndUnsetIsDash) {
  google::protobuf::Timestamp time;
  EXPECT_EQ(FormatTime(time), "-");
  time.set_seconds(1796299200);
  time.set_nanos(999000000);
  EXPECT_EQ(FormatTime(time), "2026-12-03T12:00:00Z");
}

TEST(OutputTest, CallShowsParticipantsModesAndRoutingButNeverKeys) {
  const auto call = Parse<v1::Call>(R"(
      name: "tenants/acme/calls/c-1" state: ON_HOLD queue: "sales"
      participants { name: "tenants/acme/calls/c-1/participants/agent-1"
                     role: ROLE_AGENT state: CONNECTED user_id: "a-1"
                     team: "team-a"
                     media { local_rtp { address: "::1" port: 4000 }
                             codec: CODEC_PCMA
                             local_key { suite: CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32
                                         inline_key: "TOPSECRET" } } }
      supervisions { name: "tenants/acme/calls/c-1/supervisions/s-1"
                     supervisor: "lead-1" mode: MODE_TAKEOVER state: ACTIVE }
      routing { entries { source: "agent-1" sink: "customer" gain: 0.5 } })");
  const std::string text = FormatCall(call);
  EXPECT_THAT(text, HasSubstr("state    on-hold"));
  EXPECT_THAT(
      text,
      HasSubstr("[::1]:4000 pcma aes-cm-128-hmac-sha1-32 (key: -o json)"));
  EXPECT_THAT(text, HasSubstr("takeover"));
  EXPECT_THAT(text, HasSubstr("agent-1->customer(0.50)"));
  EXPECT_THAT(text, Not(HasSubstr("TOPSECRET")));
  EXPECT_THAT(text, Not(HasSubstr("ended")));
  // JSON carries everything, the key included, on one line.
  const std::string json = ToJsonLine(call);
  EXPECT_THAT(json, HasSubstr("\"inline_key\":\"TOPSECRET\""));
  EXPECT_THAT(json, HasSubstr("\"state\":\"ON_HOLD\""));
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(OutputTest, CallListShowsTheCurrentAgentAndActiveSupervisors) {
  const auto response = Parse<v1::ListCallsResponse>(R"(
      calls { name: "tenants/acme/calls/c-1" state: ACTIVE queue: "sales"
              participants { role: ROLE_AGENT state: REMOVED user_id: "old" }
              participants { role: ROLE_AGENT state: CONNECTED user_id: "a-2"
                             team: "team-b" }
              supervisions { state: ACTIVE } supervisions { state: RELEASED } }
      next_page_token: "tok2")");
  std::vector<std::string> lines =
      absl::StrSplit(FormatCalls(response), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], HasSubstr("a-2"));
  EXPECT_THAT(lines[1], Not(HasSubstr("old")));
  EXPECT_THAT(lines[1], HasSubstr("team-b  1"));
  EXPECT_EQ(lines[2], "next page: --page_token=tok2");
}

TEST(OutputTest, EventsAreOneLineEach) {
  const auto event = Parse<v1::CallEvent>(R"(
      event { type: EVENT_TYPE_SUPERVISION_STARTED time { seconds: 1796299200 }
              supervision: "tenants/acme/calls/c-1/supervisions/s-9"
              mode: MODE_LISTEN actor: "lead-1" }
      call { name: "tenants/acme/calls/c-1" state: ACTIVE })");
  EXPECT_EQ(FormatCallEvent(event),
            "2026-12-03T12:00:00Z  tenants/acme/calls/c-1  "
            "supervision-started  state=active  supervision=s-9  mode=listen  "
            "actor=lead-1\n");
}

TEST(OutputTest, ReportsAndAuditReadAsTables) {
  const auto activity = Parse<v1::SupervisionActivityReport>(R"(
      rows { key: "team-a" calls: 10 supervised_calls: 4 sessions: 5
             seconds_by_mode { key: "MODE_WHISPER" value: 75 }
             barge_rate: 0.25 })");
  const std::string text = FormatActivityReport(activity);
  EXPECT_THAT(text, HasSubstr("WHISPER"));
  EXPECT_THAT(text, HasSubstr("75.0s"));
  EXPECT_THAT(text, HasSubstr("25%"));
  const auto verify = Parse<v1::VerifyAuditChainResponse>(
      R"(intact: false records_checked: 9 first_broken_sequence: 7
         detail: "hash mismatch")");
  EXPECT_EQ(FormatAuditVerification(verify),
            "BROKEN at sequence 7 (9 checked): hash mismatch\n");
}

TEST(OutputTest, OutputFormatNamesAreCheckedAndListed) {
  EXPECT_EQ(*ParseOutputFormat("JSON"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("text"), OutputFormat::kText);
  absl::StatusOr<OutputFormat> bad = ParseOutputFormat("yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("valid: text, json"));
}

TEST(OutputTest, FriendlyNamesDropThePrefixOfEachEnum) {
  EXPECT_EQ(FriendlyName(v1::Mode_descriptor(), v1::MODE_WHISPER), "whisper");
  EXPECT_EQ(
      FriendlyName(v1::CryptoSuite_descriptor(), v1::CRYPTO_SUITE_PLAIN_RTP),
      "plain-rtp");
  EXPECT_EQ(FriendlyName(v1::Call::State_descriptor(), v1::Call::ON_HOLD),
            "on-hold");
  EXPECT_EQ(FriendlyName(v1::Mode_descriptor(), 99), "99");
}

}  // namespace
}  // namespace sotto::sottoctl
