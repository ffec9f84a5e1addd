// The rules of a supervised call: attach, modes, TAKEOVER ownership,
// limits, hold, transfer and end, with the events and routing they produce.
#include "services/broker/call_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace sotto::broker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

CallRecord NewCall() {
  CallRecord call;
  call.tenant = "acme";
  call.call_id = "c-1";
  call.queue = "billing";
  call.create_time = kT0;
  ParticipantRecord customer;
  customer.id = "customer";
  customer.role = v1::ROLE_CUSTOMER;
  ParticipantRecord agent;
  agent.id = "agent-1";
  agent.role = v1::ROLE_AGENT;
  agent.user_id = "a-1";
  agent.team = "team-a";
  call.participants = {customer, agent};
  call.next_agent = 2;
  return call;
}

SupervisionGrant AllModes(int rank = 10, int max = 0) {
  SupervisionGrant grant;
  grant.allowed_modes = {v1::MODE_LISTEN, v1::MODE_WHISPER, v1::MODE_BARGE,
                         v1::MODE_TAKEOVER};
  grant.takeover_rank = rank;
  grant.max_supervisors_per_call = max;
  return grant;
}

bool Routed(const Change& change, const std::string& from,
            const std::string& to) {
  return std::any_of(change.routing.begin(), change.routing.end(),
                     [&](const Route& r) {
                       return r.source == from && r.sink == to && r.gain == 1;
                     });
}

TEST(CallModelTest, AttachingAddsALegAndRoutesByTheMode) {
  CallRecord call = NewCall();
  std::string id;
  auto change = Attach(call, "lead-1", v1::MODE_WHISPER, AllModes(), kT0, &id);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(id, "1");
  EXPECT_EQ(call.supervisions[0].participant, "supervisor-1");
  EXPECT_TRUE(Routed(*change, "supervisor-1", "agent-1"));
  EXPECT_FALSE(Routed(*change, "supervisor-1", "customer"));
  EXPECT_TRUE(Routed(*change, "customer", "supervisor-1"));
  ASSERT_EQ(change->events.size(), 1u);
  const v1::Event& event = change->events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_SUPERVISION_STARTED);
  EXPECT_EQ(event.supervision(), "tenants/acme/calls/c-1/supervisions/1");
  EXPECT_EQ(event.mode(), v1::MODE_WHISPER);
  EXPECT_EQ(event.agent_id(), "a-1");
  EXPECT_EQ(event.team(), "team-a");
  EXPECT_EQ(event.event_id().size(), 36u);
}

