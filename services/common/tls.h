// TLS and mutual TLS for Sotto's gRPC servers and clients: options as plain
// structs, checked PEM loading with errors that name the offending file, and
// the grpc credentials built from them.
#ifndef SOTTO_SERVICES_COMMON_TLS_H_
#define SOTTO_SERVICES_COMMON_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace sotto::service_kit {

// Server side. All empty: plaintext. cert_file + key_file: TLS.
// client_ca_file as well: mutual TLS, every client must present a
// certificate signed by that CA.
struct ServerTlsOptions {
  std::string cert_file;       // PEM certificate chain, leaf first.
  std::string key_file;        // PEM private key matching the leaf.
  std::string client_ca_file;  // PEM CA bundle that signs client certs.

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

// Client side, for services that call each other. All empty: plaintext.
// Any file set: TLS; ca_file empty means the system's root CAs.
// client_cert_file + client_key_file: present a client certificate (mTLS).
struct ChannelTlsOptions {
  std::string ca_file;
  std::string client_cert_file;
  std::string client_key_file;
  // Name to verify in the server certificate instead of the target host; for
  // reaching a server by IP or through a proxy.
  std::string server_name_override;

  bool enabled() const {
    return !ca_file.empty() || !client_cert_file.empty() ||
           !client_key_file.empty();
  }
};

// PEM contents after validation.
struct ServerTlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string client_ca;  // Empty unless mutual TLS.
};
struct ChannelTlsMaterial {
  std::string root_certs;  // Empty: system roots.
  std::string cert_chain;
  std::string private_key;
};

// Reads and checks the files: each must be readable and hold the PEM it is
// for, and each key must match its certificate. Errors name the flag and the
// file, because a misconfigured mount is the usual cause:
//   INVALID_ARGUMENT: --tls_key_file "/etc/sotto/tls.key": not a PEM private
//   key
absl::StatusOr<ServerTlsMaterial> LoadServerTlsMaterial(
    const ServerTlsOptions& options);
absl::StatusOr<ChannelTlsMaterial> LoadChannelTlsMaterial(
    const ChannelTlsOptions& options);

// Credentials for ServerBuilder::AddListeningPort; insecure when TLS is off.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);

// Credentials for grpc::CreateCustomChannel; insecure when TLS is off. Use
// MakeChannelArguments() for the arguments that go with them.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ChannelTlsOptions& options);

// Channel arguments implied by `options` (the server name override).
grpc::ChannelArguments MakeChannelArguments(const ChannelTlsOptions& options);

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_TLS_H_
