// Reporting: the logic behind sotto.v1.Reporting, without gRPC. It
// validates requests, asks the policy service who may read what, stores
// through SqlReportingStore, computes reports with report_engine and keeps
// the metrics.
//
// Who may call what:
//   IngestEvents, IngestMediaQuality  internal (service to service); the
//       gRPC adapter checks the caller's client certificate (mTLS), these
//       methods trust their caller.
//   ReportOutcome  a bearer token allowed `outcomes.write` on the call.
//   Reports        a token allowed `reports.read` on each team asked for;
//                  with no team filter, the rows of the teams it may read.
//   Audit trail    a token allowed `reports.read` tenant-wide (a rule with
//                  teams ["*"]).
// A refused read is audited (ACCESS_DENIED, source "reporting").
#ifndef SOTTO_SERVICES_REPORTING_REPORTING_H_
#define SOTTO_SERVICES_REPORTING_REPORTING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/policy_client.h"
#include "services/reporting/report_engine.h"
#include "services/reporting/reporting_metrics.h"
#include "services/reporting/sql_reporting_store.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::reporting {

struct ReportingOptions {
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Most trend buckets a coaching report may ask for.
  int max_buckets = 1000;
};

// Thread-safe. `policy`, `store` and `metrics` must outlive it.
class Reporting {
 public:
  Reporting(service_kit::PolicyClient* policy, SqlReportingStore* store,
            ReportingMetrics* metrics, ReportingOptions options = {});

  absl::StatusOr<v1::IngestEventsResponse> IngestEvents(
      const v1::IngestEventsRequest& request);
  absl::StatusOr<v1::CallOutcome> ReportOutcome(
      const std::string& token, const v1::ReportOutcomeRequest& request);
  absl::StatusOr<v1::IngestMediaQualityResponse> IngestMediaQuality(
      const v1::IngestMediaQualityRequest& request);
  absl::StatusOr<v1::ListAuditRecordsResponse> ListAuditRecords(
      const std::string& token, const v1::ListAuditRecordsRequest& request);
  absl::StatusOr<v1::VerifyAuditChainResponse> VerifyAuditChain(
      const std::string& token, const v1::VerifyAuditChainRequest& request);
  absl::StatusOr<v1::SupervisionActivityReport> GetSupervisionActivityReport(
      const std::string& token,
      const v1::SupervisionActivityReportRequest& request);
  absl::StatusOr<v1::CoachingEffectivenessReport>
  GetCoachingEffectivenessReport(
      const std::string& token,
      const v1::CoachingEffectivenessReportRequest& request);
  absl::StatusOr<v1::RampUpReport> GetRampUpReport(
      const std::string& token, const v1::RampUpReportRequest& request);
  // The whole report as CSV text (the adapter streams it in chunks).
  absl::StatusOr<std::string> ExportReportCsv(
      const std::string& token, const v1::ExportReportCsvRequest& request);

  // Recomputes the active-supervisions gauge from the store.
  absl::Status RefreshActiveSupervisions();

 private:
  struct Reader {
    v1::Principal principal;
    std::string tenant;
  };
  struct Scope {
    Reader reader;
    absl::Time start;
    std::optional<absl::Time> end;
    std::vector<CallFacts> calls;  // in range, readable, matching filters
  };

  absl::StatusOr<Reader> AuthenticateReader(const std::string& token,
                                            const std::string& parent);
  // OK if allowed; PERMISSION_DENIED (audited) if not.
  absl::Status AuthorizeRead(const Reader& reader, const std::string& team);
  absl::StatusOr<Scope> LoadScope(const std::string& token,
                                  const v1::ReportScope& scope);
  void AuditDenial(const v1::Principal& principal, const std::string& tenant,
                   const std::string& action, const std::string& team,
                   const v1::Decision& decision);

  absl::StatusOr<std::vector<v1::SupervisionActivityReport::Row>>
  SupervisionActivity(const std::string& token,
                      const v1::SupervisionActivityReportRequest& request);
  absl::StatusOr<std::vector<v1::CoachingEffectivenessReport::Row>>
  CoachingEffectiveness(const std::string& token,
                        const v1::CoachingEffectivenessReportRequest& request);
  absl::StatusOr<std::vector<v1::RampUpReport::Row>> RampUp(
      const std::string& token, const v1::RampUpReportRequest& request);

  service_kit::PolicyClient* const policy_;
  SqlReportingStore* const store_;
  ReportingMetrics* const metrics_;
  const ReportingOptions options_;
};

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_REPORTING_H_
