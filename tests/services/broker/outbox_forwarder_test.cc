// The outbox forwarder on a real SqlCallStore (SQLite) with a sink that
// fails on demand: every event arrives, oldest first; a failed delivery
// leaves the batch in the outbox and is retried with growing backoff.
#include "services/broker/outbox_forwarder.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/broker/sql_call_store.h"
#include "services/common/sql/sqlite_database.h"

namespace sotto::broker {
namespace {

class FlakySink final : public EventSink {
 public:
  absl::Status Deliver(const std::vector<v1::Event>& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++attempts_;
    if (failures_left_ > 0) {
      --failures_left_;
      return absl::UnavailableError("reporting is down");
    }
    for (const v1::Event& e : events) received_.push_back(e.event_id());
    return absl::OkStatus();
  }
  void FailNext(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_left_ = n;
  }
  std::vector<std::string> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }

 private:
  std::mutex mu_;
  int failures_left_ = 0;
  int attempts_ = 0;
  std::vector<std::string> received_;
};

v1::Event MakeEvent(const std::string& id) {
  v1::Event event;
  event.set_event_id(id);
  event.set_tenant("acme");
  event.set_type(v1::EVENT_TYPE_CALL_REGISTERED);
  return event;
}

class OutboxForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const char* dir = std::getenv("TEST_TMPDIR");
    sql::SqliteOptions options;
    options.path = absl::StrCat(dir ? dir : "/tmp", "/outbox_", getpid(), "_",
                                counter++, ".db");
    auto db = sql::SqliteDatabase::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto store = SqlCallStore::Open(db_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  double Metric(const std::string& name) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        return family.type == prometheus::MetricType::Counter ? m.counter.value
                                                              : m.gauge.value;
      }
    }
    return -1;
  }

  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlCallStore> store_;
  FlakySink sink_;
  EventBell bell_;
  prometheus::Registry registry_;
};

TEST_F(OutboxForwarderTest, FailedBatchStaysInTheOutboxAndIsRetriedInOrder) {
  ASSERT_TRUE(
      store_->AppendEvents({MakeEvent("e1"), MakeEvent("e2"), MakeEvent("e3")})
          .ok());
  OutboxForwarderOptions options;
  options.batch_size = 2;
  OutboxForwarder forwarder(store_.get(), &sink_, &bell_, options, &registry_);
  sink_.FailNext(1);
  absl::StatusOr<int> first = forwarder.DeliverBatch();
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->PendingEvents(10)->size(), 3u);
  EXPECT_EQ(Metric("sotto_broker_outbox_delivery_failures_total"), 1);

  EXPECT_EQ(*forwarder.DeliverBatch(), 2);
  EXPECT_EQ(*forwarder.DeliverBatch(), 1);
  EXPECT_EQ(*forwarder.DeliverBatch(), 0);
  EXPECT_THAT(sink_.received(), ::testing::ElementsAre("e1", "e2", "e3"));
  EXPECT_TRUE(store_->PendingEvents(10)->empty());
  EXPECT_EQ(Metric("sotto_broker_outbox_delivered_total"), 3);
}

TEST_F(OutboxForwarderTest, RunningForwarderDeliversWhatIsWrittenAndRecovers) {
  OutboxForwarderOptions options;
  options.poll_interval = absl::Seconds(30);  // only the bell may wake it
  options.initial_backoff = absl::Milliseconds(10);
  OutboxForwarder forwarder(store_.get(), &sink_, &bell_, options, &registry_);
  sink_.FailNext(3);
  forwarder.Start();
  ASSERT_TRUE(store_->AppendEvents({MakeEvent("e1")}).ok());
  bell_.Ring();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (sink_.received().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_THAT(sink_.received(), ::testing::ElementsAre("e1"));
  EXPECT_EQ(sink_.attempts(), 4);  // three failures, then through
  ASSERT_TRUE(store_->AppendEvents({MakeEvent("e2")}).ok());
  // Stop flushes what is pending even though the poll is 30 s away.
  forwarder.Stop(absl::Seconds(5));
  EXPECT_THAT(sink_.received(), ::testing::ElementsAre("e1", "e2"));
}

TEST_F(OutboxForwarderTest, BackoffDoublesWithJitterUpToTheCeiling) {
  OutboxForwarderOptions options;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Seconds(2);
  OutboxForwarder forwarder(store_.get(), &sink_, &bell_, options, nullptr);
  for (int i = 0; i < 50; ++i) {
    const absl::Duration first = forwarder.Backoff(1);
    EXPECT_GE(first, absl::Milliseconds(50));
    EXPECT_LE(first, absl::Milliseconds(100));
    const absl::Duration third = forwarder.Backoff(3);
    EXPECT_GE(third, absl::Milliseconds(200));
    EXPECT_LE(third, absl::Milliseconds(400));
    const absl::Duration late = forwarder.Backoff(40);
    EXPECT_GE(late, absl::Seconds(1));
    EXPECT_LE(late, absl::Seconds(2));
  }
}

}  // namespace
}  // namespace sotto::broker
