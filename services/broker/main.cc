// sotto-broker: the public supervision API (calls, legs, supervisions,
// modes) and the registry media engines announce themselves to.
// Flags and wiring only: the logic is Broker (broker.h), the store
// SqlCallStore, the gRPC adapters broker_service.h.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
#include "services/broker/event_sink.h"
#include "services/broker/media_client.h"
#include "services/broker/outbox_forwarder.h"
#include "services/broker/policy_client.h"
#include "services/broker/recorder_client.h"
#include "services/broker/sql_call_store.h"
#include "services/common/client_tls_flags.h"
#include "services/common/logging.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"
#include "services/common/sql/open_database.h"
#include "sotto/v1/broker.grpc.pb.h"

ABSL_FLAG(std::string, policy_address, "127.0.0.1:7101",
          "host:port of the sotto.v1.Policy service.");
ABSL_FLAG(std::string, reporting_address, "",
          "host:port of the sotto.v1.Reporting service the outbox forwarder "
          "delivers events to. Empty: events stay in the outbox (the store) "
          "until a broker with a reporting address delivers them.");
ABSL_FLAG(std::string, customer_announcement_pcm, "",
          "File of 8 kHz signed 16-bit little-endian mono PCM (at most 30 s) "
          "the customer hears when a supervisor barges in or takes over and "
          "policy asks for an announcement. Empty: a 1400 Hz notice tone. "
          "Make one with: sox notice.wav -r 8000 -c 1 -b 16 -e signed "
          "-t raw notice.pcm");
ABSL_FLAG(std::string, recorder_address, "",
          "host:port of the sotto.v1.Recorder service; calls are recorded as "
          "the tenant's recording policy says. Empty: nothing is recorded.");
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
  broker::BrokerOptions broker_options;
  std::unique_ptr<broker::GrpcRecorderClient> recorder;
  if (const std::string address = absl::GetFlag(FLAGS_recorder_address);
      !address.empty()) {
    recorder = std::make_unique<broker::GrpcRecorderClient>(
        sotto::v1::Recorder::NewStub(grpc::CreateCustomChannel(
            address, *credentials, kit::MakeChannelArguments(tls))),
        *timeout);
    broker_options.recorder = recorder.get();
  }
  if (const std::string path = absl::GetFlag(FLAGS_customer_announcement_pcm);
      !path.empty()) {
    std::ifstream file(path, std::ios::binary);
    std::string pcm((std::istreambuf_iterator<char>(file)),
                    std::istreambuf_iterator<char>());
    constexpr size_t kMaxBytes = 30 * 8000 * 2;
    if (!file.good() && !file.eof()) {
      return kit::ExitCodeFor(absl::InvalidArgumentError(
          absl::StrCat("--customer_announcement_pcm: cannot read ", path)));
    }
    if (pcm.empty() || pcm.size() > kMaxBytes || pcm.size() % 2 != 0) {
      return kit::ExitCodeFor(absl::InvalidArgumentError(
          absl::StrCat("--customer_announcement_pcm: ", path,
                       " must hold 1 sample to 30 s of 8 kHz 16-bit PCM (",
                       pcm.size(), " bytes)")));
    }
    broker_options.customer_announcement_pcm = std::move(pcm);
  }
  broker::Broker core(&policy, &media, store->get(), &engines, broker_options);
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
  // Housekeeping every second: shared placement, dead engines,
  // reconciliation after a restart (Broker::Maintain).
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock<std::mutex> lock(maintenance_mu);
    while (!stopping) {
      lock.unlock();
      core.Maintain();
      lock.lock();
      maintenance_cv.wait_for(lock, std::chrono::seconds(1),
                              [&] { return stopping; });
    }
  });
  auto stop_maintenance = [&] {
    {
      std::lock_guard<std::mutex> lock(maintenance_mu);
      stopping = true;
    }
    maintenance_cv.notify_all();
    if (maintenance.joinable()) maintenance.join();
  };
  // Watch streams end first (their clients reconnect elsewhere), then the
  // forwarder delivers what it can.
  runner.AddDrainHook(
      [&core, &forwarder, &stop_maintenance](absl::Time deadline) {
        stop_maintenance();
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
  const absl::Status result = runner.Run();
  stop_maintenance();  // if Run failed before draining
  return kit::ExitCodeFor(result);
}
