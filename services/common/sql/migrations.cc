#include "services/common/sql/migrations.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sotto::sql {

namespace {

constexpr absl::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS sotto_migrations ("
    " component TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " description TEXT NOT NULL,"
    " applied_at TEXT NOT NULL,"
    " PRIMARY KEY (component, version))";

absl::Status CreateTable(Database& db) {
  absl::Status status = db.Execute(kCreateTable).status();
  // Two PostgreSQL sessions creating the table at once: the loser sees a
  // unique violation in the catalog; the table exists now either way.
  if (absl::IsAlreadyExists(status) || absl::IsAborted(status)) {
    status = db.Execute(kCreateTable).status();
  }
  return status;
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> AppliedMigrations(
    Database& db, absl::string_view component) {
  if (absl::Status s = CreateTable(db); !s.ok()) return s;
  absl::StatusOr<Rows> rows = db.Query(
      "SELECT version FROM sotto_migrations WHERE component = $1 "
      "ORDER BY version",
      {std::string(component)});
  if (!rows.ok()) return rows.status();
  std::vector<int64_t> versions;
  for (const Row& row : *rows) {
    absl::StatusOr<int64_t> v = row.GetInt64(0);
    if (!v.ok()) return v.status();
    versions.push_back(*v);
  }
  return versions;
}

absl::Status ApplyMigrations(Database& db, absl::string_view component,
                             absl::Span<const Migration> list) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].version <= 0 ||
        (i > 0 && list[i].version <= list[i - 1].version)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migration versions must be positive and strictly increasing; "
          "version ",
          list[i].version, " at position ", i, " is not"));
    }
  }
  absl::StatusOr<std::vector<int64_t>> applied =
      AppliedMigrations(db, component);
  if (!applied.ok()) return applied.status();
  for (int64_t v : *applied) {
    const bool known =
        std::any_of(list.begin(), list.end(),
                    [v](const Migration& m) { return m.version == v; });
    if (!known) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database has ", component, " schema version ", v,
          " which this binary does not know; it was migrated by a newer "
          "release"));
    }
  }
  for (const Migration& m : list) {
    if (std::binary_search(applied->begin(), applied->end(), m.version)) {
      continue;
    }
    absl::Status status = db.RunInTransaction([&](Transaction& tx) {
      if (tx.dialect() == Dialect::kPostgres) {
        // Before the snapshot is taken (first query), so the check below
        // sees another process's finished migration.
        if (absl::Status s = tx.ExecuteScript(
                "LOCK TABLE sotto_migrations IN EXCLUSIVE MODE");
            !s.ok()) {
          return s;
        }
      }
      absl::StatusOr<Rows> done = tx.Query(
          "SELECT version FROM sotto_migrations WHERE component = $1 "
          "AND version = $2",
          {std::string(component), m.version});
      if (!done.ok()) return done.status();
      if (!done->empty()) return absl::OkStatus();
      if (absl::Status s = tx.ExecuteScript(m.sql); !s.ok()) return s;
      return tx
          .Execute(
              "INSERT INTO sotto_migrations (component, version, "
              "description, applied_at) VALUES ($1, $2, $3, $4)",
              {std::string(component), m.version, m.description,
               absl::FormatTime(absl::RFC3339_sec, absl::Now(),
                                absl::UTCTimeZone())})
          .status();
    });
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("migration ", m.version, " (",
                                       m.description, "): ", status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace sotto::sql
