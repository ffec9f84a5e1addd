// The gRPC adapter of sotto-reporting (sotto.v1.Reporting). Thin: it takes
// the bearer token from the `authorization` metadata for public RPCs,
// checks the calling service for the internal ingest RPCs, hands the
// request to Reporting and maps errors with ToGrpcStatus.
//
// Internal ingest (IngestEvents, IngestMediaQuality) is service to service.
// In a cluster the server runs with mutual TLS (--tls_client_ca_file), so
// only holders of a certificate from that CA connect at all; with
// `ingest_peers` set, the client certificate's common name or a subject
// alternative name must also be one of them (e.g. "sotto-broker"), else
// PERMISSION_DENIED. Without TLS (development, tests on loopback) ingest is
// open to whoever reaches the port.
#ifndef SOTTO_SERVICES_REPORTING_REPORTING_SERVICE_H_
#define SOTTO_SERVICES_REPORTING_REPORTING_SERVICE_H_

#include <set>
#include <string>

#include "services/reporting/reporting.h"
#include "sotto/v1/reporting.grpc.pb.h"

namespace sotto::reporting {

class ReportingService final : public v1::Reporting::Service {
 public:
  // `reporting` must outlive the service. Empty `ingest_peers`: any client
  // the transport admitted may ingest.
  ReportingService(Reporting* reporting, std::set<std::string> ingest_peers)
      : reporting_(reporting), ingest_peers_(std::move(ingest_peers)) {}

  grpc::Status IngestEvents(grpc::ServerContext* context,
                            const v1::IngestEventsRequest* request,
                            v1::IngestEventsResponse* response) override;
  grpc::Status ReportOutcome(grpc::ServerContext* context,
                             const v1::ReportOutcomeRequest* request,
                             v1::CallOutcome* response) override;
  grpc::Status IngestMediaQuality(
      grpc::ServerContext* context,
      const v1::IngestMediaQualityRequest* request,
      v1::IngestMediaQualityResponse* response) override;
  grpc::Status ListAuditRecords(
      grpc::ServerContext* context, const v1::ListAuditRecordsRequest* request,
      v1::ListAuditRecordsResponse* response) override;
  grpc::Status VerifyAuditChain(
      grpc::ServerContext* context, const v1::VerifyAuditChainRequest* request,
      v1::VerifyAuditChainResponse* response) override;
  grpc::Status GetSupervisionActivityReport(
      grpc::ServerContext* context,
      const v1::SupervisionActivityReportRequest* request,
      v1::SupervisionActivityReport* response) override;
  grpc::Status GetCoachingEffectivenessReport(
      grpc::ServerContext* context,
      const v1::CoachingEffectivenessReportRequest* request,
      v1::CoachingEffectivenessReport* response) override;
  grpc::Status GetRampUpReport(grpc::ServerContext* context,
                               const v1::RampUpReportRequest* request,
                               v1::RampUpReport* response) override;
  grpc::Status ExportReportCsv(
      grpc::ServerContext* context, const v1::ExportReportCsvRequest* request,
      grpc::ServerWriter<v1::CsvChunk>* writer) override;

 private:
  absl::Status CheckIngestPeer(const grpc::ServerContext& context) const;

  Reporting* const reporting_;
  const std::set<std::string> ingest_peers_;
};

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_REPORTING_SERVICE_H_
