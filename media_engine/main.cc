// sotto-media: SRTP legs, jitter buffers and mixing by routing matrix.
// Flags and wiring only: the engine lives in engine/, its gRPC adapter in
// control/.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "media_engine/control/broker_registration.h"
#include "media_engine/control/media_metrics.h"
#include "media_engine/control/media_service.h"
#include "media_engine/engine/engine.h"
#include "media_engine/srtp/srtp_library.h"
#include "services/common/client_tls_flags.h"
#include "services/common/logging.h"
#include "services/common/server_runner.h"
#include "services/common/service_main.h"

ABSL_FLAG(std::string, engine_id, "media-0",
          "Stable id of this engine (the pod name in Kubernetes).");
ABSL_FLAG(std::string, media_bind_ip, "0.0.0.0",
          "Local address media sockets bind to.");
ABSL_FLAG(std::string, media_ip, "127.0.0.1",
          "Address remote endpoints are told to send media to (the public "
          "address behind NAT or hostNetwork).");
ABSL_FLAG(int, port_min, 20000, "First UDP port of the media range.");
ABSL_FLAG(int, port_max, 29999, "Last UDP port of the media range.");
ABSL_FLAG(int, workers, 0, "Media worker threads (0: one per core).");
ABSL_FLAG(int, capacity_rooms, 2000, "Rooms this engine accepts at most.");
ABSL_FLAG(int, coalesce_us, 0,
          "Under load, a worker naps this long before polling so one wake-up "
          "handles many packets (adds at most this much delay). 0: off.");
ABSL_FLAG(std::string, srtp_crypto, "openssl",
          "Where libsrtp's AES-CM and HMAC-SHA1 come from: openssl (fast, no "
          "per-packet lock or allocation) or library (libsrtp's own build, "
          "NSS on Debian). SRTP itself is libsrtp's either way.");
ABSL_FLAG(std::string, broker_address, "",
          "host:port of the broker's EngineRegistry; when set, the engine "
          "registers there and heartbeats. Empty: no registration.");
ABSL_FLAG(std::string, control_address, "",
          "host:port the broker reaches this engine's control API at. Empty: "
          "the --grpc_address host (or --media_ip when it is a wildcard) and "
          "the bound gRPC port.");

