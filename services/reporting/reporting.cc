#include "services/reporting/reporting.h"

#include <openssl/rand.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "services/reporting/audit_chain.h"
#include "services/reporting/report_csv.h"

namespace sotto::reporting {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kMaxIngestBatch = 1000;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kDefaultRampUpWeeks = 12;
constexpr int kMaxRampUpWeeks = 520;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// "tenants/{tenant}" -> tenant.
absl::StatusOr<std::string> TenantOfParent(const std::string& parent,
                                           absl::string_view field) {
  absl::string_view rest = parent;
  if (!absl::ConsumePrefix(&rest, "tenants/") || rest.empty() ||
      absl::StrContains(rest, '/')) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be \"tenants/{tenant}\", got \"", parent, "\""));
  }
  return std::string(rest);
}

// "tenants/{tenant}/calls/{call}" -> {tenant, call}.
absl::StatusOr<std::pair<std::string, std::string>> ParseCallName(
    const std::string& name, absl::string_view field) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "tenants" || parts[1].empty() ||
      parts[2] != "calls" || parts[3].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be \"tenants/{tenant}/calls/{call}\", got \"", name,
        "\""));
  }
  return std::make_pair(parts[1], parts[3]);
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must not be negative, got ", requested));
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

// What a page token must match: the request without its paging fields.
template <typename Request>
std::string PagingFingerprint(absl::string_view method, Request request) {
  request.clear_page_size();
  request.clear_page_token();
  return Sha256Hex(absl::StrCat(method, "\n", CanonicalBytes(request)))
      .substr(0, 32);
}

std::string EncodePageToken(uint64_t position, const std::string& fingerprint) {
  return absl::WebSafeBase64Escape(absl::StrCat(position, ":", fingerprint));
}

absl::StatusOr<uint64_t> DecodePageToken(const std::string& token,
                                         const std::string& fingerprint) {
  if (token.empty()) return 0;
  std::string decoded;
  uint64_t position = 0;
  if (absl::WebSafeBase64Unescape(token, &decoded)) {
    std::pair<std::string, std::string> parts =
        absl::StrSplit(decoded, absl::MaxSplits(':', 1));
    if (parts.second == fingerprint &&
        absl::SimpleAtoi(parts.first, &position)) {
      return position;
    }
  }
  return absl::InvalidArgumentError(
      "page_token is not from a previous call with these same fields; "
      "repeat the request without page_token");
}

// One page of `rows` and the token of the next.
template <typename Report, typename Row, typename Request>
absl::StatusOr<Report> Page(std::vector<Row> rows, absl::string_view method,
                            const Request& request) {
  absl::StatusOr<int> size = PageSize(request.page_size());
  if (!size.ok()) return size.status();
  const std::string fingerprint = PagingFingerprint(method, request);
  absl::StatusOr<uint64_t> offset =
      DecodePageToken(request.page_token(), fingerprint);
  if (!offset.ok()) return offset.status();
  Report report;
  const size_t begin = std::min<size_t>(*offset, rows.size());
  const size_t end = std::min<size_t>(begin + *size, rows.size());
  for (size_t i = begin; i < end; ++i) {
    *report.add_rows() = std::move(rows[i]);
  }
  if (end < rows.size()) {
    report.set_next_page_token(EncodePageToken(end, fingerprint));
  }
  return report;
}

