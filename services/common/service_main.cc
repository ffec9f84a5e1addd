#include "services/common/service_main.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/logging.h"
#include "services/common/signals.h"

ABSL_FLAG(std::string, grpc_address, "",
          "gRPC listen address host:port. Empty: 0.0.0.0 and the service's "
          "default port (see above). Port 0 picks a free port.");
ABSL_FLAG(std::string, metrics_address, "",
          "Prometheus /metrics listen address host:port. Empty: 0.0.0.0 and "
          "the service's default metrics port. Port 0 picks a free port.");
ABSL_FLAG(std::string, ready_file, "",
          "Once serving, write {\"grpc_port\":N,\"metrics_port\":M,\"pid\":P} "
          "here (atomically); removed when the drain starts.");
ABSL_FLAG(std::string, log_format, "text", "Log line format: text or json.");
ABSL_FLAG(std::string, log_level, "info",
          "Lowest level logged: debug, info, warning or error.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for the gRPC server. With --tls_key_file: "
          "serve TLS. Empty: plaintext.");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key for --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle. Set: mutual TLS, every client must present a "
          "certificate signed by this CA.");
// Durations are string flags parsed with absl::ParseDuration ("1s", "500ms")
// rather than absl::Duration flags: Abseil reads 12-byte flag values through
// a seqlock fence that GCC's ThreadSanitizer cannot model (-Wtsan), which
// would break --config=tsan builds.
ABSL_FLAG(std::string, drain_grace, "0s",
          "On SIGTERM, keep serving this long with health NOT_SERVING so "
          "load balancers notice before new RPCs are refused.");
ABSL_FLAG(std::string, drain_deadline, "",
          "After the grace, how long drain hooks and in-flight RPCs may take "
          "before the rest is cancelled. Empty: the service's default (10s; "
          "1h for the media engine, which lets live calls end).");

namespace sotto::service_kit {
namespace {

// Our flags, as opposed to those of Abseil or gRPC: shown by --help and
// logged at start-up.
bool IsSottoFlagFile(absl::string_view filename) {
  return absl::StrContains(filename, "services/") ||
         absl::StrContains(filename, "media_engine/");
}

std::string AddressOrDefault(const std::string& flag_value, int port) {
  if (!flag_value.empty()) return flag_value;
  return absl::StrCat("0.0.0.0:", port);
}

// Flags whose value differs from the default, as log fields; secret-named
// ones are redacted by LogField. Sorted so lines compare across restarts.
std::vector<LogField> ChangedFlags() {
  std::vector<std::pair<std::string, std::string>> changed;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsSottoFlagFile(flag->Filename())) continue;
    const std::string value = flag->CurrentValue();
    if (value != flag->DefaultValue()) {
      changed.emplace_back(std::string(name), value);
    }
  }
  std::sort(changed.begin(), changed.end());
  std::vector<LogField> fields;
  fields.reserve(changed.size());
  for (const auto& [name, value] : changed) fields.emplace_back(name, value);
  return fields;
}

}  // namespace

absl::StatusOr<ServerOptions> InitService(int argc, char** argv,
                                          const ServiceInfo& info) {
  // Before anything else: gRPC and prometheus-cpp threads inherit the mask.
  absl::Status blocked = BlockTerminationSignals();
  if (!blocked.ok()) return blocked;

  absl::SetProgramUsageMessage(absl::StrCat(
      info.description, "\nDefault ports: gRPC ", info.default_grpc_port,
      ", metrics ", info.default_metrics_port,
      ".\nSIGTERM or SIGINT drains: health NOT_SERVING, --drain_grace, then "
      "in-flight RPCs get --drain_deadline."));
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsSottoFlagFile;
  usage.contains_helpshort_flags = IsSottoFlagFile;
  absl::SetFlagsUsageConfig(usage);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);

  LoggingOptions logging;
  logging.service = info.name;
  InitLogging(logging);  // Text until the flags are known good.
  if (positional.size() > 1) {
    std::vector<std::string> extra(positional.begin() + 1, positional.end());
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected arguments: ", absl::StrJoin(extra, " "),
                     " (flags are --name=value; see --help)"));
  }
  absl::StatusOr<LogFormat> format =
      ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) return format.status();
  absl::StatusOr<LogLevel> level =
      ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return level.status();
  logging.format = *format;
  logging.level = *level;
  InitLogging(logging);

  ServerOptions options;
  options.service_name = info.name;
  options.grpc_address = AddressOrDefault(absl::GetFlag(FLAGS_grpc_address),
                                          info.default_grpc_port);
  options.metrics_address = AddressOrDefault(
      absl::GetFlag(FLAGS_metrics_address), info.default_metrics_port);
  options.ready_file = absl::GetFlag(FLAGS_ready_file);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  absl::StatusOr<absl::Duration> grace =
      ParseDurationFlag("drain_grace", absl::GetFlag(FLAGS_drain_grace),
                        /*allow_zero=*/true);
  if (!grace.ok()) return grace.status();
  const std::string deadline_flag = absl::GetFlag(FLAGS_drain_deadline);
  absl::StatusOr<absl::Duration> deadline =
      deadline_flag.empty()
          ? absl::StatusOr<absl::Duration>(info.default_drain_deadline)
          : ParseDurationFlag("drain_deadline", deadline_flag,
                              /*allow_zero=*/true);
  if (!deadline.ok()) return deadline.status();
  options.drain_grace = *grace;
  options.drain_deadline = *deadline;
  options.startup_log_fields = ChangedFlags();
  return options;
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return 0;
  LogError("cannot run", {{"error", status}});
  return 1;
}

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view name,
                                                 const std::string& value,
                                                 bool allow_zero) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration() ||
      (!allow_zero && d == absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a ", allow_zero ? "" : "positive ",
                     "duration (\"10s\"), got \"", value, "\""));
  }
  return d;
}

}  // namespace sotto::service_kit
