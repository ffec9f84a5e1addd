#include "tests/services/common/kit_test_util.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sotto::service_kit::testutil {

grpc::Status EchoService::Echo(grpc::ServerContext* /*context*/,
                               const sotto::test::EchoRequest* request,
                               sotto::test::EchoResponse* response) {
  if (request->text() == "fail") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "asked to fail");
  }
  response->set_text(request->text());
  return grpc::Status::OK;
}

ServerOptions LoopbackOptions() {
  ServerOptions options;
  options.service_name = "kit_test";
  options.grpc_address = "127.0.0.1:0";
  options.metrics_address = "127.0.0.1:0";
  return options;
}

std::shared_ptr<grpc::Channel> LoopbackChannel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
            const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return response.status();
}

std::string RunfilePath(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir == nullptr ? "." : srcdir, "/",
                      workspace == nullptr ? "sotto" : workspace, "/", path);
}

}  // namespace sotto::service_kit::testutil
