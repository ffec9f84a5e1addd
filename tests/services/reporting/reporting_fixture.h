// A small contact-center day, hand-computed: three calls, three
// supervisions and three outcomes, with the figures every report must give
// for them (see the comments at each expectation). Shared by the store
// suite (both backends), the Reporting tests and the CSV round trip.
//
//   T0 = 2026-01-05 09:00:00 UTC
//   c1  team-a / sales   / agent a-1   registered T0, ended T0+120s
//       s1 lead-1: LISTEN T0+10 -> WHISPER T0+40 -> BARGE T0+70 -> ended T0+100
//   c2  team-a / sales   / agent a-2   registered T0+60, ended T0+200
//       s2 qa-1:   LISTEN T0+70 -> ended T0+130
//       s3 lead-1: TAKEOVER T0+80, still open at call end (T0+200)
//   c3  team-b / support / agent b-1   registered T0+300, ended T0+400
//   outcomes: c1 fcr, 300 s, csat 5, qa 90, 0 errors, a-1 started T0-10d
//             c2 transferred+escalated, 500 s, no survey, no qa, 2 errors
//                (a-2 never reported a start: its first call, c2, counts)
//             c3 fcr, 200 s, csat 3, qa 70, 1 error, b-1 started T0-20d
#ifndef SOTTO_TESTS_SERVICES_REPORTING_REPORTING_FIXTURE_H_
#define SOTTO_TESTS_SERVICES_REPORTING_REPORTING_FIXTURE_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "sotto/v1/events.pb.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::reporting::testing {

inline absl::Time T0() {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 5, 9, 0, 0),
                         absl::UTCTimeZone());
}

inline google::protobuf::Timestamp At(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(t));
}

inline std::string CallName(const std::string& call) {
  return absl::StrCat("tenants/acme/calls/", call);
}

struct CallInfo {
  std::string id, team, queue, agent;
};

inline const std::vector<CallInfo>& FixtureCalls() {
  static const auto* calls = new std::vector<CallInfo>{
      {"c1", "team-a", "sales", "a-1"},
      {"c2", "team-a", "sales", "a-2"},
      {"c3", "team-b", "support", "b-1"},
  };
  return *calls;
}

// One broker event about `call` at T0 + `seconds`.
inline v1::Event CallEvent(const CallInfo& call, v1::EventType type,
                           int seconds, uint64_t call_sequence) {
  v1::Event e;
  e.set_event_id(absl::StrCat(call.id, "-", call_sequence));
  e.set_tenant("acme");
  e.set_type(type);
  *e.mutable_time() = At(T0() + absl::Seconds(seconds));
  e.set_source("broker");
  e.set_call_sequence(call_sequence);
  e.set_call(CallName(call.id));
  e.set_call_id(call.id);
  e.set_queue(call.queue);
  e.set_team(call.team);
  e.set_agent_id(call.agent);
  return e;
}

inline v1::Event SupervisionEvent(const CallInfo& call, v1::EventType type,
                                  int seconds, uint64_t call_sequence,
                                  const std::string& supervision,
                                  const std::string& supervisor, v1::Mode mode,
                                  v1::Mode previous = v1::MODE_UNSPECIFIED) {
  v1::Event e = CallEvent(call, type, seconds, call_sequence);
  e.set_supervision(
      absl::StrCat(CallName(call.id), "/supervisions/", supervision));
  e.set_supervisor(supervisor);
  e.set_actor(supervisor);
  e.set_mode(mode);
  e.set_previous_mode(previous);
  return e;
}

// The day's events in the order they happened.
inline std::vector<v1::Event> FixtureEvents() {
  const CallInfo& c1 = FixtureCalls()[0];
  const CallInfo& c2 = FixtureCalls()[1];
  const CallInfo& c3 = FixtureCalls()[2];
  using v1::EVENT_TYPE_CALL_ENDED;
  using v1::EVENT_TYPE_CALL_REGISTERED;
  using v1::EVENT_TYPE_SUPERVISION_ENDED;
  using v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED;
  using v1::EVENT_TYPE_SUPERVISION_STARTED;
  return {
      CallEvent(c1, EVENT_TYPE_CALL_REGISTERED, 0, 1),
      SupervisionEvent(c1, EVENT_TYPE_SUPERVISION_STARTED, 10, 2, "s1",
                       "lead-1", v1::MODE_LISTEN),
      SupervisionEvent(c1, EVENT_TYPE_SUPERVISION_MODE_CHANGED, 40, 3, "s1",
                       "lead-1", v1::MODE_WHISPER, v1::MODE_LISTEN),
      CallEvent(c2, EVENT_TYPE_CALL_REGISTERED, 60, 1),
      SupervisionEvent(c1, EVENT_TYPE_SUPERVISION_MODE_CHANGED, 70, 4, "s1",
                       "lead-1", v1::MODE_BARGE, v1::MODE_WHISPER),
      SupervisionEvent(c2, EVENT_TYPE_SUPERVISION_STARTED, 70, 2, "s2", "qa-1",
                       v1::MODE_LISTEN),
      SupervisionEvent(c2, EVENT_TYPE_SUPERVISION_STARTED, 80, 3, "s3",
                       "lead-1", v1::MODE_TAKEOVER),
      SupervisionEvent(c1, EVENT_TYPE_SUPERVISION_ENDED, 100, 5, "s1", "lead-1",
                       v1::MODE_BARGE),
      CallEvent(c1, EVENT_TYPE_CALL_ENDED, 120, 6),
      SupervisionEvent(c2, EVENT_TYPE_SUPERVISION_ENDED, 130, 4, "s2", "qa-1",
                       v1::MODE_LISTEN),
      CallEvent(c2, EVENT_TYPE_CALL_ENDED, 200, 5),
      CallEvent(c3, EVENT_TYPE_CALL_REGISTERED, 300, 1),
      CallEvent(c3, EVENT_TYPE_CALL_ENDED, 400, 2),
  };
}

