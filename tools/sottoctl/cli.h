// The sottoctl command line end to end: find the command, parse its flags,
// resolve the token, tenant and addresses (flags, then SOTTO_* environment
// variables, then defaults), build the request, call the service and print
// the answer or a clear error. main() only hands it argv and the environment.
//
// Exit codes: 0 ok, 1 the RPC failed, 2 usage error (nothing was sent).
#ifndef SOTTO_TOOLS_SOTTOCTL_CLI_H_
#define SOTTO_TOOLS_SOTTOCTL_CLI_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "grpcpp/support/status.h"
#include "tools/sottoctl/commands.h"

namespace sotto::sottoctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

// The environment variables sottoctl reads (SOTTO_*), injectable for tests.
struct Environment {
  std::map<std::string, std::string> vars;
  std::string Get(const std::string& name) const;
  // SOTTO_* variables of this process.
  static Environment FromProcess();
};

// Runs one command line (`args` without the program name). `cancellation`
// may be cancelled from another thread (Ctrl-C) and is optional.
int Run(const std::vector<std::string>& args, const Environment& env,
        std::ostream& out, std::ostream& err,
        Cancellation* cancellation = nullptr);

// Help texts: every command; one noun's verbs; one command's flags.
std::string Usage();
std::string NounUsage(const std::string& noun);
std::string CommandUsage(const Command& command);

// The one-line advice printed under an RPC error, or "" when the error
// speaks for itself. `address` is where the command's service was dialled.
std::string ErrorHint(const grpc::Status& status, const Command& command,
                      const std::string& address, bool have_token,
                      const std::string& request_id);

}  // namespace sotto::sottoctl

#endif  // SOTTO_TOOLS_SOTTOCTL_CLI_H_
