// The one typed test suite every sotto::sql::Database implementation must
// pass. A test file instantiates it with a Backend:
//
//   struct MyBackend {
//     // Creates a fresh, empty store for one test.
//     absl::Status SetUp();
//     // A new Database handle on that store (call it twice for two
//     // independent handles: two connection pools / two SQLite handles).
//     absl::StatusOr<std::unique_ptr<sotto::sql::Database>> Open();
//     void TearDown();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, DatabaseConformanceTest, MyBackend);
//
// SQL here sticks to the subset both dialects accept (BIGINT, TEXT,
// DOUBLE PRECISION, BYTEA, $N placeholders), which is the subset stores use.
#ifndef SOTTO_TESTS_SERVICES_COMMON_SQL_DATABASE_CONFORMANCE_H_
#define SOTTO_TESTS_SERVICES_COMMON_SQL_DATABASE_CONFORMANCE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/sql/database.h"
#include "services/common/sql/migrations.h"

namespace sotto::sql::testing {

#define SQL_ASSERT_OK(expr)                                     \
  do {                                                          \
    const absl::Status sql_assert_status_ = (expr);             \
    ASSERT_TRUE(sql_assert_status_.ok()) << sql_assert_status_; \
  } while (0)

inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

template <typename Backend>
class DatabaseConformanceTest : public ::testing::Test {
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

  // A table with one column of each type.
  void CreateItems() {
    SQL_ASSERT_OK(StatusOf(db_->Execute(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT UNIQUE, "
        "score DOUBLE PRECISION, data BYTEA)")));
  }

  int64_t CountItems() {
    absl::StatusOr<Rows> rows = db_->Query("SELECT COUNT(*) FROM items");
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok() || rows->empty()) return -1;
    return (*rows)[0].GetInt64(0).value_or(-1);
  }

  Backend backend_;
  std::unique_ptr<Database> db_;
};

TYPED_TEST_SUITE_P(DatabaseConformanceTest);

TYPED_TEST_P(DatabaseConformanceTest, InsertedRowsComeBackTyped) {
  this->CreateItems();
  const std::string bytes("\x00\x01\xff\x7f binary", 11);
  absl::StatusOr<int64_t> changed = this->db_->Execute(
      "INSERT INTO items (id, name, score, data) VALUES ($1, $2, $3, $4)",
      {int64_t{1} << 40, "caf\xc3\xa9 'quoted' $1", 2.5, Value::Bytes(bytes)});
  SQL_ASSERT_OK(StatusOf(changed));
  EXPECT_EQ(*changed, 1);

  absl::StatusOr<Rows> rows =
      this->db_->Query("SELECT id, name, score, data FROM items WHERE id = $1",
                       {int64_t{1} << 40});
  SQL_ASSERT_OK(StatusOf(rows));
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_THAT(rows->columns(),
              ::testing::ElementsAre("id", "name", "score", "data"));
  const Row& row = (*rows)[0];
  EXPECT_EQ(row.GetInt64("id").value(), int64_t{1} << 40);
  EXPECT_EQ(row.GetText(1).value(), "caf\xc3\xa9 'quoted' $1");
  EXPECT_DOUBLE_EQ(row.GetDouble("score").value(), 2.5);
  EXPECT_EQ(row.GetBytes("data").value(), bytes);
  EXPECT_EQ(row.Get(0)->type(), Value::Type::kInt64);
  EXPECT_EQ(row.Get(2)->type(), Value::Type::kDouble);
  EXPECT_EQ(row.Get(3)->type(), Value::Type::kBytes);
}

TYPED_TEST_P(DatabaseConformanceTest, RowAccessorsNameTheColumnInErrors) {
  this->CreateItems();
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "INSERT INTO items (id, name) VALUES ($1, $2)", {7, "seven"})));
  absl::StatusOr<Rows> rows =
      this->db_->Query("SELECT id, name, score FROM items");
  SQL_ASSERT_OK(StatusOf(rows));
  const Row& row = (*rows)[0];
  absl::Status wrong_type = row.GetInt64("name").status();
  EXPECT_EQ(wrong_type.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(wrong_type.message()),
      ::testing::HasSubstr("column 'name' (index 1) is TEXT, not INT64"));
  absl::Status missing = row.GetText("nmae").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.message()),
              ::testing::HasSubstr("no column named 'nmae'"));
  EXPECT_THAT(std::string(missing.message()),
              ::testing::HasSubstr("id, name, score"));
  EXPECT_EQ(row.GetInt64(3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(row.GetDouble("score").status().message()),
              ::testing::HasSubstr("is NULL"));
  EXPECT_THAT(std::string(rows->Single().status().message()),
              ::testing::IsEmpty());
}

