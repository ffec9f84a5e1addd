// The CallStore suite on SQLite (a fresh file per test under TEST_TMPDIR).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/common/sql/sqlite_database.h"
#include "tests/services/broker/call_store_conformance.h"

namespace sotto::broker::testing {
namespace {

class SqliteBackend {
 public:
  absl::Status SetUp() {
    static std::atomic<int> counter{0};
    const char* dir = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(dir ? dir : "/tmp", "/call_store_", getpid(), "_",
                         counter++, ".db");
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<sql::Database>> Open() {
    sql::SqliteOptions options;
    options.path = path_;
    auto db = sql::SqliteDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<sql::Database>(std::move(*db));
  }
  void TearDown() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

 private:
  std::string path_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, CallStoreConformanceTest, SqliteBackend);

}  // namespace
}  // namespace sotto::broker::testing
