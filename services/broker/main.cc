// sotto-broker: the public supervision API (calls, legs, supervisions,
// modes) and the registry media engines announce themselves to.
// Flags and wiring only: the logic is Broker (broker.h), the store
// SqlCallStore, the gRPC adapters broker_service.h.
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "services/broker/broker.h"
#include "services/broker/broker_service.h"
#include "services/broker/engine_registry.h"
#include "services/broker/media_client.h"
#include "services/broker/policy_client.h"
#include "services/broker/sql_call_store.h"
#include "services/common/client_tls_flags.h"
#include "services/common/logging.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"
#include "services/common/sql/open_database.h"
#include "sotto/v1/broker.grpc.pb.h"

ABSL_FLAG(std::string, policy_address, "127.0.0.1:7101",
          "host:port of the sotto.v1.Policy service.");
ABSL_FLAG(std::string, store, "sqlite:var/broker/broker.db",
          "Where calls are kept: sqlite:PATH (embedded, one file) or a "
          "PostgreSQL connection string (postgresql://... or key=value).");
// Durations are string flags, as in the service kit (see policy/main.cc).
ABSL_FLAG(std::string, engine_lease, "10s",
          "A media engine that does not heartbeat for this long is dead.");
ABSL_FLAG(std::string, rpc_timeout, "5s",
          "Deadline of each call to the policy service and media engines.");

int main(int argc, char** argv) {
  namespace kit = sotto::service_kit;
  namespace broker = sotto::broker;
  kit::ServiceInfo info;
  info.name = "broker";
  info.description =
      "the public supervision API (calls, legs, supervisions, modes).";
  info.default_grpc_port = 7100;
  info.default_metrics_port = 9100;
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  absl::StatusOr<absl::Duration> lease =
      kit::ParseDurationFlag("engine_lease", absl::GetFlag(FLAGS_engine_lease));
  if (!lease.ok()) return kit::ExitCodeFor(lease.status());
  absl::StatusOr<absl::Duration> timeout =
      kit::ParseDurationFlag("rpc_timeout", absl::GetFlag(FLAGS_rpc_timeout));
  if (!timeout.ok()) return kit::ExitCodeFor(timeout.status());

  const kit::ChannelTlsOptions tls = kit::ChannelTlsOptionsFromFlags();
  auto credentials = kit::MakeChannelCredentials(tls);
  if (!credentials.ok()) return kit::ExitCodeFor(credentials.status());

  const std::string store_spec = absl::GetFlag(FLAGS_store);
  auto db = sotto::sql::OpenDatabase(store_spec, "sotto-broker");
  if (!db.ok()) {
    return kit::ExitCodeFor(absl::Status(
        db.status().code(), absl::StrCat("--store: ", db.status().message())));
  }
  auto store = broker::SqlCallStore::Open(db->get());
  if (!store.ok()) {
    return kit::ExitCodeFor(
        absl::Status(store.status().code(),
                     absl::StrCat("--store: ", store.status().message())));
  }

  broker::GrpcPolicyClient policy(
      sotto::v1::Policy::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_policy_address), *credentials,
          kit::MakeChannelArguments(tls))),
      *timeout);
  broker::GrpcMediaClient media(*credentials, kit::MakeChannelArguments(tls),
                                *timeout);
  broker::EngineRegistry engines(*lease);
  broker::Broker core(&policy, &media, store->get(), &engines);
  broker::BrokerService broker_service(&core);
  broker::EngineRegistryService registry_service(&engines);

  kit::ServerRunner runner(*std::move(options));
  runner.AddService(&broker_service, sotto::v1::Broker::service_full_name());
  runner.AddService(&registry_service,
                    sotto::v1::EngineRegistry::service_full_name());
  kit::LogInfo("broker ready",
               {{"policy", absl::GetFlag(FLAGS_policy_address)},
                {"store", absl::StartsWith(store_spec, "sqlite:")
                              ? store_spec
                              : std::string("postgresql")}});
  return kit::ExitCodeFor(runner.Run());
}