TYPED_TEST_P(DatabaseConformanceTest, NullsRoundTrip) {
  this->CreateItems();
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "INSERT INTO items (id, name, score, data) VALUES ($1, $2, $3, $4)",
      {1, Value(), Value::Null(), Value()})));
  absl::StatusOr<Rows> rows = this->db_->Query(
      "SELECT name, score, data FROM items WHERE name IS NULL AND id = $1",
      {1});
  SQL_ASSERT_OK(StatusOf(rows));
  ASSERT_EQ(rows->size(), 1u);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_TRUE((*rows)[0].IsNull(c).value()) << "column " << c;
    EXPECT_TRUE((*rows)[0].Get(c)->is_null());
  }
  // A NULL parameter compares as NULL, never equal.
  absl::StatusOr<Rows> none =
      this->db_->Query("SELECT id FROM items WHERE name = $1", {Value::Null()});
  SQL_ASSERT_OK(StatusOf(none));
  EXPECT_TRUE(none->empty());
}

TYPED_TEST_P(DatabaseConformanceTest, UniqueViolationIsAlreadyExists) {
  this->CreateItems();
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "INSERT INTO items (id, name) VALUES ($1, $2)", {1, "a"})));
  absl::Status same_key =
      this->db_
          ->Execute("INSERT INTO items (id, name) VALUES ($1, $2)", {1, "b"})
          .status();
  EXPECT_EQ(same_key.code(), absl::StatusCode::kAlreadyExists) << same_key;
  absl::Status same_name =
      this->db_
          ->Execute("INSERT INTO items (id, name) VALUES ($1, $2)", {2, "a"})
          .status();
  EXPECT_EQ(same_name.code(), absl::StatusCode::kAlreadyExists) << same_name;
  EXPECT_EQ(this->CountItems(), 1);
}

TYPED_TEST_P(DatabaseConformanceTest, OtherConstraintsAreFailedPrecondition) {
  SQL_ASSERT_OK(this->db_->RunInTransaction([](Transaction& tx) {
    return tx.ExecuteScript(
        "CREATE TABLE parents (id BIGINT PRIMARY KEY);"
        "CREATE TABLE children (id BIGINT PRIMARY KEY,"
        " parent BIGINT NOT NULL REFERENCES parents (id),"
        " age BIGINT CHECK (age >= 0));");
  }));
  absl::Status orphan =
      this->db_
          ->Execute("INSERT INTO children (id, parent) VALUES ($1, $2)",
                    {1, 99})
          .status();
  EXPECT_EQ(orphan.code(), absl::StatusCode::kFailedPrecondition) << orphan;
  absl::Status no_parent =
      this->db_->Execute("INSERT INTO children (id) VALUES ($1)", {1}).status();
  EXPECT_EQ(no_parent.code(), absl::StatusCode::kFailedPrecondition)
      << no_parent;
  SQL_ASSERT_OK(StatusOf(
      this->db_->Execute("INSERT INTO parents (id) VALUES ($1)", {99})));
  absl::Status negative =
      this->db_
          ->Execute(
              "INSERT INTO children (id, parent, age) VALUES ($1, $2, $3)",
              {1, 99, -1})
          .status();
  EXPECT_EQ(negative.code(), absl::StatusCode::kFailedPrecondition) << negative;
}

TYPED_TEST_P(DatabaseConformanceTest, BadSqlIsInternalWithTheDatabaseMessage) {
  absl::Status typo = this->db_->Query("SELEC 1").status();
  EXPECT_EQ(typo.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(typo.message()),
              ::testing::HasSubstr("syntax error"));
  EXPECT_THAT(std::string(typo.message()), ::testing::HasSubstr("SELEC 1"));
  absl::Status no_table =
      this->db_->Query("SELECT * FROM no_such_table").status();
  EXPECT_EQ(no_table.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(no_table.message()),
              ::testing::HasSubstr("no_such_table"));
}

