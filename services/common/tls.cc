#include "services/common/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace sotto::service_kit {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Refuses to prompt for a passphrase: a service has no terminal, and an
// encrypted key must fail with a clear error rather than block.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/,
                 void* /*userdata*/) {
  return -1;
}

std::string Describe(absl::string_view flag, absl::string_view path) {
  return absl::StrCat(flag, " \"", path, "\"");
}

absl::StatusOr<std::string> ReadFile(absl::string_view flag,
                                     const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    return absl::InvalidArgumentError(absl::StrCat(
        Describe(flag, path), ": cannot read: ", std::strerror(error)));
  }
  std::string contents;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return absl::InvalidArgumentError(absl::StrCat(
        Describe(flag, path), ": cannot read: ", std::strerror(error)));
  }
  return contents;
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM bundle, or an error naming the file.
absl::StatusOr<X509Ptr> FirstCertificate(absl::string_view flag,
                                         const std::string& path,
                                         const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(flag, path), ": holds no PEM certificate"));
  }
  return cert;
}

absl::StatusOr<PkeyPtr> PrivateKey(absl::string_view flag,
                                   const std::string& path,
                                   const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        Describe(flag, path), ": holds no unencrypted PEM private key"));
  }
  return key;
}

struct KeyPair {
  std::string cert_chain;
  std::string private_key;
};

// Loads a certificate and its key and checks that they belong together, so
// the mismatch is reported at start-up instead of as failed handshakes.
absl::StatusOr<KeyPair> LoadKeyPair(absl::string_view cert_flag,
                                    const std::string& cert_file,
                                    absl::string_view key_flag,
                                    const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    const absl::string_view missing = cert_file.empty() ? cert_flag : key_flag;
    const absl::string_view present = cert_file.empty() ? key_flag : cert_flag;
    return absl::InvalidArgumentError(absl::StrCat(
        present, " is set but ", missing, " is not; set both or neither"));
  }
  absl::StatusOr<std::string> cert_pem = ReadFile(cert_flag, cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile(key_flag, key_file);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<X509Ptr> cert =
      FirstCertificate(cert_flag, cert_file, *cert_pem);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<PkeyPtr> key = PrivateKey(key_flag, key_file, *key_pem);
  if (!key.ok()) return key.status();
  const int matches = X509_check_private_key(cert->get(), key->get());
  ERR_clear_error();
  if (matches != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        Describe(key_flag, key_file), ": does not match the certificate in ",
        Describe(cert_flag, cert_file)));
  }
  return KeyPair{*std::move(cert_pem), *std::move(key_pem)};
}

absl::StatusOr<std::string> LoadCaBundle(absl::string_view flag,
                                         const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(flag, path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<X509Ptr> cert = FirstCertificate(flag, path, *pem);
  if (!cert.ok()) return cert.status();
  return pem;
}

}  // namespace

absl::StatusOr<ServerTlsMaterial> LoadServerTlsMaterial(
    const ServerTlsOptions& options) {
  if (!options.enabled()) {
    if (options.mutual()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file needs --tls_cert_file and --tls_key_file: "
          "mutual TLS is TLS plus client certificates");
    }
    return ServerTlsMaterial{};
  }
  absl::StatusOr<KeyPair> pair = LoadKeyPair(
      "--tls_cert_file", options.cert_file, "--tls_key_file", options.key_file);
  if (!pair.ok()) return pair.status();
  ServerTlsMaterial material;
  material.cert_chain = std::move(pair->cert_chain);
  material.private_key = std::move(pair->private_key);
  if (options.mutual()) {
    absl::StatusOr<std::string> ca =
        LoadCaBundle("--tls_client_ca_file", options.client_ca_file);
    if (!ca.ok()) return ca.status();
    material.client_ca = *std::move(ca);
  }
  return material;
}

absl::StatusOr<ChannelTlsMaterial> LoadChannelTlsMaterial(
    const ChannelTlsOptions& options) {
  ChannelTlsMaterial material;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        LoadCaBundle("--tls_ca_file", options.ca_file);
    if (!ca.ok()) return ca.status();
    material.root_certs = *std::move(ca);
  }
  if (!options.client_cert_file.empty() || !options.client_key_file.empty()) {
    absl::StatusOr<KeyPair> pair =
        LoadKeyPair("--tls_client_cert_file", options.client_cert_file,
                    "--tls_client_key_file", options.client_key_file);
    if (!pair.ok()) return pair.status();
    material.cert_chain = std::move(pair->cert_chain);
    material.private_key = std::move(pair->private_key);
  }
  return material;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  absl::StatusOr<ServerTlsMaterial> material = LoadServerTlsMaterial(options);
  if (!material.ok()) return material.status();
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      options.mutual()
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_root_certs = material->client_ca;
  ssl.pem_key_cert_pairs.push_back(
      {material->private_key, material->cert_chain});
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ChannelTlsOptions& options) {
  absl::StatusOr<ChannelTlsMaterial> material = LoadChannelTlsMaterial(options);
  if (!material.ok()) return material.status();
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = material->root_certs;
  ssl.pem_private_key = material->private_key;
  ssl.pem_cert_chain = material->cert_chain;
  return grpc::SslCredentials(ssl);
}

grpc::ChannelArguments MakeChannelArguments(const ChannelTlsOptions& options) {
  grpc::ChannelArguments args;
  if (options.enabled() && !options.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.server_name_override);
  }
  return args;
}

}  // namespace sotto::service_kit
