// The RecordingStore suite on PostgreSQL: one schema per test, dropped
// after. Needs SOTTO_TEST_PG_DSN (`./dev test` starts a server).
#include "tests/services/common/sql/test_backends.h"
#include "tests/services/recorder/recording_store_conformance.h"

namespace sotto::recorder::testing {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, RecordingStoreConformanceTest,
                               sql::testing::PostgresTestBackend);

}  // namespace
}  // namespace sotto::recorder::testing