TYPED_TEST_P(DatabaseConformanceTest, WrongParameterCountIsInvalidArgument) {
  absl::Status too_few = this->db_->Query("SELECT $1, $2", {1}).status();
  EXPECT_EQ(too_few.code(), absl::StatusCode::kInvalidArgument) << too_few;
  absl::Status too_many = this->db_->Query("SELECT 1", {1}).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument) << too_many;
}

TYPED_TEST_P(DatabaseConformanceTest, PlaceholdersMayRepeatAndComeInAnyOrder) {
  this->CreateItems();
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "INSERT INTO items (id, name, score) VALUES ($2, $1, $2 * 1.5)",
      {"x", 4})));
  absl::StatusOr<Rows> rows = this->db_->Query(
      "SELECT name FROM items WHERE id = $1 AND score = $1 * 1.5 AND "
      "name <> '$2' -- $3 is in a comment\n",
      {4});
  SQL_ASSERT_OK(StatusOf(rows));
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].GetText(0).value(), "x");
}

TYPED_TEST_P(DatabaseConformanceTest, ExecuteReturnsRowsChanged) {
  this->CreateItems();
  for (int i = 1; i <= 5; ++i) {
    SQL_ASSERT_OK(StatusOf(this->db_->Execute(
        "INSERT INTO items (id, score) VALUES ($1, $2)", {i, i * 1.0})));
  }
  absl::StatusOr<int64_t> updated =
      this->db_->Execute("UPDATE items SET score = 0 WHERE id > $1", {2});
  SQL_ASSERT_OK(StatusOf(updated));
  EXPECT_EQ(*updated, 3);
  absl::StatusOr<int64_t> deleted =
      this->db_->Execute("DELETE FROM items WHERE id = $1", {42});
  SQL_ASSERT_OK(StatusOf(deleted));
  EXPECT_EQ(*deleted, 0);
}

TYPED_TEST_P(DatabaseConformanceTest, TransactionCommitsWhenBodySucceeds) {
  this->CreateItems();
  SQL_ASSERT_OK(this->db_->RunInTransaction([](Transaction& tx) {
    for (int i = 1; i <= 3; ++i) {
      absl::StatusOr<int64_t> r =
          tx.Execute("INSERT INTO items (id) VALUES ($1)", {i});
      if (!r.ok()) return r.status();
    }
    absl::StatusOr<Rows> rows = tx.Query("SELECT COUNT(*) FROM items");
    if (!rows.ok()) return rows.status();
    EXPECT_EQ((*rows)[0].GetInt64(0).value(), 3);
    return absl::OkStatus();
  }));
  EXPECT_EQ(this->CountItems(), 3);
}

