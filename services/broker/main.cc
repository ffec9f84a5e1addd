// sotto-broker: the public supervision API (calls, legs, supervisions,
// modes) and the registry media engines announce themselves to.
// Flags and wiring only: the logic is Broker (broker.h), the store
// SqlCallStore, the gRPC adapters broker_service.h.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "services/broker/broker.h"
#include "services/broker/broker_service.h"
#include "services/broker/engine_registry.h"
#include "services/broker/event_sink.h"
#include "services/broker/media_client.h"
#include "services/broker/outbox_forwarder.h"
#include "services/broker/policy_client.h"
#include "services/broker/sql_call_store.h"
#include "services/common/client_tls_flags.h"
#include "services/common/logging.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"
#include "services/common/sql/postgres_database.h"
#include "services/common/sql/sqlite_database.h"
#include "sotto/v1/broker.grpc.pb.h"

ABSL_FLAG(std::string, policy_address, "127.0.0.1:7101",
          "host:port of the sotto.v1.Policy service.");
ABSL_FLAG(std::string, reporting_address, "",
          "host:port of the sotto.v1.Reporting service the outbox forwarder "
          "delivers events to. Empty: events stay in the outbox (the store) "
          "until a broker with a reporting address delivers them.");
ABSL_FLAG(std::string, store, "sqlite:var/broker/broker.db",
          "Where calls are kept: sqlite:PATH (embedded, one file) or a "
          "PostgreSQL connection string (postgresql://... or key=value).");
// Durations are string flags, as in the service kit (see policy/main.cc).
ABSL_FLAG(std::string, engine_lease, "10s",
          "A media engine that does not heartbeat for this long is dead.");
ABSL_FLAG(std::string, rpc_timeout, "5s",
          "Deadline of each call to the policy service and media engines.");

namespace {

absl::StatusOr<absl::Duration> DurationFlag(absl::string_view name,
                                            const std::string& value) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " must be a positive duration (\"10s\"), got \"", value,
        "\""));
  }
  return d;
}

absl::StatusOr<std::unique_ptr<sotto::sql::Database>> OpenStore(
    const std::string& spec) {
  if (absl::StartsWith(spec, "sqlite:")) {
    sotto::sql::SqliteOptions options;
    options.path = std::string(absl::StripPrefix(spec, "sqlite:"));
    // The default lives under var/; create the folder like the file.
    const std::filesystem::path parent =
        std::filesystem::path(options.path).parent_path();
    std::error_code ignored;
    if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
    auto db = sotto::sql::SqliteDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<sotto::sql::Database>(std::move(*db));
  }
  sotto::sql::PostgresOptions options;
  options.dsn = spec;
  options.application_name = "sotto-broker";
  auto db = sotto::sql::PostgresDatabase::Open(options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<sotto::sql::Database>(std::move(*db));
}

}  // namespace

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
      DurationFlag("engine_lease", absl::GetFlag(FLAGS_engine_lease));
  if (!lease.ok()) return kit::ExitCodeFor(lease.status());
  absl::StatusOr<absl::Duration> timeout =
      DurationFlag("rpc_timeout", absl::GetFlag(FLAGS_rpc_timeout));
  if (!timeout.ok()) return kit::ExitCodeFor(timeout.status());

  const kit::ChannelTlsOptions tls = kit::ChannelTlsOptionsFromFlags();
  auto credentials = kit::MakeChannelCredentials(tls);
  if (!credentials.ok()) return kit::ExitCodeFor(credentials.status());

  const std::string store_spec = absl::GetFlag(FLAGS_store);
  auto db = OpenStore(store_spec);
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
  std::unique_ptr<broker::GrpcEventSink> reporting;
  std::unique_ptr<broker::OutboxForwarder> forwarder;
  const std::string reporting_address = absl::GetFlag(FLAGS_reporting_address);
  if (!reporting_address.empty()) {
    reporting = std::make_unique<broker::GrpcEventSink>(
        sotto::v1::Reporting::NewStub(grpc::CreateCustomChannel(
            reporting_address, *credentials, kit::MakeChannelArguments(tls))),
        *timeout, /*bearer_token=*/"");
    forwarder = std::make_unique<broker::OutboxForwarder>(
        store->get(), reporting.get(), core.event_bell(),
        broker::OutboxForwarderOptions(), runner.metrics_registry().get());
    forwarder->Start();
  }
  // Watch streams end first (their clients reconnect elsewhere), then the
  // forwarder delivers what it can.
  runner.AddDrainHook([&core, &forwarder](absl::Time deadline) {
    core.StopWatches();
    if (forwarder) {
      forwarder->Stop(std::min(absl::Seconds(2), deadline - absl::Now()));
    }
  });
  runner.AddService(&broker_service, sotto::v1::Broker::service_full_name());
  runner.AddService(&registry_service,
                    sotto::v1::EngineRegistry::service_full_name());
  kit::LogInfo("broker ready",
               {{"policy", absl::GetFlag(FLAGS_policy_address)},
                {"reporting", reporting_address.empty() ? std::string("(none)")
                                                        : reporting_address},
                {"store", absl::StartsWith(store_spec, "sqlite:")
                              ? store_spec
                              : std::string("postgresql")}});
  return kit::ExitCodeFor(runner.Run());
}
