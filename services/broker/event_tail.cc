#include "services/broker/event_tail.h"

#include <algorithm>
#include <utility>

namespace sotto::broker {

absl::StatusOr<std::vector<v1::Event>> EventTail::Next(CallStore& store) {
  std::vector<v1::Event> out;
  // Page until a read comes back short: a burst larger than one read must
  // not wait for the next poll.
  while (true) {
    const int64_t from = std::max(start_, high_ - kLookback);
    absl::StatusOr<std::vector<OutboxEntry>> entries =
        store.EventsAfter(from, kReadLimit);
    if (!entries.ok()) return entries.status();
    int fresh = 0;
    for (OutboxEntry& entry : *entries) {
      if (!recent_.insert(entry.sequence).second) continue;
      high_ = std::max(high_, entry.sequence);
      out.push_back(std::move(entry.event));
      ++fresh;
    }
    recent_.erase(recent_.begin(), recent_.lower_bound(high_ - kLookback));
    if (static_cast<int>(entries->size()) < kReadLimit || fresh == 0) break;
  }
  return out;
}

}  // namespace sotto::broker
