// Reporting through its plain C++ API (no gRPC): validation, who may read
// what (a fake policy with team grants), the hand-computed reports, paging,
// CSV round trips, outcomes and the metrics' label sets.
#include "services/reporting/reporting.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/reporting/report_csv.h"
#include "tests/services/common/sql/test_backends.h"
#include "tests/services/reporting/reporting_fixture.h"

namespace sotto::reporting::testing {
namespace {

using ::testing::HasSubstr;

// Tokens are looked up, not verified. A user may do `actions` on the teams
// listed ("*": every team, and tenant-wide resources).
class TeamPolicy final : public service_kit::PolicyClient {
 public:
  void AddUser(const std::string& token, const std::string& tenant,
               const std::string& subject, std::set<v1::Action> actions,
               std::set<std::string> teams) {
    v1::Principal p;
    p.set_tenant(tenant);
    p.set_subject(subject);
    users_[token] = {p, std::move(actions), std::move(teams)};
  }
  absl::StatusOr<v1::Principal> Authenticate(
      const std::string& token) override {
    auto found = users_.find(token);
    if (found == users_.end()) {
      return absl::UnauthenticatedError("bad signature");
    }
    return found->second.principal;
  }
  absl::StatusOr<v1::Decision> Authorize(
      const v1::AuthorizeRequest& request) override {
    v1::Decision d;
    d.set_rule("default-deny");
    d.set_reason("no rule allows it");
    for (const auto& [token, user] : users_) {
      if (user.principal.subject() != request.principal().subject()) continue;
      if (user.principal.tenant() != request.resource().tenant()) break;
      if (user.actions.count(request.action()) == 0) break;
      if (user.teams.count("*") == 0 &&
          user.teams.count(request.resource().team()) == 0) {
        break;
      }
      d.set_allowed(true);
      d.set_rule(absl::StrCat("grant-", user.principal.subject()));
      d.clear_reason();
    }
    return d;
  }

 private:
  struct User {
    v1::Principal principal;
    std::set<v1::Action> actions;
    std::set<std::string> teams;
  };
  std::map<std::string, User> users_;
};

class ReportingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(backend_.SetUp().ok());
    auto db = backend_.Open();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = SqlReportingStore::Open(db_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    metrics_ = std::make_unique<ReportingMetrics>(registry_);
    ReportingOptions options;
    options.clock = [] { return T0() + absl::Hours(3); };
    reporting_ = std::make_unique<Reporting>(&policy_, store_.get(),
                                             metrics_.get(), options);
    policy_.AddUser("qa", "acme", "qa-1", {v1::ACTION_REPORTS_READ}, {"*"});
    policy_.AddUser("lead", "acme", "lead-1", {v1::ACTION_REPORTS_READ},
                    {"team-a"});
    policy_.AddUser("pbx", "acme", "pbx-1", {v1::ACTION_OUTCOMES_WRITE}, {"*"});
    policy_.AddUser("outsider", "globex", "g-1", {v1::ACTION_REPORTS_READ},
                    {"*"});
  }
  void TearDown() override {
    reporting_.reset();
    store_.reset();
    db_.reset();
    backend_.TearDown();
  }

  void IngestFixture() {
    v1::IngestEventsRequest request;
    for (const v1::Event& e : FixtureEvents()) *request.add_events() = e;
    auto response = reporting_->IngestEvents(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (int i = 0; i < 3; ++i) {
      v1::ReportOutcomeRequest report;
      report.set_call(FixtureOutcome(i).call());
      *report.mutable_outcome() = FixtureOutcome(i);
      report.set_request_id(absl::StrCat("outcome-", i));
      auto outcome = reporting_->ReportOutcome("pbx", report);
      ASSERT_TRUE(outcome.ok()) << outcome.status();
    }
  }

  static v1::ReportScope Scope() {
    v1::ReportScope scope;
    scope.set_parent("tenants/acme");
    *scope.mutable_time_range()->mutable_start_time() = At(T0());
    *scope.mutable_time_range()->mutable_end_time() =
        At(T0() + absl::Hours(24 * 14));
    return scope;
  }

  static v1::SupervisionActivityReportRequest Activity(v1::GroupBy group_by) {
    v1::SupervisionActivityReportRequest r;
    *r.mutable_scope() = Scope();
    r.set_group_by(group_by);
    return r;
  }

  // A metric's value; -1 if there is no such series.
  double Metric(const std::string& name,
                const std::map<std::string, std::string>& labels) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> have;
        for (const auto& l : m.label) have[l.name] = l.value;
        bool match = true;
        for (const auto& [k, v] : labels) {
          match = match && have.count(k) && have[k] == v;
        }
        if (!match) continue;
        if (family.type == prometheus::MetricType::Counter) {
          return m.counter.value;
        }
        if (family.type == prometheus::MetricType::Gauge) return m.gauge.value;
        if (family.type == prometheus::MetricType::Histogram) {
          return static_cast<double>(m.histogram.sample_count);
        }
      }
    }
    return -1;
  }

  sql::testing::SqliteTestBackend backend_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlReportingStore> store_;
  prometheus::Registry registry_;
  std::unique_ptr<ReportingMetrics> metrics_;
  TeamPolicy policy_;
  std::unique_ptr<Reporting> reporting_;
};

