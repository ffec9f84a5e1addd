// The command lines of every sottoctl command with the request each must
// build, shared by the request-building test (no gRPC) and the CLI test
// (the same lines through gRPC to a fake server).
#ifndef SOTTO_TESTS_TOOLS_SOTTOCTL_COMMAND_CASES_H_
#define SOTTO_TESTS_TOOLS_SOTTOCTL_COMMAND_CASES_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/sottoctl/commands.h"

namespace sotto::sottoctl::cases {

// 2026-12-03T12:00:00Z, the Context's `now`.
inline constexpr int64_t kNow = 1796299200;
inline constexpr int64_t kWeekAgo = kNow - 7 * 86400;
inline constexpr char kCall[] = "tenants/acme/calls/c-1";
inline constexpr char kSup[] = "tenants/acme/calls/c-1/supervisions/s-1";

// Tenant acme, token "tok", request_id "rid-1", now kNow.
Context TestContext();

// The command a line names and how many words that took.
const Command* Find(const std::vector<std::string>& words, size_t* consumed);

// What the CLI does before dialling: find the command, parse its flags and
// build its request.
absl::StatusOr<RequestPtr> Build(const std::vector<std::string>& line,
                                 const Context& context = TestContext());

struct Case {
  std::vector<std::string> line;
  std::string expected;  // Text format of the request.
};
void PrintTo(const Case& c, std::ostream* os);

// At least one line per command.
std::vector<Case> Cases();

}  // namespace sotto::sottoctl::cases

#endif  // SOTTO_TESTS_TOOLS_SOTTOCTL_COMMAND_CASES_H_
