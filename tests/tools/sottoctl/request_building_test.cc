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
#include "tests/tools/sottoctl/command_cases.h"
#include "tools/sottoctl/args.h"
#include "tools/sottoctl/commands.h"

namespace sotto::sottoctl {
namespace {

using ::testing::HasSubstr;
using namespace ::sotto::sottoctl::cases;  // NOLINT: the shared table

class RequestBuildingTest : public ::testing::TestWithParam<Case> {};

TEST_P(RequestBuildingTest, CommandLineBuildsExactlyThisRequest) {
  const Case& c = GetParam();
  absl::StatusOr<RequestPtr> request = Build(c.line);
  ASSERT_TRUE(request.ok())
      << absl::StrJoin(c.line, " ") << ": " << request.status();
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
    const auto* field =
        (*request)->GetDescriptor()->FindFieldByName("request_id");
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
                   "is neither tenants/{tenant}/calls/{call} nor a bare id");
  ExpectUsageError({"calls", "get", "bad id!"}, "is neither");
  ExpectUsageError({"mode", "c-1/s-1", "listen"}, "nor a bare id with --call");
  Context no_tenant = TestContext();
  no_tenant.tenant.clear();
  absl::StatusOr<RequestPtr> request =
      Build({"calls", "get", "c-1"}, no_tenant);
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
  ExpectUsageError({"supervise", "c-1", "--rtp=127.0.0.1:4000"},
                   "--key is required: the remote's SRTP key");
  ExpectUsageError({"calls", "register", "c-1", "--agent=a", "--team=t",
                    "--customer_suite=plain"},
                   "--agent_key is required");
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
  absl::StatusOr<ParsedArgs> args = ParseArgs(
      {"-o", "json", "--page-size", "3", "x", "--", "--literal"}, specs);
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
