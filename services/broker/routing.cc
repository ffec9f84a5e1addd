#include "services/broker/routing.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace sotto::broker {
namespace {

bool SpeaksToAgent(v1::Mode mode) {
  return mode == v1::MODE_WHISPER || mode == v1::MODE_BARGE ||
         mode == v1::MODE_TAKEOVER;
}

bool SpeaksToCustomer(v1::Mode mode) {
  return mode == v1::MODE_BARGE || mode == v1::MODE_TAKEOVER;
}

}  // namespace

absl::StatusOr<std::vector<Route>> DeriveRouting(
    const std::vector<RoutedParticipant>& participants, bool on_hold) {
  std::set<std::string> ids;
  int customers = 0, agents = 0;
  bool takeover = false;
  for (const RoutedParticipant& p : participants) {
    if (p.id.empty() || !ids.insert(p.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("participant id '", p.id, "' is empty or repeated"));
    }
    switch (p.role) {
      case v1::ROLE_CUSTOMER:
        ++customers;
        break;
      case v1::ROLE_AGENT:
        ++agents;
        break;
      case v1::ROLE_SUPERVISOR:
        if (p.mode == v1::MODE_UNSPECIFIED) {
          return absl::InvalidArgumentError(
              absl::StrCat("supervisor '", p.id, "' has no mode"));
        }
        takeover |= p.mode == v1::MODE_TAKEOVER;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("participant '", p.id, "' has no role"));
    }
  }
  if (customers > 1 || agents > 1) {
    return absl::InvalidArgumentError(
        "a call has at most one connected customer and one connected agent");
  }

  auto hears = [&](const RoutedParticipant& source,
                   const RoutedParticipant& sink) {
    const v1::Role from = source.role, to = sink.role;
    if (on_hold && (from == v1::ROLE_CUSTOMER || to == v1::ROLE_CUSTOMER)) {
      return false;
    }
    switch (from) {
      case v1::ROLE_CUSTOMER:
        return true;  // to agent and supervisors
      case v1::ROLE_AGENT:
        return to == v1::ROLE_CUSTOMER ? !takeover : true;
      case v1::ROLE_SUPERVISOR:
        if (on_hold) return true;  // agent and supervisors talk freely
        if (to == v1::ROLE_CUSTOMER) return SpeaksToCustomer(source.mode);
        return SpeaksToAgent(source.mode);  // agent and other supervisors
      default:
        return false;
    }
  };

  std::vector<Route> routes;
  for (const RoutedParticipant& source : participants) {
    for (const RoutedParticipant& sink : participants) {
      if (source.id == sink.id) continue;
      if (hears(source, sink)) routes.push_back({source.id, sink.id, 1.0f});
    }
  }
  return routes;
}

}  // namespace sotto::broker
