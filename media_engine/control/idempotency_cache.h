// Remembers the answers of successful mutating requests by request_id, so
// that a retry gets the first answer and changes nothing more, and the same
// id reused for another request is refused (common.proto's contract).
// Bounded in entries and in age. Control path only; thread-safe.
#ifndef SOTTO_MEDIA_ENGINE_CONTROL_IDEMPOTENCY_CACHE_H_
#define SOTTO_MEDIA_ENGINE_CONTROL_IDEMPOTENCY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sotto::media {

class IdempotencyCache {
 public:
  struct Options {
    size_t max_entries = 20'000;
    absl::Duration max_age = absl::Hours(24);
  };

  IdempotencyCache() : IdempotencyCache(Options{}) {}
  explicit IdempotencyCache(Options options) : options_(options) {}

  // The answer stored for `request_id`, if any. `method` and `request` (the
  // serialized request without its request_id) must match what was stored:
  // otherwise INVALID_ARGUMENT naming the first use.
  absl::StatusOr<std::optional<std::string>> Find(absl::string_view request_id,
                                                  absl::string_view method,
                                                  absl::string_view request,
                                                  absl::Time now);
  // Stores the answer of a request that succeeded.
  void Store(absl::string_view request_id, absl::string_view method,
             absl::string_view request, std::string response, absl::Time now);
  size_t size();

 private:
  struct Entry {
    std::string method;
    uint64_t request_hash = 0;
    std::string response;
    absl::Time stored;
  };
  void Evict(absl::Time now);  // with mutex_ held

  const Options options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mutex_
  std::deque<std::string> order_;  // guarded by mutex_; oldest first
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_CONTROL_IDEMPOTENCY_CACHE_H_
