// Broker (the core) with a fake policy and a fake media engine, on a real
// SqlCallStore over SQLite: the supervision flow drives the media engine by
// the design's routing matrix; denials are refused and audited; other
// tenants' calls do not exist; request ids make retries harmless.
#include "services/broker/broker.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/broker/sql_call_store.h"
#include "services/common/sql/sqlite_database.h"
#include "tests/services/broker/broker_fakes.h"
#include "tests/services/common/sql/test_backends.h"

namespace sotto::broker::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kRoom[] = "tenants/acme/calls/c1";

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const auto& assert_ok_ = (expr);                     \
    ASSERT_TRUE(assert_ok_.ok()) << assert_ok_.status(); \
  } while (0)

v1::MediaOffer PlainOffer(uint32_t port) {
  v1::MediaOffer offer;
  offer.mutable_remote_rtp()->set_address("127.0.0.1");
  offer.mutable_remote_rtp()->set_port(port);
  offer.set_codec(v1::CODEC_PCMU);
  offer.mutable_remote_key()->set_suite(v1::CRYPTO_SUITE_PLAIN_RTP);
  return offer;
}

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status ready = backend_.SetUp();
    ASSERT_TRUE(ready.ok()) << ready;
    auto db = backend_.Open();
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto store = SqlCallStore::Open(db_.get());
    ASSERT_OK(store);
    store_ = std::move(*store);
    EngineRecord engine;
    engine.engine_id = "media-0";
    engine.control_address = "127.0.0.1:7102";
    engine.media_address = "127.0.0.1";
    engine.capacity_rooms = 10;
    ASSERT_TRUE(engines_.Register(engine, now_).ok());

    using A = v1::Action;
    policy_.AddUser("integrator", "acme", "pbx",
                    {{A::ACTION_CALLS_MANAGE}, {}, 0, 0});
    const std::vector<v1::Mode> all = {v1::MODE_LISTEN, v1::MODE_WHISPER,
                                       v1::MODE_BARGE, v1::MODE_TAKEOVER};
    policy_.AddUser(
        "lead1", "acme", "lead-1",
        {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE}, all, 20, 3});
    policy_.AddUser(
        "lead2", "acme", "lead-2",
        {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE}, all, 20, 3});
    policy_.AddUser("qa", "acme", "qa-1",
                    {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE},
                     {v1::MODE_LISTEN},
                     5,
                     0});
    policy_.AddUser("globex", "globex", "g-sup",
                    {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE,
                      A::ACTION_CALLS_MANAGE},
                     all,
                     100,
                     0});
    BrokerOptions options_with_clock;
    options_with_clock.clock = [this] { return now_; };
    broker_ = std::make_unique<Broker>(&policy_, &media_, store_.get(),
                                       &engines_, options_with_clock);
  }

  v1::RegisterCallRequest Registration(const std::string& call_id = "c1",
                                       const std::string& request_id = "r1") {
    v1::RegisterCallRequest request;
    request.set_parent("tenants/acme");
    request.set_call_id(call_id);
    request.set_queue("sales");
    *request.mutable_customer()->mutable_media() = PlainOffer(40000);
    request.mutable_agent()->set_user_id("a-1");
    request.mutable_agent()->set_team("team-a");
    *request.mutable_agent()->mutable_media() = PlainOffer(40002);
    request.set_monitoring_disclosed(true);
    request.set_request_id(request_id);
    return request;
  }

  absl::StatusOr<v1::Supervision> Supervise(const std::string& token,
                                            v1::Mode mode,
                                            const std::string& request_id) {
    v1::CreateSupervisionRequest request;
    request.set_parent(kRoom);
    request.set_mode(mode);
    *request.mutable_media() = PlainOffer(40004);
    request.set_request_id(request_id);
    return broker_->CreateSupervision(token, request);
  }

  absl::StatusOr<v1::Supervision> Switch(const std::string& token,
                                         const std::string& name, v1::Mode mode,
                                         const std::string& request_id,
                                         bool preempt = false) {
    v1::SetSupervisionModeRequest request;
    request.set_name(name);
    request.set_mode(mode);
    request.set_preempt_takeover(preempt);
    request.set_request_id(request_id);
    return broker_->SetSupervisionMode(token, request);
  }

  // A broker on the same store and fakes that records calls.
  std::unique_ptr<Broker> RecordingBroker(RecorderClient* recorder) {
    BrokerOptions options;
    options.clock = [this] { return now_; };
    options.recorder = recorder;
    return std::make_unique<Broker>(&policy_, &media_, store_.get(), &engines_,
                                    options);
  }

  std::vector<v1::Event> Outbox() {
    std::vector<v1::Event> out;
    auto pending = store_->PendingEvents(1000);
    EXPECT_TRUE(pending.ok()) << pending.status();
    if (pending.ok()) {
      for (const OutboxEntry& e : *pending) out.push_back(e.event);
    }
    return out;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  void TearDown() override {
    broker_.reset();
    store_.reset();
    db_.reset();
    backend_.TearDown();
  }

  // The same tests on both stores (broker_postgres_test defines it).
#ifdef SOTTO_BROKER_TEST_POSTGRES
  sql::testing::PostgresTestBackend backend_;
#else
  sql::testing::SqliteTestBackend backend_;
#endif
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlCallStore> store_;
  EngineRegistry engines_{absl::Seconds(10)};
  FakePolicy policy_;
  FakeMedia media_;
  std::unique_ptr<Broker> broker_;
};

const std::set<std::string> kBase = {"customer>agent-1", "agent-1>customer"};

std::set<std::string> With(std::set<std::string> routes,
                           std::initializer_list<const char*> more) {
  for (const char* r : more) routes.insert(r);
  return routes;
}