// 128 random bits, hex: ids of the events reporting emits itself.
std::string RandomEventId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // Never expected; a clock-based id still keeps the audit entry.
    return absl::StrCat("reporting-", absl::ToUnixNanos(absl::Now()));
  }
  return absl::StrCat(
      "reporting-", absl::BytesToHexString(absl::string_view(
                        reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

absl::Status ValidateEvent(const v1::Event& event, int index) {
  const std::string where = absl::StrCat("events[", index, "]");
  if (event.event_id().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".event_id is required"));
  }
  if (event.tenant().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".tenant is required (event ", event.event_id(), ")"));
  }
  if (event.type() == v1::EVENT_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".type is required (event ", event.event_id(), ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateGroupBy(v1::GroupBy group_by, bool any) {
  if (group_by == v1::GROUP_BY_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        any ? "group_by is required: GROUP_BY_SUPERVISOR, GROUP_BY_AGENT, "
              "GROUP_BY_TEAM or GROUP_BY_QUEUE"
            : "group_by is required: GROUP_BY_AGENT or GROUP_BY_TEAM");
  }
  if (!any && group_by != v1::GROUP_BY_AGENT && group_by != v1::GROUP_BY_TEAM) {
    return absl::InvalidArgumentError(
        absl::StrCat("group_by must be GROUP_BY_AGENT or GROUP_BY_TEAM for "
                     "this report, got ",
                     v1::GroupBy_Name(group_by)));
  }
  return absl::OkStatus();
}

}  // namespace

Reporting::Reporting(service_kit::PolicyClient* policy,
                     SqlReportingStore* store, ReportingMetrics* metrics,
                     ReportingOptions options)
    : policy_(policy),
      store_(store),
      metrics_(metrics),
      options_(std::move(options)) {}

absl::StatusOr<v1::IngestEventsResponse> Reporting::IngestEvents(
    const v1::IngestEventsRequest& request) {
  if (request.events_size() > kMaxIngestBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("events: at most ", kMaxIngestBatch, " per request, got ",
                     request.events_size()));
  }
  for (int i = 0; i < request.events_size(); ++i) {
    if (absl::Status s = ValidateEvent(request.events(i), i); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<IngestResult> result = store_->AppendEvents(
      {request.events().begin(), request.events().end()}, options_.clock());
  if (!result.ok()) return result.status();
  metrics_->OnIngest(*result);
  v1::IngestEventsResponse response;
  response.set_accepted(result->accepted);
  response.set_duplicates(result->duplicates);
  return response;
}

absl::StatusOr<v1::CallOutcome> Reporting::ReportOutcome(
    const std::string& token, const v1::ReportOutcomeRequest& request) {
  auto call = ParseCallName(request.call(), "call");
  if (!call.ok()) return call.status();
  if (!request.has_outcome()) {
    return absl::InvalidArgumentError("outcome is required");
  }
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError(
        "request_id is required (a unique id per outcome report, e.g. a "
        "UUID)");
  }
  const v1::CallOutcome& given = request.outcome();
  if (given.agent_id().empty()) {
    return absl::InvalidArgumentError("outcome.agent_id is required");
  }
  if (given.csat() > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "outcome.csat must be 1-5 (0 = not surveyed), got ", given.csat()));
  }
  if (given.has_qa_score() &&
      !(given.qa_score() >= 0 && given.qa_score() <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome.qa_score must be 0-100, got ", given.qa_score()));
  }
  if (given.has_handle_time() &&
      TimeUtil::DurationToMicroseconds(given.handle_time()) < 0) {
    return absl::InvalidArgumentError(
        "outcome.handle_time must not be negative");
  }
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no bearer token: send `authorization: Bearer <JWT>` metadata");
  }
  absl::StatusOr<v1::Principal> principal = policy_->Authenticate(token);
  if (!principal.ok()) return principal.status();
  const std::string& tenant = call->first;
  if (principal->tenant() != tenant) {
    return absl::NotFoundError(
        absl::StrCat("no call ", request.call(), " visible to you"));
  }
  v1::AuthorizeRequest ask;
  *ask.mutable_principal() = *principal;
  ask.set_action(v1::ACTION_OUTCOMES_WRITE);
  v1::ResourceAttributes* resource = ask.mutable_resource();
  resource->set_tenant(tenant);
  resource->set_call(request.call());
  resource->set_queue(given.queue());
  resource->set_agent_id(given.agent_id());
  resource->set_team(given.team());
  absl::StatusOr<v1::Decision> decision = policy_->Authorize(ask);
  if (!decision.ok()) return decision.status();
  if (!decision->allowed()) {
    AuditDenial(*principal, tenant, "outcomes.write", given.team(), *decision);
    return absl::PermissionDeniedError(absl::StrCat(
        "outcomes.write on ", request.call(), " denied: ", decision->reason()));
  }

  v1::CallOutcome outcome = given;
  outcome.set_call(request.call());
  const std::string fingerprint =
      Sha256Hex(absl::StrCat("ReportOutcome\n", CanonicalBytes(outcome)));
  const absl::Time now = options_.clock();
  v1::Event audit;
  // Derived from the request id: a retry that races the first attempt on
  // another replica names the same event.
  audit.set_event_id(absl::StrCat(
      "outcome-", Sha256Hex(absl::StrCat(tenant, "/", request.request_id()))
                      .substr(0, 32)));
  audit.set_tenant(tenant);
  audit.set_type(v1::EVENT_TYPE_OUTCOME_REPORTED);
  *audit.mutable_time() = ToProto(now);
  audit.set_source("reporting");
  audit.set_call(request.call());
  audit.set_call_id(call->second);
  audit.set_queue(outcome.queue());
  audit.set_team(outcome.team());
  audit.set_agent_id(outcome.agent_id());
  audit.set_actor(principal->subject());
  absl::StatusOr<OutcomeWrite> written = store_->PutOutcome(
      tenant, request.request_id(), fingerprint, outcome, audit, now);
  if (!written.ok()) return written.status();
  if (!written->replayed && written->first_for_call) {
    metrics_->OnOutcome(tenant, written->outcome, written->coached);
  }
  return written->outcome;
}

