#include "services/common/sql/open_database.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "services/common/sql/postgres_database.h"
#include "services/common/sql/sqlite_database.h"

namespace sotto::sql {

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(
    const std::string& spec, const std::string& application_name) {
  if (absl::StartsWith(spec, "sqlite:")) {
    SqliteOptions options;
    options.path = std::string(absl::StripPrefix(spec, "sqlite:"));
    // The defaults live under var/; create the folder like the file.
    const std::filesystem::path parent =
        std::filesystem::path(options.path).parent_path();
    std::error_code ignored;
    if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
    auto db = SqliteDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Database>(std::move(*db));
  }
  PostgresOptions options;
  options.dsn = spec;
  options.application_name = application_name;
  auto db = PostgresDatabase::Open(options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Database>(std::move(*db));
}

}  // namespace sotto::sql
