#include "tools/sottoctl/cli.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "services/common/tls.h"
#include "tools/sottoctl/names.h"
#include "tools/sottoctl/values.h"

extern char** environ;

namespace sotto::sottoctl {
namespace {

constexpr absl::Duration kDefaultTimeout = absl::Seconds(30);

struct ServiceInfo {
  const char* flag;
  const char* env;
  const char* fallback;
  const char* what;
};

ServiceInfo Info(Service service) {
  switch (service) {
    case Service::kBroker:
      return {"broker", "SOTTO_BROKER", "127.0.0.1:7100", "broker"};
    case Service::kRecorder:
      return {"recorder", "SOTTO_RECORDER", "127.0.0.1:7103", "recorder"};
    case Service::kReporting:
      return {"reporting", "SOTTO_REPORTING", "127.0.0.1:7104",
              "reporting service"};
    case Service::kPolicy:
      return {"policy", "SOTTO_POLICY", "127.0.0.1:7101", "policy service"};
    case Service::kMedia:
      return {"media", "SOTTO_MEDIA", "127.0.0.1:7102", "media engine"};
  }
  return {"broker", "SOTTO_BROKER", "127.0.0.1:7100", "broker"};
}

std::string FlagLine(const FlagSpec& spec) {
  std::string left = absl::StrCat("  --", spec.name);
  if (spec.kind != FlagSpec::Kind::kBool) {
    absl::StrAppend(&left, "=",
                    spec.value_name.empty() ? "VALUE" : spec.value_name);
  }
  if (left.size() < 32)
    left.append(32 - left.size(), ' ');
  else
    left += "  ";
  return absl::StrCat(left, spec.help, "\n");
}

std::string CommandLine(const Command& c) {
  std::string left = absl::StrCat("  ", c.words());
  if (!c.operands.empty()) absl::StrAppend(&left, " ", c.operands);
  if (left.size() < 42)
    left.append(42 - left.size(), ' ');
  else
    left += "  ";
  return absl::StrCat(left, c.summary, "\n");
}

// The service stubs, each channel dialled on first use.
class ChannelStubs final : public Stubs {
 public:
  ChannelStubs(std::shared_ptr<grpc::ChannelCredentials> credentials,
               grpc::ChannelArguments arguments,
               std::map<Service, std::string> addresses)
      : credentials_(std::move(credentials)),
        arguments_(std::move(arguments)),
        addresses_(std::move(addresses)) {}

  v1::Broker::StubInterface& broker() override {
    if (!broker_) broker_ = v1::Broker::NewStub(Channel(Service::kBroker));
    return *broker_;
  }
  v1::EngineRegistry::StubInterface& registry() override {
    if (!registry_) {
      registry_ = v1::EngineRegistry::NewStub(Channel(Service::kBroker));
    }
    return *registry_;
  }
  v1::Recorder::StubInterface& recorder() override {
    if (!recorder_) {
      recorder_ = v1::Recorder::NewStub(Channel(Service::kRecorder));
    }
    return *recorder_;
  }
  v1::Reporting::StubInterface& reporting() override {
    if (!reporting_) {
      reporting_ = v1::Reporting::NewStub(Channel(Service::kReporting));
    }
    return *reporting_;
  }
  v1::Policy::StubInterface& policy() override {
    if (!policy_) policy_ = v1::Policy::NewStub(Channel(Service::kPolicy));
    return *policy_;
  }
  v1::MediaEngine::StubInterface& media() override {
    if (!media_) media_ = v1::MediaEngine::NewStub(Channel(Service::kMedia));
    return *media_;
  }

