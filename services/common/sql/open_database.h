// Opens a store from the one `--store` flag every service with a database
// takes: `sqlite:PATH` (embedded, one file; its folder is created) or a
// PostgreSQL connection string (postgresql://... or key=value).
#ifndef SOTTO_SERVICES_COMMON_SQL_OPEN_DATABASE_H_
#define SOTTO_SERVICES_COMMON_SQL_OPEN_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/sql/database.h"

namespace sotto::sql {

// `application_name` is shown in PostgreSQL's pg_stat_activity. Errors are
// the backend's Open errors (UNAVAILABLE when it cannot be reached).
absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(
    const std::string& spec, const std::string& application_name);

// The spec as it may be logged: the SQLite path, or "postgresql" (a DSN may
// hold a password).
std::string DescribeStoreSpec(const std::string& spec);

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_OPEN_DATABASE_H_
