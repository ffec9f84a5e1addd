// sotto-reporting: the audit trail, supervision statistics, call outcomes
// and coaching reports; Prometheus metrics for the Grafana dashboards.
// Flags and wiring only: the logic is Reporting (reporting.h), the store
// SqlReportingStore, the gRPC adapter reporting_service.h.
//
// `sotto-reporting --verify_audit_chain --tenant=T` verifies T's audit
// chain in the store and exits (0 intact, 1 broken or failed) instead of
// serving.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "services/common/client_tls_flags.h"
#include "services/common/logging.h"
#include "services/common/policy_client.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"
#include "services/common/sql/open_database.h"
#include "services/reporting/reporting.h"
#include "services/reporting/reporting_metrics.h"
#include "services/reporting/reporting_service.h"
#include "services/reporting/sql_reporting_store.h"
#include "sotto/v1/reporting.grpc.pb.h"

ABSL_FLAG(std::string, policy_address, "127.0.0.1:7101",
          "host:port of the sotto.v1.Policy service.");
ABSL_FLAG(std::string, store, "sqlite:var/reporting/reporting.db",
          "Where events, the audit trail and outcomes are kept: sqlite:PATH "
          "(embedded, one file) or a PostgreSQL connection string "
          "(postgresql://... or key=value); replicas share one PostgreSQL "
          "database.");
// Durations are string flags, as in the service kit (see policy/main.cc).
ABSL_FLAG(std::string, rpc_timeout, "5s",
          "Deadline of each call to the policy service.");
ABSL_FLAG(std::string, metrics_refresh, "5s",
          "How often sotto_reporting_active_supervisions is recomputed from "
          "the store.");
ABSL_FLAG(std::string, ingest_peers, "",
          "Comma-separated client-certificate names (CN or SAN) allowed to "
          "call IngestEvents and IngestMediaQuality under mutual TLS, e.g. "
          "\"sotto-broker,sotto-media\". Empty: any client the transport "
          "admits.");
ABSL_FLAG(bool, verify_audit_chain, false,
          "Verify --tenant's audit chain in --store, print the result and "
          "exit (0 intact, 1 broken) instead of serving.");
ABSL_FLAG(std::string, tenant, "",
          "The tenant whose chain --verify_audit_chain checks.");

namespace {

namespace kit = sotto::service_kit;
namespace reporting = sotto::reporting;

// The command: prints one line and returns the exit code.
int VerifyChain(reporting::SqlReportingStore& store) {
  const std::string tenant = absl::GetFlag(FLAGS_tenant);
  if (tenant.empty()) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(
        "--verify_audit_chain needs --tenant=TENANT"));
  }
  absl::StatusOr<reporting::ChainVerification> result =
      store.VerifyChain(tenant);
  if (!result.ok()) return kit::ExitCodeFor(result.status());
  if (result->intact) {
    std::printf("audit chain of tenant %s intact: %llu records checked\n",
                tenant.c_str(),
                static_cast<unsigned long long>(result->records_checked));
    return 0;
  }
  std::printf(
      "audit chain of tenant %s BROKEN at sequence %llu (event %s): %s\n",
      tenant.c_str(),
      static_cast<unsigned long long>(result->first_broken_sequence),
      result->first_broken_event_id.empty()
          ? "-"
          : result->first_broken_event_id.c_str(),
      result->detail.c_str());
  return 1;
}

// Recomputes the active-supervisions gauge every `interval` until stopped.
class GaugeRefresher {
 public:
  GaugeRefresher(reporting::Reporting* core, absl::Duration interval)
      : thread_([this, core, interval] {
          std::unique_lock<std::mutex> lock(mu_);
          while (!stop_) {
            lock.unlock();
            absl::Status s = core->RefreshActiveSupervisions();
            if (!s.ok()) {
              kit::LogWarning("active supervisions not refreshed",
                              {{"error", std::string(s.message())}});
            }
            lock.lock();
            wake_.wait_for(lock, absl::ToChronoNanoseconds(interval),
                           [this] { return stop_; });
          }
        }) {}
  ~GaugeRefresher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  kit::ServiceInfo info;
  info.name = "reporting";
  info.description =
      "audit trail, supervision statistics, outcomes and coaching reports.";
  info.default_grpc_port = 7104;
  info.default_metrics_port = 9104;
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  absl::StatusOr<absl::Duration> timeout = kit::PositiveDurationFlag(
      "rpc_timeout", absl::GetFlag(FLAGS_rpc_timeout));
  if (!timeout.ok()) return kit::ExitCodeFor(timeout.status());
  absl::StatusOr<absl::Duration> refresh = kit::PositiveDurationFlag(
      "metrics_refresh", absl::GetFlag(FLAGS_metrics_refresh));
  if (!refresh.ok()) return kit::ExitCodeFor(refresh.status());

  const std::string store_spec = absl::GetFlag(FLAGS_store);
  auto db = sotto::sql::OpenDatabase(store_spec, "sotto-reporting");
  if (!db.ok()) {
    return kit::ExitCodeFor(absl::Status(
        db.status().code(), absl::StrCat("--store: ", db.status().message())));
  }
  auto store = reporting::SqlReportingStore::Open(db->get());
  if (!store.ok()) {
    return kit::ExitCodeFor(
        absl::Status(store.status().code(),
                     absl::StrCat("--store: ", store.status().message())));
  }
  if (absl::GetFlag(FLAGS_verify_audit_chain)) return VerifyChain(**store);

  const kit::ChannelTlsOptions tls = kit::ChannelTlsOptionsFromFlags();
  auto credentials = kit::MakeChannelCredentials(tls);
  if (!credentials.ok()) return kit::ExitCodeFor(credentials.status());
  kit::GrpcPolicyClient policy(
      sotto::v1::Policy::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_policy_address), *credentials,
          kit::MakeChannelArguments(tls))),
      *timeout);

  std::set<std::string> ingest_peers;
  for (absl::string_view peer : absl::StrSplit(
           absl::GetFlag(FLAGS_ingest_peers), ',', absl::SkipWhitespace())) {
    ingest_peers.emplace(peer);
  }

  kit::ServerRunner runner(*std::move(options));
  reporting::ReportingMetrics metrics(*runner.metrics_registry());
  reporting::Reporting core(&policy, store->get(), &metrics);
  reporting::ReportingService service(&core, ingest_peers);
  runner.AddService(&service, sotto::v1::Reporting::service_full_name());
  GaugeRefresher refresher(&core, *refresh);
  kit::LogInfo("reporting ready",
               {{"policy", absl::GetFlag(FLAGS_policy_address)},
                {"store", absl::StartsWith(store_spec, "sqlite:")
                              ? store_spec
                              : std::string("postgresql")}});
  return kit::ExitCodeFor(runner.Run());
}
