#include "services/reporting/reporting_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/security/auth_context.h"
#include "services/common/grpc_status.h"
#include "services/common/policy_client.h"

namespace sotto::reporting {
namespace {

using service_kit::BearerToken;
using service_kit::ToGrpcStatus;

constexpr size_t kCsvChunkBytes = 64 * 1024;

template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

absl::Status ReportingService::CheckIngestPeer(
    const grpc::ServerContext& context) const {
  if (ingest_peers_.empty()) return absl::OkStatus();
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "ingest is internal: connect with a client certificate (mutual TLS)");
  }
  for (const char* property :
       {"x509_common_name", "x509_subject_alternative_name"}) {
    for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
      if (ingest_peers_.count(std::string(value.data(), value.size())) > 0) {
        return absl::OkStatus();
      }
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("ingest is internal: the client certificate names none of "
                   "--ingest_peers (",
                   absl::StrJoin(ingest_peers_, ", "), ")"));
}

grpc::Status ReportingService::IngestEvents(
    grpc::ServerContext* context, const v1::IngestEventsRequest* request,
    v1::IngestEventsResponse* response) {
  if (absl::Status s = CheckIngestPeer(*context); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return Answer(reporting_->IngestEvents(*request), response);
}

grpc::Status ReportingService::ReportOutcome(
    grpc::ServerContext* context, const v1::ReportOutcomeRequest* request,
    v1::CallOutcome* response) {
  return Answer(reporting_->ReportOutcome(BearerToken(*context), *request),
                response);
}

grpc::Status ReportingService::IngestMediaQuality(
    grpc::ServerContext* context, const v1::IngestMediaQualityRequest* request,
    v1::IngestMediaQualityResponse* response) {
  if (absl::Status s = CheckIngestPeer(*context); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return Answer(reporting_->IngestMediaQuality(*request), response);
}

grpc::Status ReportingService::ListAuditRecords(
    grpc::ServerContext* context, const v1::ListAuditRecordsRequest* request,
    v1::ListAuditRecordsResponse* response) {
  return Answer(reporting_->ListAuditRecords(BearerToken(*context), *request),
                response);
}

grpc::Status ReportingService::VerifyAuditChain(
    grpc::ServerContext* context, const v1::VerifyAuditChainRequest* request,
    v1::VerifyAuditChainResponse* response) {
  return Answer(reporting_->VerifyAuditChain(BearerToken(*context), *request),
                response);
}

grpc::Status ReportingService::GetSupervisionActivityReport(
    grpc::ServerContext* context,
    const v1::SupervisionActivityReportRequest* request,
    v1::SupervisionActivityReport* response) {
  return Answer(
      reporting_->GetSupervisionActivityReport(BearerToken(*context), *request),
      response);
}

grpc::Status ReportingService::GetCoachingEffectivenessReport(
    grpc::ServerContext* context,
    const v1::CoachingEffectivenessReportRequest* request,
    v1::CoachingEffectivenessReport* response) {
  return Answer(reporting_->GetCoachingEffectivenessReport(
                    BearerToken(*context), *request),
                response);
}

grpc::Status ReportingService::GetRampUpReport(
    grpc::ServerContext* context, const v1::RampUpReportRequest* request,
    v1::RampUpReport* response) {
  return Answer(reporting_->GetRampUpReport(BearerToken(*context), *request),
                response);
}

grpc::Status ReportingService::ExportReportCsv(
    grpc::ServerContext* context, const v1::ExportReportCsvRequest* request,
    grpc::ServerWriter<v1::CsvChunk>* writer) {
  absl::StatusOr<std::string> csv =
      reporting_->ExportReportCsv(BearerToken(*context), *request);
  if (!csv.ok()) return ToGrpcStatus(csv.status());
  for (size_t offset = 0; offset < csv->size(); offset += kCsvChunkBytes) {
    v1::CsvChunk chunk;
    chunk.set_data(csv->substr(offset, kCsvChunkBytes));
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "the client went away during the export");
    }
  }
  return grpc::Status::OK;
}

}  // namespace sotto::reporting
