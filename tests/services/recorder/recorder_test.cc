// Recorder behind the RPCs, with a fake tap and a fake policy service on a
// real SQLite index: start rules, idempotency, pause, download access
// (PERMISSION_DENIED without recording access, audited), listing by
// access, retention (deletes and audits), and restart recovery.
#include "services/recorder/recorder.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/sql/sqlite_database.h"
#include "services/recorder/proto_time.h"
#include "services/recorder/sql_recording_store.h"
#include "tests/services/recorder/recorder_fakes.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace sotto::recorder {
namespace {

using testing::ConstantFrame;
using ::testing::ElementsAre;
using testing::FakePolicy;
using testing::FakeTapSource;
using testing::FfprobeSeconds;
using testing::FreshDir;
using ::testing::HasSubstr;
using testing::SoxSeconds;

constexpr char kRoom[] = "tenants/acme/calls/c-1";

template <typename Predicate>
bool WaitFor(Predicate predicate, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!predicate()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("recorder");
    sql::SqliteOptions options;
    options.path = dir_ + "/index.db";
    auto db = sql::SqliteDatabase::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = SqlRecordingStore::Open(db_.get());
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    taps_.AddRoom(kRoom);
    policy_.AddReader("qa-token", "acme", "qa-1", {"*"});
    policy_.AddReader("lead-b-token", "acme", "lead-b", {"team-b"});
    policy_.AddReader("globex-token", "globex", "g-1", {"*"});
    NewRecorder();
  }
  void TearDown() override { recorder_.reset(); }

  void NewRecorder() {
    recorder_.reset();
    RecorderOptions options;
    options.session.storage_root = dir_ + "/files";
    options.retention_interval = absl::ZeroDuration();
    options.tap.min_backoff = absl::Milliseconds(10);
    options.tap.max_backoff = absl::Milliseconds(50);
    options.clock = [this] { return absl::Now() + skew_.load(); };
    registry_ = std::make_shared<prometheus::Registry>();
    recorder_ = std::make_unique<Recorder>(store_.get(), &taps_, &policy_,
                                           *registry_, options);
    ASSERT_TRUE(recorder_->Start().ok());
  }

  v1::StartRecordingRequest StartRequest(const std::string& request_id,
                                         const std::string& call = kRoom,
                                         const std::string& team = "team-a") {
    v1::StartRecordingRequest request;
    request.set_call(call);
    request.set_queue("sales");
    request.set_team(team);
    request.set_agent_id("a-1");
    request.set_engine_address("127.0.0.1:7102");
    request.set_room_id(call);
    (*request.mutable_legs())["customer"] = v1::ROLE_CUSTOMER;
    (*request.mutable_legs())["agent-1"] = v1::ROLE_AGENT;
    request.mutable_policy()->set_enabled(true);
    request.mutable_policy()->set_layout(v1::RecordingPolicy::MULTICHANNEL);
    request.set_monitoring_disclosed(true);
    request.set_request_id(request_id);
    return request;
  }

  // A finished recording of ~0.3 s with the customer at 1000.
  v1::Recording RecordAndStop(const std::string& call = kRoom,
                              const std::string& team = "team-a") {
    taps_.AddRoom(call);
    auto started = recorder_->StartRecording(
        StartRequest(absl::StrCat("start-", call), call, team));
    EXPECT_TRUE(started.ok()) << started.status();
    for (int k = 0; k < 15; ++k) {
      taps_.Push(call, ConstantFrame("customer", k, 1000));
    }
    absl::SleepFor(absl::Milliseconds(300));
    v1::StopRecordingRequest stop;
    stop.set_name(started->name());
    auto stopped = recorder_->StopRecording(stop);
    EXPECT_TRUE(stopped.ok()) << stopped.status();
    return *stopped;
  }

  std::vector<AuditEntry> Audit(v1::EventType type) {
    std::vector<AuditEntry> out;
    for (const AuditEntry& e : *store_->ListAudit("acme")) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlRecordingStore> store_;
  FakeTapSource taps_;
  FakePolicy policy_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<absl::Duration> skew_{absl::ZeroDuration()};
  std::unique_ptr<Recorder> recorder_;
};

TEST_F(RecorderTest, StartFollowsTheRecordingPolicyAndTheEngine) {
  v1::StartRecordingRequest disabled = StartRequest("r-1");
  disabled.mutable_policy()->set_enabled(false);
  auto status = recorder_->StartRecording(disabled).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("enabled"));

