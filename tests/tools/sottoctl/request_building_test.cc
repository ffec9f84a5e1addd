// Command lines → request messages for every sottoctl command, without gRPC:
// each case is a command line and the exact request it must build. Also the
// usage errors a person meets first (bad enums, names, flags).
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tools/sottoctl/args.h"
#include "tools/sottoctl/commands.h"

namespace sotto::sottoctl {
namespace {

using ::testing::HasSubstr;

// 2026-12-03T12:00:00Z.
constexpr int64_t kNow = 1796299200;
constexpr int64_t kWeekAgo = kNow - 7 * 86400;

Context TestContext() {
  Context context;
  context.tenant = "acme";
  context.token = "tok";
  context.request_id = "rid-1";
  context.now = absl::FromUnixSeconds(kNow);
  return context;
}

const Command* Find(const std::vector<std::string>& words, size_t* consumed) {
  if (const Command* alias = FindAlias(words.at(0))) {
    *consumed = 1;
    return alias;
  }
  *consumed = 2;
  return FindCommand(words.at(0), words.size() > 1 ? words[1] : "");
}

// What the CLI does before dialling: find the command, parse its flags and
// build its request.
absl::StatusOr<RequestPtr> Build(const std::vector<std::string>& line,
                                 const Context& context = TestContext()) {
  size_t consumed = 0;
  const Command* command = Find(line, &consumed);
  if (command == nullptr) return absl::NotFoundError("no such command");
  std::vector<FlagSpec> specs = GlobalFlags();
  specs.insert(specs.end(), command->flags.begin(), command->flags.end());
  std::vector<std::string> rest(line.begin() + consumed, line.end());
  absl::StatusOr<ParsedArgs> args = ParseArgs(rest, specs);
  if (!args.ok()) return args.status();
  return BuildRequest(*command, *args, context);
}

struct Case {
  std::vector<std::string> line;
  std::string expected;  // Text format of the request.
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "sottoctl " << absl::StrJoin(c.line, " ");
}

class RequestBuildingTest : public ::testing::TestWithParam<Case> {};

TEST_P(RequestBuildingTest, CommandLineBuildsExactlyThisRequest) {
  const Case& c = GetParam();
  absl::StatusOr<RequestPtr> request = Build(c.line);
  ASSERT_TRUE(request.ok()) << absl::StrJoin(c.line, " ") << ": "
                            << request.status();
  RequestPtr expected((*request)->New());
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(c.expected, expected.get()))
      << c.expected;
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(*expected, **request))
      << absl::StrJoin(c.line, " ") << "\n"
      << diff;
}

const char kCall[] = "tenants/acme/calls/c-1";
const char kSup[] = "tenants/acme/calls/c-1/supervisions/s-1";