TEST(CallModelTest, ASupervisorAttachesToACallOnlyOnce) {
  CallRecord call = NewCall();
  ASSERT_TRUE(
      Attach(call, "lead-1", v1::MODE_LISTEN, AllModes(), kT0, nullptr).ok());
  auto again = Attach(call, "lead-1", v1::MODE_BARGE, AllModes(), kT0, nullptr);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(CallModelTest, TakeoverHasOneHolderAndTheRefusalNamesThem) {
  CallRecord call = NewCall();
  std::string first, second;
  ASSERT_TRUE(
      Attach(call, "lead-1", v1::MODE_TAKEOVER, AllModes(), kT0, &first).ok());
  ASSERT_TRUE(
      Attach(call, "lead-2", v1::MODE_LISTEN, AllModes(), kT0, &second).ok());
  auto refused =
      SetMode(call, second, v1::MODE_TAKEOVER, false, AllModes(), kT0);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("lead-1"), std::string::npos);
  auto attach =
      Attach(call, "lead-3", v1::MODE_TAKEOVER, AllModes(), kT0, nullptr);
  EXPECT_EQ(attach.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CallModelTest, AHigherRankMayTakeOverAndTheHolderDropsToBarge) {
  CallRecord call = NewCall();
  std::string holder, manager;
  ASSERT_TRUE(
      Attach(call, "lead-1", v1::MODE_TAKEOVER, AllModes(10), kT0, &holder)
          .ok());
  ASSERT_TRUE(
      Attach(call, "mgr-1", v1::MODE_LISTEN, AllModes(20), kT0, &manager).ok());
  // Same rank cannot pre-empt; a higher one can.
  EXPECT_EQ(SetMode(call, manager, v1::MODE_TAKEOVER, true, AllModes(10), kT0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  auto change = SetMode(call, manager, v1::MODE_TAKEOVER, true, AllModes(20),
                        kT0 + absl::Seconds(5));
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(call.FindSupervision(holder)->mode, v1::MODE_BARGE);
  EXPECT_EQ(call.FindSupervision(manager)->mode, v1::MODE_TAKEOVER);
  ASSERT_EQ(change->events.size(), 2u);
  EXPECT_EQ(change->events[0].supervisor(), "lead-1");
  EXPECT_EQ(change->events[0].previous_mode(), v1::MODE_TAKEOVER);
  EXPECT_NE(change->events[0].reason().find("mgr-1"), std::string::npos);
  // One takeover holder: the agent is muted towards the customer.
  EXPECT_FALSE(Routed(*change, "agent-1", "customer"));
}

TEST(CallModelTest, PolicyLimitsAndGrantsAreEnforced) {
  CallRecord call = NewCall();
  ASSERT_TRUE(
      Attach(call, "s-1", v1::MODE_LISTEN, AllModes(10, 2), kT0, nullptr).ok());
  ASSERT_TRUE(
      Attach(call, "s-2", v1::MODE_LISTEN, AllModes(10, 2), kT0, nullptr).ok());
  EXPECT_EQ(Attach(call, "s-3", v1::MODE_LISTEN, AllModes(10, 2), kT0, nullptr)
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  SupervisionGrant listen_only;
  listen_only.allowed_modes = {v1::MODE_LISTEN};
  EXPECT_EQ(Attach(call, "qa-1", v1::MODE_BARGE, listen_only, kT0, nullptr)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      Attach(call, "qa-1", v1::MODE_UNSPECIFIED, listen_only, kT0, nullptr)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(CallModelTest, SwitchingToTheCurrentModeChangesNothing) {
  CallRecord call = NewCall();
  std::string id;
  ASSERT_TRUE(Attach(call, "s-1", v1::MODE_LISTEN, AllModes(), kT0, &id).ok());
  auto change = SetMode(call, id, v1::MODE_LISTEN, false, AllModes(), kT0);
  ASSERT_TRUE(change.ok());
  EXPECT_TRUE(change->events.empty());
}

TEST(CallModelTest, ReleaseAccountsTheTimeSpentInEachMode) {
  CallRecord call = NewCall();
  std::string id;
  ASSERT_TRUE(Attach(call, "s-1", v1::MODE_LISTEN, AllModes(), kT0, &id).ok());
  ASSERT_TRUE(SetMode(call, id, v1::MODE_WHISPER, false, AllModes(),
                      kT0 + absl::Seconds(10))
                  .ok());
  ASSERT_TRUE(SetMode(call, id, v1::MODE_LISTEN, false, AllModes(),
                      kT0 + absl::Seconds(15))
                  .ok());
  auto change = Release(call, id, kT0 + absl::Seconds(20));
  ASSERT_TRUE(change.ok());
  const SupervisionRecord* s = call.FindSupervision(id);
  EXPECT_EQ(s->state, SupervisionState::kReleased);
  EXPECT_EQ(s->time_in_mode.at(v1::MODE_LISTEN), absl::Seconds(15));
  EXPECT_EQ(s->time_in_mode.at(v1::MODE_WHISPER), absl::Seconds(5));
  EXPECT_FALSE(Routed(*change, "customer", "supervisor-1"));
  // Releasing again changes nothing; an unknown id is NOT_FOUND.
  EXPECT_TRUE(Release(call, id, kT0)->events.empty());
  EXPECT_EQ(Release(call, "9", kT0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CallModelTest, HoldIsolatesTheCustomerAndLetsTheOthersTalk) {
  CallRecord call = NewCall();
  ASSERT_TRUE(
      Attach(call, "s-1", v1::MODE_LISTEN, AllModes(), kT0, nullptr).ok());
  auto held = Hold(call, true, kT0);
  ASSERT_TRUE(held.ok());
  for (const Route& r : held->routing) {
    EXPECT_NE(r.source, "customer");
    EXPECT_NE(r.sink, "customer");
  }
  EXPECT_TRUE(Routed(*held, "supervisor-1", "agent-1"));  // even in LISTEN
  EXPECT_TRUE(Hold(call, true, kT0)->events.empty());     // already held
  auto resumed = Hold(call, false, kT0);
  EXPECT_EQ(resumed->events[0].type(), v1::EVENT_TYPE_CALL_RESUMED);
  EXPECT_FALSE(Routed(*resumed, "supervisor-1", "agent-1"));
}

TEST(CallModelTest, TransferKeepsDowngradesOrDetachesEachSupervision) {
  CallRecord call = NewCall();
  std::string kept, lowered, detached;
  ASSERT_TRUE(
      Attach(call, "s-keep", v1::MODE_WHISPER, AllModes(), kT0, &kept).ok());
  ASSERT_TRUE(
      Attach(call, "s-low", v1::MODE_BARGE, AllModes(), kT0, &lowered).ok());
  ASSERT_TRUE(
      Attach(call, "s-gone", v1::MODE_WHISPER, AllModes(), kT0, &detached)
          .ok());
  ParticipantRecord agent;
  agent.user_id = "a-2";
  agent.team = "team-b";
  auto change = Transfer(
      call, agent,
      [&](const SupervisionRecord& s) {
        TransferDecision d;
        d.allowed = s.supervisor == "s-keep";
        d.downgrade_to =
            s.supervisor == "s-low" ? v1::MODE_LISTEN : v1::MODE_UNSPECIFIED;
        d.rule = "leads-coach-own-team";
        d.reason = "agent a-2 is on team-b, outside the grant";
        return d;
      },
      kT0 + absl::Seconds(30));
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(call.Agent()->id, "agent-2");
  EXPECT_EQ(call.FindSupervision(kept)->mode, v1::MODE_WHISPER);
  EXPECT_EQ(call.FindSupervision(lowered)->mode, v1::MODE_LISTEN);
  EXPECT_EQ(call.FindSupervision(detached)->state, SupervisionState::kDetached);
  std::vector<v1::EventType> types;
  for (const auto& e : change->events) types.push_back(e.type());
  EXPECT_EQ(types,
            (std::vector<v1::EventType>{v1::EVENT_TYPE_CALL_TRANSFERRED,
                                        v1::EVENT_TYPE_SUPERVISION_DOWNGRADED,
                                        v1::EVENT_TYPE_SUPERVISION_DETACHED}));
  EXPECT_EQ(change->events[0].previous_agent_id(), "a-1");
  EXPECT_EQ(change->events[0].agent_id(), "a-2");
  EXPECT_EQ(change->events[2].policy_rule(), "leads-coach-own-team");
  // The old agent is gone from the matrix; the whisperer now coaches a-2.
  EXPECT_TRUE(Routed(*change, "supervisor-1", "agent-2"));
  for (const Route& r : change->routing) {
    EXPECT_NE(r.source, "agent-1");
    EXPECT_NE(r.sink, "supervisor-3");
  }
}

TEST(CallModelTest, EndingDetachesEveryoneAndSequencesTheEvents) {
  CallRecord call = NewCall();
  ASSERT_TRUE(
      Attach(call, "s-1", v1::MODE_LISTEN, AllModes(), kT0, nullptr).ok());
  ASSERT_TRUE(
      Attach(call, "s-2", v1::MODE_BARGE, AllModes(), kT0, nullptr).ok());
  auto change = End(call, false, "customer hung up", kT0 + absl::Minutes(3));
  ASSERT_TRUE(change.ok());
  EXPECT_TRUE(change->routing.empty());
  ASSERT_EQ(change->events.size(), 3u);
  EXPECT_EQ(change->events.back().type(), v1::EVENT_TYPE_CALL_ENDED);
  std::set<uint64_t> sequences;
  for (const auto& e : change->events) sequences.insert(e.call_sequence());
  EXPECT_EQ(sequences, (std::set<uint64_t>{3, 4, 5}));  // after 2 attaches
  // An ended call refuses changes; ending it again changes nothing.
  EXPECT_EQ(Attach(call, "s-3", v1::MODE_LISTEN, AllModes(), kT0, nullptr)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Hold(call, true, kT0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(End(call, false, "again", kT0)->events.empty());
}

}  // namespace
}  // namespace sotto::broker