inline v1::CallOutcome FixtureOutcome(int index) {
  const CallInfo& call = FixtureCalls()[index];
  v1::CallOutcome o;
  o.set_call(CallName(call.id));
  o.set_queue(call.queue);
  o.set_team(call.team);
  o.set_agent_id(call.agent);
  const int start_seconds[] = {0, 60, 300};
  *o.mutable_call_start_time() = At(T0() + absl::Seconds(start_seconds[index]));
  switch (index) {
    case 0:
      o.set_first_contact_resolution(true);
      o.mutable_handle_time()->set_seconds(300);
      o.set_csat(5);
      o.set_qa_score(90);
      *o.mutable_agent_start_time() = At(T0() - absl::Hours(24 * 10));
      break;
    case 1:
      o.set_transferred(true);
      o.set_escalated(true);
      o.mutable_handle_time()->set_seconds(500);
      o.set_compliance_errors(2);
      break;
    default:
      o.set_first_contact_resolution(true);
      o.mutable_handle_time()->set_seconds(200);
      o.set_csat(3);
      o.set_qa_score(70);
      o.set_compliance_errors(1);
      *o.mutable_agent_start_time() = At(T0() - absl::Hours(24 * 20));
      break;
  }
  return o;
}

// The hand-computed figures.

inline void ExpectActivityByTeam(
    const std::vector<v1::SupervisionActivityReport::Row>& rows) {
  ASSERT_EQ(rows.size(), 2u);
  const auto& a = rows[0];
  EXPECT_EQ(a.key(), "team-a");
  EXPECT_EQ(a.calls(), 2u);
  EXPECT_EQ(a.supervised_calls(), 2u);
  EXPECT_EQ(a.sessions(), 3u);                                     // s1, s2, s3
  EXPECT_DOUBLE_EQ(a.seconds_by_mode().at("MODE_LISTEN"), 90);     // 30 + 60
  EXPECT_DOUBLE_EQ(a.seconds_by_mode().at("MODE_WHISPER"), 30);    // 40..70
  EXPECT_DOUBLE_EQ(a.seconds_by_mode().at("MODE_BARGE"), 30);      // 70..100
  EXPECT_DOUBLE_EQ(a.seconds_by_mode().at("MODE_TAKEOVER"), 120);  // 80..200
  EXPECT_EQ(a.sessions_by_mode().at("MODE_LISTEN"), 2u);
  EXPECT_EQ(a.sessions_by_mode().at("MODE_WHISPER"), 1u);
  EXPECT_EQ(a.sessions_by_mode().at("MODE_BARGE"), 1u);
  EXPECT_EQ(a.sessions_by_mode().at("MODE_TAKEOVER"), 1u);
  EXPECT_EQ(a.mode_switches(), 2u);
  EXPECT_DOUBLE_EQ(a.barge_rate(), 0.5);     // c1 of c1, c2
  EXPECT_DOUBLE_EQ(a.takeover_rate(), 0.5);  // c2 of c1, c2
  // c1: whisper at +40 s; c2: takeover at +20 s after its start.
  EXPECT_DOUBLE_EQ(a.mean_seconds_to_first_intervention(), 30);
  const auto& b = rows[1];
  EXPECT_EQ(b.key(), "team-b");
  EXPECT_EQ(b.calls(), 1u);
  EXPECT_EQ(b.supervised_calls(), 0u);
  EXPECT_EQ(b.sessions(), 0u);
  EXPECT_DOUBLE_EQ(b.seconds_by_mode().at("MODE_LISTEN"), 0);
  EXPECT_DOUBLE_EQ(b.barge_rate(), 0);
}

