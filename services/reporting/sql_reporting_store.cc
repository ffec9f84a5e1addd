#include "services/reporting/sql_reporting_store.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/sql/migrations.h"

namespace sotto::reporting {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kSchema[] = R"sql(
CREATE TABLE reporting_events (
  tenant TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  type BIGINT NOT NULL,
  event_time_us BIGINT NOT NULL,
  call_sequence BIGINT NOT NULL,
  call TEXT NOT NULL,
  supervision TEXT NOT NULL,
  mode BIGINT NOT NULL,
  actor TEXT NOT NULL,
  team TEXT NOT NULL,
  queue TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  payload BYTEA NOT NULL,
  previous_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  ingest_time_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, sequence),
  UNIQUE (tenant, event_id)
);
CREATE INDEX reporting_events_by_call ON reporting_events (tenant, call);
CREATE INDEX reporting_events_by_type ON reporting_events (tenant, type, event_time_us);
CREATE INDEX reporting_events_by_supervision ON reporting_events (tenant, supervision, event_time_us);
CREATE TABLE reporting_audit_heads (
  tenant TEXT PRIMARY KEY,
  sequence BIGINT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE reporting_supervisions (
  tenant TEXT NOT NULL,
  supervision TEXT NOT NULL,
  call TEXT NOT NULL,
  team TEXT NOT NULL,
  queue TEXT NOT NULL,
  mode BIGINT NOT NULL,
  last_time_us BIGINT NOT NULL,
  ended BIGINT NOT NULL,
  PRIMARY KEY (tenant, supervision)
);
CREATE INDEX reporting_supervisions_by_call ON reporting_supervisions (tenant, call);
CREATE TABLE reporting_outcomes (
  tenant TEXT NOT NULL,
  call TEXT NOT NULL,
  team TEXT NOT NULL,
  queue TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  call_start_us BIGINT,
  agent_start_us BIGINT,
  payload BYTEA NOT NULL,
  update_time_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, call)
);
CREATE TABLE reporting_requests (
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL,
  request_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  response BYTEA NOT NULL,
  create_time_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, kind, request_id)
);
CREATE TABLE reporting_media_quality (
  tenant TEXT NOT NULL,
  request_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  call TEXT NOT NULL,
  leg TEXT NOT NULL,
  engine_id TEXT NOT NULL,
  loss_ratio DOUBLE PRECISION NOT NULL,
  jitter_ms DOUBLE PRECISION NOT NULL,
  mos DOUBLE PRECISION NOT NULL,
  payload BYTEA NOT NULL,
  ingest_time_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, request_id)
)
)sql";

// Calls of a tenant ($1) that started in [$2, $3): registered then, or
// reported (outcome) as started then.
constexpr char kCallsInRange[] = R"sql(
  SELECT call FROM reporting_events
   WHERE tenant = $1 AND type = 1 AND event_time_us >= $2 AND event_time_us < $3
  UNION
  SELECT call FROM reporting_outcomes
   WHERE tenant = $1 AND call_start_us >= $2 AND call_start_us < $3
)sql";

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

int64_t EventMicros(const v1::Event& event, absl::Time fallback) {
  return event.has_time() ? TimeUtil::TimestampToMicroseconds(event.time())
                          : Micros(fallback);
}

bool IsSupervisionEvent(v1::EventType type) {
  return type >= v1::EVENT_TYPE_SUPERVISION_STARTED &&
         type <= v1::EVENT_TYPE_SUPERVISION_DETACHED;
}

bool EndsSupervision(v1::EventType type) {
  return type == v1::EVENT_TYPE_SUPERVISION_ENDED ||
         type == v1::EVENT_TYPE_SUPERVISION_DETACHED;
}

template <typename T>
absl::StatusOr<T> ParsePayload(const sql::Row& row, absl::string_view column) {
  absl::StatusOr<std::string> bytes = row.GetBytes(column);
  if (!bytes.ok()) return bytes.status();
  T message;
  if (!message.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("a stored ", T::descriptor()->name(),
                     " does not parse; the reporting store is damaged"));
  }
  return message;
}