TEST_F(BrokerTest, SupervisionFlowDrivesTheEngineByTheDesignMatrix) {
  absl::StatusOr<v1::Call> call =
      broker_->RegisterCall("integrator", Registration());
  ASSERT_OK(call);
  EXPECT_EQ(call->name(), kRoom);
  EXPECT_EQ(call->media_engine(), "media-0");
  EXPECT_EQ(media_.routing(kRoom), kBase);
  EXPECT_THAT(media_.log(),
              ElementsAre("AddLeg customer", "AddLeg agent-1", "SetRouting"));
  // The integrator owns the customer and agent legs: it gets their keys.
  EXPECT_EQ(call->participants(0).media().local_key().inline_key(),
            "key-customer");
  EXPECT_EQ(call->routing().entries_size(), 2);

  absl::StatusOr<v1::Supervision> s = Supervise("lead1", v1::MODE_LISTEN, "s1");
  ASSERT_OK(s);
  EXPECT_EQ(s->name(), absl::StrCat(kRoom, "/supervisions/1"));
  EXPECT_EQ(s->media().local_key().inline_key(), "key-supervisor-1");
  // LISTEN: the supervisor hears both; nobody hears it.
  const std::set<std::string> listen =
      With(kBase, {"customer>supervisor-1", "agent-1>supervisor-1"});
  EXPECT_EQ(media_.routing(kRoom), listen);

  ASSERT_OK(Switch("lead1", s->name(), v1::MODE_WHISPER, "m1"));
  EXPECT_EQ(media_.routing(kRoom), With(listen, {"supervisor-1>agent-1"}));
  ASSERT_OK(Switch("lead1", s->name(), v1::MODE_BARGE, "m2"));
  EXPECT_EQ(media_.routing(kRoom),
            With(listen, {"supervisor-1>agent-1", "supervisor-1>customer"}));
  absl::StatusOr<v1::Supervision> takeover =
      Switch("lead1", s->name(), v1::MODE_TAKEOVER, "m3");
  ASSERT_OK(takeover);
  EXPECT_EQ(takeover->mode(), v1::MODE_TAKEOVER);
  EXPECT_EQ(
      media_.routing(kRoom),
      (std::set<std::string>{"customer>agent-1", "customer>supervisor-1",
                             "agent-1>supervisor-1", "supervisor-1>agent-1",
                             "supervisor-1>customer"}));

  // GetCall shows the matrix in force.
  v1::GetCallRequest get;
  get.set_name(kRoom);
  absl::StatusOr<v1::Call> seen = broker_->GetCall("lead1", get);
  ASSERT_OK(seen);
  std::set<std::string> shown;
  for (const auto& e : seen->routing().entries()) {
    shown.insert(absl::StrCat(e.source(), ">", e.sink()));
  }
  EXPECT_EQ(shown, media_.routing(kRoom));

  v1::DeleteSupervisionRequest release;
  release.set_name(s->name());
  release.set_request_id("d1");
  absl::StatusOr<v1::Supervision> released =
      broker_->DeleteSupervision("lead1", release);
  ASSERT_OK(released);
  EXPECT_EQ(released->state(), v1::Supervision::RELEASED);
  EXPECT_EQ(media_.routing(kRoom), kBase);

  v1::EndCallRequest end;
  end.set_name(kRoom);
  end.set_request_id("e1");
  absl::StatusOr<v1::Call> ended = broker_->EndCall("integrator", end);
  ASSERT_OK(ended);
  EXPECT_EQ(ended->state(), v1::Call::ENDED);
  EXPECT_FALSE(media_.has_room(kRoom));
  EXPECT_THAT(media_.log(),
              ElementsAre("AddLeg customer", "AddLeg agent-1", "SetRouting",
                          "AddLeg supervisor-1", "SetRouting", "SetRouting",
                          "SetRouting", "SetRouting", "RemoveLeg supervisor-1",
                          "SetRouting", "DeleteRoom"));

  std::vector<v1::EventType> types;
  for (const v1::Event& e : Outbox()) {
    if (e.type() != v1::EVENT_TYPE_ACCESS_GRANTED) types.push_back(e.type());
  }
  EXPECT_THAT(types, ElementsAre(v1::EVENT_TYPE_CALL_REGISTERED,
                                 v1::EVENT_TYPE_SUPERVISION_STARTED,
                                 v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED,
                                 v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED,
                                 v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED,
                                 v1::EVENT_TYPE_SUPERVISION_ENDED,
                                 v1::EVENT_TYPE_CALL_ENDED));
}

TEST_F(BrokerTest, HoldSilencesTheCustomerAndLetsStaffTalk) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  ASSERT_OK(Supervise("lead1", v1::MODE_LISTEN, "s1"));
  v1::HoldCallRequest hold;
  hold.set_name(kRoom);
  hold.set_request_id("h1");
  absl::StatusOr<v1::Call> held = broker_->HoldCall("integrator", hold);
  ASSERT_OK(held);
  EXPECT_EQ(held->state(), v1::Call::ON_HOLD);
  EXPECT_EQ(
      media_.routing(kRoom),
      (std::set<std::string>{"agent-1>supervisor-1", "supervisor-1>agent-1"}));
  v1::ResumeCallRequest resume;
  resume.set_name(kRoom);
  resume.set_request_id("h2");
  ASSERT_OK(broker_->ResumeCall("integrator", resume));
  EXPECT_EQ(media_.routing(kRoom),
            With(kBase, {"customer>supervisor-1", "agent-1>supervisor-1"}));
}

