// sottoctl end to end through gRPC: every command line goes through
// sottoctl::Run() to in-process fake services, which must receive exactly the
// request the line describes with the bearer token; plus output, paging,
// streams, downloads, errors, hints and exit codes.
#include "tools/sottoctl/cli.h"

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/tools/sottoctl/command_cases.h"
#include "tests/tools/sottoctl/fake_services.h"

namespace sotto::sottoctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir == nullptr ? "/tmp" : dir, "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  // The line with every address pointing at the fakes.
  Result Sottoctl(std::vector<std::string> line, bool with_token = true,
                  Environment env = {}, Cancellation* cancellation = nullptr) {
    for (const char* service :
         {"broker", "recorder", "reporting", "policy", "media"}) {
      line.push_back(absl::StrCat("--", service, "=", server_.address()));
    }
    if (with_token) line.push_back("--token=tok");
    if (env.vars.count("SOTTO_TENANT") == 0) line.push_back("--tenant=acme");
    std::ostringstream out;
    std::ostringstream err;
    Result result;
    result.code = sottoctl::Run(line, env, out, err, cancellation);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  fakes::Script& script() { return server_.script(); }

  fakes::FakeServer server_;
};

std::string MethodOf(const Command& command) {
  return std::string(command.rpc.substr(command.rpc.find('/') + 1));
}

TEST_F(CliTest, EveryCommandSendsItsRequestWithTheBearerToken) {
  for (cases::Case c : cases::Cases()) {
    size_t consumed = 0;
    const Command* command = cases::Find(c.line, &consumed);
    ASSERT_NE(command, nullptr);
    for (std::string& word : c.line) {
      if (absl::StartsWith(word, "--out=") && word != "--out=-") {
        word = "--out=" + TempPath("export.csv");
      }
    }
    const size_t before = script().count();
    std::vector<std::string> line = c.line;
    line.push_back("--request_id=rid-9");
    Result result = Sottoctl(line);
    const std::string what = absl::StrJoin(c.line, " ");
    ASSERT_EQ(result.code, kExitOk) << what << "\n" << result.err;
    ASSERT_GT(script().count(), before) << what;
    const fakes::Received* received = script().Last(MethodOf(*command));
    ASSERT_NE(received, nullptr) << what << " never reached " << command->rpc;
    EXPECT_EQ(received->authorization, "Bearer tok") << what;

    Context context = cases::TestContext();
    context.request_id = "rid-9";
    absl::StatusOr<RequestPtr> expected = cases::Build(c.line, context);
    ASSERT_TRUE(expected.ok()) << expected.status();
    google::protobuf::util::MessageDifferencer differencer;
    std::string diff;
    differencer.ReportDifferencesToString(&diff);
    // Times relative to "now" (--last, the default report range, --time
    // now) differ by the run's own clock; exact times are checked in
    // request_building_test.
    differencer.IgnoreField(
        v1::TimeRange::descriptor()->FindFieldByName("start_time"));
    differencer.IgnoreField(
        v1::AnnotateRecordingRequest::descriptor()->FindFieldByName("time"));
    if (command->words() == "authorize check" &&
        !absl::StrContains(what, "--subject")) {
      // The principal came from Authenticate (empty from the fake).
      differencer.IgnoreField(
          v1::AuthorizeRequest::descriptor()->FindFieldByName("principal"));
    }
    EXPECT_TRUE(differencer.Compare(**expected, *received->request))
        << what << "\n"
        << diff;
  }
}