// When `event` closes a span of its supervision, the span: the latest
// stored event of the supervision before it (by event time) opened it.
absl::Status FindClosedSpan(sql::Transaction& tx, int64_t time_us,
                            FreshEvent* fresh) {
  const v1::Event& event = fresh->event;
  if (event.supervision().empty() ||
      event.type() == v1::EVENT_TYPE_SUPERVISION_STARTED ||
      !IsSupervisionEvent(event.type())) {
    return absl::OkStatus();
  }
  absl::StatusOr<sql::Rows> rows = tx.Query(
      "SELECT mode, event_time_us FROM reporting_events "
      "WHERE tenant = $1 AND supervision = $2 AND event_time_us <= $3 "
      "ORDER BY event_time_us DESC, call_sequence DESC LIMIT 1",
      {event.tenant(), event.supervision(), time_us});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::OkStatus();
  absl::StatusOr<int64_t> mode = (*rows)[0].GetInt64(0);
  absl::StatusOr<int64_t> opened = (*rows)[0].GetInt64(1);
  if (!mode.ok()) return mode.status();
  if (!opened.ok()) return opened.status();
  if (!v1::Mode_IsValid(static_cast<int>(*mode))) return absl::OkStatus();
  fresh->closed_mode = static_cast<v1::Mode>(*mode);
  fresh->closed_seconds = static_cast<double>(time_us - *opened) / 1e6;
  return absl::OkStatus();
}

// Keeps reporting_supervisions at the latest state the events tell,
// whatever order they arrive in: an end is final; otherwise the event with
// the latest time sets the mode.
absl::Status TrackSupervision(sql::Transaction& tx, const v1::Event& event,
                              int64_t time_us) {
  if (event.type() == v1::EVENT_TYPE_CALL_ENDED ||
      event.type() == v1::EVENT_TYPE_CALL_FAILED) {
    return tx
        .Execute(
            "UPDATE reporting_supervisions SET ended = 1 "
            "WHERE tenant = $1 AND call = $2",
            {event.tenant(), event.call()})
        .status();
  }
  if (!IsSupervisionEvent(event.type()) || event.supervision().empty()) {
    return absl::OkStatus();
  }
  const bool ending = EndsSupervision(event.type());
  absl::StatusOr<sql::Rows> rows = tx.Query(
      "SELECT last_time_us, ended FROM reporting_supervisions "
      "WHERE tenant = $1 AND supervision = $2",
      {event.tenant(), event.supervision()});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    absl::StatusOr<sql::Rows> call_ended = tx.Query(
        "SELECT 1 FROM reporting_events WHERE tenant = $1 AND call = $2 "
        "AND type IN (2, 3) LIMIT 1",
        {event.tenant(), event.call()});
    if (!call_ended.ok()) return call_ended.status();
    return tx
        .Execute(
            "INSERT INTO reporting_supervisions (tenant, supervision, call, "
            "team, queue, mode, last_time_us, ended) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            {event.tenant(), event.supervision(), event.call(), event.team(),
             event.queue(), static_cast<int64_t>(event.mode()), time_us,
             (ending || !call_ended->empty()) ? 1 : 0})
        .status();
  }
  absl::StatusOr<int64_t> last = (*rows)[0].GetInt64(0);
  absl::StatusOr<int64_t> ended = (*rows)[0].GetInt64(1);
  if (!last.ok()) return last.status();
  if (!ended.ok()) return ended.status();
  if (*ended != 0) return absl::OkStatus();
  if (ending) {
    return tx
        .Execute(
            "UPDATE reporting_supervisions SET ended = 1 "
            "WHERE tenant = $1 AND supervision = $2",
            {event.tenant(), event.supervision()})
        .status();
  }
  if (time_us < *last) return absl::OkStatus();  // a late, older event
  return tx
      .Execute(
          "UPDATE reporting_supervisions SET mode = $3, last_time_us = $4, "
          "team = $5, queue = $6 WHERE tenant = $1 AND supervision = $2",
          {event.tenant(), event.supervision(),
           static_cast<int64_t>(event.mode()), time_us, event.team(),
           event.queue()})
      .status();
}

