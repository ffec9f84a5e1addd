// Tests for TLS options: every misconfiguration is an error naming the flag
// and file, and mutual TLS admits only clients with a certificate from the
// configured CA. Certificates come from make_test_certs.sh at build time.
#include "services/common/tls.h"

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/common/server_runner.h"
#include "tests/services/common/kit_test_util.h"

namespace sotto::service_kit {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Cert(const std::string& name) {
  return testutil::RunfilePath(
      absl::StrCat("tests/services/common/certs/", name));
}

// A file in the test's scratch directory holding `contents`.
std::string WriteTemp(const std::string& name, const std::string& contents) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path =
      absl::StrCat(dir == nullptr ? "/tmp" : dir, "/", name);
  std::ofstream(path) << contents;
  return path;
}

ServerTlsOptions ServerOptionsWithFiles() {
  ServerTlsOptions options;
  options.cert_file = Cert("server.pem");
  options.key_file = Cert("server.key");
  return options;
}

TEST(ServerTlsTest, NothingSetMeansPlaintext) {
  const ServerTlsOptions options;
  EXPECT_FALSE(options.enabled());
  auto credentials = MakeServerCredentials(options);
  ASSERT_TRUE(credentials.ok());
  EXPECT_NE(*credentials, nullptr);
}

TEST(ServerTlsTest, ValidCertificateAndKeyLoad) {
  auto material = LoadServerTlsMaterial(ServerOptionsWithFiles());
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_THAT(material->cert_chain, HasSubstr("BEGIN CERTIFICATE"));
}

TEST(ServerTlsTest, MissingCertificateFileIsNamed) {
  ServerTlsOptions options = ServerOptionsWithFiles();
  options.cert_file = "/nonexistent/server.pem";
  const absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls_cert_file"),
                                      HasSubstr("/nonexistent/server.pem"),
                                      HasSubstr("No such file")));
}

TEST(ServerTlsTest, KeyWithoutCertificateIsRejected) {
  ServerTlsOptions options;
  options.key_file = Cert("server.key");
  const absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_cert_file"));
}

TEST(ServerTlsTest, FileWithoutPemIsNamed) {
  ServerTlsOptions options = ServerOptionsWithFiles();
  options.key_file = WriteTemp("garbage.key", "not a key\n");
  const absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("--tls_key_file"), HasSubstr("garbage.key"),
                    HasSubstr("private key")));
}

TEST(ServerTlsTest, KeyOfAnotherCertificateIsRejected) {
  ServerTlsOptions options = ServerOptionsWithFiles();
  options.key_file = Cert("client.key");
  const absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("client.key"), HasSubstr("does not match")));
}

TEST(ServerTlsTest, ClientCaWithoutServerCertificateIsRejected) {
  ServerTlsOptions options;
  options.client_ca_file = Cert("ca.pem");
  const absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_client_ca_file"));
}

TEST(ServerTlsTest, ClientCaWithoutCertificatesIsNamed) {
  ServerTlsOptions options = ServerOptionsWithFiles();
  options.client_ca_file = WriteTemp("empty_ca.pem", "");
  const absl::Status status = MakeServerCredentials(options).status();
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls_client_ca_file"),
                                      HasSubstr("empty_ca.pem"),
                                      HasSubstr("no PEM certificate")));
}

TEST(ChannelTlsTest, ClientCertificateWithoutKeyIsRejected) {
  ChannelTlsOptions options;
  options.ca_file = Cert("ca.pem");
  options.client_cert_file = Cert("client.pem");
  const absl::Status status = MakeChannelCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_client_key_file"));
}

TEST(ChannelTlsTest, MissingCaFileIsNamed) {
  ChannelTlsOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  const absl::Status status = MakeChannelCredentials(options).status();
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls_ca_file"),
                                      HasSubstr("/nonexistent/ca.pem")));
}

class MutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options = testutil::LoopbackOptions();
    options.tls = ServerOptionsWithFiles();
    options.tls.client_ca_file = Cert("ca.pem");
    runner_ = std::make_unique<ServerRunner>(options);
    ASSERT_TRUE(runner_->Start().ok());
  }

  absl::StatusOr<HealthCheckResponse::ServingStatus> CheckWith(
      const ChannelTlsOptions& options) {
    auto credentials = MakeChannelCredentials(options);
    if (!credentials.ok()) return credentials.status();
    auto channel = grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", runner_->grpc_port()), *credentials,
        MakeChannelArguments(options));
    return testutil::CheckHealth(channel);
  }

  std::unique_ptr<ServerRunner> runner_;
};

TEST_F(MutualTlsTest, ClientWithCertificateFromTheCaIsServed) {
  ChannelTlsOptions options;
  options.ca_file = Cert("ca.pem");
  options.client_cert_file = Cert("client.pem");
  options.client_key_file = Cert("client.key");
  auto status = CheckWith(options);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, HealthCheckResponse::SERVING);
}

TEST_F(MutualTlsTest, ServerNameOverrideVerifiesAnotherName) {
  ChannelTlsOptions options;
  options.ca_file = Cert("ca.pem");
  options.client_cert_file = Cert("client.pem");
  options.client_key_file = Cert("client.key");
  options.server_name_override = "localhost";
  EXPECT_TRUE(CheckWith(options).ok());
  options.server_name_override = "policy.example";
  EXPECT_EQ(CheckWith(options).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(MutualTlsTest, ClientWithoutCertificateIsRefused) {
  ChannelTlsOptions options;
  options.ca_file = Cert("ca.pem");
  EXPECT_EQ(CheckWith(options).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(MutualTlsTest, ClientWithCertificateFromAnotherCaIsRefused) {
  ChannelTlsOptions options;
  options.ca_file = Cert("ca.pem");
  options.client_cert_file = Cert("other_client.pem");
  options.client_key_file = Cert("other_client.key");
  EXPECT_EQ(CheckWith(options).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(MutualTlsTest, PlaintextClientIsRefused) {
  EXPECT_EQ(CheckWith(ChannelTlsOptions{}).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sotto::service_kit
