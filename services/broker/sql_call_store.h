// SqlCallStore: the CallStore on the shared SQL layer. It uses only the
// Database interface, so the same code runs on SQLite (embedded default)
// and PostgreSQL (replicas sharing state).
//
// Tables (migrations in sql_call_store.cc):
//   broker_calls        one row per call: the columns lists filter on
//                       (tenant, call_id, queue, team, agent_id, state,
//                       create_time), a version for optimistic concurrency,
//                       the call as a serialized sotto.v1.Call (keys
//                       included) and a JSON document of internal counters
//   broker_idempotency  first response per (tenant, request_id)
//   broker_outbox       events in insertion order, with a delivered flag
#ifndef SOTTO_SERVICES_BROKER_SQL_CALL_STORE_H_
#define SOTTO_SERVICES_BROKER_SQL_CALL_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "services/broker/call_store.h"
#include "services/common/sql/database.h"

namespace sotto::broker {

class SqlCallStore final : public CallStore {
 public:
  // Applies the schema migrations. `db` must outlive the store.
  static absl::StatusOr<std::unique_ptr<SqlCallStore>> Open(sql::Database* db);

  absl::Status Create(const StoredCall& call,
                      const WriteExtras& extras) override;
  absl::StatusOr<StoredCall> Get(const std::string& tenant,
                                 const std::string& call_id) override;
  absl::StatusOr<CallPage> List(const CallQuery& query) override;
  absl::StatusOr<int64_t> Update(const StoredCall& call,
                                 const WriteExtras& extras) override;
  absl::StatusOr<std::optional<IdempotencyRecord>> GetIdempotency(
      const std::string& tenant, const std::string& request_id) override;
  absl::StatusOr<int64_t> ExpireIdempotency(absl::Time before) override;
  absl::Status AppendEvents(const std::vector<v1::Event>& events) override;
  absl::StatusOr<std::vector<OutboxEntry>> PendingEvents(int limit) override;
  absl::Status MarkDelivered(const std::vector<int64_t>& sequences) override;
  absl::StatusOr<std::vector<OutboxEntry>> EventsAfter(int64_t after_sequence,
                                                       int limit) override;
  absl::StatusOr<int64_t> LastEventSequence() override;
  absl::StatusOr<std::vector<StoredCall>> LiveCallsOnEngine(
      const std::string& engine_id) override;
  absl::Status SaveEngine(const EngineRecord& engine) override;
  absl::StatusOr<std::vector<EngineRecord>> LoadEngines() override;

 private:
  explicit SqlCallStore(sql::Database* db) : db_(db) {}

  sql::Database* const db_;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_SQL_CALL_STORE_H_
