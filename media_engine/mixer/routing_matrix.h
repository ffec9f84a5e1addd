// The room's routing matrix: gain from each source member to each sink member.
#ifndef SOTTO_MEDIA_ENGINE_MIXER_ROUTING_MATRIX_H_
#define SOTTO_MEDIA_ENGINE_MIXER_ROUTING_MATRIX_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"

namespace sotto::media {

// Members per room. A supervised call has a customer, one agent and a few
// supervisors; 16 leaves room for transfers and several supervisors while
// keeping the matrix a fixed-size value that is copied, never allocated.
inline constexpr int kMaxRoomMembers = 16;

// Gains outside [0, kMaxGain] are refused: more than +12 dB is never a
// routing decision, it is a mistake.
inline constexpr float kMaxGain = 4.0f;

// A plain value: gain(source, sink). The engine knows nothing of modes; the
// broker turns modes into this matrix. A member never hears itself: the
// diagonal is always 0.
class RoutingMatrix {
 public:
  RoutingMatrix() { gains_.fill({}); }

  // Sets one gain. INVALID_ARGUMENT for an index out of range, a self-loop
  // or a gain outside [0, kMaxGain] (NaN included).
  absl::Status Set(int source, int sink, float gain);

  float Gain(int source, int sink) const { return gains_[source][sink]; }
  bool Hears(int sink, int source) const { return gains_[source][sink] > 0.0f; }

  // Drops a member's row and column (it left the room).
  void ClearMember(int member);

  uint64_t generation() const { return generation_; }
  void set_generation(uint64_t generation) { generation_ = generation; }

  bool operator==(const RoutingMatrix& other) const {
    return gains_ == other.gains_;
  }

 private:
  std::array<std::array<float, kMaxRoomMembers>, kMaxRoomMembers> gains_;
  uint64_t generation_ = 0;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_MIXER_ROUTING_MATRIX_H_
