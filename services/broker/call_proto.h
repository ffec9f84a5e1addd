// Converts a stored call (CallRecord and its media) to the public
// sotto.v1.Call and back. The same conversion serves the API (with keys
// only for the caller that owns a leg) and the store (everything, plus the
// broker's internal counters in a small JSON document).
#ifndef SOTTO_SERVICES_BROKER_CALL_PROTO_H_
#define SOTTO_SERVICES_BROKER_CALL_PROTO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/broker/call_store.h"
#include "sotto/v1/broker.pb.h"

namespace sotto::broker {

// Who looks at the call, which decides which SRTP keys it sees.
struct CallView {
  // Every key (for the store).
  bool all_keys = false;
  // The keys of the customer and agent legs (the integrator that manages
  // the call).
  bool call_leg_keys = false;
  // The key of this subject's own supervisor legs.
  std::string supervisor;
  // When set, time_in_mode of active supervisions includes the time spent
  // in the current mode up to `now` (the API). Unset: as stored.
  std::optional<absl::Time> now;
};

google::protobuf::Timestamp TimeToProto(absl::Time t);  // epoch: unset
absl::Time TimeFromProto(const google::protobuf::Timestamp& t);

v1::Call::State CallStateToProto(CallState state);
CallState CallStateFromProto(v1::Call::State state);

// The call with its current routing (derived from the record).
v1::Call CallToProto(const StoredCall& call, const CallView& view);
v1::Supervision SupervisionToProto(const StoredCall& call,
                                   const SupervisionRecord& supervision,
                                   const CallView& view);

// What the store keeps beside the proto: counters and placement.
std::string InternalToJson(const StoredCall& call);
// The inverse of CallToProto(all_keys) + InternalToJson. INTERNAL if the
// stored data does not parse.
absl::StatusOr<StoredCall> CallFromProto(const v1::Call& call,
                                         const std::string& internal_json);

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_CALL_PROTO_H_
