// Parsing and validation of the policy document: the shipped example loads
// with the values it shows, and every kind of mistake is refused with the
// file, the line and the key path in the message.
#include "services/policy/policy_document.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/policy/test_files.h"

namespace sotto::policy {
namespace {

using ::testing::HasSubstr;

class PolicyDocumentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    testing::WriteFile(dir_ + "/jwt-hs256.key", testing::kHs256Secret);
  }

  // Parses `yaml` as if it were <dir>/policy.yaml.
  absl::StatusOr<PolicyDocument> Parse(const std::string& yaml) {
    return ParsePolicyDocument(yaml, path());
  }
  std::string path() const { return dir_ + "/policy.yaml"; }

  std::string dir_;
};

// A minimal valid document; tests replace one piece at a time.
constexpr char kHeader[] = R"(version: 1
issuers:
  - name: local
    algorithm: HS256
    key_file: jwt-hs256.key
    issuer: sotto-local
    audience: sotto
tenants:
  acme:
    roles: {supervisor: {rank: 10}}
    rules:
)";

TEST_F(PolicyDocumentTest, ExampleDocumentLoadsWithItsValues) {
  const std::string example = testing::WriteExamplePolicy();
  absl::StatusOr<PolicyDocument> document = LoadPolicyDocument(example);
  ASSERT_TRUE(document.ok()) << document.status();
  EXPECT_EQ(document->version, 1);
  ASSERT_EQ(document->issuers.size(), 1u);
  EXPECT_EQ(document->issuers[0].algorithm, JwtAlgorithm::kHs256);
  EXPECT_EQ(document->issuers[0].key, testing::kHs256Secret)
      << "the trailing newline of the key file is trimmed";
  EXPECT_EQ(document->issuers[0].issuer, "sotto-local");
  ASSERT_EQ(document->tenants.count("acme"), 1u);
  const TenantSpec& acme = document->tenants.at("acme");
  EXPECT_EQ(acme.role_ranks.at("team_lead"), 20);
  ASSERT_GE(acme.rules.size(), 3u);
  const RuleSpec& lead = acme.rules[0];
  EXPECT_EQ(lead.id, "leads-coach-own-team");
  EXPECT_EQ(lead.teams, std::vector<std::string>{"own"});
  EXPECT_EQ(lead.modes.size(), 4u);
  EXPECT_EQ(lead.require_disclosure_for,
            (std::vector<Mode>{Mode::kBarge, Mode::kTakeover}));
  EXPECT_EQ(lead.downgrade_to, Mode::kListen);
  EXPECT_EQ(lead.max_supervisors_per_call, 3u);
  EXPECT_TRUE(lead.whisper_cue_tone);
  EXPECT_TRUE(lead.customer_announcement);
  EXPECT_EQ(acme.rules[2].teams, std::vector<std::string>{"*"})
      << "teams default to any";
  EXPECT_TRUE(acme.recording.enabled);
  EXPECT_EQ(acme.recording.retention, absl::Hours(24 * 90));
  EXPECT_FALSE(acme.queue_recording.at("payments").enabled);
  EXPECT_EQ(acme.queue_recording.at("payments").retention, absl::Hours(24 * 90))
      << "queue overrides inherit the tenant's other settings";
  EXPECT_EQ(document->tenants.size(), 2u);
}

TEST_F(PolicyDocumentTest, BadVersionNamesFileAndLine) {
  absl::StatusOr<PolicyDocument> document =
      Parse("# comment\nversion: 2\ntenants: {}\n");
  ASSERT_FALSE(document.ok());
  EXPECT_EQ(document.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(document.status().message(),
              HasSubstr(absl::StrCat(path(), ":2: version: unsupported")));
}

TEST_F(PolicyDocumentTest, MissingVersionIsRefused) {
  absl::StatusOr<PolicyDocument> document = Parse("tenants: {}\n");
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(), HasSubstr("version: missing"));
}

TEST_F(PolicyDocumentTest, UnknownActionNamesFileLineAndKey) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: r1
        roles: [supervisor]
        actions: [calls.view, calls.watch]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(
      document.status().message(),
      HasSubstr(absl::StrCat(path(),
                             ":15: tenants.acme.rules[0] (r1).actions[1]: "
                             "unknown action \"calls.watch\"")));
}

TEST_F(PolicyDocumentTest, UnknownModeNamesFileLineAndKey) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: r1
        roles: [supervisor]
        actions: [calls.supervise]
        modes: [LISTEN, SHOUT]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(absl::StrCat(path(),
                                     ":16: tenants.acme.rules[0] "
                                     "(r1).modes[1]: unknown mode "
                                     "\"SHOUT\"")));
}