std::vector<Case> Cases() {
  const std::string week = absl::StrCat("start_time { seconds: ", kWeekAgo, " }");
  return {
      {{"calls", "register", "c-1", "--queue=sales", "--agent=a-1",
        "--team=team-a", "--agent_name=Ann", "--customer_rtp=10.0.0.1:4000",
        "--customer_key=S0VZ", "--agent_rtp=[::1]:5000", "--agent_codec=pcma",
        "--agent_suite=plain", "--agent_ptime=30", "--attr=lang=fr",
        "--attr", "tier=gold", "--disclosed"},
       R"(parent: "tenants/acme" call_id: "c-1" queue: "sales"
          customer { media { remote_rtp { address: "10.0.0.1" port: 4000 }
                             codec: CODEC_PCMU
                             remote_key { suite: CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
                                          inline_key: "S0VZ" } } }
          agent { user_id: "a-1" team: "team-a" display_name: "Ann"
                  media { remote_rtp { address: "::1" port: 5000 }
                          codec: CODEC_PCMA ptime_ms: 30
                          remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } } }
          attributes { key: "lang" value: "fr" }
          attributes { key: "tier" value: "gold" }
          monitoring_disclosed: true request_id: "rid-1")"},
      {{"calls", "get", "c-1"}, R"(name: "tenants/acme/calls/c-1")"},
      {{"calls", "get", "tenants/globex/calls/x"},
       R"(name: "tenants/globex/calls/x")"},
      {{"calls", "list", "--queue=sales", "--team=team-a", "--agent=a-1",
        "--state=active,on-hold", "--state=ended", "--page_size=10",
        "--page_token=p2"},
       R"(parent: "tenants/acme" page_size: 10 page_token: "p2" queue: "sales"
          team: "team-a" agent_id: "a-1" states: [ACTIVE, ON_HOLD, ENDED])"},
      {{"calls", "end", "c-1", "--reason", "customer hung up"},
       R"(name: "tenants/acme/calls/c-1" reason: "customer hung up"
          request_id: "rid-1")"},
      {{"calls", "hold", "c-1"},
       R"(name: "tenants/acme/calls/c-1" request_id: "rid-1")"},
      {{"calls", "resume", "c-1"},
       R"(name: "tenants/acme/calls/c-1" request_id: "rid-1")"},
      {{"calls", "update", "c-1", "--queue=billing", "--disclosed=true"},
       R"(call { name: "tenants/acme/calls/c-1" queue: "billing"
                 monitoring_disclosed: true }
          update_mask { paths: ["queue", "monitoring_disclosed"] }
          request_id: "rid-1")"},
      {{"calls", "update", "c-1", "--attr=lang=de"},
       R"(call { name: "tenants/acme/calls/c-1"
                 attributes { key: "lang" value: "de" } }
          update_mask { paths: "attributes" } request_id: "rid-1")"},
      {{"calls", "transfer", "c-1", "--agent=a-2", "--team=team-b",
        "--agent_rtp=10.0.0.9:7000", "--agent_suite=plain-rtp",
        "--reason=escalated"},
       R"(name: "tenants/acme/calls/c-1"
          new_agent { user_id: "a-2" team: "team-b"
                      media { remote_rtp { address: "10.0.0.9" port: 7000 }
                              codec: CODEC_PCMU
                              remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } } }
          reason: "escalated" request_id: "rid-1")"},
      {{"calls", "pause-recording", "c-1", "--reason=card number"},
       R"(name: "tenants/acme/calls/c-1" reason: "card number"
          request_id: "rid-1")"},
      {{"calls", "resume-recording", "c-1"},
       R"(name: "tenants/acme/calls/c-1" request_id: "rid-1")"},
      {{"calls", "update-media", "agent-1", "--call=c-1", "--key=TkVX",
        "--rtcp=separate-port", "--rtcp_endpoint=10.0.0.1:4011"},
       R"(participant: "tenants/acme/calls/c-1/participants/agent-1"
          media { remote_rtcp { address: "10.0.0.1" port: 4011 }
                  codec: CODEC_PCMU rtcp_mode: RTCP_MODE_SEPARATE_PORT
                  remote_key { suite: CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
                               inline_key: "TkVX" } }
          request_id: "rid-1")"},
      {{"supervisions", "create", "c-1", "--mode=whisper",
        "--rtp=127.0.0.1:6000", "--suite=plain", "--display_name=Lee"},
       R"(parent: "tenants/acme/calls/c-1" mode: MODE_WHISPER
          media { remote_rtp { address: "127.0.0.1" port: 6000 }
                  codec: CODEC_PCMU remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } }
          display_name: "Lee" request_id: "rid-1")"},
      {{"supervise", "c-1", "--suite=plain"},
       R"(parent: "tenants/acme/calls/c-1" mode: MODE_LISTEN
          media { codec: CODEC_PCMU remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } }
          request_id: "rid-1")"},
      {{"supervisions", "mode", kSup, "barge"},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" mode: MODE_BARGE
          request_id: "rid-1")"},
      {{"mode", "s-1", "--call=c-1", "TAKEOVER", "--preempt"},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" mode: MODE_TAKEOVER
          preempt_takeover: true request_id: "rid-1")"},
      {{"supervisions", "release", kSup},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" request_id: "rid-1")"},
      {{"release", kSup},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" request_id: "rid-1")"},
      {{"supervisions", "get", kSup},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1")"},
      {{"supervisions", "list"}, R"(parent: "tenants/acme/calls/-")"},
      {{"supervisions", "list", kCall, "--supervisor=lead-1",
        "--include_ended", "--page_size=5"},
       R"(parent: "tenants/acme/calls/c-1" page_size: 5 supervisor: "lead-1"
          include_ended: true)"},
      {{"watch", "call", "c-1"}, R"(name: "tenants/acme/calls/c-1")"},
      {{"watch", "calls", "--queue=sales", "--team=team-a", "--agent=a-1"},
       R"(parent: "tenants/acme" queue: "sales" team: "team-a" agent_id: "a-1")"},
      {{"engines", "list"}, ""},
      {{"recordings", "list", "--call=c-1", "--team=team-a", "--agent=a-1",
        "--from=2026-12-01T00:00:00Z", "--to=2026-12-02T00:00:00Z"},
       R"(parent: "tenants/acme" call: "tenants/acme/calls/c-1" team: "team-a"
          agent_id: "a-1"
          time_range { start_time { seconds: 1796083200 }
                       end_time { seconds: 1796169600 } })"},
      {{"recordings", "get", "r-1"}, R"(name: "tenants/acme/recordings/r-1")"},
      {{"recordings", "download", "r-1", "--file=1", "--out=-"},
       R"(name: "tenants/acme/recordings/r-1" file: 1)"},
      {{"recordings", "start", "c-1", "--engine_address=127.0.0.1:7102",
        "--team=team-a", "--agent=a-1", "--queue=sales",
        "--leg=customer=customer", "--leg=agent-1=agent", "--retention=90d",
        "--require_disclosure", "--disclosed"},
       R"(call: "tenants/acme/calls/c-1" queue: "sales" team: "team-a"
          agent_id: "a-1" engine_address: "127.0.0.1:7102"
          room_id: "tenants/acme/calls/c-1"
          legs { key: "customer" value: ROLE_CUSTOMER }
          legs { key: "agent-1" value: ROLE_AGENT }
          policy { enabled: true require_disclosure: true layout: MULTICHANNEL
                   retention { seconds: 7776000 } }
          monitoring_disclosed: true request_id: "rid-1")"},
      {{"recordings", "stop", "r-1"},
       R"(name: "tenants/acme/recordings/r-1" request_id: "rid-1")"},
      {{"recordings", "pause", "r-1", "--reason=card"},
       R"(name: "tenants/acme/recordings/r-1" reason: "card"
          request_id: "rid-1")"},
      {{"recordings", "resume", "r-1"},
       R"(name: "tenants/acme/recordings/r-1" request_id: "rid-1")"},
      {{"recordings", "annotate", "r-1", "--supervision=s-1", "--call=c-1",
        "--supervisor=lead-1", "--mode=whisper",
        "--time=2026-12-03T11:00:00Z", "--ended"},
       R"(name: "tenants/acme/recordings/r-1"
          supervision: "tenants/acme/calls/c-1/supervisions/s-1"
          supervisor: "lead-1" mode: MODE_WHISPER
          time { seconds: 1796295600 } supervision_ended: true
          request_id: "rid-1")"},
      {{"retention", "apply", "--dry_run"}, R"(tenant: "acme" dry_run: true)"},
      {{"retention", "apply", "--all_tenants"}, ""},
      {{"reports", "activity", "--team=team-a,team-b", "--group_by=supervisor"},
       absl::StrCat(R"(scope { parent: "tenants/acme" time_range { )", week,
                    R"( } teams: ["team-a", "team-b"] }
                       group_by: GROUP_BY_SUPERVISOR)")},
      {{"reports", "coaching", "--last=30d", "--agent=a-1", "--bucket=1d"},
       absl::StrCat(R"(scope { parent: "tenants/acme" time_range {
                         start_time { seconds: )",
                    kNow - 30 * 86400, R"( } } agent_ids: "a-1" }
                       group_by: GROUP_BY_AGENT bucket { seconds: 86400 })")},
      {{"reports", "ramp-up", "--queue=sales", "--weeks=4",
        "--from=2026-12-01T00:00:00Z"},
       R"(scope { parent: "tenants/acme"
                  time_range { start_time { seconds: 1796083200 } }
                  queues: "sales" }
          group_by: GROUP_BY_TEAM weeks: 4)"},
      {{"reports", "export-csv", "ramp-up", "--weeks=2", "--out=x.csv"},
       absl::StrCat(R"(ramp_up { scope { parent: "tenants/acme" time_range { )",
                    week, R"( } } group_by: GROUP_BY_TEAM weeks: 2 })")},
      {{"outcomes", "report", "c-1", "--agent=a-1", "--team=team-a", "--fcr",
        "--csat=5", "--qa_score=87.5", "--handle_time=6m30s",
        "--agent_start=2026-01-05T00:00:00Z"},
       R"(call: "tenants/acme/calls/c-1"
          outcome { agent_id: "a-1" team: "team-a"
                    first_contact_resolution: true csat: 5 qa_score: 87.5
                    handle_time { seconds: 390 }
                    agent_start_time { seconds: 1767571200 } }
          request_id: "rid-1")"},
      {{"audit", "list", "--call=c-1", "--actor=lead-1", "--last=1h"},
       absl::StrCat(R"(parent: "tenants/acme" call: "tenants/acme/calls/c-1"
                       actor: "lead-1"
                       time_range { start_time { seconds: )",
                    kNow - 3600, " } }")},
      {{"audit", "verify"}, R"(tenant: "acme")"},
      {{"whoami"}, R"(token: "tok")"},
      {{"authorize", "check", "--action=calls.supervise", "--mode=barge",
        "--call=c-1", "--team=team-a", "--disclosed"},
       R"(action: ACTION_CALLS_SUPERVISE mode: MODE_BARGE
          resource { tenant: "acme" call: "tenants/acme/calls/c-1"
                     team: "team-a" monitoring_disclosed: true })"},
      {{"authorize", "check", "--action=reports_read", "--subject=qa-1",
        "--roles=qa_analyst"},
       R"(action: ACTION_REPORTS_READ
          principal { tenant: "acme" subject: "qa-1" roles: "qa_analyst" }
          resource { tenant: "acme" })"},
      {{"policy", "status"}, ""},
      {{"policy", "recording", "--queue=payments"},
       R"(tenant: "acme" queue: "payments")"},
      {{"media", "info"}, ""},
      {{"media", "rooms"}, ""},
      {{"media", "stats", "tenants/acme/calls/c-1"},
       R"(room_id: "tenants/acme/calls/c-1")"},
      {{"media", "drain", "--deadline=10m"}, R"(deadline { seconds: 600 })"},
  };
}