  v1::StartRecordingRequest undisclosed = StartRequest("r-2");
  undisclosed.mutable_policy()->set_require_disclosure(true);
  undisclosed.set_monitoring_disclosed(false);
  status = recorder_->StartRecording(undisclosed).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("disclosure"));

  EXPECT_EQ(
      recorder_->StartRecording(StartRequest("r-3", "tenants/acme/calls/x"))
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  taps_.SetReachable(false);
  EXPECT_EQ(recorder_->StartRecording(StartRequest("r-4")).status().code(),
            absl::StatusCode::kUnavailable);
  taps_.SetReachable(true);

  v1::StartRecordingRequest bad = StartRequest("r-5");
  bad.set_call("calls/c-1");
  EXPECT_EQ(recorder_->StartRecording(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = StartRequest("r-6");
  bad.clear_engine_address();
  EXPECT_THAT(recorder_->StartRecording(bad).status().message(),
              HasSubstr("engine_address"));
}

TEST_F(RecorderTest, StartIsIdempotentAndOnePerCall) {
  auto first = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state(), v1::Recording::ACTIVE);
  EXPECT_THAT(first->name(), HasSubstr("tenants/acme/recordings/rec-"));
  auto retry = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->name(), first->name());
  auto second = recorder_->StartRecording(StartRequest("r-2"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->name(), first->name());
  EXPECT_TRUE(WaitFor([&] { return taps_.opens(kRoom) >= 1; }));
  EXPECT_EQ(taps_.opens(kRoom), 1);
}

TEST_F(RecorderTest, PauseAndResumeAreIdempotentAndChecked) {
  auto started = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(started.ok());
  v1::ResumeRecordingRequest resume;
  resume.set_name(started->name());
  resume.set_request_id("resume-0");
  EXPECT_EQ(recorder_->ResumeRecording(resume).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::PauseRecordingRequest pause;
  pause.set_name(started->name());
  pause.set_reason("card number");
  pause.set_request_id("pause-1");
  auto paused = recorder_->PauseRecording(pause);
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->state(), v1::Recording::PAUSED);
  auto again = recorder_->PauseRecording(pause);
  ASSERT_TRUE(again.ok()) << "a retry answers the first result";
  EXPECT_EQ(again->SerializeAsString(), paused->SerializeAsString());
  resume.set_request_id("resume-1");
  auto resumed = recorder_->ResumeRecording(resume);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state(), v1::Recording::ACTIVE);
  ASSERT_EQ(resumed->pauses_size(), 1);
  EXPECT_TRUE(resumed->pauses(0).has_end_time());
  EXPECT_EQ(Audit(v1::EVENT_TYPE_RECORDING_PAUSED).size(), 1u);
  v1::PauseRecordingRequest unknown;
  unknown.set_name("tenants/acme/recordings/rec-nope");
  unknown.set_request_id("p-2");
  EXPECT_EQ(recorder_->PauseRecording(unknown).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RecorderTest, StopFinishesHashesAndIsRepeatable) {
  const v1::Recording stopped = RecordAndStop();
  EXPECT_EQ(stopped.state(), v1::Recording::FINISHED);
  ASSERT_EQ(stopped.files_size(), 1);
  EXPECT_EQ(stopped.files(0).sha256().size(), 64u);
  const std::string path = dir_ + "/files/" + stopped.files(0).path();
  EXPECT_EQ(Sha256File(path).value(), stopped.files(0).sha256());
  EXPECT_GT(SoxSeconds(path), 0.2);
  EXPECT_NEAR(FfprobeSeconds(path), SoxSeconds(path), 1e-3);
  const std::vector<int16_t> customer = testing::ReadAudio(path).Channel(0);
  EXPECT_EQ(std::count(customer.begin(), customer.end(), 1000), 15 * 160);
  v1::StopRecordingRequest stop;
  stop.set_name(stopped.name());
  auto again = recorder_->StopRecording(stop);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), stopped.SerializeAsString());
}

