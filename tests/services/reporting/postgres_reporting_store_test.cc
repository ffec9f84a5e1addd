// The SqlReportingStore suite on PostgreSQL: one schema per test, dropped
// after. Needs SOTTO_TEST_PG_DSN (`./dev test` starts a throwaway server).
#include "tests/services/common/sql/test_backends.h"
#include "tests/services/reporting/store_conformance.h"

namespace sotto::reporting::testing {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ReportingStoreConformanceTest,
                               sql::testing::PostgresTestBackend);

}  // namespace
}  // namespace sotto::reporting::testing
