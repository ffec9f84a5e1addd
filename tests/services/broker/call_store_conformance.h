// The typed suite every CallStore implementation passes. A test file
// instantiates it with a Backend (as tests/services/common/sql does):
//
//   struct MyBackend {
//     absl::Status SetUp();  // a fresh, empty database for one test
//     absl::StatusOr<std::unique_ptr<sotto::sql::Database>> Open();
//     void TearDown();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, CallStoreConformanceTest, MyBackend);
#ifndef SOTTO_TESTS_SERVICES_BROKER_CALL_STORE_CONFORMANCE_H_
#define SOTTO_TESTS_SERVICES_BROKER_CALL_STORE_CONFORMANCE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/broker/sql_call_store.h"

namespace sotto::broker::testing {

#define STORE_ASSERT_OK(expr)                         \
  do {                                                \
    const absl::Status store_status_ = (expr);        \
    ASSERT_TRUE(store_status_.ok()) << store_status_; \
  } while (0)

inline StoredCall MakeCall(const std::string& tenant,
                           const std::string& call_id, absl::Time created,
                           const std::string& queue = "sales",
                           const std::string& team = "team-a",
                           const std::string& agent = "a-1") {
  StoredCall call;
  CallRecord& r = call.record;
  r.tenant = tenant;
  r.call_id = call_id;
  r.queue = queue;
  r.create_time = created;
  r.attributes["lang"] = "en";
  r.monitoring_disclosed = true;
  ParticipantRecord customer;
  customer.id = "customer";
  customer.role = v1::ROLE_CUSTOMER;
  customer.join_time = created;
  ParticipantRecord agent_leg;
  agent_leg.id = "agent-1";
  agent_leg.role = v1::ROLE_AGENT;
  agent_leg.user_id = agent;
  agent_leg.team = team;
  agent_leg.join_time = created;
  r.participants = {customer, agent_leg};
  r.next_agent = 2;
  v1::MediaAnswer answer;
  answer.mutable_local_rtp()->set_address("127.0.0.1");
  answer.mutable_local_rtp()->set_port(20000);
  answer.mutable_local_key()->set_suite(
      v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80);
  answer.mutable_local_key()->set_inline_key("secret-key");
  call.answers["customer"] = answer;
  call.display_names["agent-1"] = "Alex";
  call.engine_id = "media-0";
  call.engine_control_address = "127.0.0.1:7102";
  call.routing_generation = 3;
  return call;
}

inline v1::Event MakeEvent(const std::string& id, const std::string& tenant) {
  v1::Event event;
  event.set_event_id(id);
  event.set_tenant(tenant);
  event.set_type(v1::EVENT_TYPE_CALL_REGISTERED);
  return event;
}

template <typename Backend>
class CallStoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORE_ASSERT_OK(backend_.SetUp());
    auto db = backend_.Open();
    STORE_ASSERT_OK(db.status());
    db_ = std::move(*db);
    auto store = SqlCallStore::Open(db_.get());
    STORE_ASSERT_OK(store.status());
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    backend_.TearDown();
  }

  Backend backend_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlCallStore> store_;
  const absl::Time t0_ = absl::FromUnixSeconds(1'700'000'000);
};

TYPED_TEST_SUITE_P(CallStoreConformanceTest);

