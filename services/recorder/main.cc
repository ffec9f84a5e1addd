// sotto-recorder: compliant, crash-safe multichannel recordings of
// supervised calls (sotto.v1.Recorder). Flags and wiring only: the logic is
// Recorder (recorder.h), the files RecordingSession and WavWriter, the index
// SqlRecordingStore, the gRPC adapter RecorderService.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "services/common/client_tls_flags.h"
#include "services/common/logging.h"
#include "services/common/policy_client.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"
#include "services/common/sql/open_database.h"
#include "services/recorder/recorder.h"
#include "services/recorder/recorder_service.h"
#include "services/recorder/sql_recording_store.h"
#include "services/recorder/tap_reader.h"
#include "sotto/v1/recorder.grpc.pb.h"

ABSL_FLAG(std::string, policy_address, "127.0.0.1:7101",
          "host:port of the sotto.v1.Policy service (recording access checks "
          "and the tenants' current retention).");
ABSL_FLAG(std::string, store, "sqlite:var/recorder/index.db",
          "Where the index is kept: sqlite:PATH (embedded, one file) or a "
          "PostgreSQL connection string (postgresql://... or key=value).");
ABSL_FLAG(std::string, storage_root, "var/recorder/files",
          "Folder the audio files are written under "
          "(<tenant>/<recording>/<kind>-<segment>.wav).");
ABSL_FLAG(std::string, large_files, "rf64",
          "What a file that would pass the WAV 4 GiB limit does: \"rf64\" "
          "(the header turns RF64) or \"segment\" (a new file starts).");
ABSL_FLAG(uint64_t, file_limit_bytes, 0,
          "Audio bytes per file before --large_files applies; 0 = the WAV "
          "limit (just under 4 GiB). Small values are for tests.");
ABSL_FLAG(int32_t, supervisor_channels, 2,
          "Channels reserved for supervisors in each recording (more "
          "supervisors share the last one).");
// Durations are string flags, as in the service kit (see policy/main.cc).
ABSL_FLAG(std::string, sync_interval, "500ms",
          "Header rewrite + fdatasync of every live file at least this often "
          "(at most 1s: a crash loses at most this plus --holdback).");
ABSL_FLAG(std::string, holdback, "200ms",
          "Audio is written this long after it happened, so late frames and "
          "mode annotations arrive before the audio they govern.");
ABSL_FLAG(std::string, retention_interval, "1h",
          "How often retention runs by itself; 0 = only on ApplyRetention.");
ABSL_FLAG(std::string, room_gone_timeout, "30s",
          "A recording whose room the engine no longer has for this long "
          "finishes by itself (the broker did not stop it).");
ABSL_FLAG(bool, resume_after_restart, true,
          "At start-up, resume recordings whose room still exists (the "
          "downtime is a marked gap) instead of finalising them.");
ABSL_FLAG(std::string, rpc_timeout, "5s",
          "Deadline of each call to the policy service and media engines.");

