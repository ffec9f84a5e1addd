// The recorder's index: recordings (their public Recording message plus
// what the recorder needs to resume one after a restart), answers to
// idempotent requests, and the audit trail of accesses and deletions.
// RecordingStore is the seam; SqlRecordingStore (SQLite or PostgreSQL,
// through services/common/sql) is the implementation.
#ifndef SOTTO_SERVICES_RECORDER_RECORDING_STORE_H_
#define SOTTO_SERVICES_RECORDER_RECORDING_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/recorder/recording_session.h"
#include "sotto/v1/events.pb.h"
#include "sotto/v1/recorder.pb.h"

namespace sotto::recorder {

struct StoredRecording {
  v1::Recording recording;  // name, tenant, state, files, spans, ...
  std::string id;           // the last part of recording.name()
  std::string engine_address;
  std::string room_id;
  v1::RecordingPolicy policy;
  std::vector<LegBinding> legs;
};

struct ListQuery {
  std::string tenant;  // required
  std::string call;
  std::string team;
  std::string agent_id;
  std::optional<absl::Time> started_from;    // inclusive
  std::optional<absl::Time> started_before;  // exclusive
  // Keyset cursor: only recordings strictly older than (start, id).
  std::optional<std::pair<absl::Time, std::string>> after;
  int limit = 50;
};

struct AuditEntry {
  absl::Time time;
  std::string tenant;
  std::string recording;  // resource name
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  std::string subject;  // who (a user, or "retention")
  std::string detail;
};

// Thread-safe.
class RecordingStore {
 public:
  virtual ~RecordingStore() = default;
  // Inserts or replaces.
  virtual absl::Status Put(const StoredRecording& recording) = 0;
  // NOT_FOUND if the tenant has no such recording.
  virtual absl::StatusOr<StoredRecording> Get(const std::string& tenant,
                                              const std::string& id) = 0;
  // Newest first (start time, then id, descending).
  virtual absl::StatusOr<std::vector<StoredRecording>> List(
      const ListQuery& query) = 0;
  // Every recording in one of `states` (all tenants), oldest first.
  virtual absl::StatusOr<std::vector<StoredRecording>> ListInStates(
      const std::vector<v1::Recording::State>& states) = 0;
  // The response remembered for (tenant, method, request_id), if any.
  virtual absl::StatusOr<std::optional<std::string>> FindResponse(
      const std::string& tenant, const std::string& method,
      const std::string& request_id) = 0;
  // Remembers a response; the first one stored wins.
  virtual absl::Status RememberResponse(const std::string& tenant,
                                        const std::string& method,
                                        const std::string& request_id,
                                        const std::string& response) = 0;
  virtual absl::Status Audit(const AuditEntry& entry) = 0;
  // A tenant's audit entries, oldest first ("" = all tenants).
  virtual absl::StatusOr<std::vector<AuditEntry>> ListAudit(
      const std::string& tenant) = 0;
};

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_RECORDING_STORE_H_