TEST_F(ReportingTest, ABatchWithABadEventIsRejectedWhole) {
  v1::IngestEventsRequest request;
  for (const v1::Event& e : FixtureEvents()) *request.add_events() = e;
  request.mutable_events(4)->clear_tenant();
  auto response = reporting_->IngestEvents(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("events[4].tenant"));
  auto verified = store_->VerifyChain("acme");
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->records_checked, 0u);  // nothing of the batch stored
  request.Clear();
  for (int i = 0; i < 1001; ++i) {
    v1::Event* e = request.add_events();
    e->set_event_id(absl::StrCat("e", i));
    e->set_tenant("acme");
    e->set_type(v1::EVENT_TYPE_CALL_REGISTERED);
  }
  EXPECT_EQ(reporting_->IngestEvents(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ReportingTest, IngestCountsNewAndDuplicateEvents) {
  v1::IngestEventsRequest request;
  for (const v1::Event& e : FixtureEvents()) *request.add_events() = e;
  auto first = reporting_->IngestEvents(request);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->accepted(), 13u);
  *request.add_events() = request.events(0);  // a duplicate within a batch
  auto again = reporting_->IngestEvents(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted(), 0u);
  EXPECT_EQ(again->duplicates(), 14u);
  EXPECT_EQ(
      Metric("sotto_reporting_events_ingested_total", {{"result", "new"}}), 13);
  EXPECT_EQ(Metric("sotto_reporting_events_ingested_total",
                   {{"result", "duplicate"}}),
            14);
}

TEST_F(ReportingTest, ReportsMatchTheHandComputedFixture) {
  IngestFixture();
  auto by_team = reporting_->GetSupervisionActivityReport(
      "qa", Activity(v1::GROUP_BY_TEAM));
  ASSERT_TRUE(by_team.ok()) << by_team.status();
  ExpectActivityByTeam({by_team->rows().begin(), by_team->rows().end()});
  auto by_supervisor = reporting_->GetSupervisionActivityReport(
      "qa", Activity(v1::GROUP_BY_SUPERVISOR));
  ASSERT_TRUE(by_supervisor.ok()) << by_supervisor.status();
  ExpectActivityBySupervisor(
      {by_supervisor->rows().begin(), by_supervisor->rows().end()});
  v1::CoachingEffectivenessReportRequest coaching;
  *coaching.mutable_scope() = Scope();
  coaching.set_group_by(v1::GROUP_BY_TEAM);
  auto effectiveness =
      reporting_->GetCoachingEffectivenessReport("qa", coaching);
  ASSERT_TRUE(effectiveness.ok()) << effectiveness.status();
  ExpectCoachingByTeam(
      {effectiveness->rows().begin(), effectiveness->rows().end()});
  v1::RampUpReportRequest ramp;
  *ramp.mutable_scope() = Scope();
  ramp.set_group_by(v1::GROUP_BY_AGENT);
  auto ramp_up = reporting_->GetRampUpReport("qa", ramp);
  ASSERT_TRUE(ramp_up.ok()) << ramp_up.status();
  ExpectRampUpByAgent({ramp_up->rows().begin(), ramp_up->rows().end()});
}

