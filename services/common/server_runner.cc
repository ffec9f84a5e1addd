#include "services/common/server_runner.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/common/ready_file.h"
#include "services/common/signals.h"
#include "services/common/version.h"

namespace sotto::service_kit {
namespace {

constexpr char kHealthService[] = "grpc.health.v1.Health";
constexpr char kReflectionService[] =
    "grpc.reflection.v1alpha.ServerReflection";

absl::string_view TlsMode(const ServerTlsOptions& tls) {
  if (!tls.enabled()) return "off";
  return tls.mutual() ? "mtls" : "tls";
}

absl::string_view SignalName(int signo) {
  return signo == SIGTERM ? "SIGTERM" : signo == SIGINT ? "SIGINT" : "other";
}

}  // namespace

ServerRunner::ServerRunner(ServerOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()) {
  if (options_.version.empty()) options_.version = kSottoVersion;
}

ServerRunner::~ServerRunner() { Drain(absl::ZeroDuration()); }

void ServerRunner::AddService(grpc::Service* service, std::string full_name) {
  services_.push_back({service, std::move(full_name)});
}

void ServerRunner::AddDrainHook(DrainHook hook) {
  drain_hooks_.push_back(std::move(hook));
}

void ServerRunner::AddStartHook(StartHook hook) {
  start_hooks_.push_back(std::move(hook));
}

absl::Status ServerRunner::Start() {
  if (started_) return absl::FailedPreconditionError("already started");

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options_.tls);
  if (!credentials.ok()) return credentials.status();

  // The metric label set is fixed here, from the services that exist.
  std::vector<std::string> known_methods;
  std::vector<std::string> service_names = {kHealthService, kReflectionService};
  for (const RegisteredService& registered : services_) {
    service_names.push_back(registered.full_name);
  }
  for (const std::string& name : service_names) {
    absl::StatusOr<std::vector<std::string>> methods = MethodsOfService(name);
    if (!methods.ok()) return methods.status();
    known_methods.insert(known_methods.end(), methods->begin(), methods->end());
  }
  grpc_metrics_ =
      std::make_unique<GrpcServerMetrics>(*registry_, known_methods);
  AddBuildInfo(*registry_, options_.service_name, options_.version);

  // /metrics first: it takes no RPCs, so nothing needs undoing if gRPC fails.
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start(options_.metrics_address, registry_);
  if (!endpoint.ok()) return endpoint.status();
  metrics_endpoint_ = *std::move(endpoint);
  metrics_port_ = metrics_endpoint_->port();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second instance on
  // the same port start and silently take half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options_.grpc_address, *credentials, &grpc_port_);
  for (const RegisteredService& registered : services_) {
    builder.RegisterService(registered.service);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(grpc_metrics_->MakeInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    server_.reset();
    metrics_endpoint_.reset();
    return absl::UnavailableError(
        absl::StrCat("--grpc_address \"", options_.grpc_address,
                     "\": cannot listen (address in use or malformed?)"));
  }
  for (const RegisteredService& registered : services_) {
    server_->GetHealthCheckService()->SetServingStatus(registered.full_name,
                                                       true);
  }
  started_ = true;

  if (!options_.ready_file.empty()) {
    absl::Status written =
        WriteReadyFile(options_.ready_file, grpc_port_, metrics_port_);
    if (!written.ok()) {
      Drain(absl::ZeroDuration());
      return written;
    }
  }

  std::vector<LogField> fields = {
      {"grpc_port", grpc_port_},
      {"metrics_port", metrics_port_},
      {"pid", static_cast<int64_t>(getpid())},
      {"version", options_.version},
      {"tls", TlsMode(options_.tls)},
  };
  fields.insert(fields.end(), options_.startup_log_fields.begin(),
                options_.startup_log_fields.end());
  LogInfo("serving", fields);
  for (const StartHook& hook : start_hooks_) hook(grpc_port_);
  return absl::OkStatus();
}

void ServerRunner::RequestDrain() {
  {
    std::lock_guard<std::mutex> lock(drain_mu_);
    drain_requested_ = true;
  }
  drain_cv_.notify_all();
}

absl::Status ServerRunner::Wait() {
  if (!started_) return absl::FailedPreconditionError("not started");
  {
    std::unique_lock<std::mutex> lock(drain_mu_);
    drain_cv_.wait(lock, [this] { return drain_requested_; });
  }
  Drain(options_.drain_grace);
  return absl::OkStatus();
}

absl::Status ServerRunner::Run() {
  if (!TerminationSignalsBlocked()) {
    return absl::FailedPreconditionError(
        "SIGTERM/SIGINT are not blocked; call BlockTerminationSignals() (or "
        "InitService()) in main() before any thread starts");
  }
  absl::Status started = Start();
  if (!started.ok()) return started;
  std::atomic<int> signals_seen{0};
  TerminationSignalWatcher watcher([this, &signals_seen](int signo) {
    if (signals_seen.fetch_add(1) == 0) {
      LogInfo("draining on signal", {{"signal", SignalName(signo)}});
      RequestDrain();
      return;
    }
    // An operator pressing Ctrl-C twice wants out now, drain or not.
    LogWarning("second signal during drain; exiting without finishing",
               {{"signal", SignalName(signo)}});
    std::_Exit(1);
  });
  return Wait();
}

void ServerRunner::Drain(absl::Duration grace) {
  if (!started_ || drained_) return;
  drained_ = true;
  LogInfo("drain started", {{"grace", grace},
                            {"deadline", options_.drain_deadline},
                            {"hooks", drain_hooks_.size()}});
  if (!options_.ready_file.empty()) {
    absl::Status removed = RemoveReadyFile(options_.ready_file);
    if (!removed.ok())
      LogWarning("ready file not removed", {{"error", removed}});
  }
  // Every service, and the overall "" status, turns NOT_SERVING and stays so.
  server_->GetHealthCheckService()->Shutdown();
  absl::SleepFor(grace);
  const absl::Time deadline = absl::Now() + options_.drain_deadline;
  for (const DrainHook& hook : drain_hooks_) hook(deadline);
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
  metrics_endpoint_.reset();
  LogInfo("drained");
}

}  // namespace sotto::service_kit