 private:
  std::shared_ptr<grpc::Channel> Channel(Service service) {
    auto& channel = channels_[service];
    if (!channel) {
      channel = grpc::CreateCustomChannel(addresses_[service], credentials_,
                                          arguments_);
    }
    return channel;
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  grpc::ChannelArguments arguments_;
  std::map<Service, std::string> addresses_;
  std::map<Service, std::shared_ptr<grpc::Channel>> channels_;
  std::unique_ptr<v1::Broker::StubInterface> broker_;
  std::unique_ptr<v1::EngineRegistry::StubInterface> registry_;
  std::unique_ptr<v1::Recorder::StubInterface> recorder_;
  std::unique_ptr<v1::Reporting::StubInterface> reporting_;
  std::unique_ptr<v1::Policy::StubInterface> policy_;
  std::unique_ptr<v1::MediaEngine::StubInterface> media_;
};

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// Splits leading global flags (before the command words) from the rest.
absl::Status TakeLeadingFlags(const std::vector<std::string>& args,
                              std::vector<std::string>* leading,
                              std::vector<std::string>* rest) {
  size_t i = 0;
  while (i < args.size() && absl::StartsWith(args[i], "-") && args[i] != "--") {
    const std::string& token = args[i];
    const bool long_form = absl::StartsWith(token, "--");
    // "--name=value", or a short flag with its value glued on ("-ojson").
    const bool has_value =
        long_form ? token.find('=') != std::string::npos : token.size() > 2;
    std::string name =
        long_form ? token.substr(2, token.find('=') - 2) : token.substr(1, 1);
    if (name == "o") name = "output";
    if (name == "h") name = "help";
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    const FlagSpec* spec = FindFlag(GlobalFlags(), name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", token, " before the command"));
    }
    leading->push_back(args[i++]);
    if (spec->kind != FlagSpec::Kind::kBool && !has_value && i < args.size()) {
      leading->push_back(args[i++]);
    }
  }
  rest->assign(args.begin() + static_cast<long>(i), args.end());
  return absl::OkStatus();
}

bool IsNoun(const std::string& word) {
  for (const Command& c : Commands()) {
    if (c.noun == word) return true;
  }
  return false;
}

// The token as given, without surrounding space or an "Authorization:
// Bearer" style prefix (sottoctl adds that itself).
std::string CleanToken(absl::string_view raw) {
  absl::string_view token = absl::StripAsciiWhitespace(raw);
  if (absl::StartsWithIgnoreCase(token, "bearer ")) {
    token = absl::StripLeadingAsciiWhitespace(token.substr(7));
  }
  return std::string(token);
}

absl::StatusOr<std::string> ReadToken(const ParsedArgs& args,
                                      const Environment& env) {
  if (args.Has("token")) return CleanToken(args.Get("token"));
  if (args.Has("token_file")) {
    std::ifstream file(args.Get("token_file"));
    if (!file) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--token_file: cannot read \"", args.Get("token_file"), "\""));
    }
    std::stringstream contents;
    contents << file.rdbuf();
    return CleanToken(contents.str());
  }
  return CleanToken(env.Get("SOTTO_TOKEN"));
}

int UsageError(std::ostream& err, const std::string& where,
               const std::string& message, const std::string& usage) {
  err << "sottoctl: " << (where.empty() ? "" : where + ": ") << message << "\n";
  if (!usage.empty()) err << "\n" << usage;
  return kExitUsage;
}

}  // namespace

std::string Environment::Get(const std::string& name) const {
  auto found = vars.find(name);
  return found == vars.end() ? "" : found->second;
}

Environment Environment::FromProcess() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    if (!absl::StartsWith(text, "SOTTO_")) continue;
    const size_t eq = text.find('=');
    if (eq == absl::string_view::npos) continue;
    env.vars[std::string(text.substr(0, eq))] =
        std::string(text.substr(eq + 1));
  }
  return env;
}

