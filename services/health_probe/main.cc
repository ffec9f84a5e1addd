// sotto-health-probe: asks a gRPC server's grpc.health.v1.Health/Check and
// exits 0 only when the answer is SERVING. Kubernetes' built-in gRPC probe
// speaks plaintext only, so with mutual TLS between services the chart runs
// this as an exec probe inside each container (with the pod's own client
// certificate); it is also handy from a shell.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "services/common/client_tls_flags.h"
#include "services/common/tls.h"

ABSL_FLAG(std::string, address, "127.0.0.1:7100",
          "host:port of the gRPC server to check.");
ABSL_FLAG(std::string, service, "",
          "Service name to ask about; empty: the server as a whole.");
// A string, not absl::Duration: GetFlag of a Duration flag does not build
// under ThreadSanitizer with GCC 12 (atomic_thread_fence).
ABSL_FLAG(std::string, timeout, "2s",
          "Deadline of the check (connection included), e.g. 2s, 500ms.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name to verify in the server certificate instead of the --address "
          "host (the probe dials 127.0.0.1; the certificate names the "
          "Service).");

namespace {

// grpc.health.v1 messages, hand-encoded so the probe needs no generated
// code: HealthCheckRequest{service = 1 (string)}, HealthCheckResponse{status
// = 1 (enum)}; SERVING is 1.
std::string EncodeRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;  // proto3 default: field omitted.
  out.push_back(0x0a);              // field 1, length-delimited
  size_t n = service.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out += service;
  return out;
}

// The status field of a HealthCheckResponse; 0 (UNKNOWN) when absent.
int DecodeStatus(const std::string& bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char key = static_cast<unsigned char>(bytes[i++]);
    if (key == 0x08) {  // field 1, varint
      int value = 0, shift = 0;
      while (i < bytes.size() && shift < 32) {
        const unsigned char b = static_cast<unsigned char>(bytes[i++]);
        value |= (b & 0x7f) << shift;
        if ((b & 0x80) == 0) return value;
        shift += 7;
      }
      return 0;
    }
    return 0;  // Unknown field: not a health response we understand.
  }
  return 0;
}

const char* StatusName(int status) {
  switch (status) {
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sotto-health-probe: exit 0 when grpc.health.v1 Check answers SERVING, "
      "1 otherwise.\nExample: sotto-health-probe --address=127.0.0.1:7100 "
      "--tls_ca_file=/etc/sotto/tls/ca.crt "
      "--tls_client_cert_file=/etc/sotto/tls/tls.crt "
      "--tls_client_key_file=/etc/sotto/tls/tls.key "
      "--tls_server_name=sotto-broker");
  absl::ParseCommandLine(argc, argv);

  namespace kit = sotto::service_kit;
  kit::ChannelTlsOptions tls = kit::ChannelTlsOptionsFromFlags();
  tls.server_name_override = absl::GetFlag(FLAGS_tls_server_name);
  auto credentials = kit::MakeChannelCredentials(tls);
  if (!credentials.ok()) {
    std::fprintf(stderr, "health probe: %s\n",
                 std::string(credentials.status().message()).c_str());
    return 1;
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_timeout), &timeout) ||
      timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr, "health probe: --timeout \"%s\" is not a duration\n",
                 absl::GetFlag(FLAGS_timeout).c_str());
    return 1;
  }
  const std::string address = absl::GetFlag(FLAGS_address);
  auto channel = grpc::CreateCustomChannel(address, *credentials,
                                           kit::MakeChannelArguments(tls));
  grpc::GenericStub stub(channel);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  const std::string request = EncodeRequest(absl::GetFlag(FLAGS_service));
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    request_buffer, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response_buffer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) {
    std::fprintf(stderr, "health probe: %s: %s (%d)\n", address.c_str(),
                 status.error_message().c_str(),
                 static_cast<int>(status.error_code()));
    return 1;
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response_buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  const int serving = DecodeStatus(bytes);
  std::printf("%s: %s\n", address.c_str(), StatusName(serving));
  return serving == 1 ? 0 : 1;
}
