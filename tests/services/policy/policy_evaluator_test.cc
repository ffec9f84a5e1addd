// Decisions on the shipped example document: deny by default, own team
// versus other teams, queues, modes, the disclosure requirement, tenant
// isolation, first-match order and the supervision terms.
#include "services/policy/policy_evaluator.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/policy/test_files.h"

namespace sotto::policy {
namespace {

using ::testing::ElementsAre;

class PolicyEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PolicyDocument> document =
        LoadPolicyDocument(testing::WriteExamplePolicy());
    ASSERT_TRUE(document.ok()) << document.status();
    document_ = *std::move(document);
  }

  Decision Decide(const Principal& principal, Action action,
                  const Resource& resource, Mode mode = Mode::kUnspecified) {
    return PolicyEvaluator(&document_)
        .Authorize(principal, action, resource, mode);
  }

  PolicyDocument document_;
};

Principal Acme(std::vector<std::string> roles,
               std::vector<std::string> teams = {"team-a"}) {
  Principal principal;
  principal.tenant = "acme";
  principal.subject = "user-1";
  principal.roles = std::move(roles);
  principal.teams = std::move(teams);
  return principal;
}

Resource Call(std::string team, bool disclosed = false,
              std::string tenant = "acme", std::string queue = "sales") {
  Resource resource;
  resource.tenant = std::move(tenant);
  resource.call = "tenants/acme/calls/c1";
  resource.queue = std::move(queue);
  resource.team = std::move(team);
  resource.monitoring_disclosed = disclosed;
  return resource;
}

struct Case {
  const char* name;
  std::vector<std::string> roles;
  Action action;
  std::string team;
  bool disclosed;
  Mode mode;
  bool allowed;
  const char* rule;
};

TEST_F(PolicyEvaluatorTest, TableOfDecisions) {
  const Case cases[] = {
      {"lead listens to own team",
       {"team_lead"},
       Action::kCallsSupervise,
       "team-a",
       false,
       Mode::kListen,
       true,
       "leads-coach-own-team"},
      {"lead whispers to own team",
       {"supervisor"},
       Action::kCallsSupervise,
       "team-a",
       false,
       Mode::kWhisper,
       true,
       "leads-coach-own-team"},
      {"lead may not listen to another team",
       {"team_lead"},
       Action::kCallsSupervise,
       "team-b",
       false,
       Mode::kListen,
       false,
       "default-deny"},
      {"barge needs disclosure",
       {"team_lead"},
       Action::kCallsSupervise,
       "team-a",
       false,
       Mode::kBarge,
       false,
       "leads-coach-own-team"},
      {"barge allowed once disclosed",
       {"team_lead"},
       Action::kCallsSupervise,
       "team-a",
       true,
       Mode::kBarge,
       true,
       "leads-coach-own-team"},
      {"takeover needs disclosure",
       {"supervisor"},
       Action::kCallsSupervise,
       "team-a",
       false,
       Mode::kTakeover,
       false,
       "leads-coach-own-team"},
      {"qa listens to any team",
       {"qa_analyst"},
       Action::kCallsSupervise,
       "team-b",
       false,
       Mode::kListen,
       true,
       "qa-listens-everywhere"},
      {"qa may not whisper",
       {"qa_analyst"},
       Action::kCallsSupervise,
       "team-b",
       true,
       Mode::kWhisper,
       false,
       "default-deny"},
      {"qa reads reports",
       {"qa_analyst"},
       Action::kReportsRead,
       "",
       false,
       Mode::kUnspecified,
       true,
       "qa-listens-everywhere"},
      {"lead may not read recordings",
       {"team_lead"},
       Action::kRecordingsRead,
       "team-a",
       false,
       Mode::kUnspecified,
       false,
       "default-deny"},
      {"integrator manages calls",
       {"integrator"},
       Action::kCallsManage,
       "",
       false,
       Mode::kUnspecified,
       true,
       "integrator-manages-calls"},
      {"integrator may not supervise",
       {"integrator"},
       Action::kCallsSupervise,
       "team-a",
       true,
       Mode::kListen,
       false,
       "default-deny"},
      {"no roles: deny by default",
       {},
       Action::kCallsView,
       "team-a",
       false,
       Mode::kUnspecified,
       false,
       "default-deny"},
      {"unknown role: deny by default",
       {"root"},
       Action::kCallsView,
       "team-a",
       false,
       Mode::kUnspecified,
       false,
       "default-deny"},
      {"lead views own team's calls",
       {"team_lead"},
       Action::kCallsView,
       "team-a",
       false,
       Mode::kUnspecified,
       true,
       "leads-coach-own-team"},
      {"own team needs a team on the call",
       {"team_lead"},
       Action::kCallsView,
       "",
       false,
       Mode::kUnspecified,
       false,
       "default-deny"},
  };
  for (const Case& c : cases) {
    const Decision decision =
        Decide(Acme(c.roles), c.action, Call(c.team, c.disclosed), c.mode);
    EXPECT_EQ(decision.allowed, c.allowed) << c.name << ": " << decision.reason;
    EXPECT_EQ(decision.rule, c.rule) << c.name << ": " << decision.reason;
    EXPECT_FALSE(decision.reason.empty()) << c.name;
    EXPECT_EQ(decision.supervision.has_value(),
              c.allowed && c.action == Action::kCallsSupervise)
        << c.name;
  }
}