TEST_F(BrokerTest, DeniedModeIsRefusedWithThePolicyReasonAndAudited) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  absl::StatusOr<v1::Supervision> denied =
      Supervise("qa", v1::MODE_BARGE, "q1");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(), HasSubstr("no rule grants"));
  const std::vector<v1::Event> events = Outbox();
  const v1::Event& audit = events.back();
  EXPECT_EQ(audit.type(), v1::EVENT_TYPE_ACCESS_DENIED);
  EXPECT_EQ(audit.actor(), "qa-1");
  EXPECT_EQ(audit.action(), "calls.supervise");
  EXPECT_EQ(audit.mode(), v1::MODE_BARGE);
  EXPECT_EQ(audit.policy_rule(), "default-deny");
  EXPECT_EQ(audit.call(), kRoom);
  // Nothing reached the media engine.
  EXPECT_EQ(media_.routing(kRoom), kBase);

  // Allowed in LISTEN, then refused a switch to BARGE.
  absl::StatusOr<v1::Supervision> listen =
      Supervise("qa", v1::MODE_LISTEN, "q2");
  ASSERT_OK(listen);
  EXPECT_EQ(Switch("qa", listen->name(), v1::MODE_BARGE, "q3").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Outbox().back().type(), v1::EVENT_TYPE_ACCESS_DENIED);
  // Supervisors may not manage calls; the integrator may not supervise.
  v1::EndCallRequest end;
  end.set_name(kRoom);
  EXPECT_EQ(broker_->EndCall("lead1", end).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Supervise("integrator", v1::MODE_LISTEN, "i1").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(BrokerTest, AnotherTenantsCallIsNotFound) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  v1::GetCallRequest get;
  get.set_name(kRoom);
  absl::Status other = broker_->GetCall("globex", get).status();
  get.set_name("tenants/acme/calls/never");
  absl::Status missing = broker_->GetCall("lead1", get).status();
  EXPECT_EQ(other.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Supervise("globex", v1::MODE_LISTEN, "g1").status().code(),
            absl::StatusCode::kNotFound);
  v1::EndCallRequest end;
  end.set_name(kRoom);
  EXPECT_EQ(broker_->EndCall("globex", end).status().code(),
            absl::StatusCode::kNotFound);
  v1::ListCallsRequest list;
  list.set_parent("tenants/acme");
  EXPECT_EQ(broker_->ListCalls("globex", list).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(media_.has_room(kRoom));
}

TEST_F(BrokerTest, RetriedRequestReturnsTheFirstResponseAndChangesNothing) {
  absl::StatusOr<v1::Call> first =
      broker_->RegisterCall("integrator", Registration());
  ASSERT_OK(first);
  absl::StatusOr<v1::Call> retry =
      broker_->RegisterCall("integrator", Registration());
  ASSERT_OK(retry);
  EXPECT_EQ(retry->SerializeAsString(), first->SerializeAsString());
  // The same call id under another request id already exists.
  EXPECT_EQ(broker_->RegisterCall("integrator", Registration("c1", "r9"))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  // The same request id for another request is refused.
  EXPECT_EQ(broker_->RegisterCall("integrator", Registration("c2", "r1"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<v1::Supervision> s = Supervise("lead1", v1::MODE_LISTEN, "s1");
  ASSERT_OK(s);
  ASSERT_OK(Switch("lead1", s->name(), v1::MODE_WHISPER, "m1"));
  ASSERT_OK(Switch("lead1", s->name(), v1::MODE_LISTEN, "m2"));
  const size_t media_calls = media_.log().size();
  const size_t events = Outbox().size();
  // A late retry of m1 answers WHISPER again, but does not switch back.
  absl::StatusOr<v1::Supervision> late =
      Switch("lead1", s->name(), v1::MODE_WHISPER, "m1");
  ASSERT_OK(late);
  EXPECT_EQ(late->mode(), v1::MODE_WHISPER);
  EXPECT_EQ(media_.log().size(), media_calls);
  EXPECT_EQ(Outbox().size(), events);
  ASSERT_OK(Supervise("lead1", v1::MODE_LISTEN, "s1"));
  EXPECT_EQ(media_.log().size(), media_calls);
  v1::GetSupervisionRequest get;
  get.set_name(s->name());
  EXPECT_EQ(broker_->GetSupervision("lead1", get)->mode(), v1::MODE_LISTEN);
}

TEST_F(BrokerTest, TakeoverHeldByAnotherIsRefusedNamingTheHolder) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  absl::StatusOr<v1::Supervision> first =
      Supervise("lead1", v1::MODE_TAKEOVER, "s1");
  ASSERT_OK(first);
  absl::StatusOr<v1::Supervision> second =
      Supervise("lead2", v1::MODE_BARGE, "s2");
  ASSERT_OK(second);
  const std::set<std::string> before = media_.routing(kRoom);
  absl::StatusOr<v1::Supervision> refused =
      Switch("lead2", second->name(), v1::MODE_TAKEOVER, "m1");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("lead-1"));
  // Equal rank cannot pre-empt either.
  EXPECT_EQ(Switch("lead2", second->name(), v1::MODE_TAKEOVER, "m2", true)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(media_.routing(kRoom), before);
  // Attaching straight into TAKEOVER is refused the same way.
  absl::Status attach = Supervise("qa", v1::MODE_LISTEN, "s3").status();
  EXPECT_TRUE(attach.ok()) << attach;
  // Someone else's supervision cannot be switched.
  EXPECT_EQ(
      Switch("lead2", first->name(), v1::MODE_LISTEN, "m3").status().code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(BrokerTest, KeysGoOnlyToTheLegsOwner) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  ASSERT_OK(Supervise("lead1", v1::MODE_LISTEN, "s1"));
  v1::GetCallRequest get;
  get.set_name(kRoom);
  absl::StatusOr<v1::Call> lead = broker_->GetCall("lead1", get);
  ASSERT_OK(lead);
  ASSERT_EQ(lead->participants_size(), 3);
  EXPECT_FALSE(lead->participants(0).media().has_local_key());  // customer
  EXPECT_FALSE(lead->participants(1).media().has_local_key());  // agent
  EXPECT_EQ(lead->participants(2).media().local_key().inline_key(),
            "key-supervisor-1");
  absl::StatusOr<v1::Call> pbx = broker_->GetCall("integrator", get);
  ASSERT_OK(pbx);
  EXPECT_EQ(pbx->participants(0).media().local_key().inline_key(),
            "key-customer");
  EXPECT_FALSE(pbx->participants(2).media().has_local_key());
  EXPECT_FALSE(pbx->supervisions(0).media().has_local_key());
  absl::StatusOr<v1::Call> qa = broker_->GetCall("qa", get);
  ASSERT_OK(qa);
  EXPECT_FALSE(qa->supervisions(0).media().has_local_key());
  // Nor does the SDP, whose a=crypto line would carry the same key.
  EXPECT_THAT(lead->participants(0).media().sdp(),
              ::testing::Not(HasSubstr("inline:")));
  EXPECT_THAT(lead->participants(2).media().sdp(), HasSubstr("inline:"));
  EXPECT_THAT(pbx->supervisions(0).media().sdp(),
              ::testing::Not(HasSubstr("inline:")));
  for (const v1::Participant& p : qa->participants()) {
    EXPECT_THAT(p.media().sdp(), ::testing::Not(HasSubstr("inline:")))
        << p.name();
  }
}

TEST_F(BrokerTest, MissingOrBadTokenIsUnauthenticated) {
  EXPECT_EQ(broker_->RegisterCall("", Registration()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(broker_->RegisterCall("forged", Registration()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(media_.log().empty());
}

TEST_F(BrokerTest, ListCallsFiltersAndPagesWithinTheTenant) {
  for (int i = 0; i < 5; ++i) {
    v1::RegisterCallRequest r =
        Registration(absl::StrCat("c", i), absl::StrCat("r", i));
    r.set_queue(i % 2 ? "billing" : "sales");
    ASSERT_OK(broker_->RegisterCall("integrator", r));
    now_ += absl::Seconds(1);
  }
  v1::ListCallsRequest list;
  list.set_parent("tenants/acme");
  list.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    absl::StatusOr<v1::ListCallsResponse> response =
        broker_->ListCalls("lead1", list);
    ASSERT_OK(response);
    for (const v1::Call& c : response->calls()) seen.push_back(c.call_id());
    if (response->next_page_token().empty()) break;
    list.set_page_token(response->next_page_token());
  }
  EXPECT_THAT(seen, ElementsAre("c4", "c3", "c2", "c1", "c0"));
  // A token with other filters is refused.
  list.set_queue("sales");
  EXPECT_EQ(broker_->ListCalls("lead1", list).status().code(),
            absl::StatusCode::kInvalidArgument);
  list.clear_page_token();
  list.set_page_size(0);
  absl::StatusOr<v1::ListCallsResponse> sales =
      broker_->ListCalls("lead1", list);
  ASSERT_OK(sales);
  EXPECT_EQ(sales->calls_size(), 3);
  list.set_page_size(-1);
  EXPECT_EQ(broker_->ListCalls("lead1", list).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BrokerTest, ConcurrentSwitchesLeaveTheEngineOnTheStoredMatrix) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  absl::StatusOr<v1::Supervision> one =
      Supervise("lead1", v1::MODE_LISTEN, "a");
  absl::StatusOr<v1::Supervision> two =
      Supervise("lead2", v1::MODE_LISTEN, "b");
  ASSERT_OK(one);
  ASSERT_OK(two);
  auto flip = [this](const std::string& token, const std::string& name) {
    for (int i = 0; i < 20; ++i) {
      const v1::Mode mode = i % 2 ? v1::MODE_LISTEN : v1::MODE_WHISPER;
      absl::Status s =
          Switch(token, name, mode, absl::StrCat(token, "-", i)).status();
      EXPECT_TRUE(s.ok() || absl::IsAborted(s)) << s;
    }
  };
  std::thread a(flip, "lead1", one->name());
  std::thread b(flip, "lead2", two->name());
  a.join();
  b.join();
  v1::GetCallRequest get;
  get.set_name(kRoom);
  absl::StatusOr<v1::Call> call = broker_->GetCall("lead1", get);
  ASSERT_OK(call);
  std::set<std::string> shown;
  for (const auto& e : call->routing().entries()) {
    shown.insert(absl::StrCat(e.source(), ">", e.sink()));
  }
  EXPECT_EQ(shown, media_.routing(kRoom));
}

TEST_F(BrokerTest, FailedLegPlacementLeavesNoCall) {
  media_.FailNextAddLeg(absl::ResourceExhaustedError("no ports"));
  EXPECT_EQ(broker_->RegisterCall("integrator", Registration()).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(media_.has_room(kRoom));
  v1::GetCallRequest get;
  get.set_name(kRoom);
  EXPECT_EQ(broker_->GetCall("integrator", get).status().code(),
            absl::StatusCode::kNotFound);
  // The same request id may be retried after an error.
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
}

// A watch stream run on its own thread, as gRPC would.
class Watch {
 public:
  template <typename Start>
  explicit Watch(Start start) {
    thread_ = std::thread([this, start] {
      absl::Status status = start(
          [this](const v1::CallEvent& event) {
            std::lock_guard<std::mutex> lock(mu_);
            events_.push_back(event);
            return true;
          },
          [this] { return cancelled_.load(); });
      std::lock_guard<std::mutex> lock(mu_);
      result_ = status;
      done_ = true;
    });
  }
  ~Watch() {
    cancelled_ = true;
    thread_.join();
  }
  // Waits (up to 10 s) until `n` events came; the events then.
  std::vector<v1::CallEvent> WaitFor(size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (events_.size() >= n || done_) break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // Waits (up to 10 s) for the stream to end; its status.
  std::optional<absl::Status> WaitDone() {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (done_) return result_;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return std::nullopt;
  }
  void Cancel() { cancelled_ = true; }

 private:
  std::mutex mu_;
  std::vector<v1::CallEvent> events_;
  absl::Status result_;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
};

std::vector<v1::EventType> Types(const std::vector<v1::CallEvent>& events) {
  std::vector<v1::EventType> out;
  for (const v1::CallEvent& e : events) out.push_back(e.event().type());
  return out;
}

TEST_F(BrokerTest, WatcherSeesSnapshotThenEveryChangeUntilTheCallEnds) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  v1::WatchCallRequest request;
  request.set_name(kRoom);
  Watch watch([&](const CallEventWriter& write,
                  const std::function<bool()>& cancelled) {
    return broker_->WatchCall("lead2", request, write, cancelled);
  });
  ASSERT_EQ(watch.WaitFor(1).size(), 1u);  // the snapshot

  absl::StatusOr<v1::Supervision> s = Supervise("lead1", v1::MODE_LISTEN, "s1");
  ASSERT_OK(s);
  ASSERT_OK(Switch("lead1", s->name(), v1::MODE_WHISPER, "m1"));
  v1::EndCallRequest end;
  end.set_name(kRoom);
  end.set_request_id("e1");
  ASSERT_OK(broker_->EndCall("integrator", end));

  std::optional<absl::Status> result = watch.WaitDone();
  ASSERT_TRUE(result.has_value()) << "the stream did not end with the call";
  EXPECT_TRUE(result->ok()) << *result;
  std::vector<v1::CallEvent> events = watch.WaitFor(0);
  std::vector<v1::EventType> types = Types(events);
  ASSERT_GE(types.size(), 4u);
  EXPECT_EQ(types.front(), v1::EVENT_TYPE_UNSPECIFIED);
  EXPECT_EQ(types.back(), v1::EVENT_TYPE_CALL_ENDED);
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_SUPERVISION_STARTED));
  EXPECT_THAT(types,
              ::testing::Contains(v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED));
  // Audits are not for watchers, and no key ever is.
  EXPECT_THAT(types, ::testing::Not(
                         ::testing::Contains(v1::EVENT_TYPE_ACCESS_GRANTED)));
  for (const v1::CallEvent& e : events) {
    for (const v1::Participant& p : e.call().participants()) {
      EXPECT_TRUE(p.media().local_key().inline_key().empty())
          << "a watcher got the key of " << p.name();
      EXPECT_THAT(p.media().sdp(), ::testing::Not(HasSubstr("inline:")))
          << "a watcher got the SDP key of " << p.name();
    }
  }
  // The call carried by the mode change is the call after it.
  for (const v1::CallEvent& e : events) {
    if (e.event().type() == v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED) {
      EXPECT_EQ(e.event().mode(), v1::MODE_WHISPER);
    }
  }
}

TEST_F(BrokerTest, WatchCallsShowsOnlyCallsTheWatcherMayView) {
  using A = v1::Action;
  policy_.AddUser("lead-a", "acme", "lead-a",
                  {{A::ACTION_CALLS_VIEW}, {}, 0, 0, {"team-a"}});
  ASSERT_OK(broker_->RegisterCall("integrator", Registration("c1", "r1")));
  v1::RegisterCallRequest other = Registration("c2", "r2");
  other.mutable_agent()->set_team("team-b");
  ASSERT_OK(broker_->RegisterCall("integrator", other));

  v1::WatchCallsRequest request;
  request.set_parent("tenants/acme");
  Watch watch([&](const CallEventWriter& write,
                  const std::function<bool()>& cancelled) {
    return broker_->WatchCalls("lead-a", request, write, cancelled);
  });
  std::vector<v1::CallEvent> snapshot = watch.WaitFor(1);
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].call().name(), "tenants/acme/calls/c1");

  // team-b's call changes first: by the time c1's hold arrives, c2's has
  // been seen and must have been held back.
  v1::HoldCallRequest hold;
  hold.set_name("tenants/acme/calls/c2");
  hold.set_request_id("h2");
  ASSERT_OK(broker_->HoldCall("integrator", hold));
  hold.set_name("tenants/acme/calls/c1");
  hold.set_request_id("h1");
  ASSERT_OK(broker_->HoldCall("integrator", hold));
  std::vector<v1::CallEvent> events = watch.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].event().type(), v1::EVENT_TYPE_CALL_HELD);
  EXPECT_EQ(events[1].call().name(), "tenants/acme/calls/c1");
  EXPECT_EQ(events[1].call().state(), v1::Call::ON_HOLD);

  watch.Cancel();
  std::optional<absl::Status> result = watch.WaitDone();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kCancelled);
}

TEST_F(BrokerTest, WatchersOfAnotherTenantOrWithoutRightsGetNothing) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  v1::WatchCallRequest request;
  request.set_name(kRoom);
  int writes = 0;
  auto write = [&](const v1::CallEvent&) { return ++writes > 0; };
  auto never = [] { return false; };
  EXPECT_EQ(broker_->WatchCall("globex", request, write, never).code(),
            absl::StatusCode::kNotFound);
  using A = v1::Action;
  policy_.AddUser("nobody", "acme", "nobody",
                  {{A::ACTION_CALLS_SUPERVISE}, {v1::MODE_LISTEN}, 0, 0, {}});
  EXPECT_EQ(broker_->WatchCall("nobody", request, write, never).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(broker_->WatchCall("", request, write, never).code(),
            absl::StatusCode::kUnauthenticated);
  v1::WatchCallsRequest all;
  all.set_parent("tenants/globex");
  EXPECT_EQ(broker_->WatchCalls("lead1", all, write, never).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(writes, 0);
}

TEST_F(BrokerTest, ShutdownEndsWatchStreamsWithUnavailable) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  v1::WatchCallRequest request;
  request.set_name(kRoom);
  Watch watch([&](const CallEventWriter& write,
                  const std::function<bool()>& cancelled) {
    return broker_->WatchCall("lead1", request, write, cancelled);
  });
  ASSERT_EQ(watch.WaitFor(1).size(), 1u);
  broker_->StopWatches();
  std::optional<absl::Status> result = watch.WaitDone();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result->message(), HasSubstr("watch again"));
}

TEST_F(BrokerTest, TransferKeepsDowngradesOrDetachesEachSupervisorByPolicy) {
  using A = v1::Action;
  const std::vector<v1::Mode> all = {v1::MODE_LISTEN, v1::MODE_WHISPER,
                                     v1::MODE_BARGE, v1::MODE_TAKEOVER};
  // coach-a coaches team-a and may only listen elsewhere; qa-a listens to
  // team-a only.
  policy_.AddUser("coach-a", "acme", "coach-a",
                  {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE},
                   all,
                   10,
                   3,
                   {"team-a"},
                   {v1::MODE_LISTEN},
                   v1::MODE_LISTEN});
  policy_.AddUser("qa-a", "acme", "qa-a",
                  {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE},
                   {v1::MODE_LISTEN},
                   5,
                   3,
                   {"team-a"}});
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  absl::StatusOr<v1::Supervision> lead =
      Supervise("lead1", v1::MODE_LISTEN, "s1");
  ASSERT_OK(lead);
  ASSERT_OK(Switch("lead1", lead->name(), v1::MODE_WHISPER, "m1"));
  absl::StatusOr<v1::Supervision> coach =
      Supervise("coach-a", v1::MODE_LISTEN, "s2");
  ASSERT_OK(coach);
  ASSERT_OK(Switch("coach-a", coach->name(), v1::MODE_BARGE, "m2"));
  absl::StatusOr<v1::Supervision> qa = Supervise("qa-a", v1::MODE_LISTEN, "s3");
  ASSERT_OK(qa);

  v1::TransferCallRequest transfer;
  transfer.set_name(kRoom);
  transfer.mutable_new_agent()->set_user_id("a-2");
  transfer.mutable_new_agent()->set_team("team-b");
  *transfer.mutable_new_agent()->mutable_media() = PlainOffer(40010);
  transfer.set_reason("escalated to billing");
  transfer.set_request_id("t1");
  absl::StatusOr<v1::TransferCallResponse> response =
      broker_->TransferCall("integrator", transfer);
  ASSERT_OK(response);

  ASSERT_EQ(response->supervision_outcomes_size(), 3);
  using O = v1::TransferCallResponse::SupervisionOutcome;
  const O& kept = response->supervision_outcomes(0);
  EXPECT_EQ(kept.supervision(), lead->name());
  EXPECT_EQ(kept.outcome(), O::KEPT);
  EXPECT_EQ(kept.mode(), v1::MODE_WHISPER);
  const O& lowered = response->supervision_outcomes(1);
  EXPECT_EQ(lowered.supervision(), coach->name());
  EXPECT_EQ(lowered.outcome(), O::DOWNGRADED);
  EXPECT_EQ(lowered.mode(), v1::MODE_LISTEN);
  EXPECT_EQ(lowered.policy_rule(), "grant-coach-a-elsewhere");
  const O& detached = response->supervision_outcomes(2);
  EXPECT_EQ(detached.supervision(), qa->name());
  EXPECT_EQ(detached.outcome(), O::DETACHED);
  EXPECT_EQ(detached.policy_rule(), "default-deny");
  EXPECT_FALSE(detached.reason().empty());

  // The media: the new agent replaces the old in the matrix; the
  // whisperer now whispers to the new agent; the detached listener's leg
  // is gone and the downgraded one only listens.
  const std::vector<std::string> log = media_.log();
  EXPECT_THAT(log, ::testing::Contains("AddLeg agent-2"));
  EXPECT_THAT(log, ::testing::Contains("RemoveLeg agent-1"));
  EXPECT_THAT(log, ::testing::Contains("RemoveLeg supervisor-3"));
  const std::set<std::string> routes = media_.routing(kRoom);
  EXPECT_EQ(routes,
            (std::set<std::string>{
                "customer>agent-2", "agent-2>customer", "customer>supervisor-1",
                "agent-2>supervisor-1", "supervisor-1>agent-2",
                "customer>supervisor-2", "agent-2>supervisor-2",
                // the design: staff hear a whispering colleague
                "supervisor-1>supervisor-2"}));

  std::vector<v1::EventType> types;
  std::string previous_agent;
  for (const v1::Event& e : Outbox()) {
    types.push_back(e.type());
    if (e.type() == v1::EVENT_TYPE_CALL_TRANSFERRED) {
      previous_agent = e.previous_agent_id();
      EXPECT_EQ(e.agent_id(), "a-2");
      EXPECT_EQ(e.team(), "team-b");
      EXPECT_EQ(e.reason(), "escalated to billing");
    }
  }
  EXPECT_EQ(previous_agent, "a-1");
  EXPECT_THAT(types,
              ::testing::Contains(v1::EVENT_TYPE_SUPERVISION_DOWNGRADED));
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_SUPERVISION_DETACHED));

  // A retry returns the first answer and does nothing again.
  const size_t calls_to_media = media_.log().size();
  absl::StatusOr<v1::TransferCallResponse> again =
      broker_->TransferCall("integrator", transfer);
  ASSERT_OK(again);
  EXPECT_EQ(again->supervision_outcomes_size(), 3);
  EXPECT_EQ(media_.log().size(), calls_to_media);
}

