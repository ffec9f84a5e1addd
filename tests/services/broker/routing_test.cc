// docs/design.md's routing table, checked literally for one supervisor and
// exhaustively (every mode combination of up to three supervisors, with and
// without hold) against the table's own words.
#include "services/broker/routing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sotto::broker {
namespace {

using Pairs = std::set<std::pair<std::string, std::string>>;

Pairs Heard(const std::vector<Route>& routes) {
  Pairs pairs;
  for (const Route& r : routes) {
    EXPECT_EQ(r.gain, 1.0f);
    EXPECT_NE(r.source, r.sink);
    pairs.insert({r.source, r.sink});
  }
  return pairs;
}

std::vector<RoutedParticipant> Call(std::vector<v1::Mode> supervisor_modes) {
  std::vector<RoutedParticipant> participants = {
      {"customer", v1::ROLE_CUSTOMER, v1::MODE_UNSPECIFIED},
      {"agent", v1::ROLE_AGENT, v1::MODE_UNSPECIFIED}};
  for (size_t i = 0; i < supervisor_modes.size(); ++i) {
    participants.push_back({"supervisor-" + std::to_string(i + 1),
                            v1::ROLE_SUPERVISOR, supervisor_modes[i]});
  }
  return participants;
}

TEST(RoutingTest, OneSupervisorMatchesTheDesignTableLiterally) {
  const Pairs base = {{"customer", "agent"},
                      {"customer", "supervisor-1"},
                      {"agent", "supervisor-1"}};
  struct Case {
    v1::Mode mode;
    Pairs extra;
  };
  const std::vector<Case> cases = {
      {v1::MODE_LISTEN, {{"agent", "customer"}}},
      {v1::MODE_WHISPER, {{"agent", "customer"}, {"supervisor-1", "agent"}}},
      {v1::MODE_BARGE,
       {{"agent", "customer"},
        {"supervisor-1", "agent"},
        {"supervisor-1", "customer"}}},
      // TAKEOVER: the agent is muted towards the customer.
      {v1::MODE_TAKEOVER,
       {{"supervisor-1", "agent"}, {"supervisor-1", "customer"}}},
  };
  for (const Case& c : cases) {
    auto routes = DeriveRouting(Call({c.mode}), false);
    ASSERT_TRUE(routes.ok());
    Pairs expected = base;
    expected.insert(c.extra.begin(), c.extra.end());
    EXPECT_EQ(Heard(*routes), expected) << v1::Mode_Name(c.mode);
  }
}

TEST(RoutingTest, NoSupervisorIsAPlainTwoWayCall) {
  auto routes = DeriveRouting(Call({}), false);
  ASSERT_TRUE(routes.ok());
  EXPECT_EQ(Heard(*routes),
            (Pairs{{"customer", "agent"}, {"agent", "customer"}}));
}

// Every combination of modes for up to three supervisors, on and off hold,
// checked against the design's sentences one by one.
TEST(RoutingTest, EveryModeCombinationFollowsTheDesign) {
  const std::vector<v1::Mode> modes = {v1::MODE_LISTEN, v1::MODE_WHISPER,
                                       v1::MODE_BARGE, v1::MODE_TAKEOVER};
  int combinations = 0;
  std::function<void(std::vector<v1::Mode>)> visit = [&](std::vector<v1::Mode>
                                                             chosen) {
    for (bool hold : {false, true}) {
      ++combinations;
      const auto participants = Call(chosen);
      auto routes = DeriveRouting(participants, hold);
      ASSERT_TRUE(routes.ok());
      const Pairs heard = Heard(*routes);
      const bool takeover =
          std::count(chosen.begin(), chosen.end(), v1::MODE_TAKEOVER) > 0;
      auto mode_of = [&](const std::string& id) {
        return chosen[std::stoi(id.substr(std::string("supervisor-").size())) -
                      1];
      };
      for (const auto& source : participants) {
        for (const auto& sink : participants) {
          if (source.id == sink.id) continue;
          bool expected = false;
          if (hold && (source.role == v1::ROLE_CUSTOMER ||
                       sink.role == v1::ROLE_CUSTOMER)) {
            expected = false;  // the customer is on hold
          } else if (source.role == v1::ROLE_CUSTOMER) {
            expected = true;  // everyone hears the customer
          } else if (source.role == v1::ROLE_AGENT) {
            // The customer hears the agent unless someone took over.
            expected = sink.role != v1::ROLE_CUSTOMER || !takeover;
          } else if (hold) {
            expected = true;  // supervisors and agent talk freely
          } else {
            const v1::Mode m = mode_of(source.id);
            if (sink.role == v1::ROLE_CUSTOMER) {
              expected = m == v1::MODE_BARGE || m == v1::MODE_TAKEOVER;
            } else {
              expected = m != v1::MODE_LISTEN;
            }
          }
          EXPECT_EQ(heard.count({source.id, sink.id}) == 1, expected)
              << source.id << " -> " << sink.id << " hold=" << hold;
        }
      }
      // The privacy invariant in its own words: with supervisors only
      // in LISTEN or WHISPER, the customer hears the agent and nobody else.
      const bool quiet =
          std::all_of(chosen.begin(), chosen.end(), [](v1::Mode m) {
            return m == v1::MODE_LISTEN || m == v1::MODE_WHISPER;
          });
      if (quiet && !hold) {
        for (const auto& [source, sink] : heard) {
          if (sink == "customer") {
            EXPECT_EQ(source, "agent");
          }
        }
      }
    }
    if (chosen.size() == 3) return;
    for (v1::Mode m : modes) {
      auto next = chosen;
      next.push_back(m);
      visit(next);
    }
  };
  visit({});
  EXPECT_EQ(combinations, 2 * (1 + 4 + 16 + 64));
}

TEST(RoutingTest, RefusesParticipantsItCannotRoute) {
  auto duplicate = Call({v1::MODE_LISTEN});
  duplicate[2].id = "agent";
  EXPECT_EQ(DeriveRouting(duplicate, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto modeless = Call({v1::MODE_UNSPECIFIED});
  EXPECT_EQ(DeriveRouting(modeless, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto two_agents = Call({});
  two_agents.push_back({"agent-2", v1::ROLE_AGENT, v1::MODE_UNSPECIFIED});
  EXPECT_EQ(DeriveRouting(two_agents, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto roleless = Call({});
  roleless[0].role = v1::ROLE_UNSPECIFIED;
  EXPECT_EQ(DeriveRouting(roleless, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::broker
