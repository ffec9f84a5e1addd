// How sottoctl shows responses: compact human lines and tables by default,
// or `-o json`: each response message as one line of proto JSON (field
// names as in the .proto files), so a stream is one object per line for jq.
// Secret media keys are shown only in JSON.
#ifndef SOTTO_TOOLS_SOTTOCTL_OUTPUT_H_
#define SOTTO_TOOLS_SOTTOCTL_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "sotto/v1/broker.pb.h"
#include "sotto/v1/media.pb.h"
#include "sotto/v1/policy.pb.h"
#include "sotto/v1/recorder.pb.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::sottoctl {

enum class OutputFormat { kText, kJson };

// "text" (or "human", "table") or "json"; an error lists both.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// The message as one line of proto JSON (no trailing newline).
std::string ToJsonLine(const google::protobuf::Message& message);

// A column-aligned table: the header row, then the rows; empty cells "-".
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// RFC 3339 in UTC to the second, or "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& time);

// Human form of every response sottoctl prints. Each ends with a newline.
std::string FormatCall(const v1::Call& call);
std::string FormatCalls(const v1::ListCallsResponse& response);
std::string FormatParticipant(const v1::Participant& participant);
std::string FormatSupervision(const v1::Supervision& supervision);
std::string FormatSupervisions(const v1::ListSupervisionsResponse& response);
std::string FormatTransfer(const v1::TransferCallResponse& response);
std::string FormatCallEvent(const v1::CallEvent& event);
std::string FormatEngines(const v1::ListEnginesResponse& response);

std::string FormatRecording(const v1::Recording& recording);
std::string FormatRecordings(const v1::ListRecordingsResponse& response);
std::string FormatRetention(const v1::ApplyRetentionResponse& response);

std::string FormatActivityReport(const v1::SupervisionActivityReport& report);
std::string FormatCoachingReport(const v1::CoachingEffectivenessReport& report);
std::string FormatRampUpReport(const v1::RampUpReport& report);
std::string FormatOutcome(const v1::CallOutcome& outcome);
std::string FormatAuditRecords(const v1::ListAuditRecordsResponse& response);
std::string FormatAuditVerification(
    const v1::VerifyAuditChainResponse& response);

std::string FormatPrincipal(const v1::Principal& principal);
std::string FormatDecision(const v1::Decision& decision);
std::string FormatPolicyStatus(const v1::PolicyStatus& status);
std::string FormatRecordingPolicy(const v1::RecordingPolicy& policy);

std::string FormatEngineInfo(const v1::EngineInfo& info);
std::string FormatRooms(const v1::ListRoomsResponse& response);
std::string FormatStats(const v1::GetStatsResponse& response);
std::string FormatDrain(const v1::DrainResponse& response);

}  // namespace sotto::sottoctl

#endif  // SOTTO_TOOLS_SOTTOCTL_OUTPUT_H_
