// RecordingStore on the shared SQL layer: one schema for SQLite and
// PostgreSQL (services/common/sql), applied by migrations on Open.
#ifndef SOTTO_SERVICES_RECORDER_SQL_RECORDING_STORE_H_
#define SOTTO_SERVICES_RECORDER_SQL_RECORDING_STORE_H_

#include <memory>

#include "services/common/sql/database.h"
#include "services/recorder/recording_store.h"

namespace sotto::recorder {

class SqlRecordingStore final : public RecordingStore {
 public:
  // Applies the schema migrations. `db` must outlive the store.
  static absl::StatusOr<std::unique_ptr<SqlRecordingStore>> Open(
      sql::Database* db);

  absl::Status Put(const StoredRecording& recording) override;
  absl::StatusOr<StoredRecording> Get(const std::string& tenant,
                                      const std::string& id) override;
  absl::StatusOr<std::vector<StoredRecording>> List(
      const ListQuery& query) override;
  absl::StatusOr<std::vector<StoredRecording>> ListInStates(
      const std::vector<v1::Recording::State>& states) override;
  absl::StatusOr<std::optional<std::string>> FindResponse(
      const std::string& tenant, const std::string& method,
      const std::string& request_id) override;
  absl::Status RememberResponse(const std::string& tenant,
                                const std::string& method,
                                const std::string& request_id,
                                const std::string& response) override;
  absl::Status Audit(const AuditEntry& entry) override;
  absl::StatusOr<std::vector<AuditEntry>> ListAudit(
      const std::string& tenant) override;

 private:
  explicit SqlRecordingStore(sql::Database* db) : db_(db) {}
  sql::Database* const db_;
};

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_SQL_RECORDING_STORE_H_
