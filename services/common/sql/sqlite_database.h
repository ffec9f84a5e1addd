// SqliteDatabase: the embedded-default Database, one SQLite file in WAL mode.
//
// Concurrency: one connection behind a std::mutex. SQLite admits one writer
// at a time anyway, and our stores run short write transactions, so
// serialising them in-process costs little and means no SQLITE_BUSY churn
// between our own threads, one statement cache, and transactions that never
// see a half-applied write of another thread. Other processes on the same
// file (a second replica, an admin tool) are handled by busy_timeout, BEGIN
// IMMEDIATE, and RunInTransaction's retry on SQLITE_BUSY (-> ABORTED).
// Readers wait behind writers in-process; deployments that need parallel
// reads use PostgresDatabase.
#ifndef SOTTO_SERVICES_COMMON_SQL_SQLITE_DATABASE_H_
#define SOTTO_SERVICES_COMMON_SQL_SQLITE_DATABASE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/time/time.h"
#include "services/common/sql/database.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sotto::sql {

struct SqliteOptions {
  std::string path;  // the database file; created if missing
  // How long a statement waits for another process's lock before it fails
  // with ABORTED.
  absl::Duration busy_timeout = absl::Seconds(5);
  size_t statement_cache_size = 256;
};

class SqliteDatabase final : public Database {
 public:
  // Opens (creating if needed) the file with WAL, busy_timeout and foreign
  // keys on. UNAVAILABLE if the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(
      const SqliteOptions& options);
  ~SqliteDatabase() override;

  Dialect dialect() const override { return Dialect::kSqlite; }
  absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                  Params params = {}) override;
  absl::StatusOr<Rows> Query(absl::string_view sql,
                             Params params = {}) override;
  using Database::RunInTransaction;
  absl::Status RunInTransaction(
      const std::function<absl::Status(Transaction&)>& body,
      const TransactionOptions& options) override;

 private:
  class Tx;
  explicit SqliteDatabase(sqlite3* db, const SqliteOptions& options);

  absl::Status RefuseReentry() const;
  // Runs one statement with mu_ held; fills *rows when it is non-null.
  absl::StatusOr<int64_t> RunLocked(absl::string_view sql, Params params,
                                    Rows* rows);
  absl::Status ExecScriptLocked(absl::string_view sql);
  absl::Status AttemptTransaction(
      const std::function<absl::Status(Transaction&)>& body);
  absl::Status Error(int rc, absl::string_view sql, Params params) const;

  const SqliteOptions options_;
  std::mutex mu_;
  sqlite3* const db_;
  // Prepared statements by their SQL as written; guarded by mu_.
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  // The thread inside RunInTransaction, to refuse re-entry instead of
  // deadlocking.
  std::atomic<std::thread::id> tx_thread_{};
};

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_SQLITE_DATABASE_H_
