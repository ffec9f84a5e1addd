// The SqlReportingStore suite on SQLite (a fresh file per test under
// TEST_TMPDIR; two connections to it play two replicas).
#include "tests/services/common/sql/test_backends.h"
#include "tests/services/reporting/store_conformance.h"

namespace sotto::reporting::testing {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, ReportingStoreConformanceTest,
                               sql::testing::SqliteTestBackend);

}  // namespace
}  // namespace sotto::reporting::testing