TEST_F(BrokerTest, TransferNeedsTheNewAgentAndTheRightToManage) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  v1::TransferCallRequest transfer;
  transfer.set_name(kRoom);
  transfer.set_request_id("t1");
  EXPECT_THAT(broker_->TransferCall("integrator", transfer).status().message(),
              HasSubstr("new_agent.user_id"));
  transfer.mutable_new_agent()->set_user_id("a-2");
  transfer.mutable_new_agent()->set_team("team-b");
  *transfer.mutable_new_agent()->mutable_media() = PlainOffer(40010);
  EXPECT_EQ(broker_->TransferCall("lead1", transfer).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(media_.routing(kRoom), kBase);  // nothing moved
}

TEST_F(BrokerTest, UpdateCallChangesOnlyTheMaskedFields) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  v1::UpdateCallRequest update;
  update.mutable_call()->set_name(kRoom);
  update.mutable_call()->set_queue("billing");
  update.mutable_call()->set_monitoring_disclosed(false);  // not in the mask
  update.set_request_id("u1");
  EXPECT_THAT(broker_->UpdateCall("integrator", update).status().message(),
              HasSubstr("update_mask is required"));
  update.mutable_update_mask()->add_paths("agent");
  EXPECT_THAT(broker_->UpdateCall("integrator", update).status().message(),
              HasSubstr("\"agent\" cannot be changed"));
  update.mutable_update_mask()->clear_paths();
  update.mutable_update_mask()->add_paths("queue");
  absl::StatusOr<v1::Call> updated = broker_->UpdateCall("integrator", update);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->queue(), "billing");
  EXPECT_TRUE(updated->monitoring_disclosed());
  EXPECT_EQ(updated->attributes_size(), 0);
  const std::vector<v1::Event> events = Outbox();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type(), v1::EVENT_TYPE_CALL_UPDATED);
  EXPECT_EQ(events.back().queue(), "billing");
  EXPECT_EQ(events.back().reason(), "queue");
  EXPECT_EQ(broker_->UpdateCall("lead1", update).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(BrokerTest, UpdateParticipantMediaReKeysTheSameLeg) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  absl::StatusOr<v1::Supervision> s = Supervise("lead1", v1::MODE_LISTEN, "s1");
  ASSERT_OK(s);
  v1::UpdateParticipantMediaRequest update;
  update.set_participant(absl::StrCat(kRoom, "/participants/customer"));
  *update.mutable_media() = PlainOffer(41000);
  update.set_request_id("m1");
  absl::StatusOr<v1::Participant> customer =
      broker_->UpdateParticipantMedia("integrator", update);
  ASSERT_OK(customer);
  EXPECT_EQ(customer->name(), update.participant());
  // The endpoint keeps the key it has: the engine did not rotate ours.
  EXPECT_EQ(customer->media().local_key().inline_key(), "key-customer");
  EXPECT_THAT(media_.log(), ::testing::Contains("UpdateLeg customer"));
  EXPECT_EQ(media_.routing(kRoom),
            With(kBase, {"customer>supervisor-1", "agent-1>supervisor-1"}));

  update.set_participant(absl::StrCat(kRoom, "/participants/supervisor-1"));
  update.set_request_id("m2");
  EXPECT_EQ(
      broker_->UpdateParticipantMedia("integrator", update).status().code(),
      absl::StatusCode::kFailedPrecondition);
  update.set_participant(absl::StrCat(kRoom, "/participants/nobody"));
  update.set_request_id("m3");
  EXPECT_EQ(
      broker_->UpdateParticipantMedia("integrator", update).status().code(),
      absl::StatusCode::kNotFound);
  update.set_participant(absl::StrCat(kRoom, "/legs/customer"));
  EXPECT_THAT(
      broker_->UpdateParticipantMedia("integrator", update).status().message(),
      HasSubstr("participants/{participant}"));
}