std::string Usage() {
  std::string out =
      "sottoctl: call every public Sotto RPC from a shell.\n\n"
      "usage: sottoctl NOUN VERB [OPERANDS] [flags]\n"
      "       sottoctl help [NOUN [VERB]]    sottoctl NOUN VERB --help\n\n"
      "commands:\n";
  for (const Command& c : Commands()) out += CommandLine(c);
  out +=
      "\nshort forms:\n"
      "  supervise CALL --mode=listen            = supervisions create\n"
      "  mode SUPERVISION whisper                = supervisions mode\n"
      "  release SUPERVISION                     = supervisions release\n"
      "\nnames: CALL is tenants/{t}/calls/{c} or a bare call id (with the "
      "tenant\nfrom --tenant, SOTTO_TENANT or the token); SUPERVISION is "
      "the full name or\na bare id with --call.\n"
      "\nglobal flags (before or after the command):\n";
  for (const FlagSpec& spec : GlobalFlags()) out += FlagLine(spec);
  out += "\nexit codes: 0 ok, 1 the RPC failed, 2 usage error (nothing sent)\n";
  return out;
}

std::string NounUsage(const std::string& noun) {
  std::string out = absl::StrCat("usage: sottoctl ", noun,
                                 " VERB [OPERANDS] [flags]\n\ncommands:\n");
  for (const Command& c : Commands()) {
    if (c.noun == noun) out += CommandLine(c);
  }
  absl::StrAppend(&out, "\n`sottoctl ", noun,
                  " VERB --help` lists a command's flags; `sottoctl help` "
                  "the global ones.\n");
  return out;
}

std::string CommandUsage(const Command& command) {
  std::string out = absl::StrCat("usage: sottoctl ", command.words());
  if (!command.operands.empty()) absl::StrAppend(&out, " ", command.operands);
  absl::StrAppend(&out, " [flags]\n");
  for (const std::string& alias : command.aliases) {
    absl::StrAppend(&out, "   or: sottoctl ", alias, " ", command.operands,
                    " [flags]\n");
  }
  absl::StrAppend(&out, "\n", command.summary, " (", command.rpc, ")\n");
  if (command.mutating) {
    absl::StrAppend(&out,
                    "Sends a request_id (--request_id, else a fresh UUID): "
                    "a retry with the same id changes nothing more.\n");
  }
  if (!command.flags.empty()) {
    absl::StrAppend(&out, "\nflags:\n");
    for (const FlagSpec& spec : command.flags) out += FlagLine(spec);
  }
  absl::StrAppend(&out,
                  "\nglobal flags: --broker --recorder --reporting --policy "
                  "--media --token --token_file --tenant --request_id -o "
                  "json --timeout --tls_* (see `sottoctl help`)\n");
  return out;
}

std::string ErrorHint(const grpc::Status& status, const Command& command,
                      const std::string& address, bool have_token,
                      const std::string& request_id) {
  const ServiceInfo info = Info(command.service);
  const std::string retry =
      command.mutating ? absl::StrCat("; retry with --request_id=", request_id,
                                      " so that it takes effect at most once")
                       : "";
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat("is the ", info.what, " running at ", address,
                          "? (--", info.flag, " / ", info.env, ")", retry);
    case grpc::StatusCode::UNAUTHENTICATED:
      return have_token ? "the token was rejected: get a fresh one (--token, "
                          "--token_file or SOTTO_TOKEN)"
                        : "set --token or SOTTO_TOKEN (or --token_file)";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "the token is valid but policy refused (the attempt is "
             "audited); the message above says which rule: if it asks for "
             "a reason, pass --reason; `sottoctl whoami` shows the token's "
             "roles and teams; otherwise ask an administrator for a grant";
    case grpc::StatusCode::NOT_FOUND:
      return "check the name and --tenant; another tenant's resources are "
             "NOT_FOUND too";
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("the ", info.what, " at ", address,
                          " does not implement ", command.rpc, " (yet)");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("no answer within --timeout", retry);
    case grpc::StatusCode::ABORTED:
      return "a concurrent change won: re-read and retry";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "the resource is in the wrong state for this; change it first";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "a limit was reached; retry later or raise the limit";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::StrCat("fix the request; `sottoctl ", command.words(),
                          " --help` lists the flags");
    case grpc::StatusCode::INTERNAL:
      return command.mutating
                 ? absl::StrCat("a server bug; report it with request_id ",
                                request_id)
                 : "a server bug; report it";
    default:
      return "";
  }
}