absl::StatusOr<v1::IngestMediaQualityResponse> Reporting::IngestMediaQuality(
    const v1::IngestMediaQualityRequest& request) {
  if (request.tenant().empty()) {
    return absl::InvalidArgumentError("tenant is required");
  }
  auto call = ParseCallName(request.call(), "call");
  if (!call.ok()) return call.status();
  if (call->first != request.tenant()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "call ", request.call(), " is not of tenant ", request.tenant()));
  }
  if (!request.has_quality()) {
    return absl::InvalidArgumentError("quality is required");
  }
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError(
        "request_id is required (unique per leg summary)");
  }
  v1::IngestMediaQualityRequest body = request;
  const std::string fingerprint =
      Sha256Hex(absl::StrCat("IngestMediaQuality\n", CanonicalBytes(body)));
  absl::StatusOr<bool> fresh =
      store_->PutMediaQuality(request, fingerprint, options_.clock());
  if (!fresh.ok()) return fresh.status();
  if (*fresh) metrics_->OnMediaQuality(request);
  return v1::IngestMediaQualityResponse();
}

absl::StatusOr<Reporting::Reader> Reporting::AuthenticateReader(
    const std::string& token, const std::string& parent) {
  absl::StatusOr<std::string> tenant = TenantOfParent(parent, "parent");
  if (!tenant.ok()) return tenant.status();
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no bearer token: send `authorization: Bearer <JWT>` metadata");
  }
  absl::StatusOr<v1::Principal> principal = policy_->Authenticate(token);
  if (!principal.ok()) return principal.status();
  if (principal->tenant() != *tenant) {
    // Never confirm another tenant exists.
    return absl::NotFoundError(absl::StrCat("no ", parent, " visible to you"));
  }
  return Reader{*std::move(principal), *tenant};
}

void Reporting::AuditDenial(const v1::Principal& principal,
                            const std::string& tenant,
                            const std::string& action, const std::string& team,
                            const v1::Decision& decision) {
  v1::Event event;
  event.set_event_id(RandomEventId());
  event.set_tenant(tenant);
  event.set_type(v1::EVENT_TYPE_ACCESS_DENIED);
  *event.mutable_time() = ToProto(options_.clock());
  event.set_source("reporting");
  event.set_team(team);
  event.set_actor(principal.subject());
  event.set_action(action);
  event.set_policy_rule(decision.rule());
  event.set_reason(decision.reason());
  // Best effort: the read is refused whether or not its audit is stored.
  absl::StatusOr<IngestResult> stored =
      store_->AppendEvents({event}, options_.clock());
  if (stored.ok()) metrics_->OnIngest(*stored);
}