TEST_F(BrokerTest, ListSupervisionsShowsOwnAndViewableOnesInPages) {
  using A = v1::Action;
  policy_.AddUser("blind", "acme", "blind",
                  {{A::ACTION_CALLS_SUPERVISE}, {v1::MODE_LISTEN}, 0, 0, {}});
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  ASSERT_OK(Supervise("lead1", v1::MODE_LISTEN, "s1"));
  ASSERT_OK(Supervise("lead2", v1::MODE_LISTEN, "s2"));
  ASSERT_OK(Supervise("blind", v1::MODE_LISTEN, "s3"));

  v1::ListSupervisionsRequest list;
  list.set_parent("tenants/acme/calls/-");
  list.set_page_size(2);
  absl::StatusOr<v1::ListSupervisionsResponse> page =
      broker_->ListSupervisions("lead1", list);
  ASSERT_OK(page);
  ASSERT_EQ(page->supervisions_size(), 2);
  ASSERT_FALSE(page->next_page_token().empty());
  list.set_page_token(page->next_page_token());
  absl::StatusOr<v1::ListSupervisionsResponse> rest =
      broker_->ListSupervisions("lead1", list);
  ASSERT_OK(rest);
  ASSERT_EQ(rest->supervisions_size(), 1);
  EXPECT_TRUE(rest->next_page_token().empty());
  EXPECT_EQ(rest->supervisions(0).supervisor(), "blind");
  // Another filter with the old token is refused.
  list.set_supervisor("lead-2");
  EXPECT_EQ(broker_->ListSupervisions("lead1", list).status().code(),
            absl::StatusCode::kInvalidArgument);
  list.clear_page_token();
  absl::StatusOr<v1::ListSupervisionsResponse> filtered =
      broker_->ListSupervisions("lead1", list);
  ASSERT_OK(filtered);
  ASSERT_EQ(filtered->supervisions_size(), 1);
  EXPECT_EQ(filtered->supervisions(0).supervisor(), "lead-2");

  // Without the right to view the call, only one's own.
  v1::ListSupervisionsRequest mine;
  mine.set_parent(kRoom);
  absl::StatusOr<v1::ListSupervisionsResponse> own =
      broker_->ListSupervisions("blind", mine);
  ASSERT_OK(own);
  ASSERT_EQ(own->supervisions_size(), 1);
  EXPECT_EQ(own->supervisions(0).supervisor(), "blind");
  EXPECT_EQ(own->supervisions(0).media().local_key().inline_key(),
            "key-supervisor-3");
  mine.set_parent("tenants/globex/calls/-");
  EXPECT_EQ(broker_->ListSupervisions("blind", mine).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(BrokerTest, DeadEngineFailsItsCallsWithEvents) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  ASSERT_OK(Supervise("lead1", v1::MODE_LISTEN, "s1"));
  broker_->Maintain();  // starts the grace period
  now_ += absl::Seconds(5);
  broker_->Maintain();  // heartbeat 5 s old: alive
  v1::GetCallRequest get;
  get.set_name(kRoom);
  EXPECT_EQ(broker_->GetCall("integrator", get)->state(), v1::Call::ACTIVE);

  now_ += absl::Seconds(6);  // 11 s without a heartbeat, lease 10 s
  broker_->Maintain();
  absl::StatusOr<v1::Call> call = broker_->GetCall("integrator", get);
  ASSERT_OK(call);
  EXPECT_EQ(call->state(), v1::Call::FAILED);
  EXPECT_THAT(call->end_reason(), HasSubstr("media-0"));
  EXPECT_EQ(call->supervisions(0).state(), v1::Supervision::DETACHED);
  std::vector<v1::EventType> types;
  for (const v1::Event& e : Outbox()) types.push_back(e.type());
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_CALL_FAILED));
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_SUPERVISION_DETACHED));
  // No new call goes to the dead engine.
  EXPECT_EQ(broker_->RegisterCall("integrator", Registration("c2", "r2"))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(BrokerTest, RestartedBrokerReconcilesWithTheEngineAndKeepsLiveCalls) {
  ASSERT_OK(broker_->RegisterCall("integrator", Registration("c1", "r1")));
  ASSERT_OK(broker_->RegisterCall("integrator", Registration("c2", "r2")));
  broker_->Maintain();  // shares the engine through the store
  // While no broker runs, the engine loses c2's room (say it restarted
  // too); the broker then restarts with an empty registry.
  v1::DeleteRoomRequest lost;
  lost.set_room_id("tenants/acme/calls/c2");
  ASSERT_TRUE(media_.DeleteRoom("127.0.0.1:7102", lost).ok());
  now_ += absl::Seconds(30);
  EngineRegistry fresh(absl::Seconds(10));
  BrokerOptions options;
  options.clock = [this] { return now_; };
  Broker restarted(&policy_, &media_, store_.get(), &fresh, options);
  const size_t before = media_.log().size();
  restarted.Maintain();  // the stored heartbeat is 30 s old: grace
  v1::GetCallRequest get;
  get.set_name("tenants/acme/calls/c1");
  EXPECT_EQ(restarted.GetCall("integrator", get)->state(), v1::Call::ACTIVE);
  // The engine heartbeats again and is re-registered here.
  EngineRecord engine;
  engine.engine_id = "media-0";
  engine.control_address = "127.0.0.1:7102";
  engine.media_address = "127.0.0.1";
  engine.capacity_rooms = 10;
  now_ += absl::Seconds(2);
  ASSERT_TRUE(fresh.Register(engine, now_).ok());
  now_ += absl::Seconds(9);  // past the grace, heartbeat 9 s old
  restarted.Maintain();
  EXPECT_EQ(restarted.GetCall("integrator", get)->state(), v1::Call::ACTIVE);
  get.set_name("tenants/acme/calls/c2");
  absl::StatusOr<v1::Call> gone = restarted.GetCall("integrator", get);
  ASSERT_OK(gone);
  EXPECT_EQ(gone->state(), v1::Call::FAILED);
  EXPECT_THAT(gone->end_reason(), HasSubstr("no longer has the call's room"));
  // c1's room got its stored matrix again.
  const std::vector<std::string> log = media_.log();
  EXPECT_THAT(std::vector<std::string>(log.begin() + before, log.end()),
              ::testing::Contains("SetRouting"));
  EXPECT_EQ(media_.routing(kRoom), kBase);
  // And supervision works on the restarted broker.
  absl::StatusOr<v1::Supervision> s = [&] {
    v1::CreateSupervisionRequest request;
    request.set_parent(kRoom);
    request.set_mode(v1::MODE_WHISPER);
    *request.mutable_media() = PlainOffer(40004);
    request.set_request_id("after-restart");
    return restarted.CreateSupervision("lead1", request);
  }();
  ASSERT_OK(s);
  EXPECT_EQ(media_.routing(kRoom),
            With(kBase, {"customer>supervisor-1", "agent-1>supervisor-1",
                         "supervisor-1>agent-1"}));
}

TEST_F(BrokerTest, EnginesRegisteredOnOneReplicaPlaceCallsOnAnother) {
  broker_->Maintain();  // replica A saves the engine it heard from
  EngineRegistry other_registry(absl::Seconds(10));
  BrokerOptions options;
  options.clock = [this] { return now_; };
  Broker replica_b(&policy_, &media_, store_.get(), &other_registry, options);
  EXPECT_EQ(
      replica_b.RegisterCall("integrator", Registration()).status().code(),
      absl::StatusCode::kUnavailable);  // B has heard of no engine
  replica_b.Maintain();
  absl::StatusOr<v1::Call> call =
      replica_b.RegisterCall("integrator", Registration("c1", "r2"));
  ASSERT_OK(call);
  EXPECT_EQ(call->media_engine(), "media-0");
}

TEST_F(BrokerTest, CuesFollowPolicyOnlyWhenTheModeStarts) {
  using A = v1::Action;
  const std::vector<v1::Mode> all = {v1::MODE_LISTEN, v1::MODE_WHISPER,
                                     v1::MODE_BARGE, v1::MODE_TAKEOVER};
  FakePolicy::Grant cued{
      {A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE}, all, 10, 3};
  cued.whisper_cue_tone = true;
  cued.customer_announcement = true;
  policy_.AddUser("cued", "acme", "cued", cued);
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  auto plays = [&] {
    std::vector<std::string> out;
    for (const std::string& entry : media_.log()) {
      if (absl::StartsWith(entry, "PlayAudio")) out.push_back(entry);
    }
    return out;
  };
  // lead1's grant has no cues: nothing plays.
  absl::StatusOr<v1::Supervision> quiet =
      Supervise("lead1", v1::MODE_WHISPER, "q1");
  ASSERT_OK(quiet);
  ASSERT_OK(Switch("lead1", quiet->name(), v1::MODE_BARGE, "q2"));
  EXPECT_TRUE(plays().empty());
  ASSERT_OK(Switch("lead1", quiet->name(), v1::MODE_LISTEN, "q3"));

  absl::StatusOr<v1::Supervision> s = Supervise("cued", v1::MODE_LISTEN, "s1");
  ASSERT_OK(s);
  EXPECT_TRUE(plays().empty());
  ASSERT_OK(Switch("cued", s->name(), v1::MODE_WHISPER, "m1"));
  EXPECT_THAT(plays(), ElementsAre("PlayAudio tone to agent-1"));
  ASSERT_OK(Switch("cued", s->name(), v1::MODE_BARGE, "m2"));
  EXPECT_THAT(plays(), ElementsAre("PlayAudio tone to agent-1",
                                   "PlayAudio tone to customer"));
  // BARGE -> TAKEOVER: the customer already hears the supervisor.
  ASSERT_OK(Switch("cued", s->name(), v1::MODE_TAKEOVER, "m3"));
  EXPECT_EQ(plays().size(), 2u);
}

TEST_F(BrokerTest, AgentDecliningWhisperEndsItAndRefusesNewOnes) {
  using A = v1::Action;
  FakePolicy::Grant coach{
      {A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE},
      {v1::MODE_LISTEN, v1::MODE_WHISPER, v1::MODE_BARGE, v1::MODE_TAKEOVER},
      10,
      3};
  coach.agent_may_decline_whisper = true;
  coach.takeover_requires_reason = true;
  policy_.AddUser("coach", "acme", "coach", coach);
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  absl::StatusOr<v1::Supervision> s =
      Supervise("coach", v1::MODE_WHISPER, "s1");
  ASSERT_OK(s);
  EXPECT_THAT(media_.routing(kRoom),
              ::testing::Contains("supervisor-1>agent-1"));

  v1::UpdateCallRequest decline;
  decline.mutable_call()->set_name(kRoom);
  decline.mutable_call()->set_agent_declined_whisper(true);
  decline.mutable_update_mask()->add_paths("agent_declined_whisper");
  decline.set_request_id("decline-1");
  absl::StatusOr<v1::Call> call = broker_->UpdateCall("integrator", decline);
  ASSERT_OK(call);
  EXPECT_TRUE(call->agent_declined_whisper());
  EXPECT_EQ(call->supervisions(0).mode(), v1::MODE_LISTEN);
  EXPECT_EQ(media_.routing(kRoom),
            With(kBase, {"customer>supervisor-1", "agent-1>supervisor-1"}));
  const std::vector<v1::Event> events = Outbox();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type(), v1::EVENT_TYPE_SUPERVISION_DOWNGRADED);
  EXPECT_EQ(events.back().policy_rule(), "agents-decline");

  absl::StatusOr<v1::Supervision> again =
      Switch("coach", s->name(), v1::MODE_WHISPER, "m1");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(again.status().message(), HasSubstr("declined whisper"));

  // TAKEOVER needs a reason under this grant; the reason is audited.
  EXPECT_EQ(Switch("coach", s->name(), v1::MODE_TAKEOVER, "m2").status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::SetSupervisionModeRequest takeover;
  takeover.set_name(s->name());
  takeover.set_mode(v1::MODE_TAKEOVER);
  takeover.set_reason("customer asked for a manager");
  takeover.set_request_id("m3");
  ASSERT_OK(broker_->SetSupervisionMode("coach", takeover));
}

TEST_F(BrokerTest, EveryDecisionReadsIncludedIsAudited) {
  using A = v1::Action;
  policy_.AddUser("blind", "acme", "blind",
                  {{A::ACTION_CALLS_SUPERVISE}, {v1::MODE_LISTEN}, 0, 0, {}});
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  auto audits = [&] {
    std::vector<std::string> out;
    for (const v1::Event& e : Outbox()) {
      if (e.type() == v1::EVENT_TYPE_ACCESS_GRANTED ||
          e.type() == v1::EVENT_TYPE_ACCESS_DENIED) {
        out.push_back(absl::StrCat(
            e.type() == v1::EVENT_TYPE_ACCESS_GRANTED ? "grant " : "deny ",
            e.actor(), " ", e.action(), " ", e.policy_rule()));
      }
    }
    return out;
  };
  v1::GetCallRequest get;
  get.set_name(kRoom);
  ASSERT_OK(broker_->GetCall("lead1", get));
  EXPECT_EQ(broker_->GetCall("blind", get).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(audits(), ElementsAre("grant pbx calls.manage grant-pbx",
                                    "grant lead-1 calls.view grant-lead-1",
                                    "deny blind calls.view default-deny"));
}

TEST_F(BrokerTest, RecordingFollowsPolicyAndTheSupervisionAndCanPause) {
  using A = v1::Action;
  policy_.AddUser(
      "pbx-rec", "acme", "pbx-rec",
      {{A::ACTION_CALLS_MANAGE, A::ACTION_RECORDINGS_CONTROL}, {}, 0, 0});
  v1::RecordingPolicy recording_policy;
  recording_policy.set_enabled(true);
  recording_policy.set_require_disclosure(true);
  policy_.SetRecordingPolicy(recording_policy);
  FakeRecorder recorder;
  std::unique_ptr<Broker> recording = RecordingBroker(&recorder);
  Broker& recording_broker = *recording;

  absl::StatusOr<v1::Call> call =
      recording_broker.RegisterCall("pbx-rec", Registration());
  ASSERT_OK(call);
  EXPECT_EQ(call->recording(), "tenants/acme/recordings/r1");
  v1::CreateSupervisionRequest supervise;
  supervise.set_parent(kRoom);
  supervise.set_mode(v1::MODE_LISTEN);
  *supervise.mutable_media() = PlainOffer(40004);
  supervise.set_request_id("s1");
  absl::StatusOr<v1::Supervision> s =
      recording_broker.CreateSupervision("lead1", supervise);
  ASSERT_OK(s);
  v1::SetSupervisionModeRequest whisper;
  whisper.set_name(s->name());
  whisper.set_mode(v1::MODE_WHISPER);
  whisper.set_request_id("m1");
  ASSERT_OK(recording_broker.SetSupervisionMode("lead1", whisper));

  v1::PauseCallRecordingRequest pause;
  pause.set_name(kRoom);
  pause.set_reason("card number");
  pause.set_request_id("p1");
  EXPECT_EQ(recording_broker.PauseCallRecording("lead1", pause).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK(recording_broker.PauseCallRecording("pbx-rec", pause));
  v1::ResumeCallRecordingRequest resume;
  resume.set_name(kRoom);
  resume.set_request_id("p2");
  ASSERT_OK(recording_broker.ResumeCallRecording("pbx-rec", resume));
  v1::DeleteSupervisionRequest release;
  release.set_name(s->name());
  release.set_request_id("d1");
  ASSERT_OK(recording_broker.DeleteSupervision("lead1", release));
  v1::EndCallRequest end;
  end.set_name(kRoom);
  end.set_request_id("e1");
  ASSERT_OK(recording_broker.EndCall("pbx-rec", end));

  EXPECT_THAT(recorder.log(),
              ElementsAre("Start tenants/acme/calls/c1 legs=agent-1,customer",
                          "Annotate +supervisor-1(ROLE_SUPERVISOR) MODE_LISTEN",
                          "Annotate MODE_WHISPER", "Pause card number",
                          "Resume", "Annotate ended", "Stop"));
  std::vector<v1::EventType> types;
  for (const v1::Event& e : Outbox()) types.push_back(e.type());
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_RECORDING_STARTED));
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_RECORDING_PAUSED));
  EXPECT_THAT(types, ::testing::Contains(v1::EVENT_TYPE_RECORDING_RESUMED));
}