TEST_F(RecorderTest, DownloadNeedsRecordingAccessAndIsAudited) {
  const v1::Recording r = RecordAndStop();
  v1::DownloadRecordingRequest request;
  request.set_name(r.name());
  std::string bytes;
  v1::Recording::File meta;
  auto collect = [&](const v1::DownloadRecordingResponse& m) {
    if (m.has_file()) meta = m.file();
    bytes += m.chunk();
    return true;
  };
  // No token; a token without access to team-a; another tenant.
  EXPECT_EQ(recorder_->DownloadRecording("", request, collect).code(),
            absl::StatusCode::kUnauthenticated);
  const absl::Status denied =
      recorder_->DownloadRecording("lead-b-token", request, collect);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(bytes.empty());
  ASSERT_EQ(Audit(v1::EVENT_TYPE_ACCESS_DENIED).size(), 1u);
  EXPECT_EQ(Audit(v1::EVENT_TYPE_ACCESS_DENIED)[0].subject, "lead-b");
  EXPECT_EQ(
      recorder_->DownloadRecording("globex-token", request, collect).code(),
      absl::StatusCode::kNotFound);
  EXPECT_TRUE(Audit(v1::EVENT_TYPE_RECORDING_ACCESSED).empty());

  ASSERT_TRUE(recorder_->DownloadRecording("qa-token", request, collect).ok());
  std::ifstream in(dir_ + "/files/" + r.files(0).path(), std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, file);
  EXPECT_EQ(meta.sha256(), r.files(0).sha256());
  ASSERT_EQ(Audit(v1::EVENT_TYPE_RECORDING_ACCESSED).size(), 1u);
  EXPECT_EQ(Audit(v1::EVENT_TYPE_RECORDING_ACCESSED)[0].subject, "qa-1");

  request.set_file(7);
  EXPECT_EQ(recorder_->DownloadRecording("qa-token", request, collect).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RecorderTest, DownloadOfAnActiveRecordingWaitsForItsEnd) {
  auto started = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(started.ok());
  v1::DownloadRecordingRequest request;
  request.set_name(started->name());
  EXPECT_EQ(recorder_
                ->DownloadRecording("qa-token", request,
                                    [](const auto&) { return true; })
                .code(),
            absl::StatusCode::kFailedPrecondition);
  v1::GetRecordingRequest get;
  get.set_name(started->name());
  EXPECT_EQ(recorder_->GetRecording("lead-b-token", get).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto got = recorder_->GetRecording("qa-token", get);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), v1::Recording::ACTIVE);
}

TEST_F(RecorderTest, ListShowsOnlyWhatTheCallerMayReadNewestFirstInPages) {
  const v1::Recording a1 = RecordAndStop("tenants/acme/calls/a1", "team-a");
  const v1::Recording b1 = RecordAndStop("tenants/acme/calls/b1", "team-b");
  const v1::Recording b2 = RecordAndStop("tenants/acme/calls/b2", "team-b");
  v1::ListRecordingsRequest request;
  request.set_parent("tenants/acme");
  auto all = recorder_->ListRecordings("qa-token", request);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> names;
  for (const auto& r : all->recordings()) names.push_back(r.name());
  EXPECT_THAT(names, ElementsAre(b2.name(), b1.name(), a1.name()));

  request.set_page_size(1);
  names.clear();
  std::string token;
  do {
    request.set_page_token(token);
    auto page = recorder_->ListRecordings("lead-b-token", request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& r : page->recordings()) names.push_back(r.name());
    token = page->next_page_token();
  } while (!token.empty());
  EXPECT_THAT(names, ElementsAre(b2.name(), b1.name()));

  request.set_page_token("garbage");
  EXPECT_EQ(recorder_->ListRecordings("qa-token", request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.clear_page_token();
  request.set_parent("tenants/globex");
  EXPECT_EQ(recorder_->ListRecordings("qa-token", request).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(RecorderTest, RetentionDeletesOldRecordingsAndAuditsEachDeletion) {
  const v1::Recording a = RecordAndStop("tenants/acme/calls/a1");
  const v1::Recording b = RecordAndStop("tenants/acme/calls/b1");
  policy_.SetRetention(absl::Hours(24));
  v1::ApplyRetentionRequest request;
  auto none = recorder_->ApplyRetention(request);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->deleted_recordings_size(), 0);

  skew_ = absl::Hours(25);
  request.set_dry_run(true);
  auto dry = recorder_->ApplyRetention(request);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->deleted_recordings_size(), 2);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/files/" + a.files(0).path()));
  EXPECT_TRUE(Audit(v1::EVENT_TYPE_RECORDING_DELETED).empty());

  request.set_dry_run(false);
  auto applied = recorder_->ApplyRetention(request);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(std::vector<std::string>(applied->deleted_recordings().begin(),
                                       applied->deleted_recordings().end()),
              ::testing::UnorderedElementsAre(a.name(), b.name()));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/files/" + a.files(0).path()));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/files/" + b.files(0).path()));
  const auto deleted = Audit(v1::EVENT_TYPE_RECORDING_DELETED);
  ASSERT_EQ(deleted.size(), 2u);
  EXPECT_EQ(deleted[0].subject, "retention");
  EXPECT_THAT(deleted[0].detail, HasSubstr("24h"));
  v1::GetRecordingRequest get;
  get.set_name(a.name());
  EXPECT_EQ(recorder_->GetRecording("qa-token", get)->state(),
            v1::Recording::DELETED);
  v1::DownloadRecordingRequest download;
  download.set_name(a.name());
  EXPECT_EQ(recorder_
                ->DownloadRecording("qa-token", download,
                                    [](const auto&) { return true; })
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Deleted once: a second pass finds nothing more.
  EXPECT_EQ(recorder_->ApplyRetention(request)->deleted_recordings_size(), 0);
}

TEST_F(RecorderTest, RestartResumesALiveRoomAndMarksTheGap) {
  auto started = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(started.ok());
  for (int k = 0; k < 20; ++k) {
    taps_.Push(kRoom, ConstantFrame("customer", k, 1000));
  }
  absl::SleepFor(absl::Milliseconds(600));
  NewRecorder();  // the old one left it ACTIVE in the index
  v1::GetRecordingRequest get;
  get.set_name(started->name());
  auto resumed = recorder_->GetRecording("qa-token", get);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state(), v1::Recording::ACTIVE);
  for (int k = 0; k < 10; ++k) {
    taps_.Push(kRoom, ConstantFrame("customer", 100 + k, 2000));
  }
  absl::SleepFor(absl::Milliseconds(400));
  v1::StopRecordingRequest stop;
  stop.set_name(started->name());
  auto stopped = recorder_->StopRecording(stop);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_GE(stopped->gaps_size(), 1);
  EXPECT_EQ(stopped->gaps(0).reason(), "recorder restarted");
  const std::string path = dir_ + "/files/" + stopped->files(0).path();
  EXPECT_NEAR(SoxSeconds(path),
              absl::ToDoubleSeconds(FromProtoDuration(stopped->duration())),
              1e-6);
  const std::vector<int16_t> customer = testing::ReadAudio(path).Channel(0);
  EXPECT_EQ(std::count(customer.begin(), customer.end(), 1000), 20 * 160);
  EXPECT_EQ(std::count(customer.begin(), customer.end(), 2000), 10 * 160);
}

