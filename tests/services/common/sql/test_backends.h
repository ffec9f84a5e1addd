// Fresh, empty databases for store conformance suites: a SQLite file under
// TEST_TMPDIR, or a PostgreSQL schema of its own on the server in
// SOTTO_TEST_PG_DSN (`./dev test` starts one; targets using it are tagged
// requires-postgres). Each has SetUp / Open / TearDown:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MyStoreTest, SqliteTestBackend);
#ifndef SOTTO_TESTS_SERVICES_COMMON_SQL_TEST_BACKENDS_H_
#define SOTTO_TESTS_SERVICES_COMMON_SQL_TEST_BACKENDS_H_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "services/common/sql/postgres_database.h"
#include "services/common/sql/sqlite_database.h"

namespace sotto::sql::testing {

class SqliteTestBackend {
 public:
  absl::Status SetUp() {
    static std::atomic<int> counter{0};
    const char* dir = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(dir ? dir : "/tmp", "/store_", getpid(), "_",
                         counter++, ".db");
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Database>> Open() {
    SqliteOptions options;
    options.path = path_;
    auto db = SqliteDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Database>(std::move(*db));
  }
  void TearDown() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

 private:
  std::string path_;
};

class PostgresTestBackend {
 public:
  absl::Status SetUp() {
    const char* dsn = std::getenv("SOTTO_TEST_PG_DSN");
    if (dsn == nullptr || *dsn == '\0') {
      return absl::FailedPreconditionError(
          "SOTTO_TEST_PG_DSN is not set: run `./dev test`, or start "
          "tools/pg_test_server.sh and pass --test_env=SOTTO_TEST_PG_DSN; "
          "--test_tag_filters=-requires-postgres skips this target");
    }
    dsn_ = dsn;
    static std::atomic<int> counter{0};
    schema_ = absl::StrCat("store_test_", getpid(), "_", counter++);
    PostgresOptions options;
    options.dsn = dsn_;
    options.pool_size = 1;
    auto admin = PostgresDatabase::Open(options);
    if (!admin.ok()) return admin.status();
    admin_ = std::move(*admin);
    return admin_->Execute(absl::StrCat("CREATE SCHEMA ", schema_)).status();
  }
  absl::StatusOr<std::unique_ptr<Database>> Open() {
    PostgresOptions options;
    options.dsn = dsn_;
    options.schema = schema_;
    auto db = PostgresDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Database>(std::move(*db));
  }
  void TearDown() {
    if (admin_ != nullptr) {
      (void)admin_->Execute(absl::StrCat("DROP SCHEMA ", schema_, " CASCADE"));
    }
  }

 private:
  std::string dsn_;
  std::string schema_;
  std::unique_ptr<PostgresDatabase> admin_;
};

}  // namespace sotto::sql::testing

#endif  // SOTTO_TESTS_SERVICES_COMMON_SQL_TEST_BACKENDS_H_
