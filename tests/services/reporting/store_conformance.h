// The typed suite SqlReportingStore passes on every backend. A test file
// instantiates it with a Backend (as tests/services/broker does):
//
//   struct MyBackend {
//     absl::Status SetUp();  // a fresh, empty database for one test
//     absl::StatusOr<std::unique_ptr<sotto::sql::Database>> Open();
//     void TearDown();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, ReportingStoreConformanceTest,
//                                  MyBackend);
#ifndef SOTTO_TESTS_SERVICES_REPORTING_STORE_CONFORMANCE_H_
#define SOTTO_TESTS_SERVICES_REPORTING_STORE_CONFORMANCE_H_

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reporting/audit_chain.h"
#include "services/reporting/report_engine.h"
#include "services/reporting/sql_reporting_store.h"
#include "tests/services/reporting/reporting_fixture.h"

namespace sotto::reporting::testing {

#define REPORTING_ASSERT_OK(expr)         \
  do {                                    \
    const absl::Status status_ = (expr);  \
    ASSERT_TRUE(status_.ok()) << status_; \
  } while (0)

template <typename Backend>
class ReportingStoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REPORTING_ASSERT_OK(backend_.SetUp());
    auto db = backend_.Open();
    REPORTING_ASSERT_OK(db.status());
    db_ = *std::move(db);
    auto store = SqlReportingStore::Open(db_.get());
    REPORTING_ASSERT_OK(store.status());
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    backend_.TearDown();
  }

  IngestResult Ingest(const std::vector<v1::Event>& events) {
    auto result = store_->AppendEvents(events, T0() + absl::Hours(1));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : IngestResult();
  }

  void PutFixtureOutcomes() {
    for (int i = 0; i < 3; ++i) {
      v1::Event audit;
      audit.set_event_id(absl::StrCat("outcome-", i));
      audit.set_tenant("acme");
      audit.set_type(v1::EVENT_TYPE_OUTCOME_REPORTED);
      *audit.mutable_time() = At(T0() + absl::Hours(2));
      audit.set_call(FixtureOutcome(i).call());
      auto written =
          store_->PutOutcome("acme", absl::StrCat("req-", i), "fp",
                             FixtureOutcome(i), audit, T0() + absl::Hours(2));
      ASSERT_TRUE(written.ok()) << written.status();
    }
  }

  std::vector<CallFacts> Calls() {
    auto data =
        store_->LoadReportData("acme", T0(), T0() + absl::Hours(24 * 14));
    EXPECT_TRUE(data.ok()) << data.status();
    if (!data.ok()) return {};
    return BuildCallFacts(*data, T0(), T0() + absl::Hours(24 * 14),
                          T0() + absl::Hours(3));
  }

  void ExpectFixtureReports() {
    const std::vector<CallFacts> calls = Calls();
    ExpectActivityByTeam(SupervisionActivityRows(calls, v1::GROUP_BY_TEAM));
    ExpectActivityBySupervisor(
        SupervisionActivityRows(calls, v1::GROUP_BY_SUPERVISOR));
    auto coaching =
        CoachingEffectivenessRows(calls, v1::GROUP_BY_TEAM, absl::Hours(24 * 7),
                                  T0(), T0() + absl::Hours(24 * 14), 1000);
    ASSERT_TRUE(coaching.ok()) << coaching.status();
    ExpectCoachingByTeam(*coaching);
    auto starts = store_->AgentStarts("acme");
    ASSERT_TRUE(starts.ok()) << starts.status();
    ExpectRampUpByAgent(RampUpRows(calls, v1::GROUP_BY_AGENT, 12, *starts));
  }

  Backend backend_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlReportingStore> store_;
};

TYPED_TEST_SUITE_P(ReportingStoreConformanceTest);

