#include "services/common/sql/sqlite_database.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/sql/sql_util.h"

namespace sotto::sql {

namespace {

absl::StatusCode CodeFor(int extended_rc) {
  switch (extended_rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return absl::StatusCode::kAlreadyExists;
    default:
      break;
  }
  switch (extended_rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kAborted;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return absl::StatusCode::kInvalidArgument;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

// A transaction on the locked connection; see Transaction for the contract.
class SqliteDatabase::Tx final : public internal::DoomOnFailureTransaction {
 public:
  explicit Tx(SqliteDatabase* db) : db_(db) {}
  Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  absl::StatusOr<int64_t> RunStatement(absl::string_view sql, Params params,
                                       Rows* rows) override {
    return db_->RunLocked(sql, params, rows);
  }
  absl::Status RunScript(absl::string_view sql) override {
    return db_->ExecScriptLocked(sql);
  }

  SqliteDatabase* const db_;
};

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(
    const SqliteOptions& options) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrCat("cannot open SQLite database '",
                                               options.path, "': ", message));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(
      db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  std::unique_ptr<SqliteDatabase> result(new SqliteDatabase(db, options));
  // journal_mode answers with the mode it ended up in: a read-only medium or
  // an in-memory database cannot do WAL, and we want to know.
  absl::StatusOr<Rows> mode = result->Query("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.status();
  absl::StatusOr<std::string> got =
      mode->empty() ? absl::InternalError("no answer") : (*mode)[0].GetText(0);
  if (!got.ok() || absl::AsciiStrToLower(*got) != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "SQLite database '", options.path, "' cannot use WAL mode"));
  }
  absl::StatusOr<int64_t> fk = result->Execute("PRAGMA foreign_keys=ON");
  if (!fk.ok()) return fk.status();
  return result;
}

SqliteDatabase::SqliteDatabase(sqlite3* db, const SqliteOptions& options)
    : options_(options), db_(db) {}

SqliteDatabase::~SqliteDatabase() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status SqliteDatabase::RefuseReentry() const {
  if (tx_thread_.load() == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "SqliteDatabase called from inside its own RunInTransaction body; "
        "use the Transaction passed to the body");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteDatabase::Execute(absl::string_view sql,
                                                Params params) {
  if (absl::Status s = RefuseReentry(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return RunLocked(sql, params, nullptr);
}

absl::StatusOr<Rows> SqliteDatabase::Query(absl::string_view sql,
                                           Params params) {
  if (absl::Status s = RefuseReentry(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  Rows rows;
  absl::StatusOr<int64_t> r = RunLocked(sql, params, &rows);
  if (!r.ok()) return r.status();
  return rows;
}

absl::Status SqliteDatabase::Error(int rc, absl::string_view sql,
                                   Params params) const {
  const int extended = sqlite3_extended_errcode(db_);
  const int code = (extended & 0xff) == (rc & 0xff) ? extended : rc;
  std::string message = internal::RedactParams(sqlite3_errmsg(db_), params,
                                               /*quoted_values=*/false);
  return absl::Status(CodeFor(code),
                      absl::StrCat(message, " (SQLite ", sqlite3_errstr(code),
                                   ") in: ", internal::SqlForMessage(sql)));
}

absl::StatusOr<int64_t> SqliteDatabase::RunLocked(absl::string_view sql,
                                                  Params params, Rows* rows) {
  sqlite3_stmt* stmt = nullptr;
  const std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    stmt = it->second;
    if (params.size() !=
        static_cast<size_t>(sqlite3_bind_parameter_count(stmt))) {
      return internal::CheckParamCount(
          internal::ScanPlaceholders(sql, /*to_sqlite=*/true), params.size(),
          sql);
    }
  } else {
    const internal::ScannedSql scanned =
        internal::ScanPlaceholders(sql, /*to_sqlite=*/true);
    if (absl::Status s = internal::CheckParamCount(scanned, params.size(), sql);
        !s.ok()) {
      return s;
    }
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, scanned.sql.c_str(),
                                      static_cast<int>(scanned.sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return Error(rc, sql, params);
    if (stmt == nullptr) {
      return absl::InvalidArgumentError("empty SQL statement");
    }
    if (tail != nullptr &&
        !absl::StripAsciiWhitespace(absl::string_view(tail)).empty()) {
      sqlite3_finalize(stmt);
      return absl::InvalidArgumentError(
          absl::StrCat("more than one statement (use ExecuteScript): ",
                       internal::SqlForMessage(sql)));
    }
    if (cache_.size() >= options_.statement_cache_size) {
      for (auto& [unused, old] : cache_) sqlite3_finalize(old);
      cache_.clear();
    }
    cache_.emplace(key, stmt);
  }

  for (size_t i = 0; i < params.size(); ++i) {
    const Value& p = params[i];
    const int index = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    switch (p.type()) {
      case Value::Type::kNull:
        rc = sqlite3_bind_null(stmt, index);
        break;
      case Value::Type::kInt64:
        rc = sqlite3_bind_int64(stmt, index, p.int64());
        break;
      case Value::Type::kDouble:
        rc = sqlite3_bind_double(stmt, index, p.dbl());
        break;
      case Value::Type::kText:
        rc = sqlite3_bind_text64(stmt, index, p.text().data(), p.text().size(),
                                 SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      case Value::Type::kBytes:
        rc = sqlite3_bind_blob64(stmt, index, p.bytes().data(),
                                 p.bytes().size(), SQLITE_TRANSIENT);
        break;
    }
    if (rc != SQLITE_OK) {
      absl::Status s = Error(rc, sql, params);
      sqlite3_clear_bindings(stmt);
      return s;
    }
  }

  if (rows != nullptr) {
    std::vector<std::string> names;
    const int columns = sqlite3_column_count(stmt);
    for (int c = 0; c < columns; ++c)
      names.emplace_back(sqlite3_column_name(stmt, c));
    *rows = Rows(std::move(names));
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (rows == nullptr) continue;
    const int columns = sqlite3_column_count(stmt);
    std::vector<Value> values;
    values.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          values.emplace_back(
              static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_TEXT: {
          const auto* text = sqlite3_column_text(stmt, c);
          values.emplace_back(std::string(reinterpret_cast<const char*>(text),
                                          sqlite3_column_bytes(stmt, c)));
          break;
        }
        case SQLITE_BLOB: {
          const void* blob = sqlite3_column_blob(stmt, c);
          const int size = sqlite3_column_bytes(stmt, c);
          values.push_back(Value::Bytes(
              blob ? std::string(static_cast<const char*>(blob), size)
                   : std::string()));
          break;
        }
        default:
          values.emplace_back();
          break;
      }
    }
    rows->AddRow(std::move(values));
  }
  absl::StatusOr<int64_t> result;
  if (rc == SQLITE_DONE) {
    result = sqlite3_stmt_readonly(stmt) ? 0 : sqlite3_changes64(db_);
  } else {
    result = Error(rc, sql, params);
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return result;
}

absl::Status SqliteDatabase::ExecScriptLocked(absl::string_view sql) {
  char* error = nullptr;
  const std::string script(sql);
  const int rc = sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string message = error ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  const int extended = sqlite3_extended_errcode(db_);
  return absl::Status(
      CodeFor(extended),
      absl::StrCat(message, " in script: ", internal::SqlForMessage(sql)));
}

absl::Status SqliteDatabase::RunInTransaction(
    const std::function<absl::Status(Transaction&)>& body,
    const TransactionOptions& options) {
  if (absl::Status s = RefuseReentry(); !s.ok()) return s;
  return internal::RetryOnAborted(options,
                                  [&]() { return AttemptTransaction(body); });
}

absl::Status SqliteDatabase::AttemptTransaction(
    const std::function<absl::Status(Transaction&)>& body) {
  std::lock_guard<std::mutex> lock(mu_);
  // IMMEDIATE takes the write lock now (waiting up to busy_timeout), so a
  // transaction that reads and then writes cannot fail half-way with
  // SQLITE_BUSY_SNAPSHOT.
  if (absl::StatusOr<int64_t> b = RunLocked("BEGIN IMMEDIATE", {}, nullptr);
      !b.ok()) {
    return b.status();
  }
  tx_thread_.store(std::this_thread::get_id());
  Tx tx(this);
  absl::Status status = body(tx);
  tx_thread_.store(std::thread::id());
  if (status.ok() && !tx.failed().ok()) status = tx.failed();
  if (status.ok()) {
    absl::StatusOr<int64_t> c = RunLocked("COMMIT", {}, nullptr);
    if (c.ok()) return absl::OkStatus();
    status = c.status();
  }
  // Some errors (SQLITE_BUSY, IOERR, FULL) end the transaction themselves.
  if (!sqlite3_get_autocommit(db_)) {
    (void)RunLocked("ROLLBACK", {}, nullptr);
  }
  return status;
}

}  // namespace sotto::sql
