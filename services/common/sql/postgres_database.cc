#include "services/common/sql/postgres_database.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cmath>
#include <cstdlib>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/sql/sql_util.h"

namespace sotto::sql {

namespace {

// Type OIDs from PostgreSQL's pg_type.dat (stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (state == "23505") return absl::StatusCode::kAlreadyExists;
  if (absl::StartsWith(state, "23")) {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (state == "40001" || state == "40P01") return absl::StatusCode::kAborted;
  if (state == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (state == "25P02") return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" ||
      state == "57P03" || absl::StartsWith(state, "53")) {
    return absl::StatusCode::kUnavailable;
  }
  if (absl::StartsWith(state, "22")) return absl::StatusCode::kInvalidArgument;
  return absl::StatusCode::kInternal;
}

Value Decode(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return Value();
  const char* text = PQgetvalue(res, row, col);
  const int len = PQgetlength(res, row, col);
  switch (PQftype(res, col)) {
    case kBoolOid:
      return Value(int64_t{text[0] == 't' ? 1 : 0});
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      return Value(static_cast<int64_t>(std::strtoll(text, nullptr, 10)));
    case kFloat4Oid:
    case kFloat8Oid:
      return Value(std::strtod(text, nullptr));
    case kNumericOid: {
      int64_t whole;
      if (absl::SimpleAtoi(absl::string_view(text, len), &whole)) {
        return Value(whole);
      }
      return Value(std::strtod(text, nullptr));
    }
    case kByteaOid: {
      size_t size = 0;
      unsigned char* raw =
          PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
      if (raw == nullptr) return Value::Bytes("");
      std::string bytes(reinterpret_cast<const char*>(raw), size);
      PQfreemem(raw);
      return Value::Bytes(std::move(bytes));
    }
    default:
      return Value(std::string(text, len));
  }
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return absl::StrFormat("%.17g", v);
}

}  // namespace

struct PostgresDatabase::Conn {
  ~Conn() {
    if (pg != nullptr) PQfinish(pg);
  }
  PGconn* pg = nullptr;
  // Prepared statement name by SQL + parameter type signature.
  std::unordered_map<std::string, std::string> prepared;
  int next_statement = 0;
  bool in_transaction = false;

  bool broken() const { return PQstatus(pg) == CONNECTION_BAD; }

  absl::Status Error(const PGresult* res, absl::string_view sql,
                     Params params) const {
    const char* state =
        res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    if (state == nullptr || broken()) {
      // No server answer: the connection is gone (libpq's message names the
      // server, never a statement's values).
      return absl::UnavailableError(
          absl::StrCat("PostgreSQL connection lost: ",
                       internal::SqlForMessage(PQerrorMessage(pg)),
                       " (statement: ", internal::SqlForMessage(sql), ")"));
    }
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    // Only the primary message: DETAIL repeats key values ("Key (email)=
    // (...) already exists"). Data exceptions quote the offending value.
    std::string message =
        internal::RedactParams(primary ? primary : "error", params,
                               /*quoted_values=*/absl::StartsWith(state, "22"));
    return absl::Status(CodeForSqlState(state),
                        absl::StrCat(message, " (SQLSTATE ", state,
                                     ") in: ", internal::SqlForMessage(sql)));
  }

