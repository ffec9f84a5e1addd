// PostgresDatabase: the cluster Database, a small pool of libpq connections
// to one PostgreSQL server.
//
// Each connection is used by one thread at a time (libpq's rule); the pool
// grows lazily to pool_size and hands out idle connections LIFO. An idle
// connection that has anything to read (a FATAL notice after the server
// restarted or terminated it, or EOF) or that libpq marks broken is replaced
// by a fresh one before use, so a server restart costs at most the
// statements in flight at that moment (UNAVAILABLE), not every pooled
// connection in turn. Statements are prepared per connection and cached.
// Parameters go as text (bytes as binary bytea); results come as text and
// are typed by column type: integer types and bool -> INT64, float types ->
// DOUBLE, numeric -> INT64 when whole (SUM) else DOUBLE, bytea -> BYTES,
// everything else -> TEXT.
#ifndef SOTTO_SERVICES_COMMON_SQL_POSTGRES_DATABASE_H_
#define SOTTO_SERVICES_COMMON_SQL_POSTGRES_DATABASE_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/common/sql/database.h"

namespace sotto::sql {

struct PostgresOptions {
  // A libpq connection string or URI, e.g.
  // postgresql://sotto@127.0.0.1:5432/sotto. Its own settings win over the
  // defaults below where both exist (connect_timeout).
  std::string dsn;
  int pool_size = 4;
  absl::Duration connect_timeout = absl::Seconds(5);
  // Server-side statement_timeout on every connection; a statement running
  // longer fails with DEADLINE_EXCEEDED. Zero disables it.
  absl::Duration statement_timeout = absl::Seconds(30);
  // How long a caller waits for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(10);
  // If set, every connection's search_path (one schema per test or tenant).
  std::string schema;
  // Shown in pg_stat_activity and the server log (e.g. "sotto-broker").
  std::string application_name = "sotto";
  size_t statement_cache_size = 256;
};

class PostgresDatabase final : public Database {
 public:
  // Connects once to check the DSN (UNAVAILABLE with libpq's message if the
  // server cannot be reached); that connection stays in the pool.
  static absl::StatusOr<std::unique_ptr<PostgresDatabase>> Open(
      const PostgresOptions& options);
  ~PostgresDatabase() override;

  Dialect dialect() const override { return Dialect::kPostgres; }
  absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                  Params params = {}) override;
  absl::StatusOr<Rows> Query(absl::string_view sql,
                             Params params = {}) override;
  using Database::RunInTransaction;
  absl::Status RunInTransaction(
      const std::function<absl::Status(Transaction&)>& body,
      const TransactionOptions& options) override;

  struct Conn;  // one libpq connection and its statement cache

 private:
  class Lease;
  class Tx;
  explicit PostgresDatabase(const PostgresOptions& options);

  absl::StatusOr<std::unique_ptr<Conn>> Connect() const;
  absl::StatusOr<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> conn);
  absl::Status AttemptTransaction(
      const std::function<absl::Status(Transaction&)>& body);

  const PostgresOptions options_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  int open_ = 0;  // idle + leased connections; guarded by mu_
};

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_POSTGRES_DATABASE_H_