TYPED_TEST_P(CallStoreConformanceTest, CreatedCallReadsBackWhole) {
  StoredCall call = MakeCall("acme", "c1", this->t0_);
  SupervisionRecord s;
  s.id = "1";
  s.supervisor = "lead-1";
  s.participant = "supervisor-1";
  s.mode = v1::MODE_WHISPER;
  s.takeover_rank = 20;
  s.create_time = this->t0_;
  s.mode_time = this->t0_ + absl::Seconds(5);
  s.time_in_mode[v1::MODE_LISTEN] = absl::Seconds(5);
  call.record.supervisions.push_back(s);
  ParticipantRecord sup;
  sup.id = "supervisor-1";
  sup.role = v1::ROLE_SUPERVISOR;
  sup.user_id = "lead-1";
  sup.join_time = this->t0_;
  call.record.participants.push_back(sup);
  call.record.next_supervisor = 2;
  call.record.next_event_sequence = 7;
  STORE_ASSERT_OK(this->store_->Create(call, {}));

  absl::StatusOr<StoredCall> got = this->store_->Get("acme", "c1");
  STORE_ASSERT_OK(got.status());
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->record.name(), "tenants/acme/calls/c1");
  EXPECT_EQ(got->record.queue, "sales");
  EXPECT_EQ(got->record.create_time, this->t0_);
  EXPECT_EQ(got->record.attributes.at("lang"), "en");
  EXPECT_TRUE(got->record.monitoring_disclosed);
  ASSERT_EQ(got->record.participants.size(), 3u);
  EXPECT_EQ(got->record.Agent()->user_id, "a-1");
  EXPECT_EQ(got->record.next_agent, 2);
  EXPECT_EQ(got->record.next_supervisor, 2);
  EXPECT_EQ(got->record.next_event_sequence, 7u);
  ASSERT_EQ(got->record.supervisions.size(), 1u);
  const SupervisionRecord& back = got->record.supervisions[0];
  EXPECT_EQ(back.mode, v1::MODE_WHISPER);
  EXPECT_EQ(back.takeover_rank, 20);
  EXPECT_EQ(back.mode_time, this->t0_ + absl::Seconds(5));
  EXPECT_EQ(back.time_in_mode.at(v1::MODE_LISTEN), absl::Seconds(5));
  EXPECT_EQ(got->answers.at("customer").local_key().inline_key(), "secret-key");
  EXPECT_EQ(got->display_names.at("agent-1"), "Alex");
  EXPECT_EQ(got->engine_id, "media-0");
  EXPECT_EQ(got->engine_control_address, "127.0.0.1:7102");
  EXPECT_EQ(got->routing_generation, 3u);
}