INSTANTIATE_TEST_SUITE_P(EveryCommand, RequestBuildingTest,
                         ::testing::ValuesIn(Cases()));

TEST(RequestBuildingCoverageTest, EveryCommandHasACase) {
  std::set<std::string> covered;
  for (const Case& c : Cases()) {
    size_t consumed = 0;
    const Command* command = Find(c.line, &consumed);
    ASSERT_NE(command, nullptr) << absl::StrJoin(c.line, " ");
    covered.insert(command->words());
  }
  for (const Command& command : Commands()) {
    EXPECT_TRUE(covered.count(command.words())) << command.words();
  }
}

TEST(RequestBuildingTest, CommandsThatMutateCarryTheRequestId) {
  // Every mutating command's request has a request_id field, filled.
  for (const Case& c : Cases()) {
    size_t consumed = 0;
    const Command* command = Find(c.line, &consumed);
    if (!command->mutating) continue;
    absl::StatusOr<RequestPtr> request = Build(c.line);
    ASSERT_TRUE(request.ok()) << request.status();
    const auto* field = (*request)->GetDescriptor()->FindFieldByName("request_id");
    ASSERT_NE(field, nullptr) << command->words();
    EXPECT_EQ((*request)->GetReflection()->GetString(**request, field), "rid-1")
        << command->words();
  }
}