TYPED_TEST_P(DatabaseConformanceTest, TransactionRollsBackOnError) {
  this->CreateItems();
  absl::Status status = this->db_->RunInTransaction([](Transaction& tx) {
    absl::StatusOr<int64_t> r =
        tx.Execute("INSERT INTO items (id) VALUES ($1)", {1});
    if (!r.ok()) return r.status();
    return absl::NotFoundError("the call is gone");
  });
  EXPECT_EQ(status, absl::NotFoundError("the call is gone"));
  EXPECT_EQ(this->CountItems(), 0);

  // A failed statement dooms the transaction even if the body carries on
  // and returns OK (PostgreSQL semantics, enforced on SQLite too).
  SQL_ASSERT_OK(
      StatusOf(this->db_->Execute("INSERT INTO items (id) VALUES ($1)", {1})));
  status = this->db_->RunInTransaction([](Transaction& tx) {
    EXPECT_TRUE(tx.Execute("INSERT INTO items (id) VALUES ($1)", {2}).ok());
    absl::Status dup =
        tx.Execute("INSERT INTO items (id) VALUES ($1)", {1}).status();
    EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
    absl::Status after =
        tx.Execute("INSERT INTO items (id) VALUES ($1)", {3}).status();
    EXPECT_EQ(after.code(), absl::StatusCode::kFailedPrecondition) << after;
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(this->CountItems(), 1);
}

TYPED_TEST_P(DatabaseConformanceTest, AbortedBodyIsRetriedUpToMaxAttempts) {
  this->CreateItems();
  int calls = 0;
  SQL_ASSERT_OK(this->db_->RunInTransaction([&](Transaction& tx) {
    ++calls;
    absl::StatusOr<int64_t> r =
        tx.Execute("INSERT INTO items (id) VALUES ($1)", {calls});
    if (!r.ok()) return r.status();
    if (calls < 3) return absl::AbortedError("conflict");
    return absl::OkStatus();
  }));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(this->CountItems(), 1);  // the first two attempts rolled back

  calls = 0;
  TransactionOptions options;
  options.max_attempts = 4;
  absl::Status status = this->db_->RunInTransaction(
      [&](Transaction&) {
        ++calls;
        return absl::AbortedError("always");
      },
      options);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 4);
}

// Read-modify-write in application code: without isolation and retry some
// increments would be lost.
inline absl::Status Increment(Database& db) {
  return db.RunInTransaction([](Transaction& tx) {
    absl::StatusOr<Rows> rows =
        tx.Query("SELECT value FROM counters WHERE id = $1", {1});
    if (!rows.ok()) return rows.status();
    absl::StatusOr<Row> row = rows->Single();
    if (!row.ok()) return row.status();
    absl::StatusOr<int64_t> value = row->GetInt64("value");
    if (!value.ok()) return value.status();
    return tx
        .Execute("UPDATE counters SET value = $1 WHERE id = $2",
                 {*value + 1, 1})
        .status();
  });
}

TYPED_TEST_P(DatabaseConformanceTest, ConcurrentTransactionsRetryOnConflict) {
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "CREATE TABLE counters (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)")));
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "INSERT INTO counters (id, value) VALUES ($1, $2)", {1, 0})));
  // Two independent handles (two pools / two SQLite connections), as two
  // replicas of a service would have.
  absl::StatusOr<std::unique_ptr<Database>> other = this->backend_.Open();
  SQL_ASSERT_OK(StatusOf(other));
  std::vector<Database*> handles = {this->db_.get(), other->get()};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (Database* db : handles) {
    threads.emplace_back([db, &failures] {
      for (int i = 0; i < 200; ++i) {
        absl::Status s = Increment(*db);
        if (!s.ok()) {
          ADD_FAILURE() << s;
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<Rows> rows =
      this->db_->Query("SELECT value FROM counters WHERE id = $1", {1});
  SQL_ASSERT_OK(StatusOf(rows));
  EXPECT_EQ((*rows)[0].GetInt64(0).value(), 400);
}

TYPED_TEST_P(DatabaseConformanceTest, ThreadsShareOneDatabase) {
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "CREATE TABLE counters (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)")));
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "INSERT INTO counters (id, value) VALUES ($1, $2)", {1, 0})));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 50; ++i) {
        absl::Status s = Increment(*this->db_);
        EXPECT_TRUE(s.ok()) << s;
        EXPECT_TRUE(this->db_->Query("SELECT value FROM counters").ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<Rows> rows = this->db_->Query("SELECT value FROM counters");
  SQL_ASSERT_OK(StatusOf(rows));
  EXPECT_EQ((*rows)[0].GetInt64(0).value(), 200);
}

TYPED_TEST_P(DatabaseConformanceTest, MigrationsApplyOnceInOrder) {
  std::vector<Migration> migrations = {
      {1, "calls", "CREATE TABLE calls (id BIGINT PRIMARY KEY, tenant TEXT)"},
      {2, "calls.state + seed",
       "ALTER TABLE calls ADD COLUMN state TEXT;"
       "INSERT INTO calls (id, tenant, state) VALUES (1, 't', 'ACTIVE');"},
  };
  SQL_ASSERT_OK(ApplyMigrations(*this->db_, "test", migrations));
  SQL_ASSERT_OK(ApplyMigrations(*this->db_, "test", migrations));  // a no-op
  migrations.push_back(
      {5, "events", "CREATE TABLE events (call_id BIGINT REFERENCES calls)"});
  SQL_ASSERT_OK(ApplyMigrations(*this->db_, "test", migrations));
  EXPECT_THAT(AppliedMigrations(*this->db_, "test").value(),
              ::testing::ElementsAre(1, 2, 5));
  absl::StatusOr<Rows> rows = this->db_->Query("SELECT COUNT(*) FROM calls");
  SQL_ASSERT_OK(StatusOf(rows));
  EXPECT_EQ((*rows)[0].GetInt64(0).value(), 1);  // the seed ran once

  // Out of order lists are refused before anything runs.
  std::vector<Migration> unordered = {{7, "b", "SELECT 1"},
                                      {6, "a", "SELECT 1"}};
  EXPECT_EQ(ApplyMigrations(*this->db_, "test", unordered).code(),
            absl::StatusCode::kInvalidArgument);
  // A database migrated by a newer release is refused.
  EXPECT_EQ(ApplyMigrations(*this->db_, "test", {migrations[0]}).code(),
            absl::StatusCode::kFailedPrecondition);
  // Another component's versions are its own: services share a database.
  SQL_ASSERT_OK(
      ApplyMigrations(*this->db_, "other",
                      {{1, "other table", "CREATE TABLE other (x TEXT)"}}));
  EXPECT_THAT(AppliedMigrations(*this->db_, "other").value(),
              ::testing::ElementsAre(1));
  EXPECT_THAT(AppliedMigrations(*this->db_, "test").value(),
              ::testing::ElementsAre(1, 2, 5));
}

TYPED_TEST_P(DatabaseConformanceTest, FailedMigrationLeavesNoTrace) {
  const std::vector<Migration> migrations = {
      {1, "ok", "CREATE TABLE a (id BIGINT PRIMARY KEY)"},
      {2, "half",
       "CREATE TABLE b (id BIGINT PRIMARY KEY); INSERT INTO nowhere VALUES "
       "(1);"},
  };
  absl::Status status = ApplyMigrations(*this->db_, "test", migrations);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("migration 2"));
  EXPECT_THAT(AppliedMigrations(*this->db_, "test").value(),
              ::testing::ElementsAre(1));
  // Table b was rolled back with the failing script.
  EXPECT_TRUE(this->db_->Execute("CREATE TABLE b (id BIGINT)").ok());
}

