// The broker's core: the public supervision API's logic, free of gRPC
// server code. Each method authenticates the bearer token with the policy
// service, authorises the action (deny by default; every denial becomes an
// ACCESS_DENIED event in the outbox), applies call_model's rules, drives the
// media engine (legs and routing) and persists the call with its events and
// the request's first response in one store transaction.
//
// Requests and responses are sotto.v1 messages: the API is the domain here,
// and call_model already speaks in v1 roles, modes and events.
//
// Ordering and consistency. Mutations of one call are serialised in this
// process (a lock per call, striped). The media engine is driven before the
// store commit, so that SetSupervisionMode returns only once the new routing
// is in force; the commit is a compare-and-set on the call's version, and a
// loser of a race between replicas re-applies the winner's routing and
// returns ABORTED.
#ifndef SOTTO_SERVICES_BROKER_BROKER_H_
#define SOTTO_SERVICES_BROKER_BROKER_H_

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/broker/call_proto.h"
#include "services/broker/call_store.h"
#include "services/broker/engine_registry.h"
#include "services/broker/event_bell.h"
#include "services/broker/media_client.h"
#include "services/broker/policy_client.h"
#include "services/broker/recorder_client.h"
#include "sotto/v1/broker.pb.h"

namespace sotto::broker {

struct BrokerOptions {
  // Time source (tests pin it).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // How often a watch stream looks at the store when no write of this
  // replica woke it: the latency of seeing another replica's changes.
  absl::Duration watch_poll = absl::Milliseconds(250);
  // What the customer hears when a supervisor barges in or takes over and
  // policy asks for an announcement (8 kHz s16le mono PCM, at most 30 s).
  // Empty: a 1400 Hz notice tone.
  std::string customer_announcement_pcm;
  // How long a request id is remembered (AIP-155): a retry within it
  // returns the first response.
  absl::Duration idempotency_window = absl::Hours(24);
  // Where calls are recorded, as the tenant's recording policy says;
  // null: no recorder, nothing is recorded.
  RecorderClient* recorder = nullptr;
};

// Receives a watch stream's events; false when the client is gone.
using CallEventWriter = std::function<bool(const v1::CallEvent&)>;

// Thread-safe. The collaborators must outlive the broker.
class Broker {
 public:
  Broker(PolicyClient* policy, MediaClient* media, CallStore* store,
         EngineRegistry* engines, BrokerOptions options = BrokerOptions());

  // `token` is the raw bearer token (without "Bearer "); empty means none
  // was given (UNAUTHENTICATED). Errors follow broker.proto.
  absl::StatusOr<v1::Call> RegisterCall(const std::string& token,
                                        const v1::RegisterCallRequest& request);
  absl::StatusOr<v1::Call> GetCall(const std::string& token,
                                   const v1::GetCallRequest& request);
  absl::StatusOr<v1::ListCallsResponse> ListCalls(
      const std::string& token, const v1::ListCallsRequest& request);
  absl::StatusOr<v1::Call> EndCall(const std::string& token,
                                   const v1::EndCallRequest& request);
  // The agent leg is replaced by the new agent's; each supervisor is asked
  // about again on its own behalf: kept, downgraded (policy's downgrade_to)
  // or detached, each with the rule and reason in the response and events.
  absl::StatusOr<v1::TransferCallResponse> TransferCall(
      const std::string& token, const v1::TransferCallRequest& request);
  absl::StatusOr<v1::Call> UpdateCall(const std::string& token,
                                      const v1::UpdateCallRequest& request);
  absl::StatusOr<v1::Participant> UpdateParticipantMedia(
      const std::string& token,
      const v1::UpdateParticipantMediaRequest& request);
  // Pause the call's recording (e.g. while a card number is read): the
  // recorder writes silence and marks the span; resume ends it. Needs
  // recordings.control; FAILED_PRECONDITION when the call is not recorded.
  absl::StatusOr<v1::Call> PauseCallRecording(
      const std::string& token, const v1::PauseCallRecordingRequest& request);
  absl::StatusOr<v1::Call> ResumeCallRecording(
      const std::string& token, const v1::ResumeCallRecordingRequest& request);
  absl::StatusOr<v1::Call> HoldCall(const std::string& token,
                                    const v1::HoldCallRequest& request);
  absl::StatusOr<v1::Call> ResumeCall(const std::string& token,
                                      const v1::ResumeCallRequest& request);
  absl::StatusOr<v1::Supervision> CreateSupervision(
      const std::string& token, const v1::CreateSupervisionRequest& request);
  absl::StatusOr<v1::Supervision> SetSupervisionMode(
      const std::string& token, const v1::SetSupervisionModeRequest& request);
  absl::StatusOr<v1::Supervision> DeleteSupervision(
      const std::string& token, const v1::DeleteSupervisionRequest& request);
  absl::StatusOr<v1::Supervision> GetSupervision(
      const std::string& token, const v1::GetSupervisionRequest& request);

