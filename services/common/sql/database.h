// The Database interface every Sotto store (broker, recorder, reporting) is
// written against, with SqliteDatabase and PostgresDatabase behind it.
//
// SQL is written once, with PostgreSQL's `$1, $2, ...` placeholders, and in
// the common subset of both dialects (see README.md). Parameters are always
// bound, never spliced into SQL text.
//
// Errors (absl::Status) carry codes a caller can act on:
//   ALREADY_EXISTS      unique or primary-key violation
//   FAILED_PRECONDITION another constraint (foreign key, NOT NULL, CHECK),
//                       or a statement in an already failed transaction
//   ABORTED             serialization failure, deadlock, database busy:
//                       retry the whole transaction (RunInTransaction does)
//   UNAVAILABLE         connection lost / cannot connect / pool exhausted
//   DEADLINE_EXCEEDED   statement timeout
//   INVALID_ARGUMENT    wrong number of parameters, bad value for a column
//   INTERNAL            bad SQL; the message is the database's own
// Messages contain the database's message and the SQL text but never a
// parameter value (values may be secrets): values the database quotes back
// are redacted.
#ifndef SOTTO_SERVICES_COMMON_SQL_DATABASE_H_
#define SOTTO_SERVICES_COMMON_SQL_DATABASE_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/common/sql/value.h"

namespace sotto::sql {

enum class Dialect { kSqlite, kPostgres };

using Params = absl::Span<const Value>;

// The statements of one transaction. Valid only inside the
// RunInTransaction callback that received it, on that callback's thread.
// After a statement fails, the transaction is doomed: later statements
// return FAILED_PRECONDITION and it is rolled back even if the callback
// returns OK (PostgreSQL behaves so; SQLite is made to match).
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Returns the number of rows changed.
  virtual absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                          Params params = {}) = 0;
  virtual absl::StatusOr<Rows> Query(absl::string_view sql,
                                     Params params = {}) = 0;
  // Several `;`-separated statements without parameters (schema scripts).
  virtual absl::Status ExecuteScript(absl::string_view sql) = 0;
  virtual Dialect dialect() const = 0;
};

struct TransactionOptions {
  // Attempts in total when the transaction is ABORTED (serialization
  // failure, deadlock, SQLITE_BUSY). Between attempts the caller sleeps a
  // random, growing backoff, so two contending writers drift apart.
  int max_attempts = 30;
  absl::Duration initial_backoff = absl::Milliseconds(1);
  absl::Duration max_backoff = absl::Milliseconds(50);
};

// Thread-safe: any method may be called from any thread. Statements are
// prepared once per connection and cached.
class Database {
 public:
  virtual ~Database() = default;

  virtual Dialect dialect() const = 0;

  // One statement in its own (implicit) transaction; returns rows changed.
  virtual absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                          Params params = {}) = 0;
  virtual absl::StatusOr<Rows> Query(absl::string_view sql,
                                     Params params = {}) = 0;

  // Runs `body` in a transaction (SERIALIZABLE on PostgreSQL; a write
  // transaction, BEGIN IMMEDIATE, on SQLite) and commits if it returns OK.
  // If body or commit returns ABORTED the whole body runs again, up to
  // options.max_attempts times, so body must have no effects outside the
  // transaction it cannot repeat. Any other error rolls back and is
  // returned. If the commit fails with UNAVAILABLE the outcome is unknown.
  // Do not call this Database's methods from inside body: use `tx` (on
  // SQLite that would deadlock and is refused with FAILED_PRECONDITION).
  absl::Status RunInTransaction(
      const std::function<absl::Status(Transaction&)>& body) {
    return RunInTransaction(body, TransactionOptions());
  }
  virtual absl::Status RunInTransaction(
      const std::function<absl::Status(Transaction&)>& body,
      const TransactionOptions& options) = 0;
};

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_DATABASE_H_