TEST_F(BrokerTest, UndisclosedCallIsNotRecordedWhenPolicyNeedsDisclosure) {
  v1::RecordingPolicy recording_policy;
  recording_policy.set_enabled(true);
  recording_policy.set_require_disclosure(true);
  policy_.SetRecordingPolicy(recording_policy);
  FakeRecorder recorder;
  std::unique_ptr<Broker> recording = RecordingBroker(&recorder);
  Broker& recording_broker = *recording;
  v1::RegisterCallRequest request = Registration();
  request.set_monitoring_disclosed(false);
  absl::StatusOr<v1::Call> call =
      recording_broker.RegisterCall("integrator", request);
  ASSERT_OK(call);
  EXPECT_TRUE(call->recording().empty());
  EXPECT_TRUE(recorder.log().empty());
  v1::PauseCallRecordingRequest pause;
  pause.set_name(kRoom);
  pause.set_request_id("p1");
  using A = v1::Action;
  policy_.AddUser("pbx-rec", "acme", "pbx-rec",
                  {{A::ACTION_RECORDINGS_CONTROL}, {}, 0, 0});
  EXPECT_EQ(
      recording_broker.PauseCallRecording("pbx-rec", pause).status().code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(BrokerTest, SupervisorsBeyondThePolicyLimitAreRefused) {
  using A = v1::Action;
  for (int i = 1; i <= 3; ++i) {
    policy_.AddUser(absl::StrCat("coach", i), "acme", absl::StrCat("coach-", i),
                    {{A::ACTION_CALLS_VIEW, A::ACTION_CALLS_SUPERVISE},
                     {v1::MODE_LISTEN},
                     1,
                     2});  // at most two supervisors on a call
  }
  ASSERT_OK(broker_->RegisterCall("integrator", Registration()));
  ASSERT_OK(Supervise("coach1", v1::MODE_LISTEN, "s1"));
  ASSERT_OK(Supervise("coach2", v1::MODE_LISTEN, "s2"));
  absl::StatusOr<v1::Supervision> third =
      Supervise("coach3", v1::MODE_LISTEN, "s3");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  // Nothing of the refused attach reached the engine.
  EXPECT_THAT(media_.log(),
              ::testing::Not(::testing::Contains("AddLeg supervisor-3")));
}

// Collects what the broker reports of each leg's media quality.
class QualityLog final : public EventSink {
 public:
  absl::Status Deliver(const std::vector<v1::Event>&) override {
    return absl::OkStatus();
  }
  absl::Status DeliverQuality(
      const v1::IngestMediaQualityRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    legs_.push_back(request.leg());
    EXPECT_EQ(request.engine_id(), "media-0");
    EXPECT_EQ(request.call(), kRoom);
    EXPECT_DOUBLE_EQ(request.quality().mos(), 4.3);
    return absl::OkStatus();
  }
  std::vector<std::string> legs() {
    std::lock_guard<std::mutex> lock(mu_);
    return legs_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> legs_;
};

TEST_F(BrokerTest, EachLegsMediaQualityIsReportedWhenItLeaves) {
  QualityLog quality;
  BrokerOptions options;
  options.clock = [this] { return now_; };
  options.quality = &quality;
  Broker broker(&policy_, &media_, store_.get(), &engines_, options);
  ASSERT_OK(broker.RegisterCall("integrator", Registration()));
  v1::CreateSupervisionRequest supervise;
  supervise.set_parent(kRoom);
  supervise.set_mode(v1::MODE_LISTEN);
  *supervise.mutable_media() = PlainOffer(40004);
  supervise.set_request_id("s1");
  absl::StatusOr<v1::Supervision> s =
      broker.CreateSupervision("lead1", supervise);
  ASSERT_OK(s);
  v1::DeleteSupervisionRequest release;
  release.set_name(s->name());
  release.set_request_id("d1");
  ASSERT_OK(broker.DeleteSupervision("lead1", release));
  EXPECT_THAT(quality.legs(), ElementsAre("supervisor-1"));
  v1::EndCallRequest end;
  end.set_name(kRoom);
  end.set_request_id("e1");
  ASSERT_OK(broker.EndCall("integrator", end));
  EXPECT_THAT(quality.legs(),
              UnorderedElementsAre("supervisor-1", "customer", "agent-1"));
}

}  // namespace
}  // namespace sotto::broker::testing
