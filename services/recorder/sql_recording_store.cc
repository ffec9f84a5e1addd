#include "services/recorder/sql_recording_store.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "services/common/sql/migrations.h"
#include "services/recorder/proto_time.h"

namespace sotto::recorder {
namespace {

using sql::Value;

constexpr char kSchema[] = R"sql(
CREATE TABLE recorder_recordings (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  call TEXT NOT NULL,
  team TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  state BIGINT NOT NULL,
  start_time BIGINT NOT NULL,
  engine_address TEXT NOT NULL,
  room_id TEXT NOT NULL,
  policy BYTEA NOT NULL,
  legs TEXT NOT NULL,
  recording BYTEA NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX recorder_recordings_by_time
  ON recorder_recordings (tenant, start_time, id);
CREATE INDEX recorder_recordings_by_state ON recorder_recordings (state);
CREATE TABLE recorder_idempotency (
  tenant TEXT NOT NULL,
  method TEXT NOT NULL,
  request_id TEXT NOT NULL,
  response BYTEA NOT NULL,
  PRIMARY KEY (tenant, method, request_id)
);
CREATE TABLE recorder_audit (
  id TEXT NOT NULL PRIMARY KEY,
  time BIGINT NOT NULL,
  tenant TEXT NOT NULL,
  recording TEXT NOT NULL,
  type BIGINT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX recorder_audit_by_time ON recorder_audit (tenant, time))sql";

constexpr char kColumns[] =
    "tenant, id, engine_address, room_id, policy, legs, recording";

std::string LegsToJson(const std::vector<LegBinding>& legs) {
  nlohmann::json out = nlohmann::json::array();
  for (const LegBinding& leg : legs) {
    out.push_back({{"leg_id", leg.leg_id},
                   {"role", static_cast<int>(leg.role)},
                   {"user_id", leg.user_id},
                   {"channel", leg.channel},
                   {"supervision", leg.supervision}});
  }
  return out.dump();
}

absl::StatusOr<std::vector<LegBinding>> LegsFromJson(const std::string& text) {
  nlohmann::json in = nlohmann::json::parse(text, nullptr, false);
  if (in.is_discarded() || !in.is_array()) {
    return absl::DataLossError("recorder_recordings.legs is not a JSON array");
  }
  std::vector<LegBinding> legs;
  for (const nlohmann::json& item : in) {
    LegBinding leg;
    leg.leg_id = item.value("leg_id", "");
    leg.role = static_cast<v1::Role>(item.value("role", 0));
    leg.user_id = item.value("user_id", "");
    leg.channel = item.value("channel", -1);
    leg.supervision = item.value("supervision", "");
    legs.push_back(std::move(leg));
  }
  return legs;
}

absl::StatusOr<StoredRecording> FromRow(const sql::Row& row) {
  StoredRecording out;
  auto id = row.GetText("id");
  auto engine = row.GetText("engine_address");
  auto room = row.GetText("room_id");
  auto policy = row.GetBytes("policy");
  auto legs_text = row.GetText("legs");
  auto recording = row.GetBytes("recording");
  for (const absl::Status& s :
       {id.status(), engine.status(), room.status(), policy.status(),
        legs_text.status(), recording.status()}) {
    if (!s.ok()) return s;
  }
  if (!out.recording.ParseFromString(*recording) ||
      !out.policy.ParseFromString(*policy)) {
    return absl::DataLossError(
        absl::StrCat("recording ", *id, ": unreadable index row"));
  }
  auto legs = LegsFromJson(*legs_text);
  if (!legs.ok()) return legs.status();
  out.id = *id;
  out.engine_address = *engine;
  out.room_id = *room;
  out.legs = *std::move(legs);
  return out;
}

absl::StatusOr<std::vector<StoredRecording>> FromRows(
    absl::StatusOr<sql::Rows> rows) {
  if (!rows.ok()) return rows.status();
  std::vector<StoredRecording> out;
  for (const sql::Row& row : *rows) {
    auto stored = FromRow(row);
    if (!stored.ok()) return stored.status();
    out.push_back(*std::move(stored));
  }
  return out;
}

std::string AgentOf(const v1::Recording& r) { return r.agent_id(); }

}  // namespace

absl::StatusOr<std::unique_ptr<SqlRecordingStore>> SqlRecordingStore::Open(
    sql::Database* db) {
  const std::vector<sql::Migration> migrations = {
      {1, "recorder index", kSchema}};
  if (absl::Status status = sql::ApplyMigrations(*db, migrations);
      !status.ok()) {
    return status;
  }
  return std::unique_ptr<SqlRecordingStore>(new SqlRecordingStore(db));
}

absl::Status SqlRecordingStore::Put(const StoredRecording& stored) {
  const v1::Recording& r = stored.recording;
  std::vector<Value> params = {
      r.tenant(),
      stored.id,
      r.call(),
      r.team(),
      AgentOf(r),
      static_cast<int64_t>(r.state()),
      absl::ToUnixMicros(FromProtoTime(r.start_time())),
      stored.engine_address,
      stored.room_id,
      Value::Bytes(stored.policy.SerializeAsString()),
      LegsToJson(stored.legs),
      Value::Bytes(r.SerializeAsString())};
  return db_
      ->Execute(
          "INSERT INTO recorder_recordings (tenant, id, call, team, agent_id, "
          "state, start_time, engine_address, room_id, policy, legs, "
          "recording) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
          "$12) ON CONFLICT (tenant, id) DO UPDATE SET call = $3, team = $4, "
          "agent_id = $5, state = $6, start_time = $7, engine_address = $8, "
          "room_id = $9, policy = $10, legs = $11, recording = $12",
          params)
      .status();
}

absl::StatusOr<StoredRecording> SqlRecordingStore::Get(
    const std::string& tenant, const std::string& id) {
  const std::vector<Value> params = {tenant, id};
  auto rows = db_->Query(absl::StrCat("SELECT ", kColumns,
                                      " FROM recorder_recordings WHERE "
                                      "tenant = $1 AND id = $2"),
                         params);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::NotFoundError(
        absl::StrCat("tenants/", tenant, "/recordings/", id, " not found"));
  }
  return FromRow((*rows)[0]);
}

absl::StatusOr<std::vector<StoredRecording>> SqlRecordingStore::List(
    const ListQuery& query) {
  std::vector<Value> params = {query.tenant};
  std::vector<std::string> where = {"tenant = $1"};
  // `column_op` is e.g. "call =": its value becomes the next parameter.
  auto add = [&](absl::string_view column_op, Value value) {
    params.push_back(std::move(value));
    where.push_back(absl::StrCat(column_op, " $", params.size()));
  };
  if (!query.call.empty()) add("call =", query.call);
  if (!query.team.empty()) add("team =", query.team);
  if (!query.agent_id.empty()) add("agent_id =", query.agent_id);
  if (query.started_from) {
    add("start_time >=", absl::ToUnixMicros(*query.started_from));
  }
  if (query.started_before) {
    add("start_time <", absl::ToUnixMicros(*query.started_before));
  }
  if (query.after) {
    params.push_back(absl::ToUnixMicros(query.after->first));
    params.push_back(query.after->second);
    where.push_back(
        absl::StrFormat("(start_time < $%d OR (start_time = $%d AND id < $%d))",
                        params.size() - 1, params.size() - 1, params.size()));
  }
  params.push_back(static_cast<int64_t>(query.limit));
  return FromRows(db_->Query(
      absl::StrCat("SELECT ", kColumns, " FROM recorder_recordings WHERE ",
                   absl::StrJoin(where, " AND "),
                   " ORDER BY start_time DESC, id DESC LIMIT $", params.size()),
      params));
}

absl::StatusOr<std::vector<StoredRecording>> SqlRecordingStore::ListInStates(
    const std::vector<v1::Recording::State>& states) {
  std::vector<Value> params;
  std::vector<std::string> placeholders;
  for (v1::Recording::State state : states) {
    params.push_back(static_cast<int64_t>(state));
    placeholders.push_back(absl::StrCat("$", params.size()));
  }
  if (params.empty()) return std::vector<StoredRecording>();
  return FromRows(
      db_->Query(absl::StrCat("SELECT ", kColumns,
                              " FROM recorder_recordings WHERE state IN (",
                              absl::StrJoin(placeholders, ", "),
                              ") ORDER BY start_time, tenant, id"),
                 params));
}

absl::StatusOr<std::optional<std::string>> SqlRecordingStore::FindResponse(
    const std::string& tenant, const std::string& method,
    const std::string& request_id) {
  const std::vector<Value> params = {tenant, method, request_id};
  auto rows = db_->Query(
      "SELECT response FROM recorder_idempotency WHERE tenant = $1 AND "
      "method = $2 AND request_id = $3",
      params);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  auto bytes = (*rows)[0].GetBytes(0);
  if (!bytes.ok()) return bytes.status();
  return std::optional<std::string>(*std::move(bytes));
}

absl::Status SqlRecordingStore::RememberResponse(const std::string& tenant,
                                                 const std::string& method,
                                                 const std::string& request_id,
                                                 const std::string& response) {
  const std::vector<Value> params = {tenant, method, request_id,
                                     Value::Bytes(response)};
  return db_
      ->Execute(
          "INSERT INTO recorder_idempotency (tenant, method, request_id, "
          "response) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, method, "
          "request_id) DO NOTHING",
          params)
      .status();
}

absl::Status SqlRecordingStore::Audit(const AuditEntry& entry) {
  static thread_local absl::BitGen bits;
  const std::string id =
      absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(bits),
                      absl::Uniform<uint64_t>(bits));
  const std::vector<Value> params = {id,
                                     absl::ToUnixMicros(entry.time),
                                     entry.tenant,
                                     entry.recording,
                                     static_cast<int64_t>(entry.type),
                                     entry.subject,
                                     entry.detail};
  return db_
      ->Execute(
          "INSERT INTO recorder_audit (id, time, tenant, recording, type, "
          "subject, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          params)
      .status();
}

absl::StatusOr<std::vector<AuditEntry>> SqlRecordingStore::ListAudit(
    const std::string& tenant) {
  std::vector<Value> params;
  std::string sql =
      "SELECT time, tenant, recording, type, subject, detail FROM "
      "recorder_audit";
  if (!tenant.empty()) {
    params.push_back(tenant);
    sql += " WHERE tenant = $1";
  }
  sql += " ORDER BY time, id";
  auto rows = db_->Query(sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<AuditEntry> out;
  for (const sql::Row& row : *rows) {
    AuditEntry entry;
    auto time = row.GetInt64(0);
    auto t = row.GetText(1);
    auto recording = row.GetText(2);
    auto type = row.GetInt64(3);
    auto subject = row.GetText(4);
    auto detail = row.GetText(5);
    for (const absl::Status& s :
         {time.status(), t.status(), recording.status(), type.status(),
          subject.status(), detail.status()}) {
      if (!s.ok()) return s;
    }
    entry.time = absl::FromUnixMicros(*time);
    entry.tenant = *t;
    entry.recording = *recording;
    entry.type = static_cast<v1::EventType>(*type);
    entry.subject = *subject;
    entry.detail = *detail;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace sotto::recorder
