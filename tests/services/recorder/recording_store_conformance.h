// The typed suite every RecordingStore passes, instantiated on SQLite
// (sqlite_recording_store_test) and PostgreSQL (postgres_recording_store_test)
// with the backends of tests/services/common/sql/test_backends.h.
#ifndef SOTTO_TESTS_SERVICES_RECORDER_RECORDING_STORE_CONFORMANCE_H_
#define SOTTO_TESTS_SERVICES_RECORDER_RECORDING_STORE_CONFORMANCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/recorder/proto_time.h"
#include "services/recorder/sql_recording_store.h"

namespace sotto::recorder::testing {

inline StoredRecording MakeRecording(const std::string& tenant,
                                     const std::string& id, absl::Time start,
                                     const std::string& team = "team-a",
                                     const std::string& call = "c-1") {
  StoredRecording s;
  s.id = id;
  v1::Recording& r = s.recording;
  r.set_name(absl::StrCat("tenants/", tenant, "/recordings/", id));
  r.set_tenant(tenant);
  r.set_call(absl::StrCat("tenants/", tenant, "/calls/", call));
  r.set_team(team);
  r.set_agent_id("a-1");
  r.set_state(v1::Recording::ACTIVE);
  *r.mutable_start_time() = ToProtoTime(start);
  v1::Recording::File* file = r.add_files();
  file->set_path(absl::StrCat(tenant, "/", id, "/all-00.wav"));
  file->set_channels(4);
  s.engine_address = "127.0.0.1:7102";
  s.room_id = r.call();
  s.policy.set_enabled(true);
  s.policy.set_keep_whisper_audio(true);
  *s.policy.mutable_retention() = ToProtoDuration(absl::Hours(24));
  s.legs = {{"customer", v1::ROLE_CUSTOMER, "", 0, ""},
            {"sup-1", v1::ROLE_SUPERVISOR, "lead-1", 2,
             "tenants/acme/calls/c-1/supervisions/s-1"}};
  return s;
}

template <typename Backend>
class RecordingStoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status status = backend_.SetUp();
    if (absl::IsFailedPrecondition(status)) GTEST_FAIL() << status;
    ASSERT_TRUE(status.ok()) << status;
    auto db = backend_.Open();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = SqlRecordingStore::Open(db_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    backend_.TearDown();
  }

  Backend backend_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlRecordingStore> store_;
};

TYPED_TEST_SUITE_P(RecordingStoreConformanceTest);

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TYPED_TEST_P(RecordingStoreConformanceTest, PutThenGetRoundTripsEverything) {
  StoredRecording s = MakeRecording("acme", "rec-1", kT0);
  ASSERT_TRUE(this->store_->Put(s).ok());
  auto got = this->store_->Get("acme", "rec-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->recording.SerializeAsString(),
            s.recording.SerializeAsString());
  EXPECT_EQ(got->policy.SerializeAsString(), s.policy.SerializeAsString());
  EXPECT_EQ(got->engine_address, s.engine_address);
  EXPECT_EQ(got->room_id, s.room_id);
  ASSERT_EQ(got->legs.size(), 2u);
  EXPECT_EQ(got->legs[1].leg_id, "sup-1");
  EXPECT_EQ(got->legs[1].role, v1::ROLE_SUPERVISOR);
  EXPECT_EQ(got->legs[1].channel, 2);
  EXPECT_EQ(got->legs[1].supervision,
            "tenants/acme/calls/c-1/supervisions/s-1");
  // Put replaces.
  s.recording.set_state(v1::Recording::FINISHED);
  s.recording.mutable_files(0)->set_sha256("ab");
  ASSERT_TRUE(this->store_->Put(s).ok());
  got = this->store_->Get("acme", "rec-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->recording.state(), v1::Recording::FINISHED);
  EXPECT_EQ(got->recording.files(0).sha256(), "ab");
}

TYPED_TEST_P(RecordingStoreConformanceTest, AnotherTenantsRecordingIsNotFound) {
  ASSERT_TRUE(this->store_->Put(MakeRecording("acme", "rec-1", kT0)).ok());
  EXPECT_EQ(this->store_->Get("globex", "rec-1").status().code(),
            absl::StatusCode::kNotFound);
  ListQuery query;
  query.tenant = "globex";
  auto listed = this->store_->List(query);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TYPED_TEST_P(RecordingStoreConformanceTest, ListIsNewestFirstFilteredAndPaged) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(this->store_
                    ->Put(MakeRecording("acme", absl::StrCat("rec-", i),
                                        kT0 + absl::Seconds(i),
                                        i % 2 == 0 ? "team-a" : "team-b"))
                    .ok());
  }
  // Same start time: ordered by id, descending.
  ASSERT_TRUE(
      this->store_->Put(MakeRecording("acme", "rec-9", kT0 + absl::Seconds(4)))
          .ok());
  ListQuery query;
  query.tenant = "acme";
  query.limit = 4;
  auto page = this->store_->List(query);
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<std::string> ids;
  for (const StoredRecording& s : *page) ids.push_back(s.id);
  EXPECT_THAT(ids, ::testing::ElementsAre("rec-9", "rec-4", "rec-3", "rec-2"));
  query.after = std::make_pair(kT0 + absl::Seconds(2), std::string("rec-2"));
  page = this->store_->List(query);
  ids.clear();
  for (const StoredRecording& s : *page) ids.push_back(s.id);
  EXPECT_THAT(ids, ::testing::ElementsAre("rec-1", "rec-0"));
  ListQuery team;
  team.tenant = "acme";
  team.team = "team-b";
  team.started_from = kT0 + absl::Seconds(2);
  page = this->store_->List(team);
  ids.clear();
  for (const StoredRecording& s : *page) ids.push_back(s.id);
  EXPECT_THAT(ids, ::testing::ElementsAre("rec-3"));
}