  // Runs one statement; fills *rows when non-null.
  absl::StatusOr<int64_t> Run(absl::string_view sql, Params params, Rows* rows,
                              size_t cache_size) {
    const internal::ScannedSql scanned =
        internal::ScanPlaceholders(sql, /*to_sqlite=*/false);
    if (absl::Status s = internal::CheckParamCount(scanned, params.size(), sql);
        !s.ok()) {
      return s;
    }
    const int n = static_cast<int>(params.size());
    std::vector<Oid> types(n, 0);
    std::vector<std::string> storage(n);
    std::vector<const char*> values(n, nullptr);
    std::vector<int> lengths(n, 0);
    std::vector<int> formats(n, 0);
    std::string key(sql);
    key += '\0';
    for (int i = 0; i < n; ++i) {
      const Value& p = params[i];
      switch (p.type()) {
        case Value::Type::kNull:
          break;
        case Value::Type::kInt64:
          types[i] = kInt8Oid;
          storage[i] = absl::StrCat(p.int64());
          values[i] = storage[i].c_str();
          break;
        case Value::Type::kDouble:
          types[i] = kFloat8Oid;
          storage[i] = FormatDouble(p.dbl());
          values[i] = storage[i].c_str();
          break;
        case Value::Type::kText:
          if (p.text().find('\0') != std::string::npos) {
            return absl::InvalidArgumentError(absl::StrCat(
                "parameter $", i + 1,
                " is text containing a NUL byte, which PostgreSQL text "
                "cannot hold; pass it as Value::Bytes: ",
                internal::SqlForMessage(sql)));
          }
          values[i] = p.text().c_str();
          break;
        case Value::Type::kBytes:
          types[i] = kByteaOid;
          values[i] = p.bytes().data();
          lengths[i] = static_cast<int>(p.bytes().size());
          formats[i] = 1;
          break;
      }
      key += static_cast<char>('a' + static_cast<int>(p.type()));
    }

    auto it = prepared.find(key);
    if (it == prepared.end()) {
      if (prepared.size() >= cache_size) {
        Result r(PQexec(pg, "DEALLOCATE ALL"));
        prepared.clear();
      }
      std::string name = absl::StrCat("sotto_", next_statement++);
      const std::string text(sql);
      Result prep(PQprepare(pg, name.c_str(), text.c_str(), n, types.data()));
      if (PQresultStatus(prep.get()) != PGRES_COMMAND_OK) {
        return Error(prep.get(), sql, params);
      }
      it = prepared.emplace(key, std::move(name)).first;
    }
    Result res(PQexecPrepared(pg, it->second.c_str(), n, values.data(),
                              lengths.data(), formats.data(), 0));
    const ExecStatusType status = PQresultStatus(res.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      if (rows != nullptr) {
        std::vector<std::string> names;
        const int columns = PQnfields(res.get());
        for (int c = 0; c < columns; ++c) {
          names.emplace_back(PQfname(res.get(), c));
        }
        *rows = Rows(std::move(names));
        const int count = PQntuples(res.get());
        for (int r = 0; r < count; ++r) {
          std::vector<Value> row;
          row.reserve(columns);
          for (int c = 0; c < columns; ++c)
            row.push_back(Decode(res.get(), r, c));
          rows->AddRow(std::move(row));
        }
      }
      int64_t changed = 0;
      (void)absl::SimpleAtoi(PQcmdTuples(res.get()), &changed);
      return changed;
    }
    absl::Status error = Error(res.get(), sql, params);
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    if (state != nullptr && (absl::string_view(state) == "0A000" ||
                             absl::string_view(state) == "26000")) {
      // The schema changed under a cached plan ("cached plan must not change
      // result type") or the statement vanished: forget it. Outside a
      // transaction the caller retries at once; inside, the transaction is
      // aborted and RunInTransaction runs it again.
      prepared.erase(it);
      return absl::AbortedError(error.message());
    }
    return error;
  }

  absl::Status Simple(absl::string_view sql) {
    const std::string text(sql);
    Result res(PQexec(pg, text.c_str()));
    const ExecStatusType status = PQresultStatus(res.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ||
        status == PGRES_EMPTY_QUERY) {
      return absl::OkStatus();
    }
    return Error(res.get(), sql, {});
  }
};

// A leased connection, returned to the pool (or closed if broken) on
// destruction.
class PostgresDatabase::Lease {
 public:
  Lease(PostgresDatabase* db, std::unique_ptr<Conn> conn)
      : db_(db), conn_(std::move(conn)) {}
  ~Lease() { db_->Release(std::move(conn_)); }
  Conn& operator*() { return *conn_; }
  Conn* operator->() { return conn_.get(); }

 private:
  PostgresDatabase* const db_;
  std::unique_ptr<Conn> conn_;
};

class PostgresDatabase::Tx final : public internal::DoomOnFailureTransaction {
 public:
  Tx(Conn* conn, size_t cache_size) : conn_(conn), cache_size_(cache_size) {}
  Dialect dialect() const override { return Dialect::kPostgres; }

 private:
  absl::StatusOr<int64_t> RunStatement(absl::string_view sql, Params params,
                                       Rows* rows) override {
    return conn_->Run(sql, params, rows, cache_size_);
  }
  absl::Status RunScript(absl::string_view sql) override {
    return conn_->Simple(sql);
  }

  Conn* const conn_;
  const size_t cache_size_;
};

absl::StatusOr<std::unique_ptr<PostgresDatabase>> PostgresDatabase::Open(
    const PostgresOptions& options) {
  if (options.dsn.empty()) {
    return absl::InvalidArgumentError("PostgreSQL DSN is empty");
  }
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("PostgreSQL pool_size must be >= 1");
  }
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(options));
  absl::StatusOr<std::unique_ptr<Conn>> first = db->Connect();
  if (!first.ok()) return first.status();
  {
    std::lock_guard<std::mutex> lock(db->mu_);
    db->open_ = 1;
  }
  db->Release(std::move(*first));
  return db;
}

PostgresDatabase::PostgresDatabase(const PostgresOptions& options)
    : options_(options) {}

PostgresDatabase::~PostgresDatabase() = default;

