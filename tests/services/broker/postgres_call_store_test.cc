// The CallStore suite on PostgreSQL: one schema per test, dropped after.
// Needs SOTTO_TEST_PG_DSN (`./dev test` starts a throwaway server and sets
// it; see tests/services/common/sql/test_backends.h).
#include "tests/services/broker/call_store_conformance.h"
#include "tests/services/common/sql/test_backends.h"

namespace sotto::broker::testing {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, CallStoreConformanceTest,
                               sql::testing::PostgresTestBackend);

}  // namespace
}  // namespace sotto::broker::testing
