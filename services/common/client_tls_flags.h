// Command-line flags for the TLS side of a service that calls other Sotto
// services (--tls_ca_file, --tls_client_cert_file, --tls_client_key_file).
// Kept out of service_kit so binaries that call nobody do not show them.
#ifndef SOTTO_SERVICES_COMMON_CLIENT_TLS_FLAGS_H_
#define SOTTO_SERVICES_COMMON_CLIENT_TLS_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "services/common/tls.h"

ABSL_DECLARE_FLAG(std::string, tls_ca_file);
ABSL_DECLARE_FLAG(std::string, tls_client_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_client_key_file);

namespace sotto::service_kit {

// The client TLS options given on the command line; pass them to
// MakeChannelCredentials(). Call after InitService() parsed the flags.
ChannelTlsOptions ChannelTlsOptionsFromFlags();

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_CLIENT_TLS_FLAGS_H_