  absl::StatusOr<v1::ListSupervisionsResponse> ListSupervisions(
      const std::string& token, const v1::ListSupervisionsRequest& request);

  // Watch streams: a snapshot first (event type unspecified), then every
  // change, until the call ends (WatchCall: OK), the client goes
  // (`cancelled` true or `write` false: CANCELLED) or the broker shuts
  // down (UNAVAILABLE: watch again, on any replica). A watcher sees only
  // calls it may view; audit events (access granted/denied) are not sent.
  absl::Status WatchCall(const std::string& token,
                         const v1::WatchCallRequest& request,
                         const CallEventWriter& write,
                         const std::function<bool()>& cancelled);
  absl::Status WatchCalls(const std::string& token,
                          const v1::WatchCallsRequest& request,
                          const CallEventWriter& write,
                          const std::function<bool()>& cancelled);

  // One pass of housekeeping (main runs it every second): shares engine
  // registrations and heartbeats with the other replicas through the
  // store; fails the live calls of engines whose lease expired (after a
  // grace of one lease from start, so engines can re-register after a
  // broker restart); reconciles each engine this replica has not checked
  // yet with its room list (rooms of live calls get the stored matrix
  // again, live calls without a room fail, old orphan rooms are deleted).
  void Maintain();

  // Rung after every store write; the outbox forwarder waits on it too.
  EventBell* event_bell() { return &bell_; }
  // Ends every watch stream (UNAVAILABLE) and refuses new ones: drain.
  void StopWatches() { bell_.Close(); }

 private:
  // HoldCall and ResumeCall: the same steps towards the other state.
  absl::StatusOr<v1::Call> SetHeld(const std::string& token,
                                   const google::protobuf::Message& request,
                                   const std::string& call_name,
                                   const std::string& request_id, bool hold);

  struct CallName {
    std::string tenant;
    std::string call_id;
    std::string supervision_id;  // for supervision names
  };

  absl::StatusOr<v1::Principal> Authenticate(const std::string& token);
  // OK when the principal manages calls or may view this one (a denial is
  // audited); `manager` tells which.
  absl::Status RequireViewer(const v1::Principal& principal,
                             const CallRecord& call, bool* manager);
  // Whether the principal manages the call, may view it, or neither (for
  // lists and streams, which leave out what it may not see). The decision
  // that settles it is audited.
  enum class Access { kNone, kView, kManage };
  absl::StatusOr<Access> AccessTo(const v1::Principal& principal,
                                  const CallRecord& call);
  // The CallEvent a watcher gets: the event with the call as stored now,
  // without any media key.
  v1::CallEvent WatchedEvent(const v1::Event& event, const StoredCall& call);
  // Tails the event log from `start` until the broker stops watches or
  // `cancelled`; hands each of the tenant's non-audit events to
  // `on_event`, which returns false to end the stream (OK) or an error.
  absl::Status FollowEvents(
      int64_t start, const std::string& tenant,
      const std::function<bool()>& cancelled,
      const std::function<absl::StatusOr<bool>(const v1::Event&)>& on_event);
  // The decision for `action` on the call; a denial is audited and
  // returned as PERMISSION_DENIED with the policy's reason.
  // `reason` is what the principal gave (policy may require one).
  absl::StatusOr<v1::Decision> Require(const v1::Principal& principal,
                                       v1::Action action,
                                       const CallRecord& call, v1::Mode mode,
                                       const std::string& reason = "");
  // Asks policy; audits the decision unless `audit` is false (the caller
  // then audits the decision that settles the request).
  absl::StatusOr<v1::Decision> Ask(const v1::Principal& principal,
                                   v1::Action action, const CallRecord& call,
                                   v1::Mode mode,
                                   const std::string& reason = "",
                                   bool audit = true);
  // Every decision, allow or deny, becomes an ACCESS_GRANTED or
  // ACCESS_DENIED event (Ask calls it).
  void Audit(const v1::Principal& principal, v1::Action action,
             const CallRecord& call, v1::Mode mode, const std::string& reason,
             const v1::Decision& decision);

