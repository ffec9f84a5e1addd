// Opens the Database a `--store` flag names: `sqlite:PATH` (embedded, one
// file; its folder is created) or a PostgreSQL connection string
// (`postgresql://...` or `key=value ...`). Shared by the services' main.cc.
#ifndef SOTTO_SERVICES_COMMON_SQL_OPEN_DATABASE_H_
#define SOTTO_SERVICES_COMMON_SQL_OPEN_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/sql/database.h"

namespace sotto::sql {

// `application_name` is shown in PostgreSQL's pg_stat_activity.
absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(
    const std::string& spec, const std::string& application_name);

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_OPEN_DATABASE_H_