TYPED_TEST_P(DatabaseConformanceTest, ParameterValuesNeverAppearInErrors) {
  this->CreateItems();
  SQL_ASSERT_OK(StatusOf(this->db_->Execute(
      "CREATE TABLE secrets (token TEXT PRIMARY KEY CHECK (length(token) < "
      "40), n BIGINT)")));
  const std::string secret = "sk_live_hunter2_TOPSECRET";
  const Value bytes = Value::Bytes("\x01" + secret);
  SQL_ASSERT_OK(StatusOf(
      this->db_->Execute("INSERT INTO secrets (token) VALUES ($1)", {secret})));
  std::vector<absl::Status> errors = {
      // Unique violation (PostgreSQL's DETAIL would repeat the key).
      this->db_->Execute("INSERT INTO secrets (token) VALUES ($1)", {secret})
          .status(),
      // Check violation.
      this->db_
          ->Execute("INSERT INTO secrets (token) VALUES ($1)",
                    {secret + secret})
          .status(),
      // Bad SQL with the secret bound.
      this->db_->Query("SELECT $1 FROM nowhere", {secret}).status(),
      // A value the column type rejects (PostgreSQL quotes it back).
      this->db_
          ->Execute("INSERT INTO secrets (token, n) VALUES ($1, $2)",
                    {"x", secret})
          .status(),
      this->db_->Query("SELECT CAST($1 AS BIGINT)", {secret}).status(),
      this->db_->Query("SELECT 1 FROM nowhere WHERE $1 = $2", {secret, bytes})
          .status(),
  };
  int failures = 0;
  for (const absl::Status& s : errors) {
    if (s.ok()) continue;  // SQLite accepts text in a BIGINT column
    ++failures;
    EXPECT_THAT(std::string(s.message()),
                ::testing::Not(::testing::HasSubstr("hunter2")))
        << s;
  }
  EXPECT_GE(failures, 4);
}

REGISTER_TYPED_TEST_SUITE_P(
    DatabaseConformanceTest, InsertedRowsComeBackTyped,
    RowAccessorsNameTheColumnInErrors, NullsRoundTrip,
    UniqueViolationIsAlreadyExists, OtherConstraintsAreFailedPrecondition,
    BadSqlIsInternalWithTheDatabaseMessage,
    WrongParameterCountIsInvalidArgument,
    PlaceholdersMayRepeatAndComeInAnyOrder, ExecuteReturnsRowsChanged,
    TransactionCommitsWhenBodySucceeds, TransactionRollsBackOnError,
    AbortedBodyIsRetriedUpToMaxAttempts, ConcurrentTransactionsRetryOnConflict,
    ThreadsShareOneDatabase, MigrationsApplyOnceInOrder,
    FailedMigrationLeavesNoTrace, ParameterValuesNeverAppearInErrors);

}  // namespace sotto::sql::testing

#endif  // SOTTO_TESTS_SERVICES_COMMON_SQL_DATABASE_CONFORMANCE_H_
