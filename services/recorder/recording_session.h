// One recording: turns a room's tap (each party's own decoded 20 ms frames)
// into WAV files on the wall clock, applying the tenant's recording policy.
//
// Time: slot k of every file is [start + k*20ms, start + (k+1)*20ms). A tap
// frame's slot is its media time plus an offset fixed when the first frame
// of a tap connection arrives (media time -> wall clock); each connection
// gets a new offset, and the stretch in between is a marked gap. Slots are
// written once the wall clock is `holdback` past them, missing audio as
// silence, so a 60 s call gives a 60 s file whatever the network did. The
// holdback lets late frames and mode annotations (which say when a mode
// took effect) arrive before the audio they govern is written.
//
// Policy, applied when a slot is written:
//  - paused spans are silence on every channel; frames arriving while paused
//    are dropped on arrival, so paused audio is never stored;
//  - a supervisor's audio is kept only while someone hears it (BARGE,
//    TAKEOVER; WHISPER only with keep_whisper_audio) and only on the
//    supervisor's channel; LISTEN, unknown mode or an ended supervision is
//    silence. The customer's channel carries the customer's own audio only;
//  - telephone events are kept in metadata only with keep_telephone_events;
//  - frames of legs nobody told us the role of are dropped.
//
// Thread-safe: the tap reader, the writer tick and RPCs call in on their
// own threads; one mutex guards everything (file I/O included: a tick
// writes at most a few hundred ms of audio).
#ifndef SOTTO_SERVICES_RECORDER_RECORDING_SESSION_H_
#define SOTTO_SERVICES_RECORDER_RECORDING_SESSION_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/recorder/wav_file.h"
#include "sotto/v1/media.pb.h"
#include "sotto/v1/recorder.pb.h"

namespace sotto::recorder {

inline constexpr int kSamplesPerSlot = 160;  // 20 ms at 8 kHz
inline constexpr uint32_t kSampleRateHz = 8000;
inline constexpr absl::Duration kSlot = absl::Milliseconds(20);
// A leg sending nothing for this many slots (1 s) is a marked gap (still
// written as silence).
inline constexpr int64_t kSilentGapSlots = 50;

// What to do with files that would pass the WAV 4 GiB limit.
enum class LargeFiles { kRf64, kSegment };

struct SessionOptions {
  // Files go under storage_root/<Recording.files.path>.
  std::string storage_root;
  LargeFiles large_files = LargeFiles::kRf64;
  // Audio bytes past which a file turns RF64 (kRf64) or the next segment
  // starts (kSegment). Tests make it small.
  uint64_t file_limit_bytes = kWavMaxDataBytes;
  // Channels reserved for supervisors (more supervisors share the last).
  int supervisor_channels = 2;
  absl::Duration holdback = absl::Milliseconds(200);
  // Header rewrite + fdatasync at least this often.
  absl::Duration sync_interval = absl::Milliseconds(500);
};

// A leg the recorder knows: who it is and which channel it is on.
struct LegBinding {
  std::string leg_id;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string user_id;
  int channel = -1;  // global channel (0 customer, 1 agent, 2.. supervisors)
  // The supervision whose mode decides if this leg's audio is kept.
  std::string supervision;
};

// What one Tick/Stop did, for metrics.
struct WriteStats {
  uint64_t bytes_written = 0;
  std::vector<absl::Duration> fsync_latencies;
  int gaps_opened = 0;
  bool index_changed = false;  // files, gaps or spans changed: persist
};

class RecordingSession {
 public:
  // A new recording: creates its files (storage_root/tenant/id/...).
  // `recording` carries name, tenant, call, queue, team, agent_id.
  static absl::StatusOr<std::unique_ptr<RecordingSession>> Create(
      SessionOptions options, v1::Recording recording,
      v1::RecordingPolicy policy, const std::vector<LegBinding>& legs,
      absl::Time now);

  // A recording that was active when the recorder stopped: its unfinished
  // files are repaired (RepairWav) and reopened, and the time since the
  // audio ends is a gap (closed by the next tap frame, or by Stop).
  static absl::StatusOr<std::unique_ptr<RecordingSession>> Reopen(
      SessionOptions options, v1::Recording recording,
      v1::RecordingPolicy policy, const std::vector<LegBinding>& legs,
      const std::string& reason, absl::Time now);

  // Repairs the unfinished files of `recording` and finalises it as
  // RECOVERED without reopening it (no tap to resume from): hashes, sizes,
  // a gap from the end of the audio to `now`.
  static absl::StatusOr<v1::Recording> FinalizeAfterCrash(
      const SessionOptions& options, v1::Recording recording,
      const std::string& reason, absl::Time now);

