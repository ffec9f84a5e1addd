#include "media_engine/mixer/routing_matrix.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace sotto::media {

absl::Status RoutingMatrix::Set(int source, int sink, float gain) {
  if (source < 0 || source >= kMaxRoomMembers || sink < 0 ||
      sink >= kMaxRoomMembers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "routing member index out of range: source ", source, ", sink ", sink));
  }
  if (source == sink) {
    return absl::InvalidArgumentError(
        absl::StrCat("member ", source, " cannot be routed to itself"));
  }
  if (!(gain >= 0.0f && gain <= kMaxGain)) {  // also rejects NaN
    return absl::InvalidArgumentError(absl::StrCat(
        "gain ", gain, " from ", source, " to ", sink, " outside [0, 4]"));
  }
  gains_[source][sink] = gain;
  return absl::OkStatus();
}

void RoutingMatrix::ClearMember(int member) {
  for (int i = 0; i < kMaxRoomMembers; ++i) {
    gains_[member][i] = 0.0f;
    gains_[i][member] = 0.0f;
  }
}

}  // namespace sotto::media