TYPED_TEST_P(RecordingStoreConformanceTest, ListInStatesFindsUnfinished) {
  StoredRecording active = MakeRecording("acme", "rec-a", kT0);
  StoredRecording paused = MakeRecording("globex", "rec-p", kT0);
  paused.recording.set_state(v1::Recording::PAUSED);
  StoredRecording done = MakeRecording("acme", "rec-d", kT0);
  done.recording.set_state(v1::Recording::FINISHED);
  for (const auto& s : {active, paused, done}) {
    ASSERT_TRUE(this->store_->Put(s).ok());
  }
  auto unfinished = this->store_->ListInStates(
      {v1::Recording::ACTIVE, v1::Recording::PAUSED});
  ASSERT_TRUE(unfinished.ok()) << unfinished.status();
  std::vector<std::string> names;
  for (const StoredRecording& s : *unfinished) {
    names.push_back(s.recording.name());
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre(
                         "tenants/acme/recordings/rec-a",
                         "tenants/globex/recordings/rec-p"));
}

TYPED_TEST_P(RecordingStoreConformanceTest, FirstRememberedResponseWins) {
  auto none = this->store_->FindResponse("acme", "StartRecording", "r-1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(
      this->store_->RememberResponse("acme", "StartRecording", "r-1", "first")
          .ok());
  ASSERT_TRUE(
      this->store_->RememberResponse("acme", "StartRecording", "r-1", "second")
          .ok());
  auto found = this->store_->FindResponse("acme", "StartRecording", "r-1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, "first");
  // Scoped by tenant and method.
  EXPECT_FALSE(this->store_->FindResponse("globex", "StartRecording", "r-1")
                   ->has_value());
  EXPECT_FALSE(
      this->store_->FindResponse("acme", "PauseRecording", "r-1")->has_value());
}

TYPED_TEST_P(RecordingStoreConformanceTest, AuditEntriesComeBackInTimeOrder) {
  for (int i = 2; i >= 0; --i) {
    AuditEntry entry;
    entry.time = kT0 + absl::Seconds(i);
    entry.tenant = i == 1 ? "globex" : "acme";
    entry.recording = absl::StrCat("tenants/acme/recordings/rec-", i);
    entry.type = v1::EVENT_TYPE_RECORDING_DELETED;
    entry.subject = "retention";
    entry.detail = "older than 24h";
    ASSERT_TRUE(this->store_->Audit(entry).ok());
  }
  auto acme = this->store_->ListAudit("acme");
  ASSERT_TRUE(acme.ok()) << acme.status();
  ASSERT_EQ(acme->size(), 2u);
  EXPECT_EQ((*acme)[0].time, kT0);
  EXPECT_EQ((*acme)[1].time, kT0 + absl::Seconds(2));
  EXPECT_EQ((*acme)[0].type, v1::EVENT_TYPE_RECORDING_DELETED);
  EXPECT_EQ((*acme)[0].detail, "older than 24h");
  EXPECT_EQ(this->store_->ListAudit("")->size(), 3u);
}

REGISTER_TYPED_TEST_SUITE_P(RecordingStoreConformanceTest,
                            PutThenGetRoundTripsEverything,
                            AnotherTenantsRecordingIsNotFound,
                            ListIsNewestFirstFilteredAndPaged,
                            ListInStatesFindsUnfinished,
                            FirstRememberedResponseWins,
                            AuditEntriesComeBackInTimeOrder);

}  // namespace sotto::recorder::testing

#endif  // SOTTO_TESTS_SERVICES_RECORDER_RECORDING_STORE_CONFORMANCE_H_
