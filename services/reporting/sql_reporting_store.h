// SqlReportingStore: everything reporting keeps, on the shared SQL layer
// (SQLite embedded default, PostgreSQL when replicas share state). The same
// code runs on both; tests/services/reporting runs one suite against each.
//
// Tables (migrations in sql_reporting_store.cc):
//   reporting_events        every ingested event, once: UNIQUE (tenant,
//                           event_id) makes ingest idempotent across
//                           replicas; each row is also a link of the
//                           tenant's audit chain (sequence, previous_hash,
//                           hash over the event's canonical bytes)
//   reporting_audit_heads   per tenant: the last sequence and hash (detects
//                           records removed from the end of a chain)
//   reporting_supervisions  per supervision: last known mode, team, queue
//                           and whether it ended (the active gauge)
//   reporting_outcomes      one call outcome per call (the latest report)
//   reporting_requests      first response per (tenant, kind, request_id)
//   reporting_media_quality one leg summary per (tenant, request_id)
#ifndef SOTTO_SERVICES_REPORTING_SQL_REPORTING_STORE_H_
#define SOTTO_SERVICES_REPORTING_SQL_REPORTING_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/sql/database.h"
#include "services/reporting/audit_chain.h"
#include "sotto/v1/events.pb.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::reporting {

// An event stored for the first time. When it closed a span of a
// supervision in some mode (mode change, downgrade, end, detach), the mode
// and length of that span as far as the stored events tell.
struct FreshEvent {
  v1::Event event;
  v1::Mode closed_mode = v1::MODE_UNSPECIFIED;
  double closed_seconds = 0;
};

struct IngestResult {
  uint32_t accepted = 0;
  uint32_t duplicates = 0;
  std::vector<FreshEvent> fresh;
};

struct AuditQuery {
  std::string tenant;
  uint64_t after_sequence = 0;  // records with a greater sequence
  int limit = 50;
  std::optional<absl::Time> start;  // event time >= start
  std::optional<absl::Time> end;    // event time < end
  std::string call;                 // "" = any
  std::string actor;                // "" = any
};

struct OutcomeWrite {
  v1::CallOutcome outcome;      // as stored (or as first stored, on a replay)
  bool replayed = false;        // same request_id seen before: nothing changed
  bool first_for_call = false;  // no earlier outcome for this call
  bool coached = false;         // the call had a whisper, barge or takeover
};

// What the report computations read: the events of the calls in a time
// range and their outcomes.
struct ReportData {
  std::vector<v1::Event> events;  // unordered; the computation orders them
  std::map<std::string, v1::CallOutcome> outcomes;  // by call name
};

struct ActiveSupervisions {
  std::string tenant;
  std::string team;
  std::string queue;
  v1::Mode mode = v1::MODE_UNSPECIFIED;
  int64_t count = 0;
};

// Thread-safe (the Database is). Errors carry the SQL layer's codes.
class SqlReportingStore {
 public:
  // Applies the schema migrations. `db` must outlive the store.
  static absl::StatusOr<std::unique_ptr<SqlReportingStore>> Open(
      sql::Database* db);

  // Stores the events not stored yet (by tenant and event id) in one
  // transaction, each chained into its tenant's audit trail. The caller has
  // validated them (id, tenant, type).
  absl::StatusOr<IngestResult> AppendEvents(
      const std::vector<v1::Event>& events, absl::Time ingest_time);

  absl::StatusOr<std::vector<v1::AuditRecord>> ListAuditRecords(
      const AuditQuery& query);

  // Walks the tenant's whole chain in sequence order.
  absl::StatusOr<ChainVerification> VerifyChain(const std::string& tenant);

  // Stores `outcome` for `call` unless (tenant, request_id) was seen: then
  // the first result is returned with replayed = true, or INVALID_ARGUMENT
  // when `fingerprint` differs (same id, other body). Chains `audit_event`
  // (an OUTCOME_REPORTED event) in the same transaction.
  absl::StatusOr<OutcomeWrite> PutOutcome(const std::string& tenant,
                                          const std::string& request_id,
                                          const std::string& fingerprint,
                                          const v1::CallOutcome& outcome,
                                          const v1::Event& audit_event,
                                          absl::Time now);

  // True when stored for the first time; false on a replay of the same
  // request_id; INVALID_ARGUMENT if that id came with another body.
  absl::StatusOr<bool> PutMediaQuality(
      const v1::IngestMediaQualityRequest& request,
      const std::string& fingerprint, absl::Time now);

  // Calls of `tenant` that started in [start, end) (end unset: no bound):
  // those registered then, and those whose outcome says they started then.
  absl::StatusOr<ReportData> LoadReportData(const std::string& tenant,
                                            absl::Time start,
                                            std::optional<absl::Time> end);

  // When each agent of the tenant started: the reported agent_start_time
  // (earliest), else the agent's first call ever (CALL_REGISTERED or an
  // outcome's call_start_time).
  absl::StatusOr<std::map<std::string, absl::Time>> AgentStarts(
      const std::string& tenant);

  // Supervisions not ended, by tenant, team, queue and mode.
  absl::StatusOr<std::vector<ActiveSupervisions>> CountActiveSupervisions();

 private:
  explicit SqlReportingStore(sql::Database* db) : db_(db) {}

  sql::Database* const db_;
};

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_SQL_REPORTING_STORE_H_
