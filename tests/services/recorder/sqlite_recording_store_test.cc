// The RecordingStore suite on SQLite (a fresh file per test).
#include "tests/services/common/sql/test_backends.h"
#include "tests/services/recorder/recording_store_conformance.h"

namespace sotto::recorder::testing {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, RecordingStoreConformanceTest,
                               sql::testing::SqliteTestBackend);

}  // namespace
}  // namespace sotto::recorder::testing