  // Tap stream events (the TapReader thread).
  void OnTapConnected(absl::Time now);
  void OnTapMessage(const v1::TapMessage& message, absl::Time now);
  void OnTapBroken(const std::string& reason, absl::Time now);

  // RPCs. FAILED_PRECONDITION when the state does not allow it.
  absl::Status Pause(const std::string& reason, absl::Time now);
  absl::Status Resume(absl::Time now);
  absl::Status Annotate(const v1::AnnotateRecordingRequest& request,
                        absl::Time now);
  // Writes everything up to `now`, finishes and hashes the files.
  // `final_state` is FINISHED, or RECOVERED when the room disappeared.
  absl::StatusOr<WriteStats> Stop(
      absl::Time now,
      v1::Recording::State final_state = v1::Recording::FINISHED);

  // After a write error: FAILED, files closed as they are (valid up to the
  // last sync; start-up repair is not needed for them).
  void Fail(absl::Time now);

  // Writes the slots that are due and syncs when the interval has passed.
  absl::StatusOr<WriteStats> Tick(absl::Time now);

  // Rewrites the headers and fdatasync()s now (shutdown).
  absl::Status SyncNow(absl::Time now);

  v1::Recording Snapshot() const;
  std::vector<LegBinding> Legs() const;
  const v1::RecordingPolicy& policy() const { return policy_; }
  bool finished() const;

 private:
  struct PendingFrame {
    int leg = 0;  // index into legs_
    std::array<int16_t, kSamplesPerSlot> samples;
  };
  struct FileSlot {
    std::string kind;           // "all", "customer-agent", "supervisors"
    std::vector<int> channels;  // global channels, in file order
    std::unique_ptr<WavWriter> writer;
    int file_index = -1;  // into recording_.files (current segment)
  };

  RecordingSession(SessionOptions options, v1::Recording recording,
                   v1::RecordingPolicy policy);
  void PlanChannels();
  absl::Status OpenSegment(FileSlot& slot, uint32_t segment);
  absl::Status BindLocked(const LegBinding& leg);
  int FindLegLocked(const std::string& leg_id) const;
  absl::Time SlotTime(int64_t slot) const { return start_ + slot * kSlot; }
  int64_t SlotAt(absl::Time t) const;
  bool PausedAt(absl::Time t) const;
  bool KeepLegAt(int leg, absl::Time t) const;
  void AddGapLocked(absl::Time from, absl::Time to, const std::string& reason,
                    WriteStats* stats);
  void EndSilentRunLocked(int leg, int64_t end_slot, WriteStats* stats);
  absl::Status WriteUntilLocked(int64_t end_slot, WriteStats* stats);
  absl::Status SyncLocked(absl::Time now, WriteStats* stats);
  absl::Status FinishFileLocked(FileSlot& slot);
  void UpdateFileLocked(const FileSlot& slot);
  std::string AbsolutePath(const std::string& relative) const;

  const SessionOptions options_;
  const v1::RecordingPolicy policy_;
  mutable std::mutex mu_;
  v1::Recording recording_;
  absl::Time start_;
  std::vector<FileSlot> files_;
  std::vector<std::string> channel_names_;  // by global channel
  std::vector<v1::Role> channel_roles_;
  std::vector<LegBinding> legs_;
  int supervisor_channels_ = 1;  // reserved when the recording was created
  int next_supervisor_channel_ = 2;
  // Mode timeline per supervision: (when, mode); MODE_UNSPECIFIED = ended.
  std::map<std::string, std::vector<std::pair<absl::Time, v1::Mode>>> modes_;
  std::vector<std::pair<absl::Time, absl::Time>> pauses_;  // end: future
  std::map<int64_t, std::vector<PendingFrame>> pending_;
  int64_t written_ = 0;  // slots written to every file
  // Tap mapping: slot = media slot + offset_, fixed per connection.
  bool mapped_ = false;
  int64_t offset_ = 0;
  int64_t last_slot_ = -1;  // last slot a frame arrived for
  // The tap broke (or the recorder restarted) and no frame has come since.
  bool broken_ = false;
  absl::Time broken_since_;
  std::string broken_reason_;
  absl::Time last_sync_;
  std::map<std::pair<std::string, int64_t>, bool> digits_seen_;
  // Per leg: first slot of its current run of concealed frames (the leg
  // sent nothing); a run of kSilentGapSlots or more is marked as a gap.
  std::map<int, int64_t> concealed_since_;
  // Gaps and rolls since the last Tick/Stop reported them.
  int new_gaps_ = 0;
  bool dirty_ = false;
};

// Hex SHA-256 of a file.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_RECORDING_SESSION_H_