absl::Status Reporting::AuthorizeRead(const Reader& reader,
                                      const std::string& team) {
  v1::AuthorizeRequest ask;
  *ask.mutable_principal() = reader.principal;
  ask.set_action(v1::ACTION_REPORTS_READ);
  ask.mutable_resource()->set_tenant(reader.tenant);
  ask.mutable_resource()->set_team(team);
  absl::StatusOr<v1::Decision> decision = policy_->Authorize(ask);
  if (!decision.ok()) return decision.status();
  if (decision->allowed()) return absl::OkStatus();
  AuditDenial(reader.principal, reader.tenant, "reports.read", team, *decision);
  return absl::PermissionDeniedError(absl::StrCat(
      "reports.read", team.empty() ? "" : absl::StrCat(" on team ", team),
      " denied: ", decision->reason()));
}

absl::StatusOr<Reporting::Scope> Reporting::LoadScope(
    const std::string& token, const v1::ReportScope& scope) {
  absl::StatusOr<Reader> reader = AuthenticateReader(token, scope.parent());
  if (!reader.ok()) return reader.status();
  if (!scope.has_time_range() || !scope.time_range().has_start_time()) {
    return absl::InvalidArgumentError(
        "scope.time_range.start_time is required");
  }
  Scope result{*std::move(reader),
               FromProto(scope.time_range().start_time()),
               std::nullopt,
               {}};
  if (scope.time_range().has_end_time()) {
    result.end = FromProto(scope.time_range().end_time());
    if (*result.end <= result.start) {
      return absl::InvalidArgumentError(
          "scope.time_range.end_time must be after start_time");
    }
  }
  CallFilter filter;
  filter.teams = {scope.teams().begin(), scope.teams().end()};
  filter.queues = {scope.queues().begin(), scope.queues().end()};
  filter.agent_ids = {scope.agent_ids().begin(), scope.agent_ids().end()};
  // Teams asked for by name must each be readable.
  for (const std::string& team : filter.teams) {
    if (absl::Status s = AuthorizeRead(result.reader, team); !s.ok()) return s;
  }
  absl::StatusOr<ReportData> data =
      store_->LoadReportData(result.reader.tenant, result.start, result.end);
  if (!data.ok()) return data.status();
  std::vector<CallFacts> calls =
      BuildCallFacts(*data, result.start, result.end, options_.clock());
  if (filter.teams.empty()) {
    // Everything the caller may read: tenant-wide, or team by team.
    v1::AuthorizeRequest ask;
    *ask.mutable_principal() = result.reader.principal;
    ask.set_action(v1::ACTION_REPORTS_READ);
    ask.mutable_resource()->set_tenant(result.reader.tenant);
    absl::StatusOr<v1::Decision> everything = policy_->Authorize(ask);
    if (!everything.ok()) return everything.status();
    if (!everything->allowed()) {
      std::set<std::string> teams;
      for (const CallFacts& call : calls) teams.insert(call.team);
      std::set<std::string> readable;
      for (const std::string& team : teams) {
        ask.mutable_resource()->set_team(team);
        absl::StatusOr<v1::Decision> d = policy_->Authorize(ask);
        if (!d.ok()) return d.status();
        if (d->allowed()) readable.insert(team);
      }
      if (readable.empty() && !teams.empty()) {
        AuditDenial(result.reader.principal, result.reader.tenant,
                    "reports.read", "", *everything);
        return absl::PermissionDeniedError(absl::StrCat(
            "reports.read denied on every team with calls in this range: ",
            everything->reason()));
      }
      filter.readable = [readable](const std::string& team) {
        return readable.count(team) > 0;
      };
    }
  }
  for (CallFacts& call : calls) {
    if (filter.Matches(call)) result.calls.push_back(std::move(call));
  }
  return result;
}

