// sotto-policy: authentication (JWT) and RBAC decisions for supervision.
// Flags and wiring only: the document, evaluator, verifier and store are
// plain classes in this directory; policy_service.h is the gRPC adapter.
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/logging.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"
#include "services/policy/policy_service.h"
#include "services/policy/policy_store.h"
#include "sotto/v1/policy.grpc.pb.h"

ABSL_FLAG(
    std::string, policy_file, "",
    "Required. The policy document (YAML; see services/policy/README.md). "
    "Reloaded when it changes.");
// Durations are string flags, as in the service kit: absl::Duration flags
// compile a seqlock fence that GCC's ThreadSanitizer cannot model.
ABSL_FLAG(std::string, reload_interval, "2s",
          "How often the policy file is checked for changes.");
ABSL_FLAG(std::string, token_leeway, "60s",
          "Clock skew allowed when checking a token's exp and nbf.");

int main(int argc, char** argv) {
  namespace kit = sotto::service_kit;
  kit::ServiceInfo info;
  info.name = "policy";
  info.description = "authentication and RBAC decisions for supervision.";
  info.default_grpc_port = 7101;
  info.default_metrics_port = 9101;
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  sotto::policy::PolicyStoreOptions store_options;
  store_options.path = absl::GetFlag(FLAGS_policy_file);
  if (store_options.path.empty()) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(
        "--policy_file is required: the policy document (YAML, see "
        "services/policy/README.md)"));
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_reload_interval),
                           &store_options.reload_interval) ||
      !absl::ParseDuration(absl::GetFlag(FLAGS_token_leeway),
                           &store_options.token_leeway) ||
      store_options.reload_interval <= absl::ZeroDuration() ||
      store_options.token_leeway < absl::ZeroDuration()) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(
        "--reload_interval must be a positive duration (\"2s\") and "
        "--token_leeway a non-negative one (\"60s\")"));
  }
  absl::StatusOr<std::unique_ptr<sotto::policy::PolicyStore>> store =
      sotto::policy::PolicyStore::Open(store_options);
  if (!store.ok()) {
    return kit::ExitCodeFor(absl::Status(
        store.status().code(),
        absl::StrCat("--policy_file: ", store.status().message())));
  }
  const sotto::policy::PolicyStatus loaded = (*store)->Status();
  kit::LogInfo("policy loaded", {{"file", loaded.source},
                                 {"sha256", loaded.sha256},
                                 {"tenants", loaded.tenants},
                                 {"rules", loaded.rules}});
  (*store)->Start();

  kit::ServerRunner runner(*std::move(options));
  sotto::policy::PolicyService service(store->get(),
                                       *runner.metrics_registry());
  runner.AddService(&service, sotto::v1::Policy::service_full_name());
  const int exit_code = kit::ExitCodeFor(runner.Run());
  (*store)->Stop();
  return exit_code;
}