TEST_F(ReportingTest, ReadersNeedATokenAndNeverSeeAnotherTenant) {
  IngestFixture();
  EXPECT_EQ(
      reporting_->GetSupervisionActivityReport("", Activity(v1::GROUP_BY_TEAM))
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(reporting_
                ->GetSupervisionActivityReport("outsider",
                                               Activity(v1::GROUP_BY_TEAM))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReportingTest, ATeamLeadReadsOnlyItsTeamAndDenialsAreAudited) {
  IngestFixture();
  auto mine = reporting_->GetSupervisionActivityReport(
      "lead", Activity(v1::GROUP_BY_TEAM));
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_EQ(mine->rows_size(), 1);
  EXPECT_EQ(mine->rows(0).key(), "team-a");
  auto agents = reporting_->GetSupervisionActivityReport(
      "lead", Activity(v1::GROUP_BY_AGENT));
  ASSERT_TRUE(agents.ok());
  for (const auto& row : agents->rows()) EXPECT_NE(row.key(), "b-1");

  v1::SupervisionActivityReportRequest other = Activity(v1::GROUP_BY_AGENT);
  other.mutable_scope()->add_teams("team-b");
  auto denied = reporting_->GetSupervisionActivityReport("lead", other);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(), HasSubstr("team-b"));
  AuditQuery query;
  query.tenant = "acme";
  query.actor = "lead-1";
  query.limit = 100;
  auto records = store_->ListAuditRecords(query);
  ASSERT_TRUE(records.ok());
  bool audited = false;
  for (const auto& r : *records) {
    audited = audited || (r.event().type() == v1::EVENT_TYPE_ACCESS_DENIED &&
                          r.event().team() == "team-b" &&
                          r.event().policy_rule() == "default-deny" &&
                          r.event().source() == "reporting");
  }
  EXPECT_TRUE(audited);
  EXPECT_EQ(Metric("sotto_reporting_policy_denials_total",
                   {{"action", "reports.read"}, {"rule", "default-deny"}}),
            1);
  // The audit trail is tenant-wide: a team lead may not read it.
  v1::ListAuditRecordsRequest list;
  list.set_parent("tenants/acme");
  EXPECT_EQ(reporting_->ListAuditRecords("lead", list).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(ReportingTest, PagesCoverEveryRowOnceAndTokensAreBoundToTheQuery) {
  IngestFixture();
  v1::SupervisionActivityReportRequest request = Activity(v1::GROUP_BY_AGENT);
  request.set_page_size(1);
  std::vector<std::string> keys;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = reporting_->GetSupervisionActivityReport("qa", request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& row : page->rows()) keys.push_back(row.key());
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a-1", "a-2", "b-1"}));

  request = Activity(v1::GROUP_BY_AGENT);
  request.set_page_size(1);
  auto first = reporting_->GetSupervisionActivityReport("qa", request);
  ASSERT_TRUE(first.ok());
  request.set_page_token(first->next_page_token());
  request.set_group_by(v1::GROUP_BY_TEAM);
  auto mismatch = reporting_->GetSupervisionActivityReport("qa", request);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.status().message(), HasSubstr("page_token"));
  request = Activity(v1::GROUP_BY_AGENT);
  request.set_page_size(-1);
  EXPECT_EQ(
      reporting_->GetSupervisionActivityReport("qa", request).status().code(),
      absl::StatusCode::kInvalidArgument);

  v1::ListAuditRecordsRequest list;
  list.set_parent("tenants/acme");
  list.set_page_size(4);
  uint64_t expected = 1;
  for (int guard = 0; guard < 20; ++guard) {
    auto page = reporting_->ListAuditRecords("qa", list);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& r : page->records()) EXPECT_EQ(r.sequence(), expected++);
    if (page->next_page_token().empty()) break;
    list.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(expected, 17u);  // 13 events + 3 OUTCOME_REPORTED
}

// Parses a CSV export and checks it against the report's rows.
std::vector<std::vector<std::string>> Csv(
    const absl::StatusOr<std::string>& csv) {
  EXPECT_TRUE(csv.ok()) << csv.status();
  if (!csv.ok()) return {};
  auto parsed = ParseCsv(*csv);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : std::vector<std::vector<std::string>>{};
}

double Number(const std::string& text) {
  return std::strtod(text.c_str(), nullptr);
}

TEST_F(ReportingTest, CsvExportsRoundTripToTheReportFigures) {
  IngestFixture();
  v1::ExportReportCsvRequest request;
  *request.mutable_supervision_activity() = Activity(v1::GROUP_BY_SUPERVISOR);
  request.mutable_supervision_activity()->set_page_size(1);  // ignored
  auto activity = Csv(reporting_->ExportReportCsv("qa", request));
  auto report = reporting_->GetSupervisionActivityReport(
      "qa", Activity(v1::GROUP_BY_SUPERVISOR));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(activity.size(), 1u + report->rows_size());
  EXPECT_EQ(activity[0][0], "key");
  EXPECT_EQ(activity[0][4], "seconds_listen");
  for (int i = 0; i < report->rows_size(); ++i) {
    const auto& row = report->rows(i);
    const auto& line = activity[i + 1];
    EXPECT_EQ(line[0], row.key());
    EXPECT_EQ(std::stoull(line[1]), row.calls());
    EXPECT_EQ(std::stoull(line[3]), row.sessions());
    EXPECT_EQ(Number(line[4]), row.seconds_by_mode().at("MODE_LISTEN"));
    EXPECT_EQ(Number(line[7]), row.seconds_by_mode().at("MODE_TAKEOVER"));
    EXPECT_EQ(std::stoull(line[12]), row.mode_switches());
    EXPECT_EQ(Number(line[13]), row.barge_rate());
    EXPECT_EQ(Number(line[15]), row.mean_seconds_to_first_intervention());
  }

  request.Clear();
  v1::CoachingEffectivenessReportRequest* coaching =
      request.mutable_coaching_effectiveness();
  *coaching->mutable_scope() = Scope();
  coaching->set_group_by(v1::GROUP_BY_AGENT);
  auto coaching_csv = Csv(reporting_->ExportReportCsv("qa", request));
  auto coaching_report =
      reporting_->GetCoachingEffectivenessReport("qa", *coaching);
  ASSERT_TRUE(coaching_report.ok());
  size_t line = 1;
  for (const auto& row : coaching_report->rows()) {
    std::vector<const v1::OutcomeStats*> sets = {&row.coached(),
                                                 &row.not_coached()};
    for (const auto& b : row.trend()) sets.push_back(&b.outcomes());
    for (const v1::OutcomeStats* stats : sets) {
      ASSERT_LT(line, coaching_csv.size());
      const auto& fields = coaching_csv[line++];
      EXPECT_EQ(fields[0], row.key());
      EXPECT_EQ(std::stoull(fields[4]), stats->calls());
      EXPECT_EQ(Number(fields[5]), stats->first_contact_resolution_rate());
      EXPECT_EQ(Number(fields[8]), stats->mean_handle_time_seconds());
      EXPECT_EQ(Number(fields[9]), stats->mean_csat());
      EXPECT_EQ(Number(fields[11]), stats->compliance_errors_per_call());
    }
  }
  EXPECT_EQ(line, coaching_csv.size());

  request.Clear();
  *request.mutable_ramp_up()->mutable_scope() = Scope();
  request.mutable_ramp_up()->set_group_by(v1::GROUP_BY_AGENT);
  auto ramp_csv = Csv(reporting_->ExportReportCsv("qa", request));
  auto ramp = reporting_->GetRampUpReport("qa", request.ramp_up());
  ASSERT_TRUE(ramp.ok());
  ASSERT_EQ(ramp_csv.size(), 1u + ramp->rows_size());
  for (int i = 0; i < ramp->rows_size(); ++i) {
    EXPECT_EQ(ramp_csv[i + 1][0], ramp->rows(i).key());
    EXPECT_EQ(std::stoul(ramp_csv[i + 1][1]), ramp->rows(i).week());
    EXPECT_EQ(std::stoull(ramp_csv[i + 1][2]),
              ramp->rows(i).coaching_sessions());
    EXPECT_EQ(Number(ramp_csv[i + 1][10]),
              ramp->rows(i).outcomes().compliance_errors_per_call());
  }
}

TEST(ReportCsvTest, QuotedFieldsRoundTrip) {
  v1::RampUpReport::Row row;
  row.set_key("team \"north\", floor 2\r\nannex");
  row.mutable_outcomes()->set_mean_handle_time_seconds(1.0 / 3.0);
  auto parsed = ParseCsv(RampUpCsv({row}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1][0], row.key());
  EXPECT_EQ(std::strtod((*parsed)[1][7].c_str(), nullptr), 1.0 / 3.0);
  EXPECT_FALSE(ParseCsv("a,\"open").ok());
}

TEST_F(ReportingTest, OutcomesAreIdempotentAuditedAndCountedByTeam) {
  IngestFixture();
  v1::ReportOutcomeRequest report;
  report.set_call(FixtureOutcome(0).call());
  *report.mutable_outcome() = FixtureOutcome(0);
  report.set_request_id("outcome-0");  // a retry of IngestFixture's report
  auto retry = reporting_->ReportOutcome("pbx", report);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->csat(), 5u);
  report.mutable_outcome()->set_csat(2);
  EXPECT_EQ(reporting_->ReportOutcome("pbx", report).status().code(),
            absl::StatusCode::kInvalidArgument);
  report.mutable_outcome()->set_csat(9);
  report.set_request_id("outcome-x");
  auto bad = reporting_->ReportOutcome("pbx", report);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("csat"));
  report.mutable_outcome()->set_csat(4);
  EXPECT_EQ(reporting_->ReportOutcome("qa", report).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Counted once per call, by team and coached.
  EXPECT_EQ(Metric("sotto_reporting_outcomes_total",
                   {{"team", "team-a"}, {"coached", "true"}}),
            2);
  EXPECT_EQ(Metric("sotto_reporting_outcomes_total",
                   {{"team", "team-b"}, {"coached", "false"}}),
            1);
  EXPECT_EQ(Metric("sotto_reporting_outcome_handle_seconds_total",
                   {{"team", "team-a"}}),
            800);
}

TEST_F(ReportingTest, MetricsCountSupervisionsWithBoundedLabels) {
  IngestFixture();
  EXPECT_EQ(
      Metric("sotto_reporting_supervisions_total",
             {{"tenant", "acme"}, {"team", "team-a"}, {"mode", "listen"}}),
      2);
  EXPECT_EQ(Metric("sotto_reporting_supervisions_total",
                   {{"team", "team-a"}, {"mode", "takeover"}}),
            1);
  EXPECT_EQ(Metric("sotto_reporting_supervised_seconds_total",
                   {{"team", "team-a"}, {"mode", "listen"}}),
            90);
  EXPECT_EQ(Metric("sotto_reporting_mode_switches_total",
                   {{"team", "team-a"}, {"mode", "barge"}}),
            1);
  ASSERT_TRUE(reporting_->RefreshActiveSupervisions().ok());
  // Every supervision of the fixture ended.
  EXPECT_EQ(Metric("sotto_reporting_active_supervisions", {}), -1);
  v1::IngestMediaQualityRequest quality;
  quality.set_tenant("acme");
  quality.set_call(CallName("c1"));
  quality.set_leg("customer");
  quality.set_engine_id("media-0");
  quality.set_request_id("q1");
  quality.mutable_quality()->set_mos(4.1);
  ASSERT_TRUE(reporting_->IngestMediaQuality(quality).ok());
  ASSERT_TRUE(reporting_->IngestMediaQuality(quality).ok());  // a retry
  EXPECT_EQ(Metric("sotto_reporting_media_mos", {{"engine", "media-0"}}), 1);
  // No call, supervision or agent id ever becomes a label value.
  const std::set<std::string> allowed_labels = {
      "tenant", "team", "queue",  "mode",   "coached",
      "action", "rule", "engine", "result", "le"};
  for (const auto& family : registry_.Collect()) {
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        EXPECT_EQ(allowed_labels.count(l.name), 1u)
            << family.name << " has label " << l.name;
        EXPECT_THAT(l.value, ::testing::Not(HasSubstr("calls/")));
        for (const char* id : {"a-1", "a-2", "b-1", "c1", "c2", "c3"}) {
          EXPECT_NE(l.value, id) << family.name;
        }
      }
    }
  }
}

