// Tests that the client TLS flags reach ChannelTlsOptions.
#include "services/common/client_tls_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

namespace sotto::service_kit {
namespace {

TEST(ClientTlsFlagsTest, FlagsFillTheOptions) {
  EXPECT_FALSE(ChannelTlsOptionsFromFlags().enabled());
  absl::SetFlag(&FLAGS_tls_ca_file, "/etc/sotto/ca.pem");
  absl::SetFlag(&FLAGS_tls_client_cert_file, "/etc/sotto/client.pem");
  absl::SetFlag(&FLAGS_tls_client_key_file, "/etc/sotto/client.key");
  const ChannelTlsOptions options = ChannelTlsOptionsFromFlags();
  EXPECT_TRUE(options.enabled());
  EXPECT_EQ(options.ca_file, "/etc/sotto/ca.pem");
  EXPECT_EQ(options.client_cert_file, "/etc/sotto/client.pem");
  EXPECT_EQ(options.client_key_file, "/etc/sotto/client.key");
}

}  // namespace
}  // namespace sotto::service_kit
