#include "services/broker/sql_call_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/broker/call_proto.h"
#include "services/common/sql/migrations.h"
#include "sotto/v1/broker.pb.h"

namespace sotto::broker {
namespace {

using sql::Value;

constexpr char kCallsTable[] = R"sql(
CREATE TABLE broker_calls (
  tenant TEXT NOT NULL,
  call_id TEXT NOT NULL,
  queue TEXT NOT NULL,
  team TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  state BIGINT NOT NULL,
  create_time BIGINT NOT NULL,
  version BIGINT NOT NULL,
  call BYTEA NOT NULL,
  internal TEXT NOT NULL,
  PRIMARY KEY (tenant, call_id)
);
CREATE INDEX broker_calls_by_time ON broker_calls (tenant, create_time, call_id);
CREATE TABLE broker_idempotency (
  tenant TEXT NOT NULL,
  request_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  response BYTEA NOT NULL,
  create_time BIGINT NOT NULL,
  PRIMARY KEY (tenant, request_id)
))sql";

// The outbox needs an ascending key; the two dialects spell it differently.
constexpr char kOutboxSqlite[] = R"sql(
CREATE TABLE broker_outbox (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  event BYTEA NOT NULL,
  delivered BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX broker_outbox_pending ON broker_outbox (delivered, sequence))sql";
constexpr char kOutboxPostgres[] = R"sql(
CREATE TABLE broker_outbox (
  sequence BIGSERIAL PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  event BYTEA NOT NULL,
  delivered BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX broker_outbox_pending ON broker_outbox (delivered, sequence))sql";

// Placement is shared by every broker replica: which engine carries each
// call, and the engines' latest heartbeats.
constexpr char kEnginesTable[] = R"sql(
ALTER TABLE broker_calls ADD COLUMN engine_id TEXT NOT NULL DEFAULT '';
CREATE INDEX broker_calls_by_engine ON broker_calls (engine_id, state);
CREATE TABLE broker_engines (
  engine_id TEXT PRIMARY KEY,
  control_address TEXT NOT NULL,
  media_address TEXT NOT NULL,
  capacity_rooms BIGINT NOT NULL,
  active_rooms BIGINT NOT NULL,
  draining BIGINT NOT NULL,
  last_heartbeat BIGINT NOT NULL
))sql";

int64_t StateCode(CallState state) {
  return static_cast<int64_t>(CallStateToProto(state));
}

// The parameters of the columns, $1..$10 in table order, then engine_id.
std::vector<Value> CallColumns(const StoredCall& call, int64_t version) {
  const CallRecord& r = call.record;
  const ParticipantRecord* agent = r.Agent();
  std::string team, agent_id;
  if (agent != nullptr) {
    team = agent->team;
    agent_id = agent->user_id;
  } else {
    // An ended call keeps its last agent for filtering.
    for (const ParticipantRecord& p : r.participants) {
      if (p.role == v1::ROLE_AGENT) {
        team = p.team;
        agent_id = p.user_id;
      }
    }
  }
  CallView all;
  all.all_keys = true;
  std::string bytes;
  v1::Call proto = CallToProto(call, all);
  proto.clear_routing();  // derived, not stored
  proto.SerializeToString(&bytes);
  return {r.tenant,
          r.call_id,
          r.queue,
          team,
          agent_id,
          StateCode(r.state),
          absl::ToUnixMicros(r.create_time),
          version,
          Value::Bytes(std::move(bytes)),
          InternalToJson(call),
          call.engine_id};
}

absl::StatusOr<StoredCall> CallFromRow(const sql::Row& row) {
  absl::StatusOr<std::string> bytes = row.GetBytes("call");
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::string> internal = row.GetText("internal");
  if (!internal.ok()) return internal.status();
  absl::StatusOr<int64_t> version = row.GetInt64("version");
  if (!version.ok()) return version.status();
  v1::Call proto;
  if (!proto.ParseFromString(*bytes)) {
    return absl::InternalError("stored call does not parse");
  }
  absl::StatusOr<StoredCall> call = CallFromProto(proto, *internal);
  if (!call.ok()) return call.status();
  call->version = *version;
  return call;
}

