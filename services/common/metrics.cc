#include "services/common/metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"

namespace sotto::service_kit {
namespace {

constexpr char kHealthService[] = "grpc.health.v1.Health";
constexpr char kReflectionService[] =
    "grpc.reflection.v1alpha.ServerReflection";

// Covers sub-millisecond control-plane calls up to slow store writes.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return *buckets;
}

// Records one call: started when created, handled when the status goes out.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics& metrics,
                     const GrpcServerMetrics::MethodSeries& series)
      : metrics_(metrics),
        series_(series),
        start_(std::chrono::steady_clock::now()) {
    series_.started->Increment();
  }

  ~MetricsInterceptor() override {
    // A call that ends without the server sending a status was cancelled
    // (client gone, deadline passed or server shut down).
    Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  // Counts the call once, whichever comes first: its status or its end.
  void Record(int code) {
    if (recorded_) return;
    recorded_ = true;
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start_;
    series_.handling_seconds->Observe(elapsed.count());
    metrics_.RecordHandled(series_, code);
  }

  GrpcServerMetrics& metrics_;
  const GrpcServerMetrics::MethodSeries& series_;
  const std::chrono::steady_clock::time_point start_;
  // gRPC runs a call's hook points and the destructor one at a time (maybe
  // on different threads, but ordered), so no lock is needed.
  bool recorded_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcServerMetrics& metrics)
      : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, metrics_.Lookup(info->method()));
  }

 private:
  GrpcServerMetrics& metrics_;
};

// Where to connect to reach a server bound to `address` (host:port): the
// host itself, or loopback for a wildcard.
std::string WakeHost(absl::string_view address) {
  absl::string_view host = address.substr(0, address.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return std::string(host);
}

void ConnectAndClose(const std::string& host, int port) {
  addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &found) !=
      0) {
    return;
  }
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    const bool connected = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(found);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> MethodsOfService(
    absl::string_view full_service_name) {
  std::vector<std::string> methods;
  if (full_service_name == kHealthService) {
    for (const char* name : {"Check", "Watch"}) {
      methods.push_back(absl::StrCat("/", kHealthService, "/", name));
    }
    return methods;
  }
  if (full_service_name == kReflectionService) {
    methods.push_back(
        absl::StrCat("/", kReflectionService, "/ServerReflectionInfo"));
    return methods;
  }
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(full_service_name));
  if (service == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "service \"", full_service_name,
        "\" is not in the generated descriptor pool; is its _cc proto "
        "library linked and the name fully qualified?"));
  }
  for (int i = 0; i < service->method_count(); ++i) {
    methods.push_back(absl::StrCat("/", service->full_name(), "/",
                                   service->method(i)->name()));
  }
  return methods;
}

absl::string_view GrpcCodeLabel(int code) {
  static constexpr std::array<absl::string_view, 17> kNames = {
      "OK",
      "Canceled",
      "Unknown",
      "InvalidArgument",
      "DeadlineExceeded",
      "NotFound",
      "AlreadyExists",
      "PermissionDenied",
      "ResourceExhausted",
      "FailedPrecondition",
      "Aborted",
      "OutOfRange",
      "Unimplemented",
      "Internal",
      "Unavailable",
      "DataLoss",
      "Unauthenticated"};
  if (code < 0 || code >= static_cast<int>(kNames.size())) return "Unknown";
  return kNames[code];
}

GrpcServerMetrics::GrpcServerMetrics(
    prometheus::Registry& registry,
    const std::vector<std::string>& known_methods)
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by status code.")
                   .Register(registry)),
      handling_seconds_(prometheus::BuildHistogram()
                            .Name("grpc_server_handling_seconds")
                            .Help("Time from the start of an RPC to its "
                                  "status being sent, in seconds.")
                            .Register(registry)) {
  auto make_series = [this](std::string service, std::string method) {
    MethodSeries series;
    series.service = std::move(service);
    series.method = std::move(method);
    const prometheus::Labels labels = {{"grpc_service", series.service},
                                       {"grpc_method", series.method}};
    series.started = &started_.Add(labels);
    series.handling_seconds = &handling_seconds_.Add(labels, LatencyBuckets());
    return series;
  };
  for (const std::string& full_method : known_methods) {
    // "/pkg.Service/Method"
    const size_t slash = full_method.rfind('/');
    if (full_method.empty() || full_method[0] != '/' || slash == 0 ||
        slash == std::string::npos) {
      continue;
    }
    known_.emplace(full_method, make_series(full_method.substr(1, slash - 1),
                                            full_method.substr(slash + 1)));
  }
  unknown_ = make_series(kUnknownLabel, kUnknownLabel);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::MakeInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(*this);
}

const GrpcServerMetrics::MethodSeries& GrpcServerMetrics::Lookup(
    const char* full_method) const {
  if (full_method == nullptr) return unknown_;
  auto it = known_.find(absl::string_view(full_method));
  return it == known_.end() ? unknown_ : it->second;
}

void GrpcServerMetrics::RecordHandled(const MethodSeries& series, int code) {
  // Family::Add returns the existing series for known labels; the code label
  // has at most 17 values, so the set stays bounded.
  handled_
      .Add({{"grpc_service", series.service},
            {"grpc_method", series.method},
            {"grpc_code", std::string(GrpcCodeLabel(code))}})
      .Increment();
}

void AddBuildInfo(prometheus::Registry& registry, absl::string_view service,
                  absl::string_view version) {
  prometheus::BuildGauge()
      .Name("sotto_build_info")
      .Help("Always 1; labels say which service and version are running.")
      .Register(registry)
      .Add({{"service", std::string(service)},
            {"version", std::string(version)}})
      .Set(1);
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address,
    const std::shared_ptr<prometheus::Registry>& registry) {
  // prometheus-cpp reports bind failures by throwing; keep exceptions inside.
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(address);
    exposer->RegisterCollectable(registry);
    const std::vector<int> ports = exposer->GetListeningPorts();
    if (ports.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "--metrics_address \"", address, "\": no listening port"));
    }
    return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(
        std::move(exposer), WakeHost(address), ports.front()));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("--metrics_address \"", address,
                     "\": cannot serve /metrics: ", e.what()));
  }
}

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                                 std::string wake_host, int port)
    : exposer_(std::move(exposer)),
      wake_host_(std::move(wake_host)),
      port_(port) {}

MetricsEndpoint::~MetricsEndpoint() {
  // civetweb's accept loop looks at its stop flag only between two-second
  // polls, which would add up to two seconds to every drain. A connection to
  // the port ends the poll at once, so keep connecting until it has stopped.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    while (!stopped.load()) {
      ConnectAndClose(wake_host_, port_);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  exposer_.reset();
  stopped.store(true);
  waker.join();
}

}  // namespace sotto::service_kit