TEST_F(CliTest, CallsGetPrintsAReadableCallAndJsonOnRequest) {
  v1::Call call;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(name: "tenants/acme/calls/c-1" state: ACTIVE queue: "sales"
         media_engine: "media-1"
         participants { name: "tenants/acme/calls/c-1/participants/customer"
                        role: ROLE_CUSTOMER state: CONNECTED
                        media { local_rtp { address: "127.0.0.1" port: 40000 }
                                codec: CODEC_PCMU
                                local_key { suite: CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
                                            inline_key: "SECRETKEYMATERIAL" } } }
         supervisions { name: "tenants/acme/calls/c-1/supervisions/s-1"
                        supervisor: "lead-1" mode: MODE_WHISPER state: ACTIVE }
         routing { entries { source: "customer" sink: "agent-1" gain: 1 } })",
      &call));
  script().Respond("GetCall", call);
  Result text = Sottoctl({"calls", "get", "c-1"});
  ASSERT_EQ(text.code, kExitOk) << text.err;
  EXPECT_THAT(text.out, HasSubstr("tenants/acme/calls/c-1"));
  EXPECT_THAT(text.out, HasSubstr("active"));
  EXPECT_THAT(text.out, HasSubstr("127.0.0.1:40000 pcmu"));
  EXPECT_THAT(text.out, HasSubstr("whisper"));
  EXPECT_THAT(text.out, HasSubstr("customer->agent-1"));
  // Keys only in JSON, never in the human form.
  EXPECT_THAT(text.out, Not(HasSubstr("SECRETKEYMATERIAL")));

  Result json = Sottoctl({"-o", "json", "calls", "get", "c-1"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  std::vector<std::string> lines =
      absl::StrSplit(json.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << json.out;
  v1::Call parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[0], &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, call));
  EXPECT_THAT(lines[0], HasSubstr("\"media_engine\":\"media-1\""));
}