absl::StatusOr<std::vector<v1::SupervisionActivityReport::Row>>
Reporting::SupervisionActivity(
    const std::string& token,
    const v1::SupervisionActivityReportRequest& request) {
  if (absl::Status s = ValidateGroupBy(request.group_by(), true); !s.ok()) {
    return s;
  }
  absl::StatusOr<Scope> scope = LoadScope(token, request.scope());
  if (!scope.ok()) return scope.status();
  return SupervisionActivityRows(scope->calls, request.group_by());
}

absl::StatusOr<std::vector<v1::CoachingEffectivenessReport::Row>>
Reporting::CoachingEffectiveness(
    const std::string& token,
    const v1::CoachingEffectivenessReportRequest& request) {
  if (absl::Status s = ValidateGroupBy(request.group_by(), false); !s.ok()) {
    return s;
  }
  absl::Duration bucket = absl::Hours(24 * 7);
  if (request.has_bucket()) {
    bucket =
        absl::Microseconds(TimeUtil::DurationToMicroseconds(request.bucket()));
    if (bucket < absl::Minutes(1)) {
      return absl::InvalidArgumentError(
          "bucket must be at least one minute (default 7 days)");
    }
  }
  absl::StatusOr<Scope> scope = LoadScope(token, request.scope());
  if (!scope.ok()) return scope.status();
  return CoachingEffectivenessRows(scope->calls, request.group_by(), bucket,
                                   scope->start, scope->end,
                                   options_.max_buckets);
}

absl::StatusOr<std::vector<v1::RampUpReport::Row>> Reporting::RampUp(
    const std::string& token, const v1::RampUpReportRequest& request) {
  v1::GroupBy group_by = request.group_by() == v1::GROUP_BY_UNSPECIFIED
                             ? v1::GROUP_BY_TEAM
                             : request.group_by();
  if (absl::Status s = ValidateGroupBy(group_by, false); !s.ok()) return s;
  const int weeks = request.weeks() == 0 ? kDefaultRampUpWeeks
                                         : static_cast<int>(request.weeks());
  if (request.weeks() > static_cast<uint32_t>(kMaxRampUpWeeks)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weeks must be at most ", kMaxRampUpWeeks, ", got ", request.weeks()));
  }
  absl::StatusOr<Scope> scope = LoadScope(token, request.scope());
  if (!scope.ok()) return scope.status();
  absl::StatusOr<std::map<std::string, absl::Time>> starts =
      store_->AgentStarts(scope->reader.tenant);
  if (!starts.ok()) return starts.status();
  return RampUpRows(scope->calls, group_by, weeks, *starts);
}

absl::StatusOr<v1::SupervisionActivityReport>
Reporting::GetSupervisionActivityReport(
    const std::string& token,
    const v1::SupervisionActivityReportRequest& request) {
  auto rows = SupervisionActivity(token, request);
  if (!rows.ok()) return rows.status();
  return Page<v1::SupervisionActivityReport>(
      *std::move(rows), "GetSupervisionActivityReport", request);
}

absl::StatusOr<v1::CoachingEffectivenessReport>
Reporting::GetCoachingEffectivenessReport(
    const std::string& token,
    const v1::CoachingEffectivenessReportRequest& request) {
  auto rows = CoachingEffectiveness(token, request);
  if (!rows.ok()) return rows.status();
  return Page<v1::CoachingEffectivenessReport>(
      *std::move(rows), "GetCoachingEffectivenessReport", request);
}

absl::StatusOr<v1::RampUpReport> Reporting::GetRampUpReport(
    const std::string& token, const v1::RampUpReportRequest& request) {
  auto rows = RampUp(token, request);
  if (!rows.ok()) return rows.status();
  return Page<v1::RampUpReport>(*std::move(rows), "GetRampUpReport", request);
}

