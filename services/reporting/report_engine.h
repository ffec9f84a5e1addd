// The report computations, pure: from the stored events and outcomes of the
// calls in a time range to report rows. Events are replayed per call in
// event-time order (the broker's call_sequence breaks ties), never in
// arrival order, so late and reordered delivery gives the same figures.
#ifndef SOTTO_SERVICES_REPORTING_REPORT_ENGINE_H_
#define SOTTO_SERVICES_REPORTING_REPORT_ENGINE_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/reporting/sql_reporting_store.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::reporting {

// A span of a supervision in one mode: [start, end).
struct ModeSpan {
  v1::Mode mode = v1::MODE_UNSPECIFIED;
  absl::Time start;
  absl::Time end;
};

struct SupervisionFacts {
  std::string name;
  std::string supervisor;
  std::vector<ModeSpan> spans;
  int mode_switches = 0;  // SUPERVISION_MODE_CHANGED events
  bool Used(v1::Mode mode) const;
  // Whisper, barge or takeover at some point: coaching.
  bool Coaching() const;
  // When it first entered whisper, barge or takeover.
  std::optional<absl::Time> FirstIntervention() const;
};

// One call as the events and its outcome tell it.
struct CallFacts {
  std::string call;
  absl::Time start;
  // The call's last agent, its team and queue (the outcome's when reported).
  std::string agent_id;
  std::string team;
  std::string queue;
  std::vector<SupervisionFacts> supervisions;
  std::optional<v1::CallOutcome> outcome;
  bool Coached() const;
  int CoachingSessions() const;
};

// Replays each call's events. Spans still open end at the call's end, else
// at `now`. Calls whose start is outside [start, end) are dropped.
std::vector<CallFacts> BuildCallFacts(const ReportData& data, absl::Time start,
                                      std::optional<absl::Time> end,
                                      absl::Time now);

// Which calls a report covers: the request's filters and, from policy, the
// teams the caller may read (unset: every team).
struct CallFilter {
  std::set<std::string> teams;
  std::set<std::string> queues;
  std::set<std::string> agent_ids;
  std::function<bool(const std::string& team)> readable;
  bool Matches(const CallFacts& call) const;
};

// Rows sorted by key.
std::vector<v1::SupervisionActivityReport::Row> SupervisionActivityRows(
    const std::vector<CallFacts>& calls, v1::GroupBy group_by);

// Over calls with an outcome; rows sorted by key. Buckets of `bucket` from
// `start` up to `end` (or the last call), at most `max_buckets`, else
// INVALID_ARGUMENT.
absl::StatusOr<std::vector<v1::CoachingEffectivenessReport::Row>>
CoachingEffectivenessRows(const std::vector<CallFacts>& calls,
                          v1::GroupBy group_by, absl::Duration bucket,
                          absl::Time start, std::optional<absl::Time> end,
                          int max_buckets);

// Over calls with an outcome and a known agent start; rows sorted by key
// then week, weeks 0..weeks-1 that have calls.
std::vector<v1::RampUpReport::Row> RampUpRows(
    const std::vector<CallFacts>& calls, v1::GroupBy group_by, int weeks,
    const std::map<std::string, absl::Time>& agent_start);

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_REPORT_ENGINE_H_
