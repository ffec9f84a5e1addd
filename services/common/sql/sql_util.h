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

}  // namespace sotto::sql::internal

#endif  // SOTTO_SERVICES_COMMON_SQL_SQL_UTIL_H_