int Run(const std::vector<std::string>& raw_args, const Environment& env,
        std::ostream& out, std::ostream& err, Cancellation* cancellation) {
  Cancellation local_cancellation;
  if (cancellation == nullptr) cancellation = &local_cancellation;

  std::vector<std::string> leading;
  std::vector<std::string> args;
  absl::Status split = TakeLeadingFlags(raw_args, &leading, &args);
  if (!split.ok()) {
    return UsageError(err, "", std::string(split.message()), Usage());
  }
  if (args.empty() || args[0] == "help") {
    if (args.size() <= 1) {
      const bool asked = !args.empty() || !leading.empty();
      (asked ? out : err) << Usage();
      return asked ? kExitOk : kExitUsage;
    }
    if (const Command* alias = FindAlias(args[1])) {
      out << CommandUsage(*alias);
      return kExitOk;
    }
    if (args.size() >= 3) {
      if (const Command* c = FindCommand(args[1], args[2])) {
        out << CommandUsage(*c);
        return kExitOk;
      }
    }
    if (IsNoun(args[1])) {
      out << NounUsage(args[1]);
      return kExitOk;
    }
    return UsageError(err, "help", absl::StrCat("no command \"", args[1], "\""),
                      Usage());
  }

  // The command: a one-word form, or NOUN VERB.
  const Command* command = FindAlias(args[0]);
  size_t consumed = 1;
  if (command == nullptr) {
    if (!IsNoun(args[0])) {
      return UsageError(
          err, "", absl::StrCat("unknown command \"", args[0], "\""), Usage());
    }
    if (args.size() < 2 || absl::StartsWith(args[1], "-")) {
      const bool asked =
          args.size() >= 2 && (args[1] == "--help" || args[1] == "-h");
      if (asked) {
        out << NounUsage(args[0]);
        return kExitOk;
      }
      return UsageError(err, args[0], "which command?", NounUsage(args[0]));
    }
    command = FindCommand(args[0], args[1]);
    if (command == nullptr) {
      return UsageError(err, args[0],
                        absl::StrCat("unknown command \"", args[1], "\""),
                        NounUsage(args[0]));
    }
    consumed = 2;
  }
  const std::string where = command->words();

  std::vector<FlagSpec> specs = GlobalFlags();
  specs.insert(specs.end(), command->flags.begin(), command->flags.end());
  std::vector<std::string> tokens = leading;
  tokens.insert(tokens.end(), args.begin() + static_cast<long>(consumed),
                args.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(tokens, specs);
  if (!parsed.ok()) {
    return UsageError(err, where, std::string(parsed.status().message()),
                      CommandUsage(*command));
  }
  if (parsed->Has("help")) {
    out << CommandUsage(*command);
    return kExitOk;
  }

  absl::StatusOr<OutputFormat> format =
      ParseOutputFormat(parsed->Get("output", "text"));
  if (!format.ok()) {
    return UsageError(err, where, std::string(format.status().message()), "");
  }
  absl::StatusOr<std::string> token = ReadToken(*parsed, env);
  if (!token.ok()) {
    return UsageError(err, where, std::string(token.status().message()), "");
  }
  Context context;
  context.token = *token;
  context.tenant = parsed->Get("tenant", env.Get("SOTTO_TENANT"));
  if (context.tenant.empty()) context.tenant = TenantFromToken(context.token);
  context.request_id = parsed->Get("request_id");
  if (context.request_id.empty()) context.request_id = NewRequestId();
  context.now = absl::Now();

  absl::Duration timeout = kDefaultTimeout;
  if (parsed->Has("timeout")) {
    absl::StatusOr<absl::Duration> given =
        ParseDuration("--timeout", parsed->Get("timeout"));
    if (!given.ok() || *given <= absl::ZeroDuration()) {
      return UsageError(err, where,
                        given.ok() ? "--timeout: must be positive"
                                   : std::string(given.status().message()),
                        "");
    }
    timeout = *given;
  }

  absl::StatusOr<RequestPtr> request = BuildRequest(*command, *parsed, context);
  if (!request.ok()) {
    // A missing tenant is almost always a missing or broken token: say
    // which, without the command's usage (the flags were not the problem).
    if (context.tenant.empty() &&
        absl::StartsWith(request.status().message(), "no tenant")) {
      return UsageError(
          err, where,
          context.token.empty()
              ? "no token: set SOTTO_TOKEN (./dev up prints ready ones), or "
                "pass --token or --token_file; the tenant comes from its "
                "\"tenant\" claim"
              : "the token carries no \"tenant\" claim, or is not a JWT "
                "(three base64url parts): check it, or name the tenant "
                "with --tenant (or SOTTO_TENANT)",
          "");
    }
    return UsageError(err, where, std::string(request.status().message()),
                      CommandUsage(*command));
  }

  // Connection: one set of TLS options for every service dialled.
  service_kit::ChannelTlsOptions tls;
  tls.ca_file = parsed->Get("tls_ca_file", env.Get("SOTTO_TLS_CA_FILE"));
  tls.client_cert_file = parsed->Get("tls_client_cert_file",
                                     env.Get("SOTTO_TLS_CLIENT_CERT_FILE"));
  tls.client_key_file =
      parsed->Get("tls_client_key_file", env.Get("SOTTO_TLS_CLIENT_KEY_FILE"));
  tls.server_name_override = parsed->Get("tls_server_name");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      service_kit::MakeChannelCredentials(tls);
  if (!credentials.ok()) {
    return UsageError(err, where, std::string(credentials.status().message()),
                      "");
  }
  std::map<Service, std::string> addresses;
  for (Service s : {Service::kBroker, Service::kRecorder, Service::kReporting,
                    Service::kPolicy, Service::kMedia}) {
    const ServiceInfo info = Info(s);
    std::string address = parsed->Get(info.flag, env.Get(info.env));
    addresses[s] = address.empty() ? info.fallback : address;
  }
  ChannelStubs stubs(*credentials, service_kit::MakeChannelArguments(tls),
                     addresses);

  Invocation invocation;
  invocation.args = &*parsed;
  invocation.context = &context;
  invocation.stubs = &stubs;
  invocation.out = &out;
  invocation.err = &err;
  invocation.format = *format;
  invocation.cancellation = cancellation;
  const bool streaming = command->streaming;
  const bool has_timeout = parsed->Has("timeout");
  invocation.new_context = [&context, timeout, streaming, has_timeout]() {
    auto client_context = std::make_unique<grpc::ClientContext>();
    if (!context.token.empty()) {
      client_context->AddMetadata("authorization", "Bearer " + context.token);
    }
    // A watch runs until Ctrl-C unless --timeout bounds it.
    if (!streaming || has_timeout) {
      client_context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    }
    return client_context;
  };

  grpc::Status status = command->execute(invocation, **request);
  if (status.ok()) return kExitOk;
  if (status.error_code() == grpc::StatusCode::CANCELLED &&
      cancellation->cancelled()) {
    err << "sottoctl: " << where << ": interrupted\n";
    return kExitRpcError;
  }
  err << "sottoctl: " << where << ": " << CodeName(status.error_code());
  if (!status.error_message().empty()) err << ": " << status.error_message();
  err << "\n";
  const std::string hint =
      ErrorHint(status, *command, addresses[command->service],
                !context.token.empty(), context.request_id);
  if (!hint.empty()) err << "hint: " << hint << "\n";
  return kExitRpcError;
}

}  // namespace sotto::sottoctl