void ExpectUsageError(const std::vector<std::string>& line,
                      const std::string& fragment) {
  absl::StatusOr<RequestPtr> request = Build(line);
  ASSERT_FALSE(request.ok()) << absl::StrJoin(line, " ");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(request.status().message()), HasSubstr(fragment))
      << absl::StrJoin(line, " ");
}

TEST(UsageErrorTest, UnknownModeListsTheValidModes) {
  ExpectUsageError({"supervise", "c-1", "--mode=lisen"},
                   "--mode: unknown value \"lisen\"; valid: listen, whisper, "
                   "barge, takeover");
  ExpectUsageError({"mode", kSup, "shout"},
                   "valid: listen, whisper, barge, takeover");
}

TEST(UsageErrorTest, UnknownCodecAndSuiteListTheValidValues) {
  ExpectUsageError({"supervise", "c-1", "--codec=opus"},
                   "--codec: unknown value \"opus\"; valid: pcmu, pcma");
  ExpectUsageError({"supervise", "c-1", "--suite=aes"},
                   "valid: aes-cm-128-hmac-sha1-80, aes-cm-128-hmac-sha1-32, "
                   "aead-aes-128-gcm, plain-rtp");
  ExpectUsageError({"calls", "list", "--state=open"},
                   "valid: active, on-hold, ended, failed");
  ExpectUsageError({"reports", "activity", "--group_by=day"},
                   "valid: supervisor, agent, team, queue");
  ExpectUsageError({"authorize", "check", "--action=calls.delete"},
                   "valid: calls-manage, calls-view");
}