TEST_F(ReportingTest, ActiveSupervisionsGaugeFollowsTheStore) {
  std::vector<v1::Event> events = FixtureEvents();
  v1::IngestEventsRequest request;
  for (int i = 0; i < 7; ++i) *request.add_events() = events[i];
  ASSERT_TRUE(reporting_->IngestEvents(request).ok());
  ASSERT_TRUE(reporting_->RefreshActiveSupervisions().ok());
  EXPECT_EQ(Metric("sotto_reporting_active_supervisions",
                   {{"team", "team-a"}, {"mode", "barge"}}),
            1);
  EXPECT_EQ(Metric("sotto_reporting_active_supervisions",
                   {{"team", "team-a"}, {"mode", "takeover"}}),
            1);
  request.Clear();
  for (size_t i = 7; i < events.size(); ++i) *request.add_events() = events[i];
  ASSERT_TRUE(reporting_->IngestEvents(request).ok());
  ASSERT_TRUE(reporting_->RefreshActiveSupervisions().ok());
  EXPECT_EQ(Metric("sotto_reporting_active_supervisions",
                   {{"team", "team-a"}, {"mode", "barge"}}),
            0);
}

TEST_F(ReportingTest, VerifyAuditChainNeedsTenantWideReadAndReportsIntact) {
  IngestFixture();
  v1::VerifyAuditChainRequest request;
  request.set_tenant("acme");
  auto verified = reporting_->VerifyAuditChain("qa", request);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->intact());
  EXPECT_EQ(verified->records_checked(), 16u);
  EXPECT_EQ(reporting_->VerifyAuditChain("lead", request).status().code(),
            absl::StatusCode::kPermissionDenied);
  request.set_tenant("globex");
  EXPECT_EQ(reporting_->VerifyAuditChain("qa", request).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sotto::reporting::testing