TYPED_TEST_P(ReportingStoreConformanceTest, StoresEachEventOnceAndChainsIt) {
  const std::vector<v1::Event> events = FixtureEvents();
  IngestResult first = this->Ingest(events);
  EXPECT_EQ(first.accepted, events.size());
  EXPECT_EQ(first.duplicates, 0u);
  IngestResult again = this->Ingest(events);
  EXPECT_EQ(again.accepted, 0u);
  EXPECT_EQ(again.duplicates, events.size());
  EXPECT_TRUE(again.fresh.empty());
  auto verified = this->store_->VerifyChain("acme");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->intact) << verified->detail;
  EXPECT_EQ(verified->records_checked, events.size());
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             DuplicatedAndReorderedEventsGiveExactReports) {
  std::vector<v1::Event> events = FixtureEvents();
  // Every event twice, shuffled, in small batches: what an outbox retrying
  // after timeouts delivers.
  std::vector<v1::Event> delivered = events;
  delivered.insert(delivered.end(), events.begin(), events.end());
  std::mt19937 random(20260105);
  std::shuffle(delivered.begin(), delivered.end(), random);
  uint32_t accepted = 0, duplicates = 0;
  for (size_t i = 0; i < delivered.size(); i += 3) {
    std::vector<v1::Event> batch(
        delivered.begin() + i,
        delivered.begin() + std::min(i + 3, delivered.size()));
    IngestResult r = this->Ingest(batch);
    accepted += r.accepted;
    duplicates += r.duplicates;
  }
  EXPECT_EQ(accepted, events.size());
  EXPECT_EQ(duplicates, events.size());
  this->PutFixtureOutcomes();
  this->ExpectFixtureReports();
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             ReplicasIngestingConcurrentlyStoreEachEventOnce) {
  auto other_db = this->backend_.Open();
  REPORTING_ASSERT_OK(other_db.status());
  auto other = SqlReportingStore::Open(other_db->get());
  REPORTING_ASSERT_OK(other.status());
  const std::vector<v1::Event> events = FixtureEvents();
  std::vector<v1::Event> reversed(events.rbegin(), events.rend());
  std::atomic<uint32_t> accepted{0};
  auto deliver = [&](SqlReportingStore* store,
                     const std::vector<v1::Event>& order) {
    for (const v1::Event& e : order) {
      auto r = store->AppendEvents({e}, T0());
      ASSERT_TRUE(r.ok()) << r.status();
      accepted += r->accepted;
    }
  };
  std::thread a(deliver, this->store_.get(), events);
  std::thread b(deliver, other->get(), reversed);
  a.join();
  b.join();
  EXPECT_EQ(accepted.load(), events.size());
  auto verified = this->store_->VerifyChain("acme");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->intact) << verified->detail;
  EXPECT_EQ(verified->records_checked, events.size());
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             ChangingAStoredEventIsNamedByVerify) {
  const std::vector<v1::Event> events = FixtureEvents();
  this->Ingest(events);
  // Rewrite record 5's event: the supervisor is "someone-else" now.
  auto rows = this->db_->Query(
      "SELECT event_id, payload FROM reporting_events "
      "WHERE tenant = 'acme' AND sequence = 5");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  v1::Event forged;
  ASSERT_TRUE(forged.ParseFromString(*(*rows)[0].GetBytes(1)));
  forged.set_supervisor("someone-else");
  REPORTING_ASSERT_OK(
      this->db_
          ->Execute("UPDATE reporting_events SET payload = $1 "
                    "WHERE tenant = 'acme' AND sequence = 5",
                    {sql::Value::Bytes(forged.SerializeAsString())})
          .status());
  auto verified = this->store_->VerifyChain("acme");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_FALSE(verified->intact);
  EXPECT_EQ(verified->first_broken_sequence, 5u);
  EXPECT_EQ(verified->first_broken_event_id, *(*rows)[0].GetText(0));
  EXPECT_THAT(verified->detail, ::testing::HasSubstr("does not match"));
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             ChangingAnIndexedColumnIsNamedByVerify) {
  this->Ingest(FixtureEvents());
  // A report filters on the type column: turning a barge into nothing.
  REPORTING_ASSERT_OK(this->db_
                          ->Execute("UPDATE reporting_events SET type = 7 "
                                    "WHERE tenant = 'acme' AND sequence = 3")
                          .status());
  auto verified = this->store_->VerifyChain("acme");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_FALSE(verified->intact);
  EXPECT_EQ(verified->first_broken_sequence, 3u);
}

TYPED_TEST_P(ReportingStoreConformanceTest, RemovingRecordsIsNamedByVerify) {
  this->Ingest(FixtureEvents());
  REPORTING_ASSERT_OK(
      this->db_
          ->Execute("DELETE FROM reporting_events WHERE tenant = 'acme' AND "
                    "sequence = 13")
          .status());
  auto tail = this->store_->VerifyChain("acme");
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_FALSE(tail->intact);
  EXPECT_EQ(tail->first_broken_sequence, 13u);
  REPORTING_ASSERT_OK(
      this->db_
          ->Execute("DELETE FROM reporting_events WHERE tenant = 'acme' AND "
                    "sequence = 4")
          .status());
  auto middle = this->store_->VerifyChain("acme");
  ASSERT_TRUE(middle.ok()) << middle.status();
  EXPECT_FALSE(middle->intact);
  EXPECT_EQ(middle->first_broken_sequence, 4u);
  EXPECT_THAT(middle->detail, ::testing::HasSubstr("missing"));
}

