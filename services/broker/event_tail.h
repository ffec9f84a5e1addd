// A reader that follows the store's event log from a starting point, for
// watch streams. Every broker replica writes to the same log, so tailing it
// is how a watcher on one replica sees changes made on another.
//
// Sequences are assigned when a row is inserted but become visible when its
// transaction commits, so on PostgreSQL a lower sequence can appear after a
// higher one was read. The tail therefore re-reads a window of recent
// sequences each time and skips the ones it already returned.
#ifndef SOTTO_SERVICES_BROKER_EVENT_TAIL_H_
#define SOTTO_SERVICES_BROKER_EVENT_TAIL_H_

#include <cstdint>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "services/broker/call_store.h"
#include "sotto/v1/events.pb.h"

namespace sotto::broker {

class EventTail {
 public:
  // How far back each read looks for late commits (concurrent writers).
  static constexpr int64_t kLookback = 64;
  // Rows read at most per Next().
  static constexpr int kReadLimit = 256;

  // Returns only events with a sequence above `start`.
  explicit EventTail(int64_t start) : start_(start), high_(start) {}

  // The events that appeared since the last call, oldest first.
  absl::StatusOr<std::vector<v1::Event>> Next(CallStore& store);

 private:
  const int64_t start_;
  int64_t high_;              // highest sequence returned
  std::set<int64_t> recent_;  // returned sequences within the window
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_EVENT_TAIL_H_
