// Runs one Sotto service process: the gRPC server with health checking,
// reflection and metrics, the /metrics endpoint, the ready file, and the
// graceful drain on SIGTERM/SIGINT.
#ifndef SOTTO_SERVICES_COMMON_SERVER_RUNNER_H_
#define SOTTO_SERVICES_COMMON_SERVER_RUNNER_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server.h"
#include "prometheus/registry.h"
#include "services/common/logging.h"
#include "services/common/metrics.h"
#include "services/common/tls.h"

namespace sotto::service_kit {

struct ServerOptions {
  // Short name for logs and sotto_build_info ("broker").
  std::string service_name = "sotto";
  std::string version;  // Empty: kSottoVersion.
  // host:port; port 0 picks a free port.
  std::string grpc_address = "0.0.0.0:0";
  // host:port for /metrics; port 0 picks a free port.
  std::string metrics_address = "0.0.0.0:0";
  // When set, {"grpc_port":N,"metrics_port":M,"pid":P} is written there
  // atomically once both servers accept connections, and removed when the
  // drain starts: the file exists exactly while the process serves.
  std::string ready_file;
  ServerTlsOptions tls;
  // After health turns NOT_SERVING, keep serving this long so load
  // balancers and clients notice before connections are refused.
  absl::Duration drain_grace = absl::ZeroDuration();
  // Drain hooks and in-flight RPCs share this budget, counted from the end
  // of the grace; RPCs still running then are cancelled.
  absl::Duration drain_deadline = absl::Seconds(10);
  // Extra fields for the start-up log line (InitService puts the flags set
  // on the command line here).
  std::vector<LogField> startup_log_fields;
};

// Owns the servers of one process. Typical use, from main():
//
//   ServerRunner runner(*options);
//   runner.AddService(&broker_service, sotto::v1::Broker::service_full_name());
//   return ExitCodeFor(runner.Run());
//
// AddService/AddDrainHook/metrics_registry are for wiring, before Start().
// RequestDrain() is thread-safe; everything else belongs to one thread.
class ServerRunner {
 public:
  // Runs between the grace and the gRPC shutdown while RPCs are still
  // served, e.g. so the media engine can let live calls end. It must return
  // by `deadline`; whatever time it leaves is what in-flight RPCs get.
  using DrainHook = std::function<void(absl::Time deadline)>;

  explicit ServerRunner(ServerOptions options);
  // Drains (without the grace) if still serving.
  ~ServerRunner();

  ServerRunner(const ServerRunner&) = delete;
  ServerRunner& operator=(const ServerRunner&) = delete;

  // Registers `service`, which must outlive the runner. `full_name` is its
  // proto name ("sotto.v1.Broker"); it names the service for health checks
  // and tells the metrics which method labels exist.
  void AddService(grpc::Service* service, std::string full_name);

  // Hooks run in the order added.
  void AddDrainHook(DrainHook hook);

  // Runs on the thread that called Start(), once the servers accept
  // connections and the ready file is written, with the bound gRPC port
  // (e.g. so a media engine can announce its address to the broker). Hooks
  // run in the order added and must not block.
  using StartHook = std::function<void(int grpc_port)>;
  void AddStartHook(StartHook hook);

  // Where services add their own metrics. Exported on /metrics.
  const std::shared_ptr<prometheus::Registry>& metrics_registry() const {
    return registry_;
  }

  // Starts the gRPC server and /metrics and writes the ready file. Errors
  // name what failed (an address in use, an unreadable TLS file).
  absl::Status Start();

  // The bound ports; valid after Start() succeeded.
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }

  // Asks Wait() to drain. Thread-safe and idempotent.
  void RequestDrain();

  // Blocks until RequestDrain(), then drains: health NOT_SERVING for every
  // service, the grace, the drain hooks, gRPC shutdown (no new RPCs;
  // in-flight ones run until the deadline), /metrics stopped.
  absl::Status Wait();

  // Start(), drain on the first SIGTERM or SIGINT (a second one exits at
  // once), Wait(). Needs BlockTerminationSignals() (InitService does it).
  absl::Status Run();

 private:
  struct RegisteredService {
    grpc::Service* service;
    std::string full_name;
  };

  void Drain(absl::Duration grace);

  ServerOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<RegisteredService> services_;
  std::vector<DrainHook> drain_hooks_;
  std::vector<StartHook> start_hooks_;
  std::unique_ptr<GrpcServerMetrics> grpc_metrics_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  bool started_ = false;
  bool drained_ = false;
  // std::mutex rather than absl::Mutex: Debian's Abseil is built without
  // ThreadSanitizer annotations, so TSan could not see an absl::Mutex and
  // would report every access it guards.
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  bool drain_requested_ = false;  // Guarded by drain_mu_.
};

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_SERVER_RUNNER_H_