TYPED_TEST_P(ReportingStoreConformanceTest, TenantsHaveSeparateChains) {
  std::vector<v1::Event> events = FixtureEvents();
  v1::Event other = events[0];
  other.set_tenant("globex");
  events.push_back(other);  // same event id, other tenant: a new event
  IngestResult r = this->Ingest(events);
  EXPECT_EQ(r.accepted, events.size());
  auto globex = this->store_->VerifyChain("globex");
  ASSERT_TRUE(globex.ok()) << globex.status();
  EXPECT_TRUE(globex->intact);
  EXPECT_EQ(globex->records_checked, 1u);
  AuditQuery query;
  query.tenant = "globex";
  auto records = this->store_->ListAuditRecords(query);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].sequence(), 1u);
  EXPECT_EQ((*records)[0].previous_hash(), "");
  EXPECT_EQ((*records)[0].hash(),
            ChainHash("", CanonicalBytes((*records)[0].event())));
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             AuditRecordsComeInChainOrderAndFilter) {
  this->Ingest(FixtureEvents());
  AuditQuery query;
  query.tenant = "acme";
  query.limit = 5;
  query.after_sequence = 2;
  auto page = this->store_->ListAuditRecords(query);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 5u);
  for (size_t i = 0; i < page->size(); ++i) {
    EXPECT_EQ((*page)[i].sequence(), 3 + i);
    if (i > 0) {
      EXPECT_EQ((*page)[i].previous_hash(), (*page)[i - 1].hash());
    }
  }
  query = AuditQuery();
  query.tenant = "acme";
  query.actor = "qa-1";
  auto by_actor = this->store_->ListAuditRecords(query);
  ASSERT_TRUE(by_actor.ok()) << by_actor.status();
  EXPECT_EQ(by_actor->size(), 2u);  // s2 started, s2 ended
  query = AuditQuery();
  query.tenant = "acme";
  query.call = CallName("c3");
  query.start = T0() + absl::Seconds(350);
  auto by_call = this->store_->ListAuditRecords(query);
  ASSERT_TRUE(by_call.ok()) << by_call.status();
  ASSERT_EQ(by_call->size(), 1u);
  EXPECT_EQ((*by_call)[0].event().type(), v1::EVENT_TYPE_CALL_ENDED);
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             ClosedSpansCarryTheirModeAndLength) {
  IngestResult r = this->Ingest(FixtureEvents());
  double whisper = 0, listen = 0, barge = 0;
  for (const FreshEvent& f : r.fresh) {
    if (f.closed_mode == v1::MODE_WHISPER) whisper += f.closed_seconds;
    if (f.closed_mode == v1::MODE_LISTEN) listen += f.closed_seconds;
    if (f.closed_mode == v1::MODE_BARGE) barge += f.closed_seconds;
  }
  EXPECT_DOUBLE_EQ(listen, 90);  // s1 30 s + s2 60 s
  EXPECT_DOUBLE_EQ(whisper, 30);
  EXPECT_DOUBLE_EQ(barge, 30);
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             ActiveSupervisionsFollowTheLatestStateInAnyOrder) {
  std::vector<v1::Event> events = FixtureEvents();
  // Up to T0+90 s: s1 in BARGE, s2 in LISTEN, s3 in TAKEOVER; delivered
  // newest first.
  std::vector<v1::Event> early(events.begin(), events.begin() + 7);
  std::reverse(early.begin(), early.end());
  this->Ingest(early);
  auto active = this->store_->CountActiveSupervisions();
  ASSERT_TRUE(active.ok()) << active.status();
  std::map<v1::Mode, int64_t> by_mode;
  for (const ActiveSupervisions& a : *active) {
    EXPECT_EQ(a.tenant, "acme");
    by_mode[a.mode] += a.count;
  }
  EXPECT_EQ(by_mode, (std::map<v1::Mode, int64_t>{{v1::MODE_LISTEN, 1},
                                                  {v1::MODE_BARGE, 1},
                                                  {v1::MODE_TAKEOVER, 1}}));
  // The rest, newest first: every supervision ends (s3 with its call).
  std::vector<v1::Event> late(events.begin() + 7, events.end());
  std::reverse(late.begin(), late.end());
  this->Ingest(late);
  active = this->store_->CountActiveSupervisions();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_TRUE(active->empty());
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             OutcomesAreIdempotentByRequestIdAndReplacedByLaterReports) {
  this->Ingest(FixtureEvents());
  v1::Event audit;
  audit.set_event_id("outcome-audit-1");
  audit.set_tenant("acme");
  audit.set_type(v1::EVENT_TYPE_OUTCOME_REPORTED);
  *audit.mutable_time() = At(T0() + absl::Hours(1));
  v1::CallOutcome outcome = FixtureOutcome(0);
  auto first = this->store_->PutOutcome("acme", "r1", "fp1", outcome, audit,
                                        T0() + absl::Hours(1));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replayed);
  EXPECT_TRUE(first->first_for_call);
  EXPECT_TRUE(first->coached);  // c1 had whisper and barge
  auto replay = this->store_->PutOutcome("acme", "r1", "fp1", outcome, audit,
                                         T0() + absl::Hours(1));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  auto misuse = this->store_->PutOutcome("acme", "r1", "other", outcome, audit,
                                         T0() + absl::Hours(1));
  EXPECT_EQ(misuse.status().code(), absl::StatusCode::kInvalidArgument);
  v1::CallOutcome later = outcome;
  later.set_csat(1);
  audit.set_event_id("outcome-audit-2");
  auto replaced = this->store_->PutOutcome("acme", "r2", "fp2", later, audit,
                                           T0() + absl::Hours(2));
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_FALSE(replaced->first_for_call);
  auto data = this->store_->LoadReportData("acme", T0(), std::nullopt);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->outcomes.count(CallName("c1")), 1u);
  EXPECT_EQ(data->outcomes.at(CallName("c1")).csat(), 1u);
  auto verified = this->store_->VerifyChain("acme");
  ASSERT_TRUE(verified.ok());
  // 13 events and two OUTCOME_REPORTED audit events.
  EXPECT_EQ(verified->records_checked, 15u);
}

