// Runs the Database conformance suite against SqliteDatabase (a fresh file
// per test under TEST_TMPDIR), plus what only SQLite has: the file settings
// and the refusal of re-entrant calls.
#include "services/common/sql/sqlite_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/services/common/sql/database_conformance.h"

namespace sotto::sql::testing {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

class SqliteBackend {
 public:
  absl::Status SetUp() {
    static std::atomic<int> counter{0};
    path_ =
        absl::StrCat(TempDir(), "/sql_test_", getpid(), "_", counter++, ".db");
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Database>> Open() {
    SqliteOptions options;
    options.path = path_;
    absl::StatusOr<std::unique_ptr<SqliteDatabase>> db =
        SqliteDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Database>(std::move(*db));
  }
  void TearDown() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, DatabaseConformanceTest, SqliteBackend);

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SQL_ASSERT_OK(backend_.SetUp());
    absl::StatusOr<std::unique_ptr<Database>> db = backend_.Open();
    SQL_ASSERT_OK(StatusOf(db));
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    backend_.TearDown();
  }
  SqliteBackend backend_;
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteDatabaseTest, OpensInWalModeWithForeignKeysOn) {
  absl::StatusOr<Rows> mode = db_->Query("PRAGMA journal_mode");
  SQL_ASSERT_OK(StatusOf(mode));
  EXPECT_EQ((*mode)[0].GetText(0).value(), "wal");
  absl::StatusOr<Rows> fk = db_->Query("PRAGMA foreign_keys");
  SQL_ASSERT_OK(StatusOf(fk));
  EXPECT_EQ((*fk)[0].GetInt64(0).value(), 1);
}

TEST_F(SqliteDatabaseTest, CallingTheDatabaseInsideItsTransactionIsRefused) {
  absl::Status inner;
  SQL_ASSERT_OK(db_->RunInTransaction([&](Transaction&) {
    inner = db_->Query("SELECT 1").status();
    return absl::OkStatus();
  }));
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition) << inner;
}

TEST_F(SqliteDatabaseTest, UnopenableFileIsUnavailable) {
  SqliteOptions options;
  options.path = "/nonexistent-dir/x.db";
  EXPECT_EQ(SqliteDatabase::Open(options).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(SqliteDatabaseTest, MoreStatementsThanTheCacheHoldsStillWork) {
  SqliteOptions options;
  options.path = backend_.path();
  options.statement_cache_size = 4;
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db =
      SqliteDatabase::Open(options);
  SQL_ASSERT_OK(StatusOf(db));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<Rows> rows =
          (*db)->Query(absl::StrCat("SELECT $1 + ", i), {round});
      SQL_ASSERT_OK(StatusOf(rows));
      EXPECT_EQ((*rows)[0].GetInt64(0).value(), round + i);
    }
  }
}

}  // namespace
}  // namespace sotto::sql::testing