inline void ExpectActivityBySupervisor(
    const std::vector<v1::SupervisionActivityReport::Row>& rows) {
  ASSERT_EQ(rows.size(), 2u);
  const auto& lead = rows[0];
  EXPECT_EQ(lead.key(), "lead-1");
  EXPECT_EQ(lead.calls(), 2u);
  EXPECT_EQ(lead.sessions(), 2u);
  EXPECT_DOUBLE_EQ(lead.seconds_by_mode().at("MODE_LISTEN"), 30);
  EXPECT_DOUBLE_EQ(lead.seconds_by_mode().at("MODE_TAKEOVER"), 120);
  EXPECT_EQ(lead.mode_switches(), 2u);
  EXPECT_DOUBLE_EQ(lead.barge_rate(), 0.5);
  EXPECT_DOUBLE_EQ(lead.mean_seconds_to_first_intervention(), 30);
  const auto& qa = rows[1];
  EXPECT_EQ(qa.key(), "qa-1");
  EXPECT_EQ(qa.calls(), 1u);
  EXPECT_EQ(qa.sessions(), 1u);
  EXPECT_DOUBLE_EQ(qa.seconds_by_mode().at("MODE_LISTEN"), 60);
  EXPECT_DOUBLE_EQ(qa.seconds_by_mode().at("MODE_WHISPER"), 0);
  EXPECT_EQ(qa.mode_switches(), 0u);
  EXPECT_DOUBLE_EQ(qa.mean_seconds_to_first_intervention(), 0);
}

// Range [T0, T0 + 14 days), 7-day buckets.
inline void ExpectCoachingByTeam(
    const std::vector<v1::CoachingEffectivenessReport::Row>& rows) {
  ASSERT_EQ(rows.size(), 2u);
  const auto& a = rows[0];
  EXPECT_EQ(a.key(), "team-a");
  // c1 (whisper, barge) and c2 (takeover) were both coached.
  EXPECT_EQ(a.coached().calls(), 2u);
  EXPECT_DOUBLE_EQ(a.coached().first_contact_resolution_rate(), 0.5);
  EXPECT_DOUBLE_EQ(a.coached().transfer_rate(), 0.5);
  EXPECT_DOUBLE_EQ(a.coached().escalation_rate(), 0.5);
  EXPECT_DOUBLE_EQ(a.coached().mean_handle_time_seconds(), 400);
  EXPECT_DOUBLE_EQ(a.coached().mean_csat(), 5);       // c2 not surveyed
  EXPECT_DOUBLE_EQ(a.coached().mean_qa_score(), 90);  // c2 not evaluated
  EXPECT_DOUBLE_EQ(a.coached().compliance_errors_per_call(), 1);
  EXPECT_EQ(a.not_coached().calls(), 0u);
  ASSERT_EQ(a.trend_size(), 2);
  EXPECT_EQ(a.trend(0).start_time(), At(T0()));
  EXPECT_EQ(a.trend(0).coaching_sessions(), 2u);  // s1, s3 (s2 only listened)
  EXPECT_EQ(a.trend(0).outcomes().calls(), 2u);
  EXPECT_EQ(a.trend(1).start_time(), At(T0() + absl::Hours(24 * 7)));
  EXPECT_EQ(a.trend(1).coaching_sessions(), 0u);
  EXPECT_EQ(a.trend(1).outcomes().calls(), 0u);
  const auto& b = rows[1];
  EXPECT_EQ(b.key(), "team-b");
  EXPECT_EQ(b.coached().calls(), 0u);
  EXPECT_EQ(b.not_coached().calls(), 1u);
  EXPECT_DOUBLE_EQ(b.not_coached().first_contact_resolution_rate(), 1);
  EXPECT_DOUBLE_EQ(b.not_coached().mean_handle_time_seconds(), 200);
  EXPECT_DOUBLE_EQ(b.not_coached().mean_csat(), 3);
  EXPECT_DOUBLE_EQ(b.not_coached().mean_qa_score(), 70);
  EXPECT_DOUBLE_EQ(b.not_coached().compliance_errors_per_call(), 1);
}

inline void ExpectRampUpByAgent(
    const std::vector<v1::RampUpReport::Row>& rows) {
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key(), "a-1");
  EXPECT_EQ(rows[0].week(), 1u);  // started 10 days before c1
  EXPECT_EQ(rows[0].coaching_sessions(), 1u);
  EXPECT_EQ(rows[0].outcomes().calls(), 1u);
  EXPECT_EQ(rows[1].key(), "a-2");
  EXPECT_EQ(rows[1].week(), 0u);  // no start date: c2 is its first call
  EXPECT_EQ(rows[1].coaching_sessions(), 1u);
  EXPECT_DOUBLE_EQ(rows[1].outcomes().transfer_rate(), 1);
  EXPECT_EQ(rows[2].key(), "b-1");
  EXPECT_EQ(rows[2].week(), 2u);  // started 20 days before c3
  EXPECT_EQ(rows[2].coaching_sessions(), 0u);
  EXPECT_DOUBLE_EQ(rows[2].outcomes().mean_csat(), 3);
}

}  // namespace sotto::reporting::testing

#endif  // SOTTO_TESTS_SERVICES_REPORTING_REPORTING_FIXTURE_H_
