#include "media_engine/control/idempotency_cache.h"

#include <functional>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sotto::media {
namespace {

uint64_t HashOf(absl::string_view bytes) {
  return std::hash<std::string_view>{}(
      std::string_view(bytes.data(), bytes.size()));
}

}  // namespace

absl::StatusOr<std::optional<std::string>> IdempotencyCache::Find(
    absl::string_view request_id, absl::string_view method,
    absl::string_view request, absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  Evict(now);
  auto it = entries_.find(std::string(request_id));
  if (it == entries_.end()) return std::optional<std::string>();
  const Entry& entry = it->second;
  if (entry.method != method || entry.request_hash != HashOf(request)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id '", request_id, "' was already used for another ",
        entry.method == method ? "" : absl::StrCat(entry.method, " "),
        "request; a retry must repeat the request exactly, and a new request "
        "needs a new request_id"));
  }
  return std::optional<std::string>(entry.response);
}

void IdempotencyCache::Store(absl::string_view request_id,
                             absl::string_view method,
                             absl::string_view request, std::string response,
                             absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(std::string(request_id));
  it->second =
      Entry{std::string(method), HashOf(request), std::move(response), now};
  if (inserted) order_.push_back(it->first);
  Evict(now);
}

size_t IdempotencyCache::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void IdempotencyCache::Evict(absl::Time now) {
  while (!order_.empty()) {
    auto it = entries_.find(order_.front());
    const bool stale =
        it == entries_.end() || now - it->second.stored > options_.max_age;
    if (!stale && entries_.size() <= options_.max_entries) break;
    if (it != entries_.end()) entries_.erase(it);
    order_.pop_front();
  }
}

}  // namespace sotto::media