absl::StatusOr<std::string> Reporting::ExportReportCsv(
    const std::string& token, const v1::ExportReportCsvRequest& request) {
  switch (request.report_case()) {
    case v1::ExportReportCsvRequest::kSupervisionActivity: {
      auto rows = SupervisionActivity(token, request.supervision_activity());
      if (!rows.ok()) return rows.status();
      return SupervisionActivityCsv(*rows);
    }
    case v1::ExportReportCsvRequest::kCoachingEffectiveness: {
      auto rows =
          CoachingEffectiveness(token, request.coaching_effectiveness());
      if (!rows.ok()) return rows.status();
      return CoachingEffectivenessCsv(*rows);
    }
    case v1::ExportReportCsvRequest::kRampUp: {
      auto rows = RampUp(token, request.ramp_up());
      if (!rows.ok()) return rows.status();
      return RampUpCsv(*rows);
    }
    default:
      return absl::InvalidArgumentError(
          "report is required: supervision_activity, coaching_effectiveness "
          "or ramp_up");
  }
}

absl::StatusOr<v1::ListAuditRecordsResponse> Reporting::ListAuditRecords(
    const std::string& token, const v1::ListAuditRecordsRequest& request) {
  absl::StatusOr<Reader> reader = AuthenticateReader(token, request.parent());
  if (!reader.ok()) return reader.status();
  if (absl::Status s = AuthorizeRead(*reader, ""); !s.ok()) return s;
  absl::StatusOr<int> size = PageSize(request.page_size());
  if (!size.ok()) return size.status();
  const std::string fingerprint =
      PagingFingerprint("ListAuditRecords", request);
  absl::StatusOr<uint64_t> after =
      DecodePageToken(request.page_token(), fingerprint);
  if (!after.ok()) return after.status();
  AuditQuery query;
  query.tenant = reader->tenant;
  query.after_sequence = *after;
  query.limit = *size + 1;  // one more tells whether a next page exists
  if (request.has_time_range()) {
    if (request.time_range().has_start_time()) {
      query.start = FromProto(request.time_range().start_time());
    }
    if (request.time_range().has_end_time()) {
      query.end = FromProto(request.time_range().end_time());
    }
  }
  query.call = request.call();
  query.actor = request.actor();
  absl::StatusOr<std::vector<v1::AuditRecord>> records =
      store_->ListAuditRecords(query);
  if (!records.ok()) return records.status();
  v1::ListAuditRecordsResponse response;
  for (size_t i = 0; i < records->size() && i < static_cast<size_t>(*size);
       ++i) {
    *response.add_records() = std::move((*records)[i]);
  }
  if (records->size() > static_cast<size_t>(*size)) {
    response.set_next_page_token(EncodePageToken(
        response.records(response.records_size() - 1).sequence(), fingerprint));
  }
  return response;
}

absl::StatusOr<v1::VerifyAuditChainResponse> Reporting::VerifyAuditChain(
    const std::string& token, const v1::VerifyAuditChainRequest& request) {
  if (request.tenant().empty()) {
    return absl::InvalidArgumentError("tenant is required");
  }
  absl::StatusOr<Reader> reader =
      AuthenticateReader(token, absl::StrCat("tenants/", request.tenant()));
  if (!reader.ok()) return reader.status();
  if (absl::Status s = AuthorizeRead(*reader, ""); !s.ok()) return s;
  absl::StatusOr<ChainVerification> verified =
      store_->VerifyChain(reader->tenant);
  if (!verified.ok()) return verified.status();
  v1::VerifyAuditChainResponse response;
  response.set_intact(verified->intact);
  response.set_records_checked(verified->records_checked);
  response.set_first_broken_sequence(verified->first_broken_sequence);
  response.set_detail(verified->detail);
  return response;
}

absl::Status Reporting::RefreshActiveSupervisions() {
  absl::StatusOr<std::vector<ActiveSupervisions>> counts =
      store_->CountActiveSupervisions();
  if (!counts.ok()) return counts.status();
  metrics_->SetActiveSupervisions(*counts);
  return absl::OkStatus();
}

}  // namespace sotto::reporting
