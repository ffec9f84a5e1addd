// The CallStore suite on PostgreSQL: one schema per test, dropped after.
// Needs SOTTO_TEST_PG_DSN (`./dev test` starts a throwaway server and sets
// it; see tests/services/common/sql/postgres_database_test.cc).
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/common/sql/postgres_database.h"
#include "tests/services/broker/call_store_conformance.h"

namespace sotto::broker::testing {
namespace {

class PostgresBackend {
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
    schema_ = absl::StrCat("call_store_", getpid(), "_", counter++);
    sql::PostgresOptions options;
    options.dsn = dsn_;
    options.pool_size = 1;
    auto admin = sql::PostgresDatabase::Open(options);
    if (!admin.ok()) return admin.status();
    admin_ = std::move(*admin);
    return admin_->Execute(absl::StrCat("CREATE SCHEMA ", schema_)).status();
  }
  absl::StatusOr<std::unique_ptr<sql::Database>> Open() {
    sql::PostgresOptions options;
    options.dsn = dsn_;
    options.schema = schema_;
    auto db = sql::PostgresDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<sql::Database>(std::move(*db));
  }
  void TearDown() {
    if (admin_ != nullptr) {
      (void)admin_->Execute(absl::StrCat("DROP SCHEMA ", schema_, " CASCADE"));
    }
  }

 private:
  std::string dsn_;
  std::string schema_;
  std::unique_ptr<sql::PostgresDatabase> admin_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, CallStoreConformanceTest,
                               PostgresBackend);

}  // namespace
}  // namespace sotto::broker::testing
