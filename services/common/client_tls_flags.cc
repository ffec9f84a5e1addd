#include "services/common/client_tls_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA bundle that signs the servers this service calls. Setting "
          "any --tls_* client flag turns TLS on; without this one the "
          "system's root CAs are used.");
ABSL_FLAG(std::string, tls_client_cert_file, "",
          "PEM client certificate chain presented to servers that require "
          "mutual TLS.");
ABSL_FLAG(std::string, tls_client_key_file, "",
          "PEM private key for --tls_client_cert_file.");

namespace sotto::service_kit {

ChannelTlsOptions ChannelTlsOptionsFromFlags() {
  ChannelTlsOptions options;
  options.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  options.client_cert_file = absl::GetFlag(FLAGS_tls_client_cert_file);
  options.client_key_file = absl::GetFlag(FLAGS_tls_client_key_file);
  return options;
}

}  // namespace sotto::service_kit
