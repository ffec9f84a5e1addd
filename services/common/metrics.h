// Prometheus metrics every Sotto service exports: the /metrics HTTP endpoint,
// gRPC server metrics recorded by an interceptor with bounded label sets,
// and the build-info gauge.
#ifndef SOTTO_SERVICES_COMMON_METRICS_H_
#define SOTTO_SERVICES_COMMON_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace sotto::service_kit {

// Label value used for any method not known at start-up.
inline constexpr char kUnknownLabel[] = "unknown";

// Full method names ("/pkg.Service/Method") of the proto service
// `full_service_name`. Knows grpc.health.v1.Health and the v1alpha reflection
// service, whose descriptors gRPC does not put in the generated pool, and
// otherwise reads the generated descriptor pool.
absl::StatusOr<std::vector<std::string>> MethodsOfService(
    absl::string_view full_service_name);

// The go-grpc-prometheus spelling of a status code ("OK", "Unavailable"), so
// the usual Grafana gRPC dashboards work unchanged.
absl::string_view GrpcCodeLabel(int code);

// grpc_server_started_total, grpc_server_handled_total and
// grpc_server_handling_seconds. Labels come only from the methods given at
// construction; calls to anything else (probes, typos, scanners) are counted
// under grpc_service="unknown",grpc_method="unknown", so a client cannot grow
// the series count. Thread-safe; must outlive the server it instruments.
class GrpcServerMetrics {
 public:
  GrpcServerMetrics(prometheus::Registry& registry,
                    const std::vector<std::string>& known_methods);

  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  // For ServerBuilder::experimental().SetInterceptorCreators().
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  MakeInterceptorFactory();

  // Per-method series; created once at construction, never per call.
  struct MethodSeries {
    std::string service;
    std::string method;
    prometheus::Counter* started = nullptr;
    prometheus::Histogram* handling_seconds = nullptr;
  };

  // The series for "/pkg.Service/Method" or the unknown series. `full_method`
  // may be null.
  const MethodSeries& Lookup(const char* full_method) const;

  // Counts one finished call with status `code`.
  void RecordHandled(const MethodSeries& series, int code);

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;
  absl::flat_hash_map<std::string, MethodSeries> known_;
  MethodSeries unknown_;
};

// sotto_build_info{service,version} = 1, the usual way to join a version to
// other series in PromQL.
void AddBuildInfo(prometheus::Registry& registry, absl::string_view service,
                  absl::string_view version);

// Serves the registry as Prometheus text on http://<address>/metrics.
class MetricsEndpoint {
 public:
  // `address` is host:port; port 0 picks a free port (see port()).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& address,
      const std::shared_ptr<prometheus::Registry>& registry);
  ~MetricsEndpoint();  // Stops serving.

  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::string wake_host, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string wake_host_;  // Reaches the listener; see the destructor.
  int port_;
};

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_METRICS_H_