int main(int argc, char** argv) {
  namespace kit = sotto::service_kit;
  kit::ServiceInfo info;
  info.name = "media";
  info.description = "SRTP legs, jitter buffers and mixing by routing matrix.";
  info.default_grpc_port = 7102;
  info.default_metrics_port = 9102;
  // Live calls are let finish on SIGTERM; Kubernetes' grace period bounds it.
  info.default_drain_deadline = absl::Hours(1);
  absl::StatusOr<kit::ServerOptions> options =
      kit::InitService(argc, argv, info);
  if (!options.ok()) return kit::ExitCodeFor(options.status());

  const absl::optional<sotto::media::srtp::SrtpCryptoBackend> srtp_crypto =
      sotto::media::srtp::ParseSrtpCryptoBackend(
          absl::GetFlag(FLAGS_srtp_crypto));
  if (!srtp_crypto.has_value()) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(
        absl::StrCat("--srtp_crypto must be openssl or library; got \"",
                     absl::GetFlag(FLAGS_srtp_crypto), "\"")));
  }
  absl::Status srtp = sotto::media::srtp::InitSrtpLibrary(*srtp_crypto);
  if (!srtp.ok()) return kit::ExitCodeFor(srtp);
  const int port_min = absl::GetFlag(FLAGS_port_min);
  const int port_max = absl::GetFlag(FLAGS_port_max);
  if (port_min < 1024 || port_max > 65535 || port_max < port_min + 1) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(absl::StrCat(
        "--port_min/--port_max must be a range within 1024-65535; got ",
        port_min, "-", port_max)));
  }
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 0 || workers > 256) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(absl::StrCat(
        "--workers must be 0 (one per core) to 256; got ", workers)));
  }
  const int capacity_rooms = absl::GetFlag(FLAGS_capacity_rooms);
  if (capacity_rooms < 1) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(absl::StrCat(
        "--capacity_rooms must be at least 1; got ", capacity_rooms)));
  }
  const int coalesce_us = absl::GetFlag(FLAGS_coalesce_us);
  if (coalesce_us < 0 || coalesce_us > 10'000) {
    return kit::ExitCodeFor(absl::InvalidArgumentError(absl::StrCat(
        "--coalesce_us must be 0 (off) to 10000; got ", coalesce_us)));
  }
  sotto::media::EngineOptions engine_options;
  engine_options.engine_id = absl::GetFlag(FLAGS_engine_id);
  engine_options.bind_ip = absl::GetFlag(FLAGS_media_bind_ip);
  engine_options.media_ip = absl::GetFlag(FLAGS_media_ip);
  engine_options.port_min = static_cast<uint16_t>(port_min);
  engine_options.port_max = static_cast<uint16_t>(port_max);
  engine_options.workers =
      workers > 0
          ? workers
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  engine_options.capacity_rooms = capacity_rooms;
  engine_options.coalesce_us = coalesce_us;

  // The host part of --grpc_address, for the address the broker is given.
  std::string grpc_host = options->grpc_address;
  grpc_host = grpc_host.substr(0, grpc_host.rfind(':'));
  // The control API and the PCM tap trust their callers (the broker and the
  // recorder): say so loudly when anyone on the network could call them.
  const bool loopback = grpc_host == "127.0.0.1" || grpc_host == "[::1]" ||
                        grpc_host == "localhost";
  if (!options->tls.mutual() && !loopback) {
    kit::LogWarning(
        "the media control API and PCM tap (live call audio) are served "
        "without mutual TLS on a non-loopback address: anyone who can reach "
        "this port can add legs and listen to calls. Use --tls_cert_file, "
        "--tls_key_file and --tls_client_ca_file, or bind --grpc_address to "
        "loopback",
        {{"grpc_address", options->grpc_address}});
  }
  if (grpc_host.empty() || grpc_host == "0.0.0.0" || grpc_host == "[::]") {
    grpc_host = engine_options.media_ip;
  }
  std::shared_ptr<grpc::ChannelCredentials> broker_credentials;
  const kit::ChannelTlsOptions broker_tls = kit::ChannelTlsOptionsFromFlags();
  if (!absl::GetFlag(FLAGS_broker_address).empty()) {
    auto credentials = kit::MakeChannelCredentials(broker_tls);
    if (!credentials.ok()) return kit::ExitCodeFor(credentials.status());
    broker_credentials = *credentials;
  }

  sotto::media::Engine engine(engine_options);
  sotto::media::MediaService service(&engine);
  kit::ServerRunner runner(*std::move(options));
  std::unique_ptr<sotto::media::BrokerRegistration> registration;
  if (broker_credentials != nullptr) {
    runner.AddStartHook([&](int grpc_port) {
      sotto::media::BrokerRegistrationOptions reg;
      reg.engine_id = engine_options.engine_id;
      reg.control_address = absl::GetFlag(FLAGS_control_address);
      if (reg.control_address.empty()) {
        reg.control_address = absl::StrCat(grpc_host, ":", grpc_port);
      }
      reg.media_address = engine_options.media_ip;
      reg.capacity_rooms = engine_options.capacity_rooms;
      registration = std::make_unique<sotto::media::BrokerRegistration>(
          sotto::v1::EngineRegistry::NewStub(grpc::CreateCustomChannel(
              absl::GetFlag(FLAGS_broker_address), broker_credentials,
              kit::MakeChannelArguments(broker_tls))),
          reg, [&engine] {
            const sotto::media::EngineStatus status = engine.Status();
            sotto::media::EngineLoad load;
            load.active_rooms = status.active_rooms;
            load.draining = status.draining;
            return load;
          });
      registration->Start();
    });
  }
  sotto::media::MediaMetrics metrics(&engine, *runner.metrics_registry());
  runner.AddService(&service, "sotto.v1.MediaEngine");
  runner.AddDrainHook([&engine, &service, &registration](absl::Time deadline) {
    // No new rooms; live calls keep mixing until they end or time runs out.
    int remaining = engine.StartDrain();
    // Tell the broker at once (it places no new call here), and keep
    // heartbeating while the calls go on: an engine that went quiet would
    // be declared dead after one lease and its live calls failed.
    if (registration != nullptr) registration->BeatNow();
    kit::LogInfo("draining: waiting for live rooms to end",
                 {{"rooms", std::to_string(remaining)}});
    while (remaining > 0 && absl::Now() < deadline - absl::Seconds(1)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      remaining = engine.Status().active_rooms;
    }
    if (remaining > 0) {
      kit::LogWarning("drain deadline reached; ending remaining rooms",
                      {{"rooms", std::to_string(remaining)}});
    }
    service.Shutdown();
    engine.DeleteAllRooms();
  });
  // After the rooms: the last heartbeat says draining, then the thread stops.
  runner.AddDrainHook([&registration](absl::Time) {
    if (registration != nullptr) registration->Stop();
  });
  kit::LogInfo("media engine ready",
               {{"engine_id", engine_options.engine_id},
                {"media_ip", engine_options.media_ip},
                {"ports", absl::StrCat(port_min, "-", port_max)},
                {"workers", std::to_string(engine_options.workers)}});
  return kit::ExitCodeFor(runner.Run());
}
