// Who hears whom: turns a call's participants, their modes and hold into the
// media engine's routing matrix, exactly as docs/design.md's table says. Pure.
#ifndef SOTTO_SERVICES_BROKER_ROUTING_H_
#define SOTTO_SERVICES_BROKER_ROUTING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sotto/v1/common.pb.h"

namespace sotto::broker {

// One connected participant as routing sees it.
struct RoutedParticipant {
  std::string id;  // the media leg id ("customer", "agent-1", "supervisor-2")
  v1::Role role = v1::ROLE_UNSPECIFIED;
  v1::Mode mode = v1::MODE_UNSPECIFIED;  // supervisors only
};

struct Route {
  std::string source;
  std::string sink;
  float gain = 0;

  bool operator==(const Route& other) const {
    return source == other.source && sink == other.sink && gain == other.gain;
  }
};

// The matrix for a call: every (source, sink) pair of distinct participants
// with gain 1 where the source is heard, and nothing for silent pairs.
//
//   customer -> agent, supervisors           always (not while on hold)
//   agent    -> customer                     unless a supervisor is in
//                                            TAKEOVER (and not on hold)
//   agent    -> supervisors                  always
//   supervisor in LISTEN   -> nobody         (on hold: agent and supervisors)
//   supervisor in WHISPER  -> agent, other supervisors
//   supervisor in BARGE / TAKEOVER -> customer (not on hold), agent, others
//
// On hold the customer hears nothing from the room and the room does not
// hear the customer; agent and supervisors talk freely among themselves,
// whatever their modes.
//
// INVALID_ARGUMENT for duplicate ids, a supervisor without a mode, more than
// one customer or agent, or a role that is unspecified.
absl::StatusOr<std::vector<Route>> DeriveRouting(
    const std::vector<RoutedParticipant>& participants, bool on_hold);

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_ROUTING_H_