TYPED_TEST_P(ReportingStoreConformanceTest,
             MediaQualityIsIdempotentByRequestId) {
  v1::IngestMediaQualityRequest request;
  request.set_tenant("acme");
  request.set_call(CallName("c1"));
  request.set_leg("customer");
  request.set_engine_id("media-0");
  request.set_request_id("leg-1");
  request.mutable_quality()->set_mos(4.2);
  auto first = this->store_->PutMediaQuality(request, "fp", T0());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  auto again = this->store_->PutMediaQuality(request, "fp", T0());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  auto misuse = this->store_->PutMediaQuality(request, "other", T0());
  EXPECT_EQ(misuse.status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(ReportingStoreConformanceTest, ReportDataCoversCallsInRange) {
  this->Ingest(FixtureEvents());
  // [T0+30 s, T0+301 s): c2 and c3 started then, c1 did not.
  auto data = this->store_->LoadReportData("acme", T0() + absl::Seconds(30),
                                           T0() + absl::Seconds(301));
  ASSERT_TRUE(data.ok()) << data.status();
  std::set<std::string> calls;
  for (const v1::Event& e : data->events) calls.insert(e.call());
  EXPECT_EQ(calls, (std::set<std::string>{CallName("c2"), CallName("c3")}));
}

REGISTER_TYPED_TEST_SUITE_P(
    ReportingStoreConformanceTest, StoresEachEventOnceAndChainsIt,
    DuplicatedAndReorderedEventsGiveExactReports,
    ReplicasIngestingConcurrentlyStoreEachEventOnce,
    ChangingAStoredEventIsNamedByVerify, ChangingAnIndexedColumnIsNamedByVerify,
    RemovingRecordsIsNamedByVerify, TenantsHaveSeparateChains,
    AuditRecordsComeInChainOrderAndFilter, ClosedSpansCarryTheirModeAndLength,
    ActiveSupervisionsFollowTheLatestStateInAnyOrder,
    OutcomesAreIdempotentByRequestIdAndReplacedByLaterReports,
    MediaQualityIsIdempotentByRequestId, ReportDataCoversCallsInRange);

}  // namespace sotto::reporting::testing

#endif  // SOTTO_TESTS_SERVICES_REPORTING_STORE_CONFORMANCE_H_
