// Helpers shared by the Database implementations: placeholder scanning and
// translation, error messages without parameter values, the retry loop of
// RunInTransaction. Not part of the public interface.
#ifndef SOTTO_SERVICES_COMMON_SQL_SQL_UTIL_H_
#define SOTTO_SERVICES_COMMON_SQL_SQL_UTIL_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/sql/database.h"

namespace sotto::sql::internal {

// The SQL with every `$N` placeholder outside string literals, quoted
// identifiers, comments and dollar-quoted bodies rewritten by `rewrite`, and
// the highest N seen (0 if none).
struct ScannedSql {
  std::string sql;
  int max_placeholder = 0;
};
ScannedSql ScanPlaceholders(absl::string_view sql, bool to_sqlite);

// INVALID_ARGUMENT unless `given` parameters fill exactly $1..$max.
absl::Status CheckParamCount(const ScannedSql& scanned, size_t given,
                             absl::string_view sql);

// The SQL as it may appear in an error message (whitespace collapsed,
// shortened).
std::string SqlForMessage(absl::string_view sql);

// `message` with every text/bytes parameter value (and the decimal form of
// numbers of 4+ digits) replaced by [redacted]; when `quoted_values` is set,
// every "double-quoted" segment too (PostgreSQL quotes offending values so
// in data exceptions).
std::string RedactParams(std::string message, Params params,
                         bool quoted_values);

// Runs `attempt` until it returns anything but ABORTED or the attempts run
// out, sleeping a jittered exponential backoff in between.
absl::Status RetryOnAborted(const TransactionOptions& options,
                            const std::function<absl::Status()>& attempt);

// The rule both backends share: once a statement of a transaction fails,
// every later one is refused and the transaction rolls back (PostgreSQL
// works this way; SQLite is made to). Implementations supply the two hooks.
class DoomOnFailureTransaction : public Transaction {
 public:
  absl::StatusOr<int64_t> Execute(absl::string_view sql, Params params) final;
  absl::StatusOr<Rows> Query(absl::string_view sql, Params params) final;
  absl::Status ExecuteScript(absl::string_view sql) final;

  // The first failure, or OK.
  const absl::Status& failed() const { return failed_; }

 protected:
  // One statement; fills `rows` when not null. Returns rows changed.
  virtual absl::StatusOr<int64_t> RunStatement(absl::string_view sql,
                                               Params params, Rows* rows) = 0;
  virtual absl::Status RunScript(absl::string_view sql) = 0;

 private:
  absl::Status Doomed() const;
  absl::StatusOr<int64_t> Remember(absl::StatusOr<int64_t> result);

  absl::Status failed_;
};

}  // namespace sotto::sql::internal

#endif  // SOTTO_SERVICES_COMMON_SQL_SQL_UTIL_H_