  // The call if it exists in the principal's tenant; NOT_FOUND otherwise,
  // with the same message whether it exists elsewhere or not at all.
  absl::StatusOr<StoredCall> LoadVisible(const v1::Principal& principal,
                                         const CallName& name);

  // AIP-155: the stored first response of (tenant, request_id), if the
  // same principal sent the same request; INVALID_ARGUMENT if the id was
  // used for another request.
  absl::StatusOr<std::optional<std::string>> Replay(
      const v1::Principal& principal, const std::string& request_id,
      const std::string& fingerprint);
  std::optional<IdempotencyRecord> Remember(const v1::Principal& principal,
                                            const std::string& request_id,
                                            const std::string& fingerprint,
                                            const std::string& response);

  std::string EngineAddress(const StoredCall& call) const;
  // Replaces the room's routing with the call's current one.
  absl::Status ApplyRouting(StoredCall& call);
  // Store Update; on a lost race re-applies the winner's routing.
  absl::Status Commit(StoredCall& call, const WriteExtras& extras);

  // Runs one mutation of an existing call under its lock: re-reads it,
  // lets `change` act on it (media included), commits. Returns the call
  // after the change.
  using ChangeFn =
      std::function<absl::StatusOr<std::vector<v1::Event>>(StoredCall& call)>;
  absl::StatusOr<StoredCall> MutateCall(
      const CallName& name, const ChangeFn& change,
      const std::function<std::optional<IdempotencyRecord>(const StoredCall&)>&
          remember);

  // The steps every call-management RPC (end, hold, transfer, update...)
  // shares: authenticate, parse the call name, load, require calls.manage,
  // require a request id, replay a retried request, run `change` under the
  // call's lock (its events get the actor and are preceded by the grant's
  // audit), commit, remember and return `render` of the call.
  using ManageFn = std::function<absl::StatusOr<std::vector<v1::Event>>(
      StoredCall& call, absl::Time now)>;
  template <typename Response>
  absl::StatusOr<Response> ManageCall(
      const std::string& token, absl::string_view method,
      const google::protobuf::Message& request, const std::string& call_name,
      const std::string& request_id, const ManageFn& change,
      const std::function<Response(const StoredCall&, const CallView&)>& render,
      v1::Action action = v1::ACTION_CALLS_MANAGE);

  // Policy's cues after a mode change took effect: the whisper cue tone
  // to the agent, the announcement to the customer on barge/takeover.
  void PlayCues(const StoredCall& call, v1::Mode from, v1::Mode to,
                const v1::Decision& decision);
  // Starts the call's recording when the tenant's policy says so: sets
  // call.record.recording and returns RECORDING_STARTED, or
  // RECORDING_FAILED when the recorder refused or is down (the call goes
  // on), or nothing when policy does not record it.
  std::vector<v1::Event> StartRecording(StoredCall& call, absl::Time now);
  // Tells the recorder what committed events changed (who joined, modes,
  // the end). Best effort: the recorder applies each at its event time.
  void FollowRecording(const StoredCall& call,
                       const std::vector<v1::Event>& events);
  void FailCallsOn(const std::string& engine_id, const std::string& reason);
  absl::Status FailCall(const std::string& tenant, const std::string& call_id,
                        const std::string& reason);
  absl::Status ReconcileEngine(const EngineRecord& engine);

  std::mutex& LockFor(const std::string& tenant, const std::string& call_id);

  PolicyClient* const policy_;
  MediaClient* const media_;
  CallStore* const store_;
  EngineRegistry* const engines_;
  const BrokerOptions options_;
  std::array<std::mutex, 64> call_locks_;
  EventBell bell_;
  std::mutex maintenance_mu_;  // one Maintain() at a time; guards below
  absl::Time started_ = absl::InfinitePast();
  std::map<std::string, absl::Time> saved_heartbeats_;
  std::set<std::string> reconciled_;
  absl::Time last_expiry_ = absl::InfinitePast();
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_BROKER_H_
