// Where the broker keeps its calls: the CallStore interface. A call is
// stored whole (its CallRecord plus what the broker needs to drive its media)
// under optimistic concurrency, together with the events it caused (the
// outbox) and the first response of each idempotent request, all in one
// transaction. SqlCallStore implements it on the shared SQL layer (SQLite
// and PostgreSQL).
#ifndef SOTTO_SERVICES_BROKER_CALL_STORE_H_
#define SOTTO_SERVICES_BROKER_CALL_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/broker/call_model.h"
#include "services/broker/engine_registry.h"
#include "sotto/v1/common.pb.h"
#include "sotto/v1/events.pb.h"

namespace sotto::broker {

// A call as stored: the model plus its media placement.
struct StoredCall {
  CallRecord record;
  // The engine's answer for each participant's leg, by participant id,
  // with the engine's SRTP key (returned only to the leg's owner).
  std::map<std::string, v1::MediaAnswer> answers;
  // Participant display names, by participant id (absent: none given).
  std::map<std::string, std::string> display_names;
  std::string engine_id;
  std::string engine_control_address;  // as when the call was placed
  // The media engine's routing generation after our last SetRouting; the
  // next SetRouting is a compare-and-set on it.
  uint64_t routing_generation = 0;
  // Optimistic concurrency: the version read. Create stores version 1;
  // Update succeeds only if the stored version still equals this one.
  int64_t version = 0;
};

// The first successful response of a mutating request (AIP-155).
struct IdempotencyRecord {
  std::string tenant;
  std::string request_id;
  // What the request was (method and body digest): a reuse of the id for
  // another request is INVALID_ARGUMENT.
  std::string fingerprint;
  std::string response;  // the serialized response message
};

// What else one write carries, in the same transaction.
struct WriteExtras {
  std::vector<v1::Event> events;  // appended to the outbox, in order
  std::optional<IdempotencyRecord> idempotency;
};

struct CallQuery {
  std::string tenant;  // required
  std::string queue;   // filters; empty matches all
  std::string team;
  std::string agent_id;
  std::vector<CallState> states;  // empty: all states
  int limit = 50;                 // > 0
  // Keyset cursor: only calls strictly after this (create_time, call_id)
  // in newest-first order. Unset: from the newest.
  std::optional<std::pair<absl::Time, std::string>> after;
};

struct CallPage {
  std::vector<StoredCall> calls;  // newest first
  bool more = false;              // the query had more matches
};

// An outbox row, for the forwarder (and tests).
struct OutboxEntry {
  int64_t sequence = 0;  // ascending in insertion order
  v1::Event event;
};

// Thread-safe. Errors: NOT_FOUND, ALREADY_EXISTS (call or request id
// already stored), ABORTED (version conflict: re-read and retry),
// UNAVAILABLE (the database is unreachable), INTERNAL (corrupt row).
class CallStore {
 public:
  virtual ~CallStore() = default;

  // Stores a new call at version 1. ALREADY_EXISTS if (tenant, call_id) or
  // the idempotency record's (tenant, request_id) exists.
  virtual absl::Status Create(const StoredCall& call,
                              const WriteExtras& extras) = 0;
  virtual absl::StatusOr<StoredCall> Get(const std::string& tenant,
                                         const std::string& call_id) = 0;
  virtual absl::StatusOr<CallPage> List(const CallQuery& query) = 0;
  // Replaces the call if its stored version equals call.version, and
  // returns the new version. ABORTED otherwise (someone else wrote first).
  virtual absl::StatusOr<int64_t> Update(const StoredCall& call,
                                         const WriteExtras& extras) = 0;

  // The first response stored for (tenant, request_id), if any.
  virtual absl::StatusOr<std::optional<IdempotencyRecord>> GetIdempotency(
      const std::string& tenant, const std::string& request_id) = 0;

  // Forgets idempotency records stored before `before` (a retry after that
  // is a new request); returns how many.
  virtual absl::StatusOr<int64_t> ExpireIdempotency(absl::Time before) = 0;

  // Events not tied to a call change (e.g. ACCESS_DENIED audits).
  virtual absl::Status AppendEvents(const std::vector<v1::Event>& events) = 0;
  // The oldest undelivered outbox entries, at most `limit`.
  virtual absl::StatusOr<std::vector<OutboxEntry>> PendingEvents(int limit) = 0;
  // Marks exactly these entries delivered. (Not "everything up to N": on
  // PostgreSQL a lower sequence can commit after a higher one was read.)
  virtual absl::Status MarkDelivered(const std::vector<int64_t>& sequences) = 0;
  // Every stored event with a sequence above `after_sequence`, delivered or
  // not, oldest first, at most `limit`: what watchers tail.
  virtual absl::StatusOr<std::vector<OutboxEntry>> EventsAfter(
      int64_t after_sequence, int limit) = 0;
  // The highest sequence stored (0 when there is none): where a new
  // watcher starts.
  virtual absl::StatusOr<int64_t> LastEventSequence() = 0;

  // Placement shared by the replicas.
  // Calls still active or on hold on this engine.
  virtual absl::StatusOr<std::vector<StoredCall>> LiveCallsOnEngine(
      const std::string& engine_id) = 0;
  // Upserts an engine's registration and heartbeat; an older heartbeat
  // than the stored one changes nothing.
  virtual absl::Status SaveEngine(const EngineRecord& engine) = 0;
  virtual absl::StatusOr<std::vector<EngineRecord>> LoadEngines() = 0;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_CALL_STORE_H_