TEST_F(CliTest, ListAllFollowsPageTokensAndPrintsOneTable) {
  v1::ListCallsResponse page1;
  page1.add_calls()->set_name("tenants/acme/calls/one");
  page1.set_next_page_token("p2");
  v1::ListCallsResponse page2;
  page2.add_calls()->set_name("tenants/acme/calls/two");
  script().Respond("ListCalls", page1);
  script().Respond("ListCalls", page2);
  Result result = Sottoctl({"calls", "list", "--all", "--page_size=1"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  std::vector<std::string> tokens;
  for (const fakes::Received* r : script().All("ListCalls")) {
    tokens.push_back(
        static_cast<const v1::ListCallsRequest&>(*r->request).page_token());
  }
  EXPECT_THAT(tokens, ElementsAre("", "p2"));
  EXPECT_THAT(result.out, HasSubstr("tenants/acme/calls/one"));
  EXPECT_THAT(result.out, HasSubstr("tenants/acme/calls/two"));
  EXPECT_THAT(result.out, Not(HasSubstr("next page")));
}

TEST_F(CliTest, GlobalFlagsMayComeBeforeTheCommandInEveryForm) {
  for (const std::vector<std::string>& line :
       std::vector<std::vector<std::string>>{
           {"-o", "json", "calls", "get", "c-1"},
           {"-ojson", "calls", "get", "c-1"},
           {"-o=json", "calls", "get", "c-1"},
           {"--output", "json", "calls", "get", "c-1"},
           {"--output=json", "calls", "get", "c-1"},
       }) {
    Result result = Sottoctl(line);
    ASSERT_EQ(result.code, kExitOk) << absl::StrJoin(line, " ") << result.err;
    EXPECT_EQ(result.out.substr(0, 1), "{") << absl::StrJoin(line, " ");
  }
  Result unknown = Sottoctl({"--bogus", "calls", "get", "c-1"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_THAT(unknown.err,
              HasSubstr("unknown flag --bogus before the command"));
}

TEST_F(CliTest, OnePageSaysHowToGetTheNext) {
  v1::ListCallsResponse page;
  page.add_calls()->set_name("tenants/acme/calls/one");
  page.set_next_page_token("p2");
  script().Respond("ListCalls", page);
  Result result = Sottoctl({"calls", "list"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("next page: --page_token=p2"));
  EXPECT_EQ(script().All("ListCalls").size(), 1u);
}

TEST_F(CliTest, WatchPrintsOneLinePerEventUntilTheStreamEnds) {
  v1::CallEvent snapshot;
  snapshot.mutable_call()->set_name(cases::kCall);
  snapshot.mutable_call()->set_state(v1::Call::ACTIVE);
  v1::CallEvent changed = snapshot;
  changed.mutable_event()->set_type(v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED);
  changed.mutable_event()->set_mode(v1::MODE_BARGE);
  changed.mutable_event()->set_supervision(cases::kSup);
  script().Respond("WatchCall", snapshot);
  script().Respond("WatchCall", changed);
  Result text = Sottoctl({"watch", "call", "c-1"});
  ASSERT_EQ(text.code, kExitOk) << text.err;
  std::vector<std::string> lines =
      absl::StrSplit(text.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << text.out;
  EXPECT_THAT(lines[0], HasSubstr("snapshot"));
  EXPECT_THAT(lines[1], HasSubstr("supervision-mode-changed"));
  EXPECT_THAT(lines[1], HasSubstr("mode=barge"));

  Result json = Sottoctl({"watch", "call", "c-1", "-o", "json"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  lines = absl::StrSplit(json.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << json.out;
  for (const std::string& line : lines) {
    v1::CallEvent event;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &event).ok())
        << line;
  }
}

TEST_F(CliTest, WatchEndsCleanlyAtTimeout) {
  script().hold_streams_open = true;
  v1::CallEvent snapshot;
  snapshot.mutable_call()->set_name(cases::kCall);
  script().Respond("WatchCalls", snapshot);
  const absl::Time start = absl::Now();
  Result result = Sottoctl({"watch", "calls", "--timeout=300ms"});
  EXPECT_EQ(result.code, kExitOk) << result.err;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_THAT(result.out, HasSubstr(cases::kCall));
}

TEST_F(CliTest, WatchEndsCleanlyOnCtrlC) {
  script().hold_streams_open = true;
  Cancellation cancellation;
  std::thread interrupter([&] {
    // Cancel once the stream is open: the fake has seen the request.
    const absl::Time limit = absl::Now() + absl::Seconds(10);
    while (script().count() == 0 && absl::Now() < limit) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    cancellation.Cancel();
  });
  Result result = Sottoctl({"watch", "calls"}, true, {}, &cancellation);
  interrupter.join();
  EXPECT_EQ(result.code, kExitOk) << result.err;
}

// SHA-256 of "RIFFdata", the two chunks below.
constexpr char kRiffDataSha256[] =
    "c8f2762e738e8fd7ac652eb5ff052ebf2e3b62c00243db99e8835ab12ddfc5bc";

void RespondWithFile(fakes::Script& script, const std::string& sha256) {
  v1::DownloadRecordingResponse first;
  first.mutable_file()->set_format("wav");
  first.mutable_file()->set_sha256(sha256);
  first.set_chunk("RIFF");
  v1::DownloadRecordingResponse second;
  second.set_chunk("data");
  script.Respond("DownloadRecording", first);
  script.Respond("DownloadRecording", second);
}

TEST_F(CliTest, DownloadWritesTheFileAndChecksItsSha256) {
  RespondWithFile(script(), kRiffDataSha256);
  const std::string path = TempPath("r-1.wav");
  Result result = Sottoctl({"recordings", "download", "r-1", "--out=" + path});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(ReadFile(path), "RIFFdata");
  EXPECT_THAT(result.err, HasSubstr("wrote 8 bytes to " + path));
  EXPECT_EQ(result.out, "");

  Result to_stdout = Sottoctl({"recordings", "download", "r-1", "--out=-"});
  ASSERT_EQ(to_stdout.code, kExitOk) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, "RIFFdata");
}

TEST_F(CliTest, DownloadWhoseBytesDoNotMatchTheSha256Fails) {
  // The digest of "RIFF" alone: as if a chunk were lost.
  RespondWithFile(
      script(),
      "a40ff3d5900fb7698b8c865041347cb49eccedc8f93945f89629ad104aaecce4");
  Result result = Sottoctl(
      {"recordings", "download", "r-1", "--out=" + TempPath("bad.wav")});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_THAT(result.err, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(result.err, HasSubstr(kRiffDataSha256));
}

TEST_F(CliTest, ExportCsvWritesEveryChunkInOrder) {
  v1::CsvChunk header;
  header.set_data("key,calls\n");
  v1::CsvChunk row;
  row.set_data("team-a,3\n");
  script().Respond("ExportReportCsv", header);
  script().Respond("ExportReportCsv", row);
  Result to_stdout = Sottoctl({"reports", "export-csv", "activity"});
  ASSERT_EQ(to_stdout.code, kExitOk) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, "key,calls\nteam-a,3\n");
  const std::string path = TempPath("activity.csv");
  Result to_file =
      Sottoctl({"reports", "export-csv", "activity", "--out", path});
  ASSERT_EQ(to_file.code, kExitOk) << to_file.err;
  EXPECT_EQ(ReadFile(path), "key,calls\nteam-a,3\n");
}

TEST_F(CliTest, AuthorizeCheckDecidesForTheTokensOwnPrincipal) {
  v1::Principal principal;
  principal.set_tenant("acme");
  principal.set_subject("lead-1");
  principal.add_roles("team_lead");
  script().Respond("Authenticate", principal);
  v1::Decision decision;
  decision.set_allowed(true);
  decision.set_rule("leads-coach-own-team");
  script().Respond("Authorize", decision);
  Result result = Sottoctl({"authorize", "check", "--action=calls.supervise",
                            "--mode=whisper", "--team=team-a"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("ALLOWED"));
  EXPECT_THAT(result.out, HasSubstr("leads-coach-own-team"));
  const auto& authenticate = static_cast<const v1::AuthenticateRequest&>(
      *script().Last("Authenticate")->request);
  EXPECT_EQ(authenticate.token(), "tok");
  const auto& authorize = static_cast<const v1::AuthorizeRequest&>(
      *script().Last("Authorize")->request);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      authorize.principal(), principal));
}

TEST_F(CliTest, RpcErrorsNameTheCodeTheMessageAndAHint) {
  script().Fail("TransferCall",
                grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet"));
  Result result = Sottoctl({"calls", "transfer", "c-1", "--agent=a-2",
                            "--team=t", "--agent_suite=plain"});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_THAT(result.err,
              HasSubstr("sottoctl: calls transfer: UNIMPLEMENTED: not yet\n"));
  EXPECT_THAT(result.err,
              HasSubstr("does not implement sotto.v1.Broker/TransferCall"));

  script().Fail("CreateSupervision",
                grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                             "no grant allows BARGE"));
  result = Sottoctl({"supervise", "c-1", "--mode=barge", "--suite=plain"});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_THAT(result.err,
              HasSubstr("PERMISSION_DENIED: no grant allows BARGE"));
  EXPECT_THAT(result.err, HasSubstr("sottoctl whoami"));
  EXPECT_THAT(result.out, "");
}

TEST_F(CliTest, UnauthenticatedWithoutATokenSaysHowToSetOne) {
  script().Fail("GetCall", grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                        "no bearer token"));
  Result result = Sottoctl({"calls", "get", "c-1"}, /*with_token=*/false);
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_EQ(script().Last("GetCall")->authorization, "");
  EXPECT_THAT(result.err, HasSubstr("set --token or SOTTO_TOKEN"));
}

TEST_F(CliTest, UnreachableServiceHintNamesItsFlagAndVariable) {
  std::ostringstream out;
  std::ostringstream err;
  // Port 1 on loopback: nothing listens there.
  const int code = sottoctl::Run(
      {"recordings", "stop", "tenants/acme/recordings/r-1",
       "--recorder=127.0.0.1:1", "--request_id=retry-me", "--timeout=5s"},
      {}, out, err);
  EXPECT_EQ(code, kExitRpcError);
  EXPECT_THAT(err.str(), HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(err.str(),
              HasSubstr("is the recorder running at 127.0.0.1:1? (--recorder "
                        "/ SOTTO_RECORDER)"));
  EXPECT_THAT(err.str(), HasSubstr("--request_id=retry-me"));
}

TEST_F(CliTest, TokenAddressAndTenantComeFromTheEnvironment) {
  Environment env;
  env.vars["SOTTO_BROKER"] = server_.address();
  env.vars["SOTTO_TOKEN"] = "env-token";
  env.vars["SOTTO_TENANT"] = "globex";
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(sottoctl::Run({"calls", "get", "c-9"}, env, out, err), kExitOk)
      << err.str();
  const fakes::Received* received = script().Last("GetCall");
  ASSERT_NE(received, nullptr);
  EXPECT_EQ(received->authorization, "Bearer env-token");
  EXPECT_EQ(static_cast<const v1::GetCallRequest&>(*received->request).name(),
            "tenants/globex/calls/c-9");
}

TEST_F(CliTest, TokenFileWinsOverTheEnvironmentAndTheTenantComesFromIt) {
  // A JWT-shaped token whose payload is {"tenant":"initech"}.
  const std::string token =
      "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJpbml0ZWNoIn0.c2ln";
  const std::string path = TempPath("token");
  std::ofstream(path) << token << "\n";
  Environment env;
  env.vars["SOTTO_BROKER"] = server_.address();
  env.vars["SOTTO_TOKEN"] = "env-token";
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(sottoctl::Run({"calls", "get", "c-9", "--token_file", path}, env,
                          out, err),
            kExitOk)
      << err.str();
  const fakes::Received* received = script().Last("GetCall");
  EXPECT_EQ(received->authorization, "Bearer " + token);
  EXPECT_EQ(static_cast<const v1::GetCallRequest&>(*received->request).name(),
            "tenants/initech/calls/c-9");
}

TEST_F(CliTest, ABearerPrefixOnTheTokenIsTakenOff) {
  // Pasted from an Authorization header: {"tenant":"initech"}.
  const std::string token =
      "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJpbml0ZWNoIn0.c2ln";
  Environment env;
  env.vars["SOTTO_BROKER"] = server_.address();
  env.vars["SOTTO_TOKEN"] = "Bearer " + token;
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(sottoctl::Run({"calls", "get", "c-9"}, env, out, err), kExitOk)
      << err.str();
  const fakes::Received* received = script().Last("GetCall");
  ASSERT_NE(received, nullptr);
  EXPECT_EQ(received->authorization, "Bearer " + token);
  EXPECT_EQ(static_cast<const v1::GetCallRequest&>(*received->request).name(),
            "tenants/initech/calls/c-9");
}

TEST_F(CliTest, AMissingTenantSaysWhetherTheTokenIsMissingOrBroken) {
  Environment env;
  env.vars["SOTTO_BROKER"] = server_.address();
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(sottoctl::Run({"calls", "list"}, env, out, err), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("no token: set SOTTO_TOKEN"));
  EXPECT_THAT(err.str(), Not(HasSubstr("usage:")));
  std::ostringstream err2;
  EXPECT_EQ(sottoctl::Run({"calls", "list", "--token=garbage"}, env, out, err2),
            kExitUsage);
  EXPECT_THAT(err2.str(), HasSubstr("the token carries no \"tenant\" claim"));
  EXPECT_THAT(err2.str(), HasSubstr("--tenant"));
  EXPECT_EQ(script().Last("ListCalls"), nullptr) << "nothing was sent";
}

TEST_F(CliTest, TheTokenIsNeverPrinted) {
  const std::string token = "very-secret-token-value";
  script().Fail("GetCall", grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                        "bad signature"));
  std::ostringstream out;
  std::ostringstream err;
  sottoctl::Run({"calls", "get", "c-1", "--tenant=acme", "--token=" + token,
                 "--broker=" + server_.address()},
                {}, out, err);
  sottoctl::Run({"calls", "get", "c-1", "--tenant=acme", "--token=" + token,
                 "--broker=" + server_.address(), "--bogus"},
                {}, out, err);
  EXPECT_THAT(out.str() + err.str(), Not(HasSubstr(token)));
  EXPECT_THAT(err.str(), HasSubstr("the token was rejected"));
}

TEST_F(CliTest, MutationsGetAFreshRequestIdUnlessOneIsGiven) {
  ASSERT_EQ(Sottoctl({"calls", "hold", "c-1"}).code, kExitOk);
  ASSERT_EQ(Sottoctl({"calls", "hold", "c-1"}).code, kExitOk);
  ASSERT_EQ(Sottoctl({"calls", "hold", "c-1", "--request_id=mine"}).code,
            kExitOk);
  std::vector<std::string> ids;
  for (const fakes::Received* r : script().All("HoldCall")) {
    ids.push_back(
        static_cast<const v1::HoldCallRequest&>(*r->request).request_id());
  }
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(ids[0].size(), 36u) << ids[0];
  EXPECT_EQ(ids[0][14], '4') << "a version 4 UUID: " << ids[0];
  EXPECT_EQ(ids[2], "mine");
}

TEST_F(CliTest, UsageErrorsExitTwoAndSendNothing) {
  for (const std::vector<std::string>& line :
       std::vector<std::vector<std::string>>{
           {"calls", "list", "--bogus"},
           {"calls", "frobnicate"},
           {"frobnicate"},
           {"calls"},
           {"supervise", "c-1", "--mode=shout"},
           {"calls", "get"},
           {"calls", "list", "-o", "yaml"},
           {"calls", "list", "--timeout=soon"},
       }) {
    Result result = Sottoctl(line);
    EXPECT_EQ(result.code, kExitUsage) << absl::StrJoin(line, " ");
    EXPECT_THAT(result.err, HasSubstr("sottoctl: "))
        << absl::StrJoin(line, " ");
  }
  EXPECT_EQ(script().count(), 0u);
  Result unknown_flag = Sottoctl({"calls", "list", "--bogus"});
  EXPECT_THAT(unknown_flag.err, HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(unknown_flag.err, HasSubstr("usage: sottoctl calls list"));
  Result bad_mode = Sottoctl({"mode", cases::kSup, "shout"});
  EXPECT_THAT(bad_mode.err,
              HasSubstr("valid: listen, whisper, barge, takeover"));
}

TEST_F(CliTest, HelpListsCommandsAndFlags) {
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(sottoctl::Run({"help"}, {}, out, err), kExitOk);
  for (const Command& command : Commands()) {
    EXPECT_THAT(out.str(), HasSubstr(command.words()));
  }
  EXPECT_THAT(out.str(), HasSubstr("--broker"));
  EXPECT_THAT(out.str(), HasSubstr("SOTTO_TOKEN"));

  std::ostringstream noun;
  ASSERT_EQ(sottoctl::Run({"supervisions", "--help"}, {}, noun, err), kExitOk);
  EXPECT_THAT(noun.str(), HasSubstr("supervisions mode SUPERVISION MODE"));
  EXPECT_THAT(noun.str(), Not(HasSubstr("calls list")));

  std::ostringstream command;
  ASSERT_EQ(sottoctl::Run({"calls", "list", "--help"}, {}, command, err),
            kExitOk);
  EXPECT_THAT(command.str(), HasSubstr("--page_token"));
  EXPECT_THAT(command.str(), HasSubstr("sotto.v1.Broker/ListCalls"));

  std::ostringstream alias;
  ASSERT_EQ(sottoctl::Run({"help", "release"}, {}, alias, err), kExitOk);
  EXPECT_THAT(alias.str(), HasSubstr("usage: sottoctl supervisions release"));
  EXPECT_EQ(sottoctl::Run({}, {}, out, err), kExitUsage);
}

}  // namespace
}  // namespace sotto::sottoctl
