// The recorder's logic behind the sotto.v1.Recorder RPCs: the live
// recordings (a RecordingSession and a TapReader each), the index, access
// checks through the policy service, download, retention, and start-up
// recovery of recordings a crash left unfinished. No gRPC server types
// here: recorder_service.h adapts it.
#ifndef SOTTO_SERVICES_RECORDER_RECORDER_H_
#define SOTTO_SERVICES_RECORDER_RECORDER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/policy_client.h"
#include "services/recorder/recording_session.h"
#include "services/recorder/recording_store.h"
#include "services/recorder/tap_reader.h"
#include "sotto/v1/recorder.pb.h"

namespace sotto::recorder {

struct RecorderOptions {
  SessionOptions session;
  TapReaderOptions tap;
  // How often live recordings write due audio (and sync when due).
  absl::Duration tick = absl::Milliseconds(20);
  // How often retention runs by itself (zero: only by ApplyRetention).
  absl::Duration retention_interval = absl::Hours(1);
  // At start-up, resume recordings whose room the engine still carries
  // (the downtime is a marked gap); otherwise finalise them as RECOVERED.
  bool resume_after_restart = true;
  // Injected for tests (retention ages).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The sotto_recorder_* metrics.
struct RecorderMetrics {
  explicit RecorderMetrics(prometheus::Registry& registry);
  prometheus::Gauge* active;
  prometheus::Counter* bytes_written;
  prometheus::Histogram* fsync_seconds;
  prometheus::Counter* gaps;
  prometheus::Family<prometheus::Counter>* failures;
  void Failure(const std::string& stage);
};

// Thread-safe.
class Recorder {
 public:
  Recorder(RecordingStore* store, TapSource* taps,
           service_kit::PolicyClient* policy, prometheus::Registry& registry,
           RecorderOptions options);
  // Shutdown().
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Repairs every unfinished recording in the index and resumes or
  // finalises it; then starts the writer and retention threads. Errors are
  // per recording (logged, counted, the recording marked FAILED) unless the
  // index itself cannot be read.
  absl::Status Start();
  // Writes and syncs what is due, stops reading taps and the threads.
  // Live recordings stay ACTIVE in the index: the next Start() resumes them.
  void Shutdown();

  // Control (internal).
  absl::StatusOr<v1::Recording> StartRecording(
      const v1::StartRecordingRequest& request);
  absl::StatusOr<v1::Recording> StopRecording(
      const v1::StopRecordingRequest& request);
  absl::StatusOr<v1::Recording> PauseRecording(
      const v1::PauseRecordingRequest& request);
  absl::StatusOr<v1::Recording> ResumeRecording(
      const v1::ResumeRecordingRequest& request);
  absl::StatusOr<v1::Recording> AnnotateRecording(
      const v1::AnnotateRecordingRequest& request);
  absl::StatusOr<v1::ApplyRetentionResponse> ApplyRetention(
      const v1::ApplyRetentionRequest& request);

  // Reads (public): `token` is the caller's bearer token.
  absl::StatusOr<v1::Recording> GetRecording(
      const std::string& token, const v1::GetRecordingRequest& request);
  absl::StatusOr<v1::ListRecordingsResponse> ListRecordings(
      const std::string& token, const v1::ListRecordingsRequest& request);
  // Calls `write` with the metadata message, then the chunks; stops early
  // (CANCELLED) when it returns false.
  absl::Status DownloadRecording(
      const std::string& token, const v1::DownloadRecordingRequest& request,
      const std::function<bool(const v1::DownloadRecordingResponse&)>& write);

  // Writes what is due in every live recording (the writer thread's work;
  // tests call it directly).
  void TickAll();

 private:
  struct Live {
    std::unique_ptr<RecordingSession> session;
    std::unique_ptr<TapReader> reader;
    std::string engine_address;
    std::string room_id;
  };

  absl::Time Now() const { return options_.clock(); }
  std::shared_ptr<Live> FindLive(const std::string& name);
  absl::Status Persist(const Live& live);
  void StartReader(const std::shared_ptr<Live>& live);
  void OnRoomGone(const std::string& name, const absl::Status& why);
  absl::StatusOr<v1::Recording> Finish(const std::string& name,
                                       v1::Recording::State state);
  absl::StatusOr<v1::Principal> Authenticate(const std::string& token);
  // Who reads, and what: authenticated, same tenant (else NOT_FOUND),
  // authorised (else PERMISSION_DENIED, audited ACCESS_DENIED by `method`).
  struct Access {
    v1::Principal principal;
    v1::Recording recording;
  };
  absl::StatusOr<Access> ReadAccess(const std::string& token,
                                    const std::string& name,
                                    const std::string& method);
  absl::Status CheckRead(const v1::Principal& principal,
                         const v1::Recording& recording);
  absl::StatusOr<StoredRecording> Load(const std::string& tenant,
                                       const std::string& id);
  void AuditEvent(const v1::Recording& recording, v1::EventType type,
                  const std::string& subject, const std::string& detail);
  absl::Status Recover(const StoredRecording& stored);
  void WriterLoop();
  void RetentionLoop();
  // Pause/Resume/Annotate: a change to a live recording, persisted,
  // idempotent by request_id, audited as `audit` (UNSPECIFIED: not).
  // FAILED_PRECONDITION "<name> is <state><not_live>" when not live.
  absl::StatusOr<v1::Recording> MutateLive(
      const std::string& name, const std::string& method,
      const std::string& request_id, const std::string& not_live,
      const std::function<absl::Status(RecordingSession&)>& change,
      v1::EventType audit, const std::string& detail);
  // Idempotent mutations: the remembered answer for (method, request_id),
  // else run `body` and remember its answer.
  absl::StatusOr<v1::Recording> Idempotent(
      const std::string& tenant, const std::string& method,
      const std::string& request_id,
      const std::function<absl::StatusOr<v1::Recording>()>& body);

  RecordingStore* const store_;
  TapSource* const taps_;
  service_kit::PolicyClient* const policy_;
  RecorderMetrics metrics_;
  const RecorderOptions options_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Live>> live_;  // by name
  std::mutex start_mu_;  // one StartRecording at a time (per-call dedupe)
  std::mutex threads_mu_;
  std::condition_variable threads_cv_;
  bool stopping_ = false;  // guarded by threads_mu_
  std::thread writer_;
  std::thread retention_;
};

// "tenants/{t}/recordings/{id}" -> (t, id); INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::pair<std::string, std::string>> ParseRecordingName(
    const std::string& name, const std::string& field = "name");

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_RECORDER_H_