TEST_F(PolicyEvaluatorTest, DenialSaysWhichGrantIsMissing) {
  const Decision decision =
      Decide(Acme({"qa_analyst"}), Action::kCallsSupervise,
             Call("team-b", true, "acme", ""), Mode::kBarge);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "default-deny");
  EXPECT_EQ(decision.reason,
            "no rule grants calls.supervise in BARGE to roles [qa_analyst] on "
            "team team-b");
}

TEST_F(PolicyEvaluatorTest, DisclosureDenialNamesTheRule) {
  const Decision decision = Decide(Acme({"team_lead"}), Action::kCallsSupervise,
                                   Call("team-a"), Mode::kBarge);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "leads-coach-own-team");
  EXPECT_THAT(decision.reason, ::testing::HasSubstr("monitoring_disclosed"));
}

TEST_F(PolicyEvaluatorTest, PrincipalNeverMatchesAnotherTenantsResources) {
  // An acme admin on a globex call, and a globex supervisor on an acme call
  // of its own team name: both denied, neither reason names the other tenant.
  Decision decision = Decide(Acme({"admin"}), Action::kCallsView,
                             Call("team-a", true, "globex"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "default-deny");
  EXPECT_EQ(decision.reason.find("globex"), std::string::npos);

  Principal globex = Acme({"supervisor"});
  globex.tenant = "globex";
  decision = Decide(globex, Action::kCallsSupervise, Call("team-a", true),
                    Mode::kListen);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason.find("acme"), std::string::npos);

  // The same principal on its own tenant's call is allowed.
  decision = Decide(globex, Action::kCallsSupervise,
                    Call("team-a", false, "globex"), Mode::kListen);
  EXPECT_TRUE(decision.allowed) << decision.reason;
  EXPECT_EQ(decision.rule, "globex-supervisors-listen");
}

TEST_F(PolicyEvaluatorTest, TenantWithoutPolicyIsDeniedByDefault) {
  Principal principal = Acme({"admin"});
  principal.tenant = "initech";
  const Decision decision =
      Decide(principal, Action::kCallsView, Call("team-a", true, "initech"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "default-deny");
}

TEST_F(PolicyEvaluatorTest, SupervisionTermsComeFromTheDecidingRule) {
  const Decision decision =
      Decide(Acme({"supervisor", "qa_analyst"}), Action::kCallsSupervise,
             Call("team-a"), Mode::kWhisper);
  ASSERT_TRUE(decision.allowed) << decision.reason;
  ASSERT_TRUE(decision.supervision.has_value());
  const SupervisionTerms& terms = *decision.supervision;
  EXPECT_THAT(terms.allowed_modes, ElementsAre(Mode::kListen, Mode::kWhisper))
      << "BARGE and TAKEOVER need a disclosure this call lacks";
  EXPECT_EQ(terms.downgrade_to, Mode::kListen);
  EXPECT_EQ(terms.max_supervisors_per_call, 3u);
  EXPECT_TRUE(terms.whisper_cue_tone);
  EXPECT_TRUE(terms.customer_announcement);
  EXPECT_EQ(terms.takeover_rank, 10) << "highest of supervisor=10, qa=5";
}

TEST_F(PolicyEvaluatorTest, DisclosedCallAllowsAllTheRulesModes) {
  const Decision decision = Decide(Acme({"team_lead"}), Action::kCallsSupervise,
                                   Call("team-a", true), Mode::kListen);
  ASSERT_TRUE(decision.supervision.has_value());
  EXPECT_THAT(decision.supervision->allowed_modes,
              ElementsAre(Mode::kListen, Mode::kWhisper, Mode::kBarge,
                          Mode::kTakeover));
  EXPECT_EQ(decision.supervision->takeover_rank, 20);
}

TEST_F(PolicyEvaluatorTest, TakeoverRankIsTheHighestRoleRank) {
  const Decision decision =
      Decide(Acme({"qa_analyst", "admin", "not-a-role"}),
             Action::kCallsSupervise, Call("team-z", true), Mode::kTakeover);
  ASSERT_TRUE(decision.allowed) << decision.reason;
  EXPECT_EQ(decision.rule, "admins-do-everything");
  EXPECT_EQ(decision.supervision->takeover_rank, 100);
  EXPECT_EQ(PolicyEvaluator(&document_).TakeoverRank(Acme({"qa_analyst"})), 5);
}

TEST_F(PolicyEvaluatorTest, FirstMatchingRuleInDocumentOrderDecides) {
  // A team lead who is also QA listening to their own team: both rules
  // allow, the earlier one is reported.
  const Decision decision =
      Decide(Acme({"qa_analyst", "team_lead"}), Action::kCallsSupervise,
             Call("team-a"), Mode::kListen);
  EXPECT_EQ(decision.rule, "leads-coach-own-team");
}

TEST_F(PolicyEvaluatorTest, QueueAndNamedTeamMustMatch) {
  absl::StatusOr<PolicyDocument> document = ParsePolicyDocument(R"(version: 1
tenants:
  acme:
    roles: {supervisor: {rank: 1}}
    rules:
      - id: billing-team-b
        roles: [supervisor]
        actions: [calls.supervise]
        teams: [team-b]
        queues: [billing]
        modes: [LISTEN]
)",
                                                                "inline.yaml");
  ASSERT_TRUE(document.ok()) << document.status();
  const PolicyEvaluator evaluator(&*document);
  const Principal lead = Acme({"supervisor"}, {"team-a"});
  EXPECT_TRUE(evaluator
                  .Authorize(lead, Action::kCallsSupervise,
                             Call("team-b", false, "acme", "billing"),
                             Mode::kListen)
                  .allowed);
  const Decision other_queue = evaluator.Authorize(
      lead, Action::kCallsSupervise, Call("team-b", false, "acme", "sales"),
      Mode::kListen);
  EXPECT_FALSE(other_queue.allowed);
  EXPECT_EQ(other_queue.reason,
            "no rule grants calls.supervise in LISTEN to roles [supervisor] "
            "on team team-b in queue sales");
  EXPECT_FALSE(evaluator
                   .Authorize(lead, Action::kCallsSupervise,
                              Call("team-b", false, "acme", ""), Mode::kListen)
                   .allowed)
      << "a named queue never matches a call without a queue";
  EXPECT_FALSE(evaluator
                   .Authorize(lead, Action::kCallsSupervise,
                              Call("team-c", false, "acme", "billing"),
                              Mode::kListen)
                   .allowed);
}