// Stores one event and chains it, unless (tenant, event_id) is stored.
// Returns whether it was new.
absl::StatusOr<bool> AppendInTransaction(sql::Transaction& tx,
                                         const v1::Event& event,
                                         absl::Time ingest_time,
                                         FreshEvent* fresh) {
  absl::StatusOr<sql::Rows> seen = tx.Query(
      "SELECT 1 FROM reporting_events WHERE tenant = $1 AND event_id = $2",
      {event.tenant(), event.event_id()});
  if (!seen.ok()) return seen.status();
  if (!seen->empty()) return false;

  absl::StatusOr<sql::Rows> head = tx.Query(
      "SELECT sequence, hash FROM reporting_audit_heads WHERE tenant = $1",
      {event.tenant()});
  if (!head.ok()) return head.status();
  int64_t sequence = 1;
  std::string previous_hash;
  if (!head->empty()) {
    absl::StatusOr<int64_t> last = (*head)[0].GetInt64(0);
    absl::StatusOr<std::string> hash = (*head)[0].GetText(1);
    if (!last.ok()) return last.status();
    if (!hash.ok()) return hash.status();
    sequence = *last + 1;
    previous_hash = *hash;
  }
  const int64_t time_us = EventMicros(event, ingest_time);
  fresh->event = event;
  if (absl::Status s = FindClosedSpan(tx, time_us, fresh); !s.ok()) return s;

  const std::string payload = CanonicalBytes(event);
  const std::string hash = ChainHash(previous_hash, payload);
  absl::StatusOr<int64_t> inserted = tx.Execute(
      "INSERT INTO reporting_events (tenant, sequence, event_id, type, "
      "event_time_us, call_sequence, call, supervision, mode, actor, team, "
      "queue, agent_id, payload, previous_hash, hash, ingest_time_us) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
      "$15, $16, $17)",
      {event.tenant(), sequence, event.event_id(),
       static_cast<int64_t>(event.type()), time_us,
       static_cast<int64_t>(event.call_sequence()), event.call(),
       event.supervision(), static_cast<int64_t>(event.mode()), event.actor(),
       event.team(), event.queue(), event.agent_id(),
       sql::Value::Bytes(payload), previous_hash, hash, Micros(ingest_time)});
  if (absl::IsAlreadyExists(inserted.status())) {
    // Another replica took this sequence number (or stored this event)
    // since we read the head: run the whole transaction again, which then
    // chains after its record (or finds the duplicate).
    return absl::AbortedError(absl::StrCat("concurrent ingest for tenant ",
                                           event.tenant(), "; retrying"));
  }
  if (!inserted.ok()) return inserted.status();
  absl::StatusOr<int64_t> moved = tx.Execute(
      "INSERT INTO reporting_audit_heads (tenant, sequence, hash) "
      "VALUES ($1, $2, $3) ON CONFLICT (tenant) DO UPDATE "
      "SET sequence = excluded.sequence, hash = excluded.hash",
      {event.tenant(), sequence, hash});
  if (!moved.ok()) return moved.status();
  if (absl::Status s = TrackSupervision(tx, event, time_us); !s.ok()) return s;
  return true;
}