absl::StatusOr<std::vector<OutboxEntry>> OutboxRows(
    sql::Database* db, const char* query, const std::vector<Value>& params) {
  absl::StatusOr<sql::Rows> rows = db->Query(query, params);
  if (!rows.ok()) return rows.status();
  std::vector<OutboxEntry> out;
  for (const sql::Row& row : *rows) {
    OutboxEntry entry;
    absl::StatusOr<int64_t> sequence = row.GetInt64("sequence");
    if (!sequence.ok()) return sequence.status();
    absl::StatusOr<std::string> bytes = row.GetBytes("event");
    if (!bytes.ok()) return bytes.status();
    entry.sequence = *sequence;
    if (!entry.event.ParseFromString(*bytes)) {
      return absl::InternalError("stored event does not parse");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

constexpr char kSelectCall[] =
    "SELECT call, internal, version FROM broker_calls";

absl::Status WriteExtrasIn(sql::Transaction& tx, const WriteExtras& extras) {
  for (const v1::Event& event : extras.events) {
    std::string bytes;
    event.SerializeToString(&bytes);
    absl::StatusOr<int64_t> inserted = tx.Execute(
        "INSERT INTO broker_outbox (event_id, tenant, event) "
        "VALUES ($1, $2, $3)",
        {event.event_id(), event.tenant(), Value::Bytes(std::move(bytes))});
    if (!inserted.ok()) return inserted.status();
  }
  if (extras.idempotency.has_value()) {
    const IdempotencyRecord& record = *extras.idempotency;
    absl::StatusOr<int64_t> inserted = tx.Execute(
        "INSERT INTO broker_idempotency "
        "(tenant, request_id, fingerprint, response, create_time) "
        "VALUES ($1, $2, $3, $4, $5)",
        {record.tenant, record.request_id, record.fingerprint,
         Value::Bytes(record.response), absl::ToUnixMicros(absl::Now())});
    if (!inserted.ok()) return inserted.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqlCallStore>> SqlCallStore::Open(
    sql::Database* db) {
  const std::vector<sql::Migration> migrations = {
      {1, "broker calls and idempotency", kCallsTable},
      {2, "broker outbox",
       db->dialect() == sql::Dialect::kSqlite ? kOutboxSqlite
                                              : kOutboxPostgres},
      {3, "shared engine placement", kEnginesTable},
  };
  absl::Status migrated = sql::ApplyMigrations(*db, migrations);
  if (!migrated.ok()) return migrated;
  return std::unique_ptr<SqlCallStore>(new SqlCallStore(db));
}

absl::Status SqlCallStore::Create(const StoredCall& call,
                                  const WriteExtras& extras) {
  const std::vector<Value> columns = CallColumns(call, 1);
  return db_->RunInTransaction([&](sql::Transaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> inserted = tx.Execute(
        "INSERT INTO broker_calls (tenant, call_id, queue, team, agent_id, "
        "state, create_time, version, call, internal, engine_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        columns);
    if (!inserted.ok()) return inserted.status();
    return WriteExtrasIn(tx, extras);
  });
}

absl::StatusOr<StoredCall> SqlCallStore::Get(const std::string& tenant,
                                             const std::string& call_id) {
  absl::StatusOr<sql::Rows> rows = db_->Query(
      absl::StrCat(kSelectCall, " WHERE tenant = $1 AND call_id = $2"),
      {tenant, call_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::NotFoundError(
        absl::StrCat("no call tenants/", tenant, "/calls/", call_id));
  }
  return CallFromRow((*rows)[0]);
}

absl::StatusOr<CallPage> SqlCallStore::List(const CallQuery& query) {
  if (query.limit <= 0) {
    return absl::InvalidArgumentError("limit must be positive");
  }
  std::vector<Value> params = {query.tenant};
  std::vector<std::string> where = {"tenant = $1"};
  auto add = [&](const std::string& column, Value value) {
    params.push_back(std::move(value));
    where.push_back(absl::StrCat(column, " = $", params.size()));
  };
  if (!query.queue.empty()) add("queue", query.queue);
  if (!query.team.empty()) add("team", query.team);
  if (!query.agent_id.empty()) add("agent_id", query.agent_id);
  if (!query.states.empty()) {
    std::vector<std::string> states;
    for (CallState state : query.states) {
      params.push_back(StateCode(state));
      states.push_back(absl::StrCat("$", params.size()));
    }
    where.push_back(
        absl::StrCat("state IN (", absl::StrJoin(states, ", "), ")"));
  }
  if (query.after.has_value()) {
    params.push_back(absl::ToUnixMicros(query.after->first));
    const size_t t = params.size();
    params.push_back(query.after->second);
    const size_t id = params.size();
    where.push_back(absl::StrCat("(create_time < $", t, " OR (create_time = $",
                                 t, " AND call_id < $", id, "))"));
  }
  params.push_back(static_cast<int64_t>(query.limit) + 1);
  const std::string sql = absl::StrCat(
      kSelectCall, " WHERE ", absl::StrJoin(where, " AND "),
      " ORDER BY create_time DESC, call_id DESC LIMIT $", params.size());
  absl::StatusOr<sql::Rows> rows = db_->Query(sql, params);
  if (!rows.ok()) return rows.status();
  CallPage page;
  for (const sql::Row& row : *rows) {
    if (static_cast<int>(page.calls.size()) == query.limit) {
      page.more = true;
      break;
    }
    absl::StatusOr<StoredCall> call = CallFromRow(row);
    if (!call.ok()) return call.status();
    page.calls.push_back(*std::move(call));
  }
  return page;
}

absl::StatusOr<int64_t> SqlCallStore::Update(const StoredCall& call,
                                             const WriteExtras& extras) {
  const int64_t next = call.version + 1;
  const std::vector<Value> columns = CallColumns(call, next);
  absl::Status status =
      db_->RunInTransaction([&](sql::Transaction& tx) -> absl::Status {
        std::vector<Value> params = columns;
        params.push_back(call.version);
        absl::StatusOr<int64_t> updated = tx.Execute(
            "UPDATE broker_calls SET queue = $3, team = $4, agent_id = $5, "
            "state = $6, create_time = $7, version = $8, call = $9, "
            "internal = $10, engine_id = $11 "
            "WHERE tenant = $1 AND call_id = $2 AND version = $12",
            params);
        if (!updated.ok()) return updated.status();
        if (*updated == 0) {
          // FAILED_PRECONDITION rather than ABORTED inside the body, so that
          // RunInTransaction does not re-run it: a lost race is the caller's
          // to resolve (re-read and decide again).
          return absl::FailedPreconditionError("version conflict");
        }
        return WriteExtrasIn(tx, extras);
      });
  if (status.code() == absl::StatusCode::kFailedPrecondition &&
      status.message() == "version conflict") {
    return absl::AbortedError(
        absl::StrCat("call ", call.record.name(),
                     " was changed concurrently; re-read it and retry"));
  }
  if (!status.ok()) return status;
  return next;
}

absl::StatusOr<std::optional<IdempotencyRecord>> SqlCallStore::GetIdempotency(
    const std::string& tenant, const std::string& request_id) {
  absl::StatusOr<sql::Rows> rows = db_->Query(
      "SELECT fingerprint, response FROM broker_idempotency "
      "WHERE tenant = $1 AND request_id = $2",
      {tenant, request_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<IdempotencyRecord>();
  IdempotencyRecord record;
  record.tenant = tenant;
  record.request_id = request_id;
  absl::StatusOr<std::string> fingerprint = (*rows)[0].GetText("fingerprint");
  if (!fingerprint.ok()) return fingerprint.status();
  absl::StatusOr<std::string> response = (*rows)[0].GetBytes("response");
  if (!response.ok()) return response.status();
  record.fingerprint = *std::move(fingerprint);
  record.response = *std::move(response);
  return std::optional<IdempotencyRecord>(std::move(record));
}

absl::Status SqlCallStore::AppendEvents(const std::vector<v1::Event>& events) {
  if (events.empty()) return absl::OkStatus();
  WriteExtras extras;
  extras.events = events;
  return db_->RunInTransaction(
      [&](sql::Transaction& tx) { return WriteExtrasIn(tx, extras); });
}

absl::StatusOr<std::vector<OutboxEntry>> SqlCallStore::PendingEvents(
    int limit) {
  return OutboxRows(db_,
                    "SELECT sequence, event FROM broker_outbox WHERE "
                    "delivered = 0 ORDER BY sequence LIMIT $1",
                    {static_cast<int64_t>(limit)});
}

absl::StatusOr<std::vector<OutboxEntry>> SqlCallStore::EventsAfter(
    int64_t after_sequence, int limit) {
  return OutboxRows(db_,
                    "SELECT sequence, event FROM broker_outbox WHERE "
                    "sequence > $1 ORDER BY sequence LIMIT $2",
                    {after_sequence, static_cast<int64_t>(limit)});
}

absl::StatusOr<int64_t> SqlCallStore::LastEventSequence() {
  absl::StatusOr<sql::Rows> rows = db_->Query(
      "SELECT COALESCE(MAX(sequence), 0) AS last FROM broker_outbox", {});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return 0;
  return (*rows)[0].GetInt64("last");
}

absl::Status SqlCallStore::MarkDelivered(
    const std::vector<int64_t>& sequences) {
  if (sequences.empty()) return absl::OkStatus();
  std::string placeholders;
  std::vector<Value> values;
  for (int64_t sequence : sequences) {
    values.push_back(sequence);
    absl::StrAppend(&placeholders, values.size() > 1 ? ", $" : "$",
                    values.size());
  }
  return db_
      ->Execute(absl::StrCat("UPDATE broker_outbox SET delivered = 1 WHERE "
                             "sequence IN (",
                             placeholders, ")"),
                values)
      .status();
}

absl::StatusOr<std::vector<StoredCall>> SqlCallStore::LiveCallsOnEngine(
    const std::string& engine_id) {
  absl::StatusOr<sql::Rows> rows =
      db_->Query(absl::StrCat(kSelectCall,
                              " WHERE engine_id = $1 AND state IN ($2, $3) "
                              "ORDER BY tenant, call_id"),
                 {engine_id, StateCode(CallState::kActive),
                  StateCode(CallState::kOnHold)});
  if (!rows.ok()) return rows.status();
  std::vector<StoredCall> calls;
  for (const sql::Row& row : *rows) {
    absl::StatusOr<StoredCall> call = CallFromRow(row);
    if (!call.ok()) return call.status();
    calls.push_back(*std::move(call));
  }
  return calls;
}

absl::Status SqlCallStore::SaveEngine(const EngineRecord& engine) {
  // Upsert that never goes back in time: replicas may save the same
  // engine in any order.
  return db_
      ->Execute(
          "INSERT INTO broker_engines (engine_id, control_address, "
          "media_address, capacity_rooms, active_rooms, draining, "
          "last_heartbeat) VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (engine_id) DO UPDATE SET "
          "control_address = excluded.control_address, "
          "media_address = excluded.media_address, "
          "capacity_rooms = excluded.capacity_rooms, "
          "active_rooms = excluded.active_rooms, "
          "draining = excluded.draining, "
          "last_heartbeat = excluded.last_heartbeat "
          "WHERE broker_engines.last_heartbeat < excluded.last_heartbeat",
          {engine.engine_id, engine.control_address, engine.media_address,
           static_cast<int64_t>(engine.capacity_rooms),
           static_cast<int64_t>(engine.active_rooms),
           static_cast<int64_t>(engine.draining ? 1 : 0),
           absl::ToUnixMicros(engine.last_heartbeat)})
      .status();
}

absl::StatusOr<std::vector<EngineRecord>> SqlCallStore::LoadEngines() {
  absl::StatusOr<sql::Rows> rows = db_->Query(
      "SELECT engine_id, control_address, media_address, capacity_rooms, "
      "active_rooms, draining, last_heartbeat FROM broker_engines "
      "ORDER BY engine_id",
      {});
  if (!rows.ok()) return rows.status();
  std::vector<EngineRecord> engines;
  for (const sql::Row& row : *rows) {
    EngineRecord engine;
    absl::StatusOr<std::string> id = row.GetText("engine_id");
    absl::StatusOr<std::string> control = row.GetText("control_address");
    absl::StatusOr<std::string> media = row.GetText("media_address");
    absl::StatusOr<int64_t> capacity = row.GetInt64("capacity_rooms");
    absl::StatusOr<int64_t> active = row.GetInt64("active_rooms");
    absl::StatusOr<int64_t> draining = row.GetInt64("draining");
    absl::StatusOr<int64_t> heartbeat = row.GetInt64("last_heartbeat");
    for (const absl::Status& s :
         {id.status(), control.status(), media.status(), capacity.status(),
          active.status(), draining.status(), heartbeat.status()}) {
      if (!s.ok()) return s;
    }
    engine.engine_id = *id;
    engine.control_address = *control;
    engine.media_address = *media;
    engine.capacity_rooms = static_cast<int>(*capacity);
    engine.active_rooms = static_cast<int>(*active);
    engine.draining = *draining != 0;
    engine.last_heartbeat = absl::FromUnixMicros(*heartbeat);
    engine.state = engine.draining ? EngineRecord::State::kDraining
                                   : EngineRecord::State::kHealthy;
    engines.push_back(std::move(engine));
  }
  return engines;
}

absl::StatusOr<int64_t> SqlCallStore::ExpireIdempotency(absl::Time before) {
  return db_->Execute("DELETE FROM broker_idempotency WHERE create_time < $1",
                      {absl::ToUnixMicros(before)});
}

}  // namespace sotto::broker
