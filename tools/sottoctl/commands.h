// The sottoctl command table: every command's words, flags and help, how it
// builds its request from the command line (plain code, testable without
// gRPC), and which RPC it calls and how it prints the answer.
#ifndef SOTTO_TOOLS_SOTTOCTL_COMMANDS_H_
#define SOTTO_TOOLS_SOTTOCTL_COMMANDS_H_

#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "sotto/v1/broker.grpc.pb.h"
#include "sotto/v1/media.grpc.pb.h"
#include "sotto/v1/policy.grpc.pb.h"
#include "sotto/v1/recorder.grpc.pb.h"
#include "sotto/v1/reporting.grpc.pb.h"
#include "tools/sottoctl/args.h"
#include "tools/sottoctl/output.h"

namespace sotto::sottoctl {

// The service a command talks to; each has its own address flag.
enum class Service { kBroker, kRecorder, kReporting, kPolicy, kMedia };

// What a command needs besides its own flags, resolved once by the CLI.
struct Context {
  std::string tenant;      // --tenant, SOTTO_TENANT or the token's claim.
  std::string token;       // The bearer token (Authenticate sends it).
  std::string request_id;  // --request_id, else a fresh UUID.
  absl::Time now = absl::UnixEpoch();
};

// Ctrl-C while an RPC runs cancels it. Set from a signal-handling thread.
class Cancellation {
 public:
  void Cancel();
  bool cancelled() const;
  // The RPC in flight; Cancel() cancels it. Detach before it is destroyed.
  void Attach(grpc::ClientContext* context);
  void Detach();

 private:
  mutable std::mutex mu_;
  grpc::ClientContext* active_ = nullptr;
  bool cancelled_ = false;
};

// The stubs of every service, connected lazily by the CLI.
class Stubs {
 public:
  virtual ~Stubs() = default;
  virtual v1::Broker::StubInterface& broker() = 0;
  virtual v1::EngineRegistry::StubInterface& registry() = 0;
  virtual v1::Recorder::StubInterface& recorder() = 0;
  virtual v1::Reporting::StubInterface& reporting() = 0;
  virtual v1::Policy::StubInterface& policy() = 0;
  virtual v1::MediaEngine::StubInterface& media() = 0;
};

// One run of a command: where to print, how to make client contexts.
struct Invocation {
  const ParsedArgs* args = nullptr;
  const Context* context = nullptr;
  Stubs* stubs = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  OutputFormat format = OutputFormat::kText;
  // A context with the token metadata and the deadline of the command.
  std::function<std::unique_ptr<grpc::ClientContext>()> new_context;
  Cancellation* cancellation = nullptr;
};

using RequestPtr = std::unique_ptr<google::protobuf::Message>;

struct Command {
  std::string noun;                  // "calls"
  std::string verb;                  // "list"
  std::vector<std::string> aliases;  // One-word forms: "supervise".
  std::string operands;              // For usage: "CALL".
  int min_operands = 0;
  int max_operands = 0;
  std::string summary;
  std::vector<FlagSpec> flags;
  Service service = Service::kBroker;
  std::string rpc;         // "sotto.v1.Broker/GetCall", for errors.
  bool mutating = false;   // Fills request_id.
  bool streaming = false;  // Runs until the stream ends, --timeout or Ctrl-C.
  std::function<absl::StatusOr<RequestPtr>(const ParsedArgs&, const Context&)>
      build;
  std::function<grpc::Status(Invocation&, const google::protobuf::Message&)>
      execute;

  std::string words() const { return verb.empty() ? noun : noun + " " + verb; }
};

// Every command, in help order.
const std::vector<Command>& Commands();

// By noun and verb ("calls", "list") or by a one-word alias ("supervise").
const Command* FindCommand(const std::string& noun, const std::string& verb);
const Command* FindAlias(const std::string& word);

// Flags every command accepts (connection, token, output, ...).
const std::vector<FlagSpec>& GlobalFlags();

// Builds `command`'s request from `args` (operands included). Errors are
// usage errors: INVALID_ARGUMENT naming the flag or operand.
absl::StatusOr<RequestPtr> BuildRequest(const Command& command,
                                        const ParsedArgs& args,
                                        const Context& context);

}  // namespace sotto::sottoctl

#endif  // SOTTO_TOOLS_SOTTOCTL_COMMANDS_H_