TYPED_TEST_P(CallStoreConformanceTest, SecondCreateOfACallIsAlreadyExists) {
  STORE_ASSERT_OK(this->store_->Create(MakeCall("acme", "c1", this->t0_), {}));
  EXPECT_EQ(this->store_->Create(MakeCall("acme", "c1", this->t0_), {}).code(),
            absl::StatusCode::kAlreadyExists);
  // Another tenant may use the same call id.
  STORE_ASSERT_OK(
      this->store_->Create(MakeCall("globex", "c1", this->t0_), {}));
  EXPECT_EQ(this->store_->Get("acme", "nope").status().code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST_P(CallStoreConformanceTest, StaleUpdateIsAbortedAndWritesNothing) {
  STORE_ASSERT_OK(this->store_->Create(MakeCall("acme", "c1", this->t0_), {}));
  StoredCall first = *this->store_->Get("acme", "c1");
  StoredCall second = first;
  first.record.state = CallState::kOnHold;
  WriteExtras extras;
  extras.events = {MakeEvent("e1", "acme")};
  absl::StatusOr<int64_t> version = this->store_->Update(first, extras);
  STORE_ASSERT_OK(version.status());
  EXPECT_EQ(*version, 2);

  second.record.state = CallState::kEnded;
  WriteExtras lost;
  lost.events = {MakeEvent("e2", "acme")};
  lost.idempotency = IdempotencyRecord{"acme", "r2", "f", "x"};
  EXPECT_EQ(this->store_->Update(second, lost).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(this->store_->Get("acme", "c1")->record.state, CallState::kOnHold);
  auto pending = this->store_->PendingEvents(10);
  STORE_ASSERT_OK(pending.status());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].event.event_id(), "e1");
  EXPECT_FALSE(this->store_->GetIdempotency("acme", "r2")->has_value());
}

TYPED_TEST_P(CallStoreConformanceTest, ListFiltersNewestFirstAndPages) {
  for (int i = 0; i < 5; ++i) {
    STORE_ASSERT_OK(this->store_->Create(
        MakeCall("acme", absl::StrCat("c", i), this->t0_ + absl::Seconds(i),
                 i % 2 ? "billing" : "sales", i < 3 ? "team-a" : "team-b",
                 absl::StrCat("a-", i)),
        {}));
  }
  STORE_ASSERT_OK(
      this->store_->Create(MakeCall("globex", "g1", this->t0_), {}));
  StoredCall ended = *this->store_->Get("acme", "c4");
  ended.record.state = CallState::kEnded;
  STORE_ASSERT_OK(this->store_->Update(ended, {}).status());

  auto ids = [](const CallPage& page) {
    std::vector<std::string> out;
    for (const StoredCall& c : page.calls) out.push_back(c.record.call_id);
    return out;
  };
  CallQuery query;
  query.tenant = "acme";
  query.limit = 2;
  auto page = this->store_->List(query);
  STORE_ASSERT_OK(page.status());
  EXPECT_THAT(ids(*page), ::testing::ElementsAre("c4", "c3"));
  EXPECT_TRUE(page->more);
  const CallRecord& last = page->calls.back().record;
  query.after = std::make_pair(last.create_time, last.call_id);
  page = this->store_->List(query);
  EXPECT_THAT(ids(*page), ::testing::ElementsAre("c2", "c1"));
  query.after = std::make_pair(page->calls.back().record.create_time,
                               page->calls.back().record.call_id);
  page = this->store_->List(query);
  EXPECT_THAT(ids(*page), ::testing::ElementsAre("c0"));
  EXPECT_FALSE(page->more);

  CallQuery filtered;
  filtered.tenant = "acme";
  filtered.states = {CallState::kActive, CallState::kOnHold};
  filtered.queue = "sales";
  EXPECT_THAT(ids(*this->store_->List(filtered)),
              ::testing::ElementsAre("c2", "c0"));
  filtered.queue.clear();
  filtered.team = "team-b";
  EXPECT_THAT(ids(*this->store_->List(filtered)), ::testing::ElementsAre("c3"));
  filtered.team.clear();
  filtered.agent_id = "a-1";
  EXPECT_THAT(ids(*this->store_->List(filtered)), ::testing::ElementsAre("c1"));
}

TYPED_TEST_P(CallStoreConformanceTest, IdempotencyRecordCommitsWithTheCall) {
  WriteExtras extras;
  extras.events = {MakeEvent("e1", "acme"), MakeEvent("e2", "acme")};
  extras.idempotency = IdempotencyRecord{"acme", "req-1", "fp", "response"};
  STORE_ASSERT_OK(
      this->store_->Create(MakeCall("acme", "c1", this->t0_), extras));
  auto record = this->store_->GetIdempotency("acme", "req-1");
  STORE_ASSERT_OK(record.status());
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->fingerprint, "fp");
  EXPECT_EQ((*record)->response, "response");
  EXPECT_FALSE(this->store_->GetIdempotency("globex", "req-1")->has_value());
  // The same request id again (a racing retry) fails the whole write.
  WriteExtras again;
  again.idempotency = IdempotencyRecord{"acme", "req-1", "fp", "other"};
  EXPECT_EQ(
      this->store_->Create(MakeCall("acme", "c2", this->t0_), again).code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(this->store_->Get("acme", "c2").status().code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST_P(CallStoreConformanceTest, OutboxKeepsOrderUntilDelivered) {
  STORE_ASSERT_OK(this->store_->AppendEvents(
      {MakeEvent("e1", "acme"), MakeEvent("e2", "acme")}));
  WriteExtras extras;
  extras.events = {MakeEvent("e3", "acme")};
  STORE_ASSERT_OK(
      this->store_->Create(MakeCall("acme", "c1", this->t0_), extras));
  auto pending = this->store_->PendingEvents(10);
  STORE_ASSERT_OK(pending.status());
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].event.event_id(), "e1");
  EXPECT_EQ((*pending)[2].event.event_id(), "e3");
  EXPECT_LT((*pending)[0].sequence, (*pending)[1].sequence);
  // Exactly the entries named: e1 stays pending although e2 is delivered.
  STORE_ASSERT_OK(this->store_->MarkDelivered(
      {(*pending)[1].sequence, (*pending)[2].sequence}));
  pending = this->store_->PendingEvents(10);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].event.event_id(), "e1");
}

TYPED_TEST_P(CallStoreConformanceTest, WatchersTailEveryEventDeliveredOrNot) {
  auto last = this->store_->LastEventSequence();
  STORE_ASSERT_OK(last.status());
  EXPECT_EQ(*last, 0);
  STORE_ASSERT_OK(this->store_->AppendEvents({MakeEvent("e1", "acme"),
                                              MakeEvent("e2", "acme"),
                                              MakeEvent("e3", "other")}));
  auto all = this->store_->EventsAfter(0, 10);
  STORE_ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 3u);
  STORE_ASSERT_OK(this->store_->MarkDelivered({(*all)[0].sequence}));
  auto after_first = this->store_->EventsAfter((*all)[0].sequence, 10);
  STORE_ASSERT_OK(after_first.status());
  ASSERT_EQ(after_first->size(), 2u);
  EXPECT_EQ((*after_first)[0].event.event_id(), "e2");
  EXPECT_EQ((*after_first)[1].event.event_id(), "e3");
  auto limited = this->store_->EventsAfter(0, 1);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].event.event_id(), "e1");
  last = this->store_->LastEventSequence();
  EXPECT_EQ(*last, (*all)[2].sequence);
  EXPECT_TRUE(this->store_->EventsAfter(*last, 10)->empty());
}