TEST_F(PolicyEvaluatorTest, AgentWhoDeclinedWhisperIsNotWhisperedTo) {
  Resource call = Call("team-a", /*disclosed=*/true);
  call.agent_declined_whisper = true;
  const Decision whisper = Decide(Acme({"team_lead"}), Action::kCallsSupervise,
                                  call, Mode::kWhisper);
  EXPECT_FALSE(whisper.allowed);
  EXPECT_EQ(whisper.rule, "leads-coach-own-team");
  EXPECT_THAT(whisper.reason, ::testing::HasSubstr("declined whisper"));
  // Listening is unaffected, and its terms no longer offer WHISPER.
  const Decision listen =
      Decide(Acme({"team_lead"}), Action::kCallsSupervise, call, Mode::kListen);
  ASSERT_TRUE(listen.allowed);
  EXPECT_THAT(listen.supervision->allowed_modes,
              ElementsAre(Mode::kListen, Mode::kBarge, Mode::kTakeover));
  // Admins' rule does not let agents decline.
  EXPECT_TRUE(
      Decide(Acme({"admin"}), Action::kCallsSupervise, call, Mode::kWhisper)
          .allowed);
}

TEST_F(PolicyEvaluatorTest, TakeoverNeedsAReasonWhereTheRuleSaysSo) {
  const Resource call = Call("team-a", /*disclosed=*/true);
  const PolicyEvaluator evaluator(&document_);
  const Decision bare = evaluator.Authorize(
      Acme({"team_lead"}), Action::kCallsSupervise, call, Mode::kTakeover, " ");
  EXPECT_FALSE(bare.allowed);
  EXPECT_EQ(bare.rule, "leads-coach-own-team");
  EXPECT_THAT(bare.reason, ::testing::HasSubstr("only with a reason"));
  EXPECT_TRUE(evaluator
                  .Authorize(Acme({"team_lead"}), Action::kCallsSupervise, call,
                             Mode::kTakeover, "customer is abusive")
                  .allowed);
  // BARGE needs none.
  EXPECT_TRUE(evaluator
                  .Authorize(Acme({"team_lead"}), Action::kCallsSupervise, call,
                             Mode::kBarge)
                  .allowed);
}

TEST_F(PolicyEvaluatorTest, RecordingPolicyAppliesQueueOverrides) {
  const PolicyEvaluator evaluator(&document_);
  absl::StatusOr<RecordingSpec> tenant = evaluator.RecordingPolicy("acme", "");
  ASSERT_TRUE(tenant.ok());
  EXPECT_TRUE(tenant->enabled);
  EXPECT_TRUE(tenant->require_disclosure);
  EXPECT_EQ(tenant->layout, RecordingLayout::kMultichannel);
  absl::StatusOr<RecordingSpec> payments =
      evaluator.RecordingPolicy("acme", "payments");
  ASSERT_TRUE(payments.ok());
  EXPECT_FALSE(payments->enabled);
  EXPECT_EQ(evaluator.RecordingPolicy("nobody", "").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<RecordingSpec> globex =
      evaluator.RecordingPolicy("globex", "");
  ASSERT_TRUE(globex.ok());
  EXPECT_FALSE(globex->enabled) << "no recording section: not recorded";
}

}  // namespace
}  // namespace sotto::policy