TEST(UsageErrorTest, UnspecifiedIsNeverAValue) {
  ExpectUsageError({"supervise", "c-1", "--mode=unspecified"}, "unknown value");
  ExpectUsageError({"supervise", "c-1", "--mode=MODE_UNSPECIFIED"},
                   "unknown value");
}

TEST(UsageErrorTest, NamesAreCheckedAndBareIdsNeedATenant) {
  ExpectUsageError({"calls", "get", "tenants/acme/call/c-1"},
                   "is not tenants/{tenant}/calls/{call}");
  ExpectUsageError({"calls", "get", "bad id!"}, "is not");
  Context no_tenant = TestContext();
  no_tenant.tenant.clear();
  absl::StatusOr<RequestPtr> request = Build({"calls", "get", "c-1"}, no_tenant);
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(std::string(request.status().message()), HasSubstr("--tenant"));
  ExpectUsageError({"release", "s-1"}, "--call");
}

TEST(UsageErrorTest, OperandsFlagsAndValuesAreChecked) {
  ExpectUsageError({"calls", "get"}, "expected CALL, got 0 operand(s)");
  ExpectUsageError({"calls", "get", "a", "b"}, "expected CALL");
  ExpectUsageError({"engines", "list", "x"}, "takes no operands");
  ExpectUsageError({"calls", "list", "--bogus"}, "unknown flag --bogus");
  ExpectUsageError({"calls", "list", "--page_size"}, "needs a value");
  ExpectUsageError({"calls", "list", "--page_size=ten"}, "whole number");
  ExpectUsageError({"calls", "register", "c-1", "--agent=a"},
                   "--team is required");
  ExpectUsageError({"supervise", "c-1", "--rtp=127.0.0.1"}, "IP:PORT");
  ExpectUsageError({"supervise", "c-1", "--rtp=127.0.0.1:70000"},
                   "port must be 1..65535");
  ExpectUsageError({"calls", "update", "c-1"}, "nothing to update");
  ExpectUsageError({"reports", "activity", "--from=yesterday"}, "RFC 3339");
  ExpectUsageError({"reports", "activity", "--last=1w"}, "7d");
  ExpectUsageError({"reports", "export-csv", "weekly"},
                   "valid: activity, coaching, ramp-up");
  ExpectUsageError({"recordings", "download", "r-1"}, "--out is required");
  ExpectUsageError({"outcomes", "report", "c-1", "--agent=a", "--csat=9"},
                   "--csat: must be within 0..5");
  ExpectUsageError({"calls", "list", "--all=maybe"}, "true or false");
}

TEST(ArgsTest, ShortFormsAndDashedNames) {
  std::vector<FlagSpec> specs = GlobalFlags();
  specs.push_back({"page_size", FlagSpec::Kind::kString, "N", ""});
  absl::StatusOr<ParsedArgs> args =
      ParseArgs({"-o", "json", "--page-size", "3", "x", "--", "--literal"},
                specs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("output"), "json");
  EXPECT_EQ(args->Get("page_size"), "3");
  EXPECT_EQ(args->positional, (std::vector<std::string>{"x", "--literal"}));
  args = ParseArgs({"-ojson", "-h"}, specs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("output"), "json");
  EXPECT_TRUE(args->Has("help"));
  EXPECT_FALSE(ParseArgs({"-x"}, specs).ok());
}

}  // namespace
}  // namespace sotto::sottoctl