absl::Status CheckFingerprint(const sql::Rows& rows,
                              const std::string& fingerprint,
                              absl::string_view what) {
  absl::StatusOr<std::string> stored = rows[0].GetText("fingerprint");
  if (!stored.ok()) return stored.status();
  if (*stored != fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id was already used for a different ", what,
                     "; use a new request_id for a new request"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqlReportingStore>> SqlReportingStore::Open(
    sql::Database* db) {
  const std::vector<sql::Migration> migrations = {
      {1, "reporting events, audit chain, outcomes, media quality", kSchema},
  };
  absl::Status migrated = sql::ApplyMigrations(*db, "reporting", migrations);
  if (!migrated.ok()) return migrated;
  return std::unique_ptr<SqlReportingStore>(new SqlReportingStore(db));
}

absl::StatusOr<IngestResult> SqlReportingStore::AppendEvents(
    const std::vector<v1::Event>& events, absl::Time ingest_time) {
  IngestResult result;
  absl::Status status = db_->RunInTransaction([&](sql::Transaction& tx) {
    result = IngestResult();  // the body may run again
    for (const v1::Event& event : events) {
      FreshEvent fresh;
      absl::StatusOr<bool> added =
          AppendInTransaction(tx, event, ingest_time, &fresh);
      if (!added.ok()) return added.status();
      if (*added) {
        ++result.accepted;
        result.fresh.push_back(std::move(fresh));
      } else {
        ++result.duplicates;
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<v1::AuditRecord>>
SqlReportingStore::ListAuditRecords(const AuditQuery& query) {
  const int64_t start = query.start.has_value()
                            ? Micros(*query.start)
                            : std::numeric_limits<int64_t>::min();
  const int64_t end = query.end.has_value()
                          ? Micros(*query.end)
                          : std::numeric_limits<int64_t>::max();
  absl::StatusOr<sql::Rows> rows = db_->Query(
      "SELECT sequence, payload, previous_hash, hash, ingest_time_us "
      "FROM reporting_events WHERE tenant = $1 AND sequence > $2 "
      "AND event_time_us >= $3 AND event_time_us < $4 "
      "AND ($5 = '' OR call = $5) AND ($6 = '' OR actor = $6) "
      "ORDER BY sequence LIMIT $7",
      {query.tenant, static_cast<int64_t>(query.after_sequence), start, end,
       query.call, query.actor, query.limit});
  if (!rows.ok()) return rows.status();
  std::vector<v1::AuditRecord> records;
  for (const sql::Row& row : *rows) {
    v1::AuditRecord record;
    absl::StatusOr<int64_t> sequence = row.GetInt64("sequence");
    absl::StatusOr<v1::Event> event = ParsePayload<v1::Event>(row, "payload");
    absl::StatusOr<std::string> previous = row.GetText("previous_hash");
    absl::StatusOr<std::string> hash = row.GetText("hash");
    absl::StatusOr<int64_t> ingested = row.GetInt64("ingest_time_us");
    if (!sequence.ok()) return sequence.status();
    if (!event.ok()) return event.status();
    if (!previous.ok()) return previous.status();
    if (!hash.ok()) return hash.status();
    if (!ingested.ok()) return ingested.status();
    record.set_sequence(static_cast<uint64_t>(*sequence));
    *record.mutable_event() = *std::move(event);
    record.set_previous_hash(*previous);
    record.set_hash(*hash);
    *record.mutable_ingest_time() =
        TimeUtil::MicrosecondsToTimestamp(*ingested);
    records.push_back(std::move(record));
  }
  return records;
}

absl::StatusOr<ChainVerification> SqlReportingStore::VerifyChain(
    const std::string& tenant) {
  ChainVerifier verifier;
  int64_t after = 0;
  constexpr int kPage = 1000;
  while (verifier.result().intact) {
    absl::StatusOr<sql::Rows> rows = db_->Query(
        "SELECT sequence, event_id, type, event_time_us, payload, "
        "previous_hash, hash FROM reporting_events "
        "WHERE tenant = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
        {tenant, after, kPage});
    if (!rows.ok()) return rows.status();
    for (const sql::Row& row : *rows) {
      StoredLink link;
      absl::StatusOr<int64_t> sequence = row.GetInt64(0);
      absl::StatusOr<std::string> event_id = row.GetText(1);
      absl::StatusOr<int64_t> type = row.GetInt64(2);
      absl::StatusOr<int64_t> time_us = row.GetInt64(3);
      absl::StatusOr<std::string> payload = row.GetBytes(4);
      absl::StatusOr<std::string> previous = row.GetText(5);
      absl::StatusOr<std::string> hash = row.GetText(6);
      for (const absl::Status& s :
           {sequence.status(), event_id.status(), type.status(),
            time_us.status(), payload.status(), previous.status(),
            hash.status()}) {
        if (!s.ok()) return s;
      }
      link.sequence = static_cast<uint64_t>(*sequence);
      link.event_id = *event_id;
      link.event_type = *type;
      link.event_time_us = *time_us;
      link.payload = *payload;
      link.previous_hash = *previous;
      link.hash = *hash;
      verifier.Check(link);
      after = *sequence;
    }
    if (rows->size() < static_cast<size_t>(kPage)) break;
  }
  absl::StatusOr<sql::Rows> head = db_->Query(
      "SELECT sequence, hash FROM reporting_audit_heads WHERE tenant = $1",
      {tenant});
  if (!head.ok()) return head.status();
  uint64_t head_sequence = 0;
  std::string head_hash;
  if (!head->empty()) {
    absl::StatusOr<int64_t> s = (*head)[0].GetInt64(0);
    absl::StatusOr<std::string> h = (*head)[0].GetText(1);
    if (!s.ok()) return s.status();
    if (!h.ok()) return h.status();
    head_sequence = static_cast<uint64_t>(*s);
    head_hash = *h;
  }
  verifier.Finish(head_sequence, head_hash);
  return verifier.result();
}

absl::StatusOr<OutcomeWrite> SqlReportingStore::PutOutcome(
    const std::string& tenant, const std::string& request_id,
    const std::string& fingerprint, const v1::CallOutcome& outcome,
    const v1::Event& audit_event, absl::Time now) {
  OutcomeWrite result;
  absl::Status status = db_->RunInTransaction([&](sql::Transaction& tx) {
    result = OutcomeWrite();
    absl::StatusOr<sql::Rows> seen = tx.Query(
        "SELECT fingerprint, response FROM reporting_requests "
        "WHERE tenant = $1 AND kind = 'outcome' AND request_id = $2",
        {tenant, request_id});
    if (!seen.ok()) return seen.status();
    if (!seen->empty()) {
      if (absl::Status same = CheckFingerprint(*seen, fingerprint, "outcome");
          !same.ok()) {
        return same;
      }
      absl::StatusOr<v1::CallOutcome> first =
          ParsePayload<v1::CallOutcome>((*seen)[0], "response");
      if (!first.ok()) return first.status();
      result.outcome = *std::move(first);
      result.replayed = true;
      return absl::OkStatus();
    }
    absl::StatusOr<sql::Rows> earlier = tx.Query(
        "SELECT 1 FROM reporting_outcomes WHERE tenant = $1 AND call = $2",
        {tenant, outcome.call()});
    if (!earlier.ok()) return earlier.status();
    result.first_for_call = earlier->empty();
    absl::StatusOr<sql::Rows> coaching = tx.Query(
        "SELECT 1 FROM reporting_events WHERE tenant = $1 AND call = $2 "
        "AND type IN (10, 11, 13) AND mode IN (2, 3, 4) LIMIT 1",
        {tenant, outcome.call()});
    if (!coaching.ok()) return coaching.status();
    result.coached = !coaching->empty();

    const std::string payload = CanonicalBytes(outcome);
    auto micros_or_null = [](bool has, const google::protobuf::Timestamp& t) {
      return has ? sql::Value(TimeUtil::TimestampToMicroseconds(t))
                 : sql::Value::Null();
    };
    absl::StatusOr<int64_t> stored = tx.Execute(
        "INSERT INTO reporting_outcomes (tenant, call, team, queue, agent_id, "
        "call_start_us, agent_start_us, payload, update_time_us) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (tenant, call) DO UPDATE SET team = excluded.team, "
        "queue = excluded.queue, agent_id = excluded.agent_id, "
        "call_start_us = excluded.call_start_us, "
        "agent_start_us = excluded.agent_start_us, "
        "payload = excluded.payload, update_time_us = excluded.update_time_us",
        {tenant, outcome.call(), outcome.team(), outcome.queue(),
         outcome.agent_id(),
         micros_or_null(outcome.has_call_start_time(),
                        outcome.call_start_time()),
         micros_or_null(outcome.has_agent_start_time(),
                        outcome.agent_start_time()),
         sql::Value::Bytes(payload), Micros(now)});
    if (!stored.ok()) return stored.status();
    absl::StatusOr<int64_t> remembered = tx.Execute(
        "INSERT INTO reporting_requests (tenant, kind, request_id, "
        "fingerprint, response, create_time_us) "
        "VALUES ($1, 'outcome', $2, $3, $4, $5)",
        {tenant, request_id, fingerprint, sql::Value::Bytes(payload),
         Micros(now)});
    if (!remembered.ok()) return remembered.status();
    FreshEvent ignored;
    absl::StatusOr<bool> chained =
        AppendInTransaction(tx, audit_event, now, &ignored);
    if (!chained.ok()) return chained.status();
    result.outcome = outcome;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<bool> SqlReportingStore::PutMediaQuality(
    const v1::IngestMediaQualityRequest& request,
    const std::string& fingerprint, absl::Time now) {
  absl::StatusOr<int64_t> inserted = db_->Execute(
      "INSERT INTO reporting_media_quality (tenant, request_id, fingerprint, "
      "call, leg, engine_id, loss_ratio, jitter_ms, mos, payload, "
      "ingest_time_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
      "ON CONFLICT (tenant, request_id) DO NOTHING",
      {request.tenant(), request.request_id(), fingerprint, request.call(),
       request.leg(), request.engine_id(), request.quality().loss_ratio(),
       request.quality().jitter_ms(), request.quality().mos(),
       sql::Value::Bytes(CanonicalBytes(request.quality())), Micros(now)});
  if (!inserted.ok()) return inserted.status();
  if (*inserted == 1) return true;
  absl::StatusOr<sql::Rows> seen = db_->Query(
      "SELECT fingerprint FROM reporting_media_quality "
      "WHERE tenant = $1 AND request_id = $2",
      {request.tenant(), request.request_id()});
  if (!seen.ok()) return seen.status();
  if (seen->empty()) {
    return absl::AbortedError("media quality row vanished; retry");
  }
  if (absl::Status same =
          CheckFingerprint(*seen, fingerprint, "media quality summary");
      !same.ok()) {
    return same;
  }
  return false;
}

absl::StatusOr<ReportData> SqlReportingStore::LoadReportData(
    const std::string& tenant, absl::Time start,
    std::optional<absl::Time> end) {
  const int64_t start_us = Micros(start);
  const int64_t end_us =
      end.has_value() ? Micros(*end) : std::numeric_limits<int64_t>::max();
  const std::vector<sql::Value> params = {tenant, start_us, end_us};
  ReportData data;
  absl::StatusOr<sql::Rows> events = db_->Query(
      absl::StrCat("SELECT payload FROM reporting_events WHERE tenant = $1 "
                   "AND call <> '' AND call IN (",
                   kCallsInRange, ")"),
      params);
  if (!events.ok()) return events.status();
  for (const sql::Row& row : *events) {
    absl::StatusOr<v1::Event> event = ParsePayload<v1::Event>(row, "payload");
    if (!event.ok()) return event.status();
    data.events.push_back(*std::move(event));
  }
  absl::StatusOr<sql::Rows> outcomes = db_->Query(
      absl::StrCat("SELECT payload FROM reporting_outcomes WHERE tenant = $1 "
                   "AND call IN (",
                   kCallsInRange, ")"),
      params);
  if (!outcomes.ok()) return outcomes.status();
  for (const sql::Row& row : *outcomes) {
    absl::StatusOr<v1::CallOutcome> outcome =
        ParsePayload<v1::CallOutcome>(row, "payload");
    if (!outcome.ok()) return outcome.status();
    data.outcomes[outcome->call()] = *std::move(outcome);
  }
  return data;
}

absl::StatusOr<std::map<std::string, absl::Time>>
SqlReportingStore::AgentStarts(const std::string& tenant) {
  // A reported start date wins over the first call.
  std::map<std::string, absl::Time> reported;
  std::map<std::string, absl::Time> first_call;
  auto collect = [&](const std::string& sql,
                     std::map<std::string, absl::Time>& into) -> absl::Status {
    absl::StatusOr<sql::Rows> rows = db_->Query(sql, {tenant});
    if (!rows.ok()) return rows.status();
    for (const sql::Row& row : *rows) {
      absl::StatusOr<std::string> agent = row.GetText(0);
      absl::StatusOr<int64_t> micros = row.GetInt64(1);
      if (!agent.ok()) return agent.status();
      if (!micros.ok()) return micros.status();
      const absl::Time t = absl::FromUnixMicros(*micros);
      auto [it, added] = into.emplace(*agent, t);
      if (!added) it->second = std::min(it->second, t);
    }
    return absl::OkStatus();
  };
  for (const auto& [sql_text, into] :
       std::vector<std::pair<std::string, std::map<std::string, absl::Time>*>>{
           {"SELECT agent_id, MIN(agent_start_us) FROM reporting_outcomes "
            "WHERE tenant = $1 AND agent_start_us IS NOT NULL "
            "AND agent_id <> '' GROUP BY agent_id",
            &reported},
           {"SELECT agent_id, MIN(call_start_us) FROM reporting_outcomes "
            "WHERE tenant = $1 AND call_start_us IS NOT NULL "
            "AND agent_id <> '' GROUP BY agent_id",
            &first_call},
           {"SELECT agent_id, MIN(event_time_us) FROM reporting_events "
            "WHERE tenant = $1 AND type = 1 AND agent_id <> '' "
            "GROUP BY agent_id",
            &first_call},
       }) {
    if (absl::Status s = collect(sql_text, *into); !s.ok()) return s;
  }
  for (const auto& [agent, t] : reported) first_call[agent] = t;
  return first_call;
}

absl::StatusOr<std::vector<ActiveSupervisions>>
SqlReportingStore::CountActiveSupervisions() {
  absl::StatusOr<sql::Rows> rows = db_->Query(
      "SELECT tenant, team, queue, mode, COUNT(*) FROM reporting_supervisions "
      "WHERE ended = 0 GROUP BY tenant, team, queue, mode");
  if (!rows.ok()) return rows.status();
  std::vector<ActiveSupervisions> counts;
  for (const sql::Row& row : *rows) {
    ActiveSupervisions c;
    absl::StatusOr<std::string> tenant = row.GetText(0);
    absl::StatusOr<std::string> team = row.GetText(1);
    absl::StatusOr<std::string> queue = row.GetText(2);
    absl::StatusOr<int64_t> mode = row.GetInt64(3);
    absl::StatusOr<int64_t> count = row.GetInt64(4);
    for (const absl::Status& s :
         {tenant.status(), team.status(), queue.status(), mode.status(),
          count.status()}) {
      if (!s.ok()) return s;
    }
    c.tenant = *tenant;
    c.team = *team;
    c.queue = *queue;
    c.mode = v1::Mode_IsValid(static_cast<int>(*mode))
                 ? static_cast<v1::Mode>(*mode)
                 : v1::MODE_UNSPECIFIED;
    c.count = *count;
    counts.push_back(std::move(c));
  }
  return counts;
}

}  // namespace sotto::reporting