TYPED_TEST_P(CallStoreConformanceTest, EnginesAndTheirLiveCallsAreShared) {
  EngineRecord engine;
  engine.engine_id = "media-0";
  engine.control_address = "10.0.0.1:7102";
  engine.media_address = "203.0.113.1";
  engine.capacity_rooms = 100;
  engine.active_rooms = 3;
  engine.last_heartbeat = this->t0_;
  STORE_ASSERT_OK(this->store_->SaveEngine(engine));
  // An older heartbeat (another replica, late) changes nothing.
  EngineRecord stale = engine;
  stale.active_rooms = 99;
  stale.last_heartbeat = this->t0_ - absl::Seconds(5);
  STORE_ASSERT_OK(this->store_->SaveEngine(stale));
  EngineRecord newer = engine;
  newer.draining = true;
  newer.last_heartbeat = this->t0_ + absl::Seconds(2);
  STORE_ASSERT_OK(this->store_->SaveEngine(newer));
  auto engines = this->store_->LoadEngines();
  STORE_ASSERT_OK(engines.status());
  ASSERT_EQ(engines->size(), 1u);
  EXPECT_EQ((*engines)[0].active_rooms, 3);
  EXPECT_TRUE((*engines)[0].draining);
  EXPECT_EQ((*engines)[0].last_heartbeat, this->t0_ + absl::Seconds(2));
  EXPECT_EQ((*engines)[0].media_address, "203.0.113.1");

  StoredCall live = MakeCall("acme", "c1", this->t0_);
  live.engine_id = "media-0";
  StoredCall elsewhere = MakeCall("globex", "c2", this->t0_);
  elsewhere.engine_id = "media-1";
  StoredCall ended = MakeCall("acme", "c3", this->t0_);
  ended.engine_id = "media-0";
  ended.record.state = CallState::kEnded;
  for (const StoredCall* call : {&live, &elsewhere, &ended}) {
    STORE_ASSERT_OK(this->store_->Create(*call, WriteExtras()));
  }
  auto on_engine = this->store_->LiveCallsOnEngine("media-0");
  STORE_ASSERT_OK(on_engine.status());
  ASSERT_EQ(on_engine->size(), 1u);
  EXPECT_EQ((*on_engine)[0].record.call_id, "c1");
  EXPECT_EQ((*on_engine)[0].engine_id, "media-0");
}

TYPED_TEST_P(CallStoreConformanceTest, OldIdempotencyRecordsExpire) {
  WriteExtras extras;
  extras.idempotency = IdempotencyRecord{"acme", "r1", "f", "response"};
  STORE_ASSERT_OK(
      this->store_->Create(MakeCall("acme", "c1", this->t0_), extras));
  auto kept = this->store_->ExpireIdempotency(absl::Now() - absl::Hours(1));
  STORE_ASSERT_OK(kept.status());
  EXPECT_EQ(*kept, 0);
  EXPECT_TRUE(this->store_->GetIdempotency("acme", "r1")->has_value());
  auto gone = this->store_->ExpireIdempotency(absl::Now() + absl::Seconds(1));
  STORE_ASSERT_OK(gone.status());
  EXPECT_EQ(*gone, 1);
  EXPECT_FALSE(this->store_->GetIdempotency("acme", "r1")->has_value());
}

REGISTER_TYPED_TEST_SUITE_P(
    CallStoreConformanceTest, CreatedCallReadsBackWhole,
    SecondCreateOfACallIsAlreadyExists, StaleUpdateIsAbortedAndWritesNothing,
    ListFiltersNewestFirstAndPages, IdempotencyRecordCommitsWithTheCall,
    OutboxKeepsOrderUntilDelivered, WatchersTailEveryEventDeliveredOrNot,
    EnginesAndTheirLiveCallsAreShared, OldIdempotencyRecordsExpire);

}  // namespace sotto::broker::testing

#endif  // SOTTO_TESTS_SERVICES_BROKER_CALL_STORE_CONFORMANCE_H_
