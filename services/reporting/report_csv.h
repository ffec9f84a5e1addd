// Reports as CSV (RFC 4180): one header row, then one line per row (the
// coaching report: one per row and set — coached, not coached, each trend
// bucket). Numbers are written so that parsing them back gives the same
// double. ParseCsv reads such text back (tests, tools).
#ifndef SOTTO_SERVICES_REPORTING_REPORT_CSV_H_
#define SOTTO_SERVICES_REPORTING_REPORT_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::reporting {

std::string SupervisionActivityCsv(
    const std::vector<v1::SupervisionActivityReport::Row>& rows);
std::string CoachingEffectivenessCsv(
    const std::vector<v1::CoachingEffectivenessReport::Row>& rows);
std::string RampUpCsv(const std::vector<v1::RampUpReport::Row>& rows);

// Records of fields; quoted fields may hold commas, quotes ("") and line
// breaks. INVALID_ARGUMENT on an unterminated quote.
absl::StatusOr<std::vector<std::vector<std::string>>> ParseCsv(
    absl::string_view text);

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_REPORT_CSV_H_
