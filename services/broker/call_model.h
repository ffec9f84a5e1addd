// The broker's model of a supervised call and the rules that change it:
// attach, switch mode, release, hold, transfer, end. Pure: no store, no
// gRPC, no media engine; each change returns the events it caused and the
// routing that follows, for the caller to persist and apply.
#ifndef SOTTO_SERVICES_BROKER_CALL_MODEL_H_
#define SOTTO_SERVICES_BROKER_CALL_MODEL_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/broker/routing.h"
#include "sotto/v1/common.pb.h"
#include "sotto/v1/events.pb.h"

namespace sotto::broker {

struct ParticipantRecord {
  std::string id;  // "customer", "agent-1", "supervisor-1"
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string user_id;  // agent id / supervisor subject
  std::string team;
  bool connected = true;
  absl::Time join_time;
  absl::Time leave_time;
};

enum class SupervisionState { kActive, kReleased, kDetached };

struct SupervisionRecord {
  std::string id;           // "1", "2", ... within the call
  std::string supervisor;   // subject
  std::string participant;  // its media leg's participant id
  v1::Mode mode = v1::MODE_UNSPECIFIED;
  SupervisionState state = SupervisionState::kActive;
  // The supervisor's rank for TAKEOVER pre-emption (from policy).
  int takeover_rank = 0;
  // Downgrade target when a transfer leaves the grant (policy), or
  // MODE_UNSPECIFIED to detach.
  v1::Mode downgrade_to = v1::MODE_UNSPECIFIED;
  // The supervisor's v1::Principal (serialized; no secret in it) as of its
  // last request: policy is asked again on its behalf after a transfer.
  std::string principal;
  absl::Time create_time;
  absl::Time mode_time;
  absl::Time end_time;
  std::string end_reason;
  // Time spent in each mode before mode_time.
  std::map<v1::Mode, absl::Duration> time_in_mode;
};

enum class CallState { kActive, kOnHold, kEnded, kFailed };

struct CallRecord {
  std::string tenant;
  std::string call_id;
  std::string queue;
  CallState state = CallState::kActive;
  std::vector<ParticipantRecord> participants;
  std::vector<SupervisionRecord> supervisions;
  std::map<std::string, std::string> attributes;
  bool monitoring_disclosed = false;
  bool agent_declined_whisper = false;
  // The call's recording (`tenants/{t}/recordings/{r}`), if one is made.
  std::string recording;
  absl::Time create_time;
  absl::Time end_time;
  std::string end_reason;
  int next_agent = 1;
  int next_supervisor = 1;
  uint64_t next_event_sequence = 1;

  std::string name() const;  // tenants/{tenant}/calls/{call_id}
  const ParticipantRecord* Agent() const;
  const SupervisionRecord* FindSupervision(const std::string& id) const;
  // The active supervision of `supervisor`, if any.
  const SupervisionRecord* ActiveSupervisionOf(
      const std::string& subject) const;
  // The active supervision holding TAKEOVER, if any.
  const SupervisionRecord* TakeoverHolder() const;
  int ActiveSupervisions() const;
};

// What a change did: the events to emit (in order, sequenced) and the
// routing now in force.
struct Change {
  std::vector<v1::Event> events;
  std::vector<Route> routing;
};

// The limits and options policy attached to a supervisor's grant.
struct SupervisionGrant {
  std::vector<v1::Mode> allowed_modes;
  int max_supervisors_per_call = 0;  // 0: no limit
  int takeover_rank = 0;
  v1::Mode downgrade_to = v1::MODE_UNSPECIFIED;
};

// A fresh random (version 4) UUID, for event ids.
std::string NewEventId();

// An event about `call` (tenant, call, queue, agent filled), numbered with
// the call's next sequence number.
v1::Event MakeCallEvent(CallRecord& call, v1::EventType type, absl::Time now);

// The routing the call's current participants and modes call for.
absl::StatusOr<std::vector<Route>> CurrentRouting(const CallRecord& call);

// A new supervision of `call` by `supervisor` in `mode`; fills the
// supervision's id and participant id. Errors:
//   FAILED_PRECONDITION  call ended, or TAKEOVER asked while another holds it
//                        (the message names the holder)
//   ALREADY_EXISTS       the supervisor already supervises this call
//   RESOURCE_EXHAUSTED   the grant's supervisor limit is reached
//   PERMISSION_DENIED    the grant does not allow the mode
absl::StatusOr<Change> Attach(CallRecord& call, const std::string& supervisor,
                              v1::Mode mode, const SupervisionGrant& grant,
                              absl::Time now, std::string* supervision_id);

// Switches an active supervision's mode. With `preempt`, TAKEOVER is taken
// from a holder of lower rank, who drops to BARGE.
absl::StatusOr<Change> SetMode(CallRecord& call,
                               const std::string& supervision_id, v1::Mode mode,
                               bool preempt, const SupervisionGrant& grant,
                               absl::Time now);

// Ends an active supervision (released by the supervisor). Releasing a
// released one changes nothing.
absl::StatusOr<Change> Release(CallRecord& call,
                               const std::string& supervision_id,
                               absl::Time now);

absl::StatusOr<Change> Hold(CallRecord& call, bool hold, absl::Time now);

// Lowers an active supervision to `mode` because policy no longer allows
// its current one (e.g. the agent declined whisper):
// SUPERVISION_DOWNGRADED with the rule and reason. No change if it is not
// active or already in `mode`.
absl::StatusOr<Change> Downgrade(CallRecord& call,
                                 const std::string& supervision_id,
                                 v1::Mode mode, const std::string& rule,
                                 const std::string& reason, absl::Time now);

// What policy says about one supervisor on the new agent.
struct TransferDecision {
  bool allowed = false;  // the current mode is allowed on the new agent
  v1::Mode downgrade_to = v1::MODE_UNSPECIFIED;  // else this, or detach
  std::string rule;
  std::string reason;
};

// Replaces the connected agent with `new_agent`. `decide` is asked about
// each active supervision. Fills the new agent's participant id.
absl::StatusOr<Change> Transfer(
    CallRecord& call, ParticipantRecord new_agent,
    const std::function<TransferDecision(const SupervisionRecord&)>& decide,
    absl::Time now);

// Ends the call (or fails it, when `failed`): every supervision detaches.
absl::StatusOr<Change> End(CallRecord& call, bool failed,
                           const std::string& reason, absl::Time now);

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_CALL_MODEL_H_