TEST_F(RecorderTest, RestartFinalisesARecordingWhoseRoomIsGone) {
  auto started = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(started.ok());
  for (int k = 0; k < 20; ++k) {
    taps_.Push(kRoom, ConstantFrame("customer", k, 1000));
  }
  absl::SleepFor(absl::Milliseconds(600));
  recorder_.reset();
  taps_.RemoveRoom(kRoom);
  NewRecorder();
  v1::GetRecordingRequest get;
  get.set_name(started->name());
  auto r = recorder_->GetRecording("qa-token", get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state(), v1::Recording::RECOVERED);
  EXPECT_EQ(r->files(0).sha256().size(), 64u);
  ASSERT_EQ(r->gaps_size(), 1);
  EXPECT_THAT(r->gaps(0).reason(), HasSubstr("not resumed"));
  const std::string path = dir_ + "/files/" + r->files(0).path();
  EXPECT_GT(SoxSeconds(path), 0.3);
  EXPECT_NEAR(FfprobeSeconds(path), SoxSeconds(path), 1e-3);
}

TEST_F(RecorderTest, ATapBreakIsMarkedAndReadingResumes) {
  auto started = recorder_->StartRecording(StartRequest("r-1"));
  ASSERT_TRUE(started.ok());
  for (int k = 0; k < 10; ++k) {
    taps_.Push(kRoom, ConstantFrame("customer", k, 1000));
  }
  ASSERT_TRUE(WaitFor([&] { return taps_.opens(kRoom) == 1; }));
  absl::SleepFor(absl::Milliseconds(200));
  taps_.Break(kRoom, absl::UnavailableError("engine restarted"));
  ASSERT_TRUE(WaitFor([&] { return taps_.opens(kRoom) >= 2; }));
  absl::SleepFor(absl::Milliseconds(300));
  for (int k = 0; k < 10; ++k) {
    taps_.Push(kRoom, ConstantFrame("customer", k, 3000));
  }
  absl::SleepFor(absl::Milliseconds(400));
  v1::StopRecordingRequest stop;
  stop.set_name(started->name());
  auto stopped = recorder_->StopRecording(stop);
  ASSERT_TRUE(stopped.ok());
  ASSERT_EQ(stopped->gaps_size(), 1);
  EXPECT_THAT(stopped->gaps(0).reason(), HasSubstr("engine restarted"));
  const std::vector<int16_t> customer =
      testing::ReadAudio(dir_ + "/files/" + stopped->files(0).path())
          .Channel(0);
  EXPECT_EQ(std::count(customer.begin(), customer.end(), 3000), 10 * 160);
}

}  // namespace
}  // namespace sotto::recorder
