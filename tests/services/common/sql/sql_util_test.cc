// Placeholder translation and error redaction, the text handling both
// Database implementations share.
#include "services/common/sql/sql_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sotto::sql::internal {
namespace {

TEST(ScanPlaceholdersTest, DollarNumbersBecomeQuestionNumbersForSqlite) {
  ScannedSql s = ScanPlaceholders("SELECT $1, $12 FROM t WHERE a=$2", true);
  EXPECT_EQ(s.sql, "SELECT ?1, ?12 FROM t WHERE a=?2");
  EXPECT_EQ(s.max_placeholder, 12);
}

TEST(ScanPlaceholdersTest, PostgresTextIsLeftAlone) {
  ScannedSql s = ScanPlaceholders("SELECT $1, $3", false);
  EXPECT_EQ(s.sql, "SELECT $1, $3");
  EXPECT_EQ(s.max_placeholder, 3);
}

TEST(ScanPlaceholdersTest, StringsIdentifiersAndCommentsAreNotPlaceholders) {
  ScannedSql s = ScanPlaceholders(
      "SELECT '$1', 'it''s $2', \"col$3\", a$4 -- $5\n/* $6 */ $$ $7 $$, "
      "$tag$ $8 $tag$, $1",
      true);
  EXPECT_EQ(s.sql,
            "SELECT '$1', 'it''s $2', \"col$3\", a$4 -- $5\n/* $6 */ $$ $7 "
            "$$, $tag$ $8 $tag$, ?1");
  EXPECT_EQ(s.max_placeholder, 1);
}

TEST(CheckParamCountTest, CountMustMatchTheHighestPlaceholder) {
  EXPECT_TRUE(CheckParamCount(ScanPlaceholders("SELECT $2, $1", true), 2,
                              "SELECT $2, $1")
                  .ok());
  absl::Status s =
      CheckParamCount(ScanPlaceholders("SELECT $2", true), 1, "SELECT $2");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(RedactParamsTest, ValuesAndQuotedSegmentsAreRedacted) {
  const Value params[] = {Value("hunter2"), Value(123456), Value("ab")};
  EXPECT_EQ(RedactParams("bad hunter2 and 123456 near ab", params, false),
            "bad [redacted] and [redacted] near ab");
  EXPECT_EQ(RedactParams("invalid input syntax: \"xyz\"", {}, true),
            "invalid input syntax: \"[redacted]\"");
}

TEST(SqlForMessageTest, WhitespaceCollapsesAndLongSqlIsCut) {
  EXPECT_EQ(SqlForMessage("  SELECT\n  1\t FROM t "), "SELECT 1 FROM t");
  EXPECT_LT(SqlForMessage(std::string(1000, 'x')).size(), 200u);
}

}  // namespace
}  // namespace sotto::sql::internal
