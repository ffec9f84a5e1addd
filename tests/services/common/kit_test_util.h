// Helpers shared by the service kit's in-process tests: a test echo service,
// health checks through the standard protocol, and runfiles paths.
#ifndef SOTTO_TESTS_SERVICES_COMMON_KIT_TEST_UTIL_H_
#define SOTTO_TESTS_SERVICES_COMMON_KIT_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/server_context.h"
#include "services/common/server_runner.h"
#include "sotto/test/echo.grpc.pb.h"

namespace sotto::service_kit::testutil {

// Echoes the text; the text "fail" makes it answer INVALID_ARGUMENT.
class EchoService final : public sotto::test::Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* context,
                    const sotto::test::EchoRequest* request,
                    sotto::test::EchoResponse* response) override;
};

// Options for an in-process server on loopback with ephemeral ports.
ServerOptions LoopbackOptions();

// A plaintext channel to 127.0.0.1:port.
std::shared_ptr<grpc::Channel> LoopbackChannel(int port);

// grpc.health.v1 Check of `service` ("" = the whole server).
absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
            const std::string& service = "");

// Path of a data dependency, given relative to the workspace root.
std::string RunfilePath(const std::string& path);

}  // namespace sotto::service_kit::testutil

#endif  // SOTTO_TESTS_SERVICES_COMMON_KIT_TEST_UTIL_H_