absl::StatusOr<std::unique_ptr<PostgresDatabase::Conn>>
PostgresDatabase::Connect() const {
  const std::string timeout = absl::StrCat(
      std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout)));
  // connect_timeout first: with expand_dbname, settings in the DSN that
  // follows override it.
  const char* keys[] = {"connect_timeout", "application_name", "dbname",
                        nullptr};
  const char* values[] = {timeout.c_str(), options_.application_name.c_str(),
                          options_.dsn.c_str(), nullptr};
  auto conn = std::make_unique<Conn>();
  conn->pg = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn->pg == nullptr) {
    return absl::ResourceExhaustedError("libpq could not allocate");
  }
  if (PQstatus(conn->pg) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ",
                     internal::SqlForMessage(PQerrorMessage(conn->pg))));
  }
  // Notices ("relation already exists, skipping") are not errors; keep them
  // off stderr.
  PQsetNoticeProcessor(
      conn->pg, [](void*, const char*) {}, nullptr);
  std::string setup =
      absl::StrCat("SET statement_timeout = ",
                   absl::ToInt64Milliseconds(options_.statement_timeout));
  if (!options_.schema.empty()) {
    char* quoted = PQescapeIdentifier(conn->pg, options_.schema.data(),
                                      options_.schema.size());
    if (quoted == nullptr) {
      return absl::InvalidArgumentError("bad PostgreSQL schema name");
    }
    absl::StrAppend(&setup, "; SET search_path = ", quoted);
    PQfreemem(quoted);
  }
  if (absl::Status s = conn->Simple(setup); !s.ok()) return s;
  return conn;
}

absl::StatusOr<std::unique_ptr<PostgresDatabase::Conn>>
PostgresDatabase::Acquire() {
  std::unique_ptr<Conn> conn;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const bool ready = idle_cv_.wait_for(
        lock, absl::ToChronoMilliseconds(options_.acquire_timeout),
        [&] { return !idle_.empty() || open_ < options_.pool_size; });
    if (!ready) {
      return absl::UnavailableError(
          absl::StrCat("no free PostgreSQL connection within ",
                       absl::FormatDuration(options_.acquire_timeout),
                       " (pool_size ", options_.pool_size, ")"));
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  if (conn != nullptr) {
    // An idle connection has nothing to say; if it is readable, the server
    // sent a FATAL notice or closed it. Replace rather than find out later.
    pollfd p{PQsocket(conn->pg), POLLIN, 0};
    if (!conn->broken() && p.fd >= 0 && poll(&p, 1, 0) == 0) return conn;
    conn.reset();
  }
  absl::StatusOr<std::unique_ptr<Conn>> fresh = Connect();
  if (!fresh.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    idle_cv_.notify_one();
  }
  return fresh;
}

void PostgresDatabase::Release(std::unique_ptr<Conn> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn == nullptr || conn->broken() || conn->in_transaction ||
      PQtransactionStatus(conn->pg) != PQTRANS_IDLE) {
    --open_;  // closed as `conn` goes out of scope
  } else {
    idle_.push_back(std::move(conn));
  }
  idle_cv_.notify_one();
}

absl::StatusOr<int64_t> PostgresDatabase::Execute(absl::string_view sql,
                                                  Params params) {
  absl::StatusOr<int64_t> result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<Conn>> conn = Acquire();
    if (!conn.ok()) return conn.status();
    Lease lease(this, std::move(*conn));
    result = lease->Run(sql, params, nullptr, options_.statement_cache_size);
    // ABORTED outside a transaction is a stale cached plan: run it again.
    if (!absl::IsAborted(result.status())) break;
  }
  return result;
}

absl::StatusOr<Rows> PostgresDatabase::Query(absl::string_view sql,
                                             Params params) {
  absl::StatusOr<int64_t> result;
  Rows rows;
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<Conn>> conn = Acquire();
    if (!conn.ok()) return conn.status();
    Lease lease(this, std::move(*conn));
    result = lease->Run(sql, params, &rows, options_.statement_cache_size);
    if (!absl::IsAborted(result.status())) break;
  }
  if (!result.ok()) return result.status();
  return rows;
}

absl::Status PostgresDatabase::RunInTransaction(
    const std::function<absl::Status(Transaction&)>& body,
    const TransactionOptions& options) {
  return internal::RetryOnAborted(options,
                                  [&]() { return AttemptTransaction(body); });
}

absl::Status PostgresDatabase::AttemptTransaction(
    const std::function<absl::Status(Transaction&)>& body) {
  absl::StatusOr<std::unique_ptr<Conn>> conn = Acquire();
  if (!conn.ok()) return conn.status();
  Lease lease(this, std::move(*conn));
  if (absl::Status s = lease->Simple("BEGIN ISOLATION LEVEL SERIALIZABLE");
      !s.ok()) {
    return s;
  }
  lease->in_transaction = true;
  Tx tx(&*lease, options_.statement_cache_size);
  absl::Status status = body(tx);
  if (status.ok() && !tx.failed().ok()) status = tx.failed();
  if (status.ok()) {
    status = lease->Simple("COMMIT");
  } else if (!lease->broken()) {
    (void)lease->Simple("ROLLBACK");
  }
  lease->in_transaction = lease->broken();
  return status;
}

}  // namespace sotto::sql
