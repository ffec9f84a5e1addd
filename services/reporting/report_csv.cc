#include "services/reporting/report_csv.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

namespace sotto::reporting {
namespace {

constexpr const char* kModeNames[] = {"MODE_LISTEN", "MODE_WHISPER",
                                      "MODE_BARGE", "MODE_TAKEOVER"};
constexpr const char* kModeColumns[] = {"listen", "whisper", "barge",
                                        "takeover"};

std::string Field(absl::string_view value) {
  if (value.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(value);
  }
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// Shortest text that parses back to the same double.
std::string Number(double value) { return absl::StrFormat("%.17g", value); }

class CsvText {
 public:
  void Line(const std::vector<std::string>& fields) {
    std::vector<std::string> escaped;
    escaped.reserve(fields.size());
    for (const std::string& f : fields) escaped.push_back(Field(f));
    absl::StrAppend(&text_, absl::StrJoin(escaped, ","), "\r\n");
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

const std::vector<std::string>& OutcomeHeader() {
  static const auto* header = new std::vector<std::string>{
      "calls",           "first_contact_resolution_rate", "transfer_rate",
      "escalation_rate", "mean_handle_time_seconds",      "mean_csat",
      "mean_qa_score",   "compliance_errors_per_call"};
  return *header;
}

void AppendOutcome(const v1::OutcomeStats& s, std::vector<std::string>* out) {
  for (const std::string& f :
       {std::to_string(s.calls()), Number(s.first_contact_resolution_rate()),
        Number(s.transfer_rate()), Number(s.escalation_rate()),
        Number(s.mean_handle_time_seconds()), Number(s.mean_csat()),
        Number(s.mean_qa_score()), Number(s.compliance_errors_per_call())}) {
    out->push_back(f);
  }
}

}  // namespace

std::string SupervisionActivityCsv(
    const std::vector<v1::SupervisionActivityReport::Row>& rows) {
  CsvText csv;
  std::vector<std::string> header = {"key", "calls", "supervised_calls",
                                     "sessions"};
  for (const char* mode : kModeColumns) {
    header.push_back(absl::StrCat("seconds_", mode));
  }
  for (const char* mode : kModeColumns) {
    header.push_back(absl::StrCat("sessions_", mode));
  }
  for (const char* column : {"mode_switches", "barge_rate", "takeover_rate",
                             "mean_seconds_to_first_intervention"}) {
    header.push_back(column);
  }
  csv.Line(header);
  for (const auto& row : rows) {
    std::vector<std::string> line = {row.key(), std::to_string(row.calls()),
                                     std::to_string(row.supervised_calls()),
                                     std::to_string(row.sessions())};
    for (const char* mode : kModeNames) {
      auto found = row.seconds_by_mode().find(mode);
      line.push_back(
          Number(found == row.seconds_by_mode().end() ? 0 : found->second));
    }
    for (const char* mode : kModeNames) {
      auto found = row.sessions_by_mode().find(mode);
      line.push_back(std::to_string(
          found == row.sessions_by_mode().end() ? 0 : found->second));
    }
    line.push_back(std::to_string(row.mode_switches()));
    line.push_back(Number(row.barge_rate()));
    line.push_back(Number(row.takeover_rate()));
    line.push_back(Number(row.mean_seconds_to_first_intervention()));
    csv.Line(line);
  }
  return csv.Take();
}

std::string CoachingEffectivenessCsv(
    const std::vector<v1::CoachingEffectivenessReport::Row>& rows) {
  CsvText csv;
  std::vector<std::string> header = {"key", "set", "bucket_start",
                                     "coaching_sessions"};
  header.insert(header.end(), OutcomeHeader().begin(), OutcomeHeader().end());
  csv.Line(header);
  for (const auto& row : rows) {
    for (const auto& [set, stats] :
         {std::make_pair("coached", &row.coached()),
          std::make_pair("not_coached", &row.not_coached())}) {
      std::vector<std::string> line = {row.key(), set, "", ""};
      AppendOutcome(*stats, &line);
      csv.Line(line);
    }
    for (const auto& bucket : row.trend()) {
      std::vector<std::string> line = {
          row.key(), "bucket",
          google::protobuf::util::TimeUtil::ToString(bucket.start_time()),
          std::to_string(bucket.coaching_sessions())};
      AppendOutcome(bucket.outcomes(), &line);
      csv.Line(line);
    }
  }
  return csv.Take();
}

std::string RampUpCsv(const std::vector<v1::RampUpReport::Row>& rows) {
  CsvText csv;
  std::vector<std::string> header = {"key", "week", "coaching_sessions"};
  header.insert(header.end(), OutcomeHeader().begin(), OutcomeHeader().end());
  csv.Line(header);
  for (const auto& row : rows) {
    std::vector<std::string> line = {row.key(), std::to_string(row.week()),
                                     std::to_string(row.coaching_sessions())};
    AppendOutcome(row.outcomes(), &line);
    csv.Line(line);
  }
  return csv.Take();
}

absl::StatusOr<std::vector<std::vector<std::string>>> ParseCsv(
    absl::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      record.push_back(std::move(field));
      records.push_back(std::move(record));
      record.clear();
      field.clear();
      field_started = false;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    return absl::InvalidArgumentError("CSV ends inside a quoted field");
  }
  if (field_started || !record.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace sotto::reporting
