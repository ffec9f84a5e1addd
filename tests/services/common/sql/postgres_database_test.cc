// Runs the Database conformance suite against PostgresDatabase, plus what
// only PostgreSQL has: reconnecting after the server drops connections, and
// statement timeouts. Needs a server: the DSN comes from SOTTO_TEST_PG_DSN,
// which `./dev test` sets after starting a throwaway PostgreSQL
// (tools/pg_test_server.sh). Without it every test fails, saying so.
#include "services/common/sql/postgres_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/services/common/sql/database_conformance.h"

namespace sotto::sql::testing {
namespace {

absl::StatusOr<std::string> Dsn() {
  const char* dsn = std::getenv("SOTTO_TEST_PG_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    return absl::FailedPreconditionError(
        "SOTTO_TEST_PG_DSN is not set, so there is no PostgreSQL to test "
        "against. Run `./dev test` (it starts a throwaway server and sets "
        "it), or by hand: `eval \"$(tools/pg_test_server.sh start)\"`, then "
        "`bazel test //tests/services/common/sql:postgres_database_test "
        "--test_env=SOTTO_TEST_PG_DSN`, then `tools/pg_test_server.sh stop`. "
        "`bazel test //... --test_tag_filters=-requires-postgres` skips this "
        "target.");
  }
  return std::string(dsn);
}

// One schema per test, dropped afterwards, so tests never see each other's
// tables.
class PostgresBackend {
 public:
  absl::Status SetUp() {
    absl::StatusOr<std::string> dsn = Dsn();
    if (!dsn.ok()) return dsn.status();
    dsn_ = *dsn;
    static std::atomic<int> counter{0};
    schema_ = absl::StrCat("sql_test_", getpid(), "_", counter++);
    PostgresOptions options;
    options.dsn = dsn_;
    options.pool_size = 1;
    absl::StatusOr<std::unique_ptr<PostgresDatabase>> admin =
        PostgresDatabase::Open(options);
    if (!admin.ok()) return admin.status();
    admin_ = std::move(*admin);
    return admin_->Execute(absl::StrCat("CREATE SCHEMA ", schema_)).status();
  }
  absl::StatusOr<std::unique_ptr<Database>> Open(
      PostgresOptions options = PostgresOptions()) {
    options.dsn = dsn_;
    options.schema = schema_;
    absl::StatusOr<std::unique_ptr<PostgresDatabase>> db =
        PostgresDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Database>(std::move(*db));
  }
  void TearDown() {
    if (admin_ != nullptr) {
      absl::Status s =
          admin_->Execute(absl::StrCat("DROP SCHEMA ", schema_, " CASCADE"))
              .status();
      EXPECT_TRUE(s.ok()) << s;
    }
  }
  Database& admin() { return *admin_; }
  const std::string& schema() const { return schema_; }

 private:
  std::string dsn_;
  std::string schema_;
  std::unique_ptr<PostgresDatabase> admin_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, DatabaseConformanceTest,
                               PostgresBackend);

class PostgresDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override { SQL_ASSERT_OK(backend_.SetUp()); }
  void TearDown() override { backend_.TearDown(); }
  PostgresBackend backend_;
};

TEST_F(PostgresDatabaseTest, PooledConnectionsKilledByTheServerAreReplaced) {
  PostgresOptions options;
  options.pool_size = 2;
  options.application_name = backend_.schema();  // only ours get killed
  absl::StatusOr<std::unique_ptr<Database>> db = backend_.Open(options);
  SQL_ASSERT_OK(StatusOf(db));
  SQL_ASSERT_OK(StatusOf((*db)->Query("SELECT 1")));
  // What a server restart or an operator's pg_terminate_backend does to
  // idle pooled connections.
  absl::StatusOr<Rows> killed = backend_.admin().Query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "application_name = $1",
      {backend_.schema()});
  SQL_ASSERT_OK(StatusOf(killed));
  ASSERT_GE(killed->size(), 1u);
  // Give the server a moment to deliver the FATAL notice and close.
  absl::SleepFor(absl::Milliseconds(200));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Rows> rows = (*db)->Query("SELECT $1 + 1", {i});
    SQL_ASSERT_OK(StatusOf(rows));
    EXPECT_EQ((*rows)[0].GetInt64(0).value(), i + 1);
  }
}

TEST_F(PostgresDatabaseTest, SlowStatementIsDeadlineExceeded) {
  PostgresOptions options;
  options.statement_timeout = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<Database>> db = backend_.Open(options);
  SQL_ASSERT_OK(StatusOf(db));
  absl::Status slow = (*db)->Query("SELECT pg_sleep(5)").status();
  EXPECT_EQ(slow.code(), absl::StatusCode::kDeadlineExceeded) << slow;
  // The connection is still good.
  SQL_ASSERT_OK(StatusOf((*db)->Query("SELECT 1")));
}

TEST_F(PostgresDatabaseTest, UnreachableServerIsUnavailable) {
  PostgresOptions options;
  options.dsn = "postgresql://sotto@127.0.0.1:1/none";
  options.connect_timeout = absl::Seconds(1);
  EXPECT_EQ(PostgresDatabase::Open(options).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(PostgresDatabaseTest, ExhaustedPoolIsUnavailableAfterTheWait) {
  PostgresOptions options;
  options.pool_size = 1;
  options.acquire_timeout = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<Database>> db = backend_.Open(options);
  SQL_ASSERT_OK(StatusOf(db));
  absl::Status inner;
  SQL_ASSERT_OK((*db)->RunInTransaction([&](Transaction&) {
    inner = (*db)->Query("SELECT 1").status();
    return absl::OkStatus();
  }));
  EXPECT_EQ(inner.code(), absl::StatusCode::kUnavailable) << inner;
}

}  // namespace
}  // namespace sotto::sql::testing
