// The CallStore suite on SQLite (a fresh file per test under TEST_TMPDIR).
#include "tests/services/broker/call_store_conformance.h"
#include "tests/services/common/sql/test_backends.h"

namespace sotto::broker::testing {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, CallStoreConformanceTest,
                               sql::testing::SqliteTestBackend);

}  // namespace
}  // namespace sotto::broker::testing