TEST_F(PolicyDocumentTest, RuleWithoutIdIsRefusedAtItsLine) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - roles: [supervisor]
        actions: [calls.view]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(absl::StrCat(
                  path(), ":13: tenants.acme.rules[0].id: missing")));
}

TEST_F(PolicyDocumentTest, DuplicateRuleIdNamesBothLines) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: same
        roles: [supervisor]
        actions: [calls.view]
      - id: same
        roles: [supervisor]
        actions: [reports.read]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(absl::StrCat(path(),
                                     ":16: tenants.acme.rules[1].id: "
                                     "duplicate rule id \"same\" (first "
                                     "defined at line 13)")));
}

TEST_F(PolicyDocumentTest, MissingKeyFileNamesTheResolvedPath) {
  absl::StatusOr<PolicyDocument> document = Parse(R"(version: 1
issuers:
  - name: local
    algorithm: HS256
    key_file: nowhere.key
    issuer: sotto-local
    audience: sotto
)");
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(absl::StrCat(path(),
                                     ":5: issuers[0].key_file: cannot "
                                     "read ",
                                     dir_, "/nowhere.key")));
}

TEST_F(PolicyDocumentTest, ShortHmacSecretIsRefused) {
  testing::WriteFile(dir_ + "/short.key", "too-short");
  absl::StatusOr<PolicyDocument> document = Parse(R"(version: 1
issuers:
  - {name: l, algorithm: HS256, key_file: short.key, issuer: i, audience: a}
)");
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(), HasSubstr("at least 32 bytes"));
}

TEST_F(PolicyDocumentTest, UnknownKeyIsRefusedSoTyposNeverChangeAccess) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: r1
        roles: [supervisor]
        actions: [calls.supervise]
        modes: [BARGE]
        require_disclosure_fro: [BARGE]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(absl::StrCat(path(),
                                     ":17: tenants.acme.rules[0]."
                                     "require_disclosure_fro: unknown "
                                     "key")));
}

TEST_F(PolicyDocumentTest, RuleNamingAnUndefinedRoleIsRefused) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: r1
        roles: [superviser]
        actions: [calls.view]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(":14: tenants.acme.rules[0] (r1).roles[0]: role "
                        "\"superviser\" is not defined"));
}

TEST_F(PolicyDocumentTest, SuperviseRuleWithoutModesIsRefused) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: r1
        roles: [supervisor]
        actions: [calls.supervise]
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr("(r1).modes: missing; a rule granting calls.supervise "
                        "must list the modes"));
}

TEST_F(PolicyDocumentTest, DowngradeToAModeTheRuleDoesNotGrantIsRefused) {
  absl::StatusOr<PolicyDocument> document = Parse(absl::StrCat(kHeader, R"(
      - id: r1
        roles: [supervisor]
        actions: [calls.supervise]
        modes: [BARGE]
        downgrade_to: LISTEN
)"));
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(":17: tenants.acme.rules[0] (r1).downgrade_to: LISTEN "
                        "is not among the rule's modes"));
}

TEST_F(PolicyDocumentTest, YamlSyntaxErrorNamesFileAndLine) {
  absl::StatusOr<PolicyDocument> document =
      Parse("version: 1\ntenants:\n  acme: [unclosed\n");
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(), HasSubstr(path() + ":"));
}

TEST_F(PolicyDocumentTest, Rs256IssuerNeedsAPublicKeyPem) {
  testing::WriteFile(dir_ + "/rsa.pem", testing::kHs256Secret);
  absl::StatusOr<PolicyDocument> document = Parse(R"(version: 1
issuers:
  - {name: idp, algorithm: RS256, key_file: rsa.pem, issuer: i, audience: a}
)");
  ASSERT_FALSE(document.ok());
  EXPECT_THAT(document.status().message(),
              HasSubstr(":3: issuers[0].key_file: not a PEM public key"));
}

TEST_F(PolicyDocumentTest, RetentionAcceptsDaysHoursAndZero) {
  EXPECT_EQ(*ParseRetention("90d"), absl::Hours(90 * 24));
  EXPECT_EQ(*ParseRetention("12h"), absl::Hours(12));
  EXPECT_EQ(*ParseRetention("0"), absl::ZeroDuration());
  EXPECT_FALSE(ParseRetention("90 days").ok());
  EXPECT_FALSE(ParseRetention("-1d").ok());
}

}  // namespace
}  // namespace sotto::policy
