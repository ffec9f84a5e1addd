// Schema migrations: an ordered list of (version, sql) scripts, each applied
// once, in its own transaction, and recorded in `sotto_migrations`.
#ifndef SOTTO_SERVICES_COMMON_SQL_MIGRATIONS_H_
#define SOTTO_SERVICES_COMMON_SQL_MIGRATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/common/sql/database.h"

namespace sotto::sql {

struct Migration {
  int64_t version;          // > 0, strictly increasing along the list
  std::string description;  // recorded with the version
  std::string sql;          // one or more `;`-separated statements
};

// Applies, in order, every migration of `component` ("broker", "recorder",
// ...) whose version is not yet recorded. Versions are per component, so
// several services may share one database (one PostgreSQL for the cluster).
// A migration's script and its record commit together, so a crash never
// leaves one half applied. Safe to run from several processes at once: on
// PostgreSQL the sotto_migrations table is locked for each step; on SQLite
// the write transaction serialises them. INVALID_ARGUMENT if the versions
// are not positive and strictly increasing; FAILED_PRECONDITION if the
// database records a version this list does not have (a newer binary
// migrated it). A failing script's error is returned with its version.
absl::Status ApplyMigrations(Database& db, absl::string_view component,
                             absl::Span<const Migration> list);

// The versions of `component` recorded in sotto_migrations, ascending
// (empty if none).
absl::StatusOr<std::vector<int64_t>> AppliedMigrations(
    Database& db, absl::string_view component);

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_MIGRATIONS_H_