int main(int argc, char** argv) {
  namespace kit = sotto::service_kit;
  namespace rec = sotto::recorder;
  kit::ServiceInfo info;
  info.name = "recorder";
  info.description = "multi-channel recordings of supervised calls.";
  info.default_grpc_port = 7103;
  info.default_metrics_port = 9103;
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  rec::RecorderOptions recorder_options;
  auto sync = kit::ParseDurationFlag("sync_interval",
                                     absl::GetFlag(FLAGS_sync_interval));
  auto holdback =
      kit::ParseDurationFlag("holdback", absl::GetFlag(FLAGS_holdback), true);
  auto retention = kit::ParseDurationFlag(
      "retention_interval", absl::GetFlag(FLAGS_retention_interval), true);
  auto gone = kit::ParseDurationFlag("room_gone_timeout",
                                     absl::GetFlag(FLAGS_room_gone_timeout));
  auto timeout =
      kit::ParseDurationFlag("rpc_timeout", absl::GetFlag(FLAGS_rpc_timeout));
  for (const absl::Status& status :
       {sync.status(), holdback.status(), retention.status(), gone.status(),
        timeout.status()}) {
    if (!status.ok()) return kit::ExitCodeFor(status);
  }
  if (*sync > absl::Seconds(1)) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(
        "--sync_interval must be at most 1s (a crash may lose that much)"));
  }
  const std::string large_files = absl::GetFlag(FLAGS_large_files);
  if (large_files != "rf64" && large_files != "segment") {
    return kit::ExitCodeFor(absl::InvalidArgumentError(
        absl::StrCat("--large_files must be \"rf64\" or \"segment\", got \"",
                     large_files, "\"")));
  }
  if (absl::GetFlag(FLAGS_supervisor_channels) < 1) {
    return kit::ExitCodeFor(
        absl::InvalidArgumentError("--supervisor_channels must be at least 1"));
  }
  rec::SessionOptions& session = recorder_options.session;
  session.storage_root = absl::GetFlag(FLAGS_storage_root);
  session.large_files = large_files == "rf64" ? rec::LargeFiles::kRf64
                                              : rec::LargeFiles::kSegment;
  if (absl::GetFlag(FLAGS_file_limit_bytes) > 0) {
    session.file_limit_bytes = absl::GetFlag(FLAGS_file_limit_bytes);
  }
  session.supervisor_channels = absl::GetFlag(FLAGS_supervisor_channels);
  session.sync_interval = *sync;
  session.holdback = *holdback;
  recorder_options.retention_interval = *retention;
  recorder_options.tap.room_gone_timeout = *gone;
  recorder_options.resume_after_restart =
      absl::GetFlag(FLAGS_resume_after_restart);
  std::error_code error;
  std::filesystem::create_directories(session.storage_root, error);
  if (error) {
    return kit::ExitCodeFor(absl::FailedPreconditionError(
        absl::StrCat("--storage_root ", session.storage_root,
                     " cannot be created: ", error.message())));
  }

  const kit::ChannelTlsOptions tls = kit::ChannelTlsOptionsFromFlags();
  auto credentials = kit::MakeChannelCredentials(tls);
  if (!credentials.ok()) return kit::ExitCodeFor(credentials.status());

  const std::string store_spec = absl::GetFlag(FLAGS_store);
  auto db = sotto::sql::OpenDatabase(store_spec, "sotto-recorder");
  if (!db.ok()) {
    return kit::ExitCodeFor(absl::Status(
        db.status().code(), absl::StrCat("--store: ", db.status().message())));
  }
  auto store = rec::SqlRecordingStore::Open(db->get());
  if (!store.ok()) {
    return kit::ExitCodeFor(
        absl::Status(store.status().code(),
                     absl::StrCat("--store: ", store.status().message())));
  }

  kit::GrpcPolicyClient policy(
      sotto::v1::Policy::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_policy_address), *credentials,
          kit::MakeChannelArguments(tls))),
      *timeout);
  rec::GrpcTapSource taps(*credentials, kit::MakeChannelArguments(tls),
                          *timeout);
  kit::ServerRunner runner(*std::move(options));
  rec::Recorder recorder(store->get(), &taps, &policy,
                         *runner.metrics_registry(), recorder_options);
  // Crash repair comes first: every unfinished file is valid again before
  // the service answers anything.
  if (absl::Status status = recorder.Start(); !status.ok()) {
    return kit::ExitCodeFor(status);
  }
  rec::RecorderService service(&recorder);
  runner.AddService(&service, sotto::v1::Recorder::service_full_name());
  runner.AddDrainHook([&recorder](absl::Time) { recorder.Shutdown(); });
  kit::LogInfo("recorder ready",
               {{"policy", absl::GetFlag(FLAGS_policy_address)},
                {"storage_root", session.storage_root},
                {"store", absl::StartsWith(store_spec, "sqlite:")
                              ? store_spec
                              : std::string("postgresql")}});
  return kit::ExitCodeFor(runner.Run());
}
