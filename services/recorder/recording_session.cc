#include "services/recorder/recording_session.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/recorder/proto_time.h"

namespace sotto::recorder {
namespace {

constexpr int kCustomerChannel = 0;
constexpr int kAgentChannel = 1;
constexpr int kFirstSupervisorChannel = 2;

int16_t SaturatingAdd(int16_t a, int16_t b) {
  const int32_t sum = int32_t{a} + int32_t{b};
  return static_cast<int16_t>(std::clamp<int32_t>(sum, -32768, 32767));
}

// "tenants/{t}/recordings/{id}" -> id.
std::string RecordingId(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  return parts.empty() ? name : parts.back();
}

v1::RecordingPolicy::Layout LayoutOf(const v1::RecordingPolicy& policy) {
  return policy.layout() == v1::RecordingPolicy::LAYOUT_UNSPECIFIED
             ? v1::RecordingPolicy::MULTICHANNEL
             : policy.layout();
}

// Supervisor channels of a recording as created: counted on segment 0.
int SupervisorChannelsOf(const v1::Recording& recording) {
  int count = 0;
  for (const v1::Recording::Channel& c : recording.channels()) {
    if (c.file() < static_cast<uint32_t>(recording.files_size()) &&
        recording.files(static_cast<int>(c.file())).segment() == 0 &&
        c.role() == v1::ROLE_SUPERVISOR) {
      ++count;
    }
  }
  return count;
}

absl::Duration AudioLength(uint64_t frames) {
  return absl::Microseconds(static_cast<int64_t>(frames) * 1'000'000 /
                            kSampleRateHz);
}

}  // namespace

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<unsigned char> buffer(1 << 16);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    EVP_DigestUpdate(ctx, buffer.data(), n);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  if (failed) return absl::InternalError(absl::StrCat("read error on ", path));
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppendFormat(&hex, "%02x", digest[i]);
  }
  return hex;
}

RecordingSession::RecordingSession(SessionOptions options,
                                   v1::Recording recording,
                                   v1::RecordingPolicy policy)
    : options_(std::move(options)),
      policy_(std::move(policy)),
      recording_(std::move(recording)) {}

std::string RecordingSession::AbsolutePath(const std::string& relative) const {
  return (std::filesystem::path(options_.storage_root) / relative).string();
}

void RecordingSession::PlanChannels() {
  const int supervisors = std::max(1, supervisor_channels_);
  channel_names_ = {"customer", "agent"};
  channel_roles_ = {v1::ROLE_CUSTOMER, v1::ROLE_AGENT};
  for (int i = 1; i <= supervisors; ++i) {
    channel_names_.push_back(absl::StrCat("supervisor-", i));
    channel_roles_.push_back(v1::ROLE_SUPERVISOR);
  }
  files_.clear();
  std::vector<int> supervisor_channels;
  for (int c = kFirstSupervisorChannel;
       c < static_cast<int>(channel_names_.size()); ++c) {
    supervisor_channels.push_back(c);
  }
  if (LayoutOf(policy_) == v1::RecordingPolicy::STEREO_PLUS_SUPERVISOR_FILE) {
    files_.push_back(FileSlot{
        "customer-agent", {kCustomerChannel, kAgentChannel}, nullptr, -1});
    files_.push_back(FileSlot{"supervisors", supervisor_channels, nullptr, -1});
  } else {
    std::vector<int> all = {kCustomerChannel, kAgentChannel};
    all.insert(all.end(), supervisor_channels.begin(),
               supervisor_channels.end());
    files_.push_back(FileSlot{"all", all, nullptr, -1});
  }
}

absl::Status RecordingSession::OpenSegment(FileSlot& slot, uint32_t segment) {
  const std::string relative =
      absl::StrFormat("%s/%s/%s-%02d.wav", recording_.tenant(),
                      RecordingId(recording_.name()), slot.kind, segment);
  const std::string path = AbsolutePath(relative);
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(),
                                      error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create the folder of ",
                                            path, ": ", error.message()));
  }
  const uint64_t rf64_threshold = options_.large_files == LargeFiles::kRf64
                                      ? options_.file_limit_bytes
                                      : kWavMaxDataBytes;
  auto writer =
      WavWriter::Create(path, static_cast<uint16_t>(slot.channels.size()),
                        kSampleRateHz, rf64_threshold);
  if (!writer.ok()) return writer.status();
  slot.writer = *std::move(writer);
  slot.file_index = recording_.files_size();
  v1::Recording::File* file = recording_.add_files();
  file->set_path(relative);
  file->set_format("wav");
  file->set_channels(static_cast<uint32_t>(slot.channels.size()));
  file->set_sample_rate_hz(kSampleRateHz);
  file->set_bytes(slot.writer->file_bytes());
  *file->mutable_duration() = ToProtoDuration(absl::ZeroDuration());
  file->set_segment(segment);
  for (size_t i = 0; i < slot.channels.size(); ++i) {
    const int global = slot.channels[i];
    v1::Recording::Channel* channel = recording_.add_channels();
    channel->set_index(static_cast<uint32_t>(i));
    channel->set_file(static_cast<uint32_t>(slot.file_index));
    channel->set_participant(channel_names_[global]);
    channel->set_role(channel_roles_[global]);
    for (const LegBinding& leg : legs_) {
      if (leg.channel == global && !leg.user_id.empty()) {
        channel->set_user_id(leg.user_id);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RecordingSession>> RecordingSession::Create(
    SessionOptions options, v1::Recording recording, v1::RecordingPolicy policy,
    const std::vector<LegBinding>& legs, absl::Time now) {
  std::unique_ptr<RecordingSession> session(new RecordingSession(
      std::move(options), std::move(recording), std::move(policy)));
  RecordingSession& s = *session;
  s.supervisor_channels_ = std::max(1, s.options_.supervisor_channels);
  s.start_ = now;
  s.last_sync_ = now;
  s.recording_.set_state(v1::Recording::ACTIVE);
  s.recording_.set_layout(LayoutOf(s.policy_));
  s.recording_.set_whisper_audio_kept(s.policy_.keep_whisper_audio());
  *s.recording_.mutable_start_time() = ToProtoTime(now);
  s.PlanChannels();
  std::lock_guard<std::mutex> lock(s.mu_);
  for (const LegBinding& leg : legs) {
    if (absl::Status status = s.BindLocked(leg); !status.ok()) return status;
  }
  for (FileSlot& slot : s.files_) {
    if (absl::Status status = s.OpenSegment(slot, 0); !status.ok()) {
      return status;
    }
  }
  return session;
}

absl::StatusOr<std::unique_ptr<RecordingSession>> RecordingSession::Reopen(
    SessionOptions options, v1::Recording recording, v1::RecordingPolicy policy,
    const std::vector<LegBinding>& legs, const std::string& reason,
    absl::Time now) {
  std::unique_ptr<RecordingSession> session(new RecordingSession(
      std::move(options), std::move(recording), std::move(policy)));
  RecordingSession& s = *session;
  std::lock_guard<std::mutex> lock(s.mu_);
  s.supervisor_channels_ = SupervisorChannelsOf(s.recording_);
  s.start_ = FromProtoTime(s.recording_.start_time());
  s.last_sync_ = now;
  s.PlanChannels();
  s.legs_ = legs;
  for (const LegBinding& leg : legs) {
    if (leg.channel >= s.next_supervisor_channel_) {
      s.next_supervisor_channel_ = leg.channel + 1;
    }
  }
  for (const v1::Recording::ModeSpan& span : s.recording_.mode_spans()) {
    auto& timeline = s.modes_[span.supervision()];
    timeline.emplace_back(FromProtoTime(span.range().start_time()),
                          span.mode());
    if (span.range().has_end_time()) {
      timeline.emplace_back(FromProtoTime(span.range().end_time()),
                            v1::MODE_UNSPECIFIED);
    }
  }
  for (auto& [supervision, timeline] : s.modes_) {
    std::stable_sort(
        timeline.begin(), timeline.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  for (const v1::TimeRange& pause : s.recording_.pauses()) {
    s.pauses_.emplace_back(FromProtoTime(pause.start_time()),
                           pause.has_end_time()
                               ? FromProtoTime(pause.end_time())
                               : absl::InfiniteFuture());
  }
  // Each slot's current file is its last segment; earlier ones were
  // finished (and hashed) when they rolled over, unless the crash came in
  // between.
  uint64_t max_frames = 0;
  for (FileSlot& slot : s.files_) {
    for (int i = 0; i < s.recording_.files_size(); ++i) {
      if (absl::StrContains(s.recording_.files(i).path(),
                            absl::StrCat("/", slot.kind, "-"))) {
        slot.file_index = i;
      }
    }
    if (slot.file_index < 0) {
      return absl::DataLossError(absl::StrCat(s.recording_.name(), ": no ",
                                              slot.kind, " file in the index"));
    }
    for (int i = 0; i < s.recording_.files_size(); ++i) {
      v1::Recording::File* file = s.recording_.mutable_files(i);
      if (i == slot.file_index || !file->sha256().empty() ||
          !absl::StrContains(file->path(), absl::StrCat("/", slot.kind, "-"))) {
        continue;
      }
      auto info = RepairWav(s.AbsolutePath(file->path()));
      if (!info.ok()) return info.status();
      auto hash = Sha256File(s.AbsolutePath(file->path()));
      if (!hash.ok()) return hash.status();
      file->set_sha256(*hash);
      file->set_bytes(info->data_offset + info->data_bytes);
      *file->mutable_duration() = ToProtoDuration(AudioLength(info->frames()));
    }
    const std::string path =
        s.AbsolutePath(s.recording_.files(slot.file_index).path());
    auto info = RepairWav(path, s.options_.large_files == LargeFiles::kRf64
                                    ? s.options_.file_limit_bytes
                                    : kWavMaxDataBytes);
    if (!info.ok()) return info.status();
    auto writer = WavWriter::OpenForAppend(
        path, s.options_.large_files == LargeFiles::kRf64
                  ? s.options_.file_limit_bytes
                  : kWavMaxDataBytes);
    if (!writer.ok()) return writer.status();
    slot.writer = *std::move(writer);
    max_frames = std::max(max_frames, slot.writer->frames());
  }
  // Files of one recording advance together; a crash between two files'
  // writes leaves them a tick apart. Pad all to the same whole slot.
  s.written_ = static_cast<int64_t>((max_frames + kSamplesPerSlot - 1) /
                                    kSamplesPerSlot);
  for (FileSlot& slot : s.files_) {
    const uint64_t target = static_cast<uint64_t>(s.written_) * kSamplesPerSlot;
    if (slot.writer->frames() < target) {
      std::vector<int16_t> silence(
          (target - slot.writer->frames()) * slot.channels.size(), 0);
      if (absl::Status status = slot.writer->Append(silence); !status.ok()) {
        return status;
      }
    }
    if (absl::Status status = slot.writer->Sync(); !status.ok()) return status;
    s.UpdateFileLocked(slot);
  }
  s.last_slot_ = s.written_ - 1;
  s.broken_ = true;
  s.broken_since_ = s.SlotTime(s.written_);
  s.broken_reason_ = reason;
  return session;
}

absl::StatusOr<v1::Recording> RecordingSession::FinalizeAfterCrash(
    const SessionOptions& options, v1::Recording recording,
    const std::string& reason, absl::Time now) {
  const absl::Time start = FromProtoTime(recording.start_time());
  absl::Duration longest = absl::ZeroDuration();
  // Segments are consecutive: a kind's audio is the sum of its segments.
  std::map<std::string, absl::Duration> per_kind;
  for (int i = 0; i < recording.files_size(); ++i) {
    v1::Recording::File* file = recording.mutable_files(i);
    const std::string path =
        (std::filesystem::path(options.storage_root) / file->path()).string();
    absl::Duration length = FromProtoDuration(file->duration());
    if (file->sha256().empty()) {
      auto info = RepairWav(path, options.large_files == LargeFiles::kRf64
                                      ? options.file_limit_bytes
                                      : kWavMaxDataBytes);
      if (!info.ok()) return info.status();
      auto hash = Sha256File(path);
      if (!hash.ok()) return hash.status();
      file->set_sha256(*hash);
      file->set_bytes(info->data_offset + info->data_bytes);
      file->set_format(info->rf64 ? "rf64" : "wav");
      length = AudioLength(info->frames());
      *file->mutable_duration() = ToProtoDuration(length);
    }
    const std::string kind =
        std::filesystem::path(file->path()).filename().string();
    per_kind[kind.substr(0, kind.rfind('-'))] += length;
  }
  for (const auto& [kind, length] : per_kind) {
    longest = std::max(longest, length);
  }
  const absl::Time audio_end = start + longest;
  for (v1::TimeRange& pause : *recording.mutable_pauses()) {
    if (!pause.has_end_time())
      *pause.mutable_end_time() = ToProtoTime(audio_end);
  }
  for (v1::Recording::ModeSpan& span : *recording.mutable_mode_spans()) {
    if (!span.range().has_end_time()) {
      *span.mutable_range()->mutable_end_time() = ToProtoTime(audio_end);
    }
  }
  if (now > audio_end) {
    v1::Recording::Gap* gap = recording.add_gaps();
    *gap->mutable_range()->mutable_start_time() = ToProtoTime(audio_end);
    *gap->mutable_range()->mutable_end_time() = ToProtoTime(now);
    gap->set_reason(reason);
  }
  recording.set_state(v1::Recording::RECOVERED);
  *recording.mutable_end_time() = ToProtoTime(audio_end);
  *recording.mutable_duration() = ToProtoDuration(longest);
  return recording;
}

int RecordingSession::FindLegLocked(const std::string& leg_id) const {
  for (size_t i = 0; i < legs_.size(); ++i) {
    if (legs_[i].leg_id == leg_id) return static_cast<int>(i);
  }
  return -1;
}

absl::Status RecordingSession::BindLocked(const LegBinding& leg) {
  if (leg.leg_id.empty()) {
    return absl::InvalidArgumentError("a leg needs its leg id");
  }
  int channel;
  switch (leg.role) {
    case v1::ROLE_CUSTOMER:
      channel = kCustomerChannel;
      break;
    case v1::ROLE_AGENT:
      channel = kAgentChannel;
      break;
    case v1::ROLE_SUPERVISOR:
      channel = -1;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("leg \"", leg.leg_id, "\" needs a role"));
  }
  const int existing = FindLegLocked(leg.leg_id);
  if (existing >= 0) {
    LegBinding& known = legs_[existing];
    if (known.role != leg.role) {
      return absl::FailedPreconditionError(
          absl::StrCat("leg \"", leg.leg_id, "\" is already recorded as ",
                       v1::Role_Name(known.role)));
    }
    if (!leg.user_id.empty()) known.user_id = leg.user_id;
    if (!leg.supervision.empty()) known.supervision = leg.supervision;
    channel = known.channel;
  } else {
    if (channel < 0) {
      const int last = static_cast<int>(channel_names_.size()) - 1;
      // More supervisors than reserved channels share the last one.
      channel = std::min(next_supervisor_channel_, last);
      if (next_supervisor_channel_ <= last) ++next_supervisor_channel_;
    }
    LegBinding bound = leg;
    bound.channel = channel;
    legs_.push_back(bound);
  }
  if (!leg.user_id.empty() && leg.role != v1::ROLE_CUSTOMER) {
    for (v1::Recording::Channel& c : *recording_.mutable_channels()) {
      if (c.participant() == channel_names_[channel]) {
        c.set_user_id(leg.user_id);
      }
    }
  }
  return absl::OkStatus();
}

int64_t RecordingSession::SlotAt(absl::Time t) const {
  if (t <= start_) return 0;
  absl::Duration remainder;
  return absl::IDivDuration(t - start_, kSlot, &remainder);
}

bool RecordingSession::PausedAt(absl::Time t) const {
  // A slot overlapping a pause at all is silent: err on the side of keeping
  // less.
  for (const auto& [from, to] : pauses_) {
    if (from < t + kSlot && t < to) return true;
  }
  return false;
}

bool RecordingSession::KeepLegAt(int leg, absl::Time t) const {
  const LegBinding& binding = legs_[leg];
  if (binding.role != v1::ROLE_SUPERVISOR) return true;
  auto found = modes_.find(binding.supervision);
  if (binding.supervision.empty() || found == modes_.end()) return false;
  v1::Mode mode = v1::MODE_UNSPECIFIED;
  for (const auto& [when, m] : found->second) {
    if (when > t) break;
    mode = m;
  }
  switch (mode) {
    case v1::MODE_BARGE:
    case v1::MODE_TAKEOVER:
      return true;
    case v1::MODE_WHISPER:
      return policy_.keep_whisper_audio();
    default:
      return false;  // LISTEN: nobody hears it; unknown or ended: nothing
  }
}

void RecordingSession::AddGapLocked(absl::Time from, absl::Time to,
                                    const std::string& reason,
                                    WriteStats* stats) {
  if (to <= from) return;
  v1::Recording::Gap* gap = recording_.add_gaps();
  *gap->mutable_range()->mutable_start_time() = ToProtoTime(from);
  *gap->mutable_range()->mutable_end_time() = ToProtoTime(to);
  gap->set_reason(reason);
  (void)stats;
  ++new_gaps_;
  dirty_ = true;
}

void RecordingSession::EndSilentRunLocked(int leg, int64_t end_slot,
                                          WriteStats* stats) {
  auto run = concealed_since_.find(leg);
  if (run == concealed_since_.end()) return;
  if (end_slot - run->second >= kSilentGapSlots) {
    AddGapLocked(SlotTime(run->second), SlotTime(end_slot),
                 absl::StrCat(legs_[leg].leg_id, ": no packets"), stats);
  }
  concealed_since_.erase(run);
}

void RecordingSession::OnTapConnected(absl::Time) {
  std::lock_guard<std::mutex> lock(mu_);
  mapped_ = false;
}

void RecordingSession::OnTapBroken(const std::string& reason, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  mapped_ = false;
  for (int leg = 0; leg < static_cast<int>(legs_.size()); ++leg) {
    EndSilentRunLocked(leg, last_slot_ + 1, nullptr);
  }
  if (broken_) return;
  broken_ = true;
  broken_since_ =
      last_slot_ >= 0 ? SlotTime(last_slot_ + 1) : std::max(start_, now);
  broken_reason_ = reason;
}

void RecordingSession::OnTapMessage(const v1::TapMessage& message,
                                    absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (recording_.state() != v1::Recording::ACTIVE) return;  // paused: dropped
  const int64_t now_slot = SlotAt(now);
  switch (message.message_case()) {
    case v1::TapMessage::kFrame: {
      const v1::TapFrame& frame = message.frame();
      const int leg = FindLegLocked(frame.source_leg_id());
      if (leg < 0) return;  // no role known: not ours to keep
      if (frame.pcm_s16le().size() != 2 * kSamplesPerSlot) return;
      const int64_t media_slot =
          absl::ToInt64Microseconds(FromProtoDuration(frame.media_time())) /
          absl::ToInt64Microseconds(kSlot);
      if (!mapped_) {
        // A frame arrives once it is complete: it began a slot ago.
        offset_ = SlotAt(now - kSlot) - media_slot;
        mapped_ = true;
        if (broken_) {
          AddGapLocked(broken_since_, SlotTime(media_slot + offset_),
                       broken_reason_, nullptr);
          broken_ = false;
        }
      }
      const int64_t slot = media_slot + offset_;
      if (slot < written_ || slot > now_slot + 50) return;  // late or bogus
      if (frame.concealed()) {
        concealed_since_.emplace(leg, slot);
      } else {
        EndSilentRunLocked(leg, slot, nullptr);
      }
      PendingFrame pending;
      pending.leg = leg;
      const std::string& pcm = frame.pcm_s16le();
      for (int i = 0; i < kSamplesPerSlot; ++i) {
        pending.samples[i] = static_cast<int16_t>(
            static_cast<uint16_t>(static_cast<uint8_t>(pcm[2 * i])) |
            static_cast<uint16_t>(static_cast<uint8_t>(pcm[2 * i + 1]) << 8));
      }
      std::vector<PendingFrame>& frames = pending_[slot];
      auto duplicate =
          std::find_if(frames.begin(), frames.end(),
                       [leg](const PendingFrame& f) { return f.leg == leg; });
      if (duplicate != frames.end()) {
        *duplicate = pending;
      } else {
        frames.push_back(pending);
      }
      last_slot_ = std::max(last_slot_, slot);
      return;
    }
    case v1::TapMessage::kGap: {
      const v1::TapGap& gap = message.gap();
      const absl::Time from =
          mapped_ ? SlotTime(absl::ToInt64Microseconds(
                                 FromProtoDuration(gap.media_time())) /
                                 absl::ToInt64Microseconds(kSlot) +
                             offset_)
                  : now;
      AddGapLocked(from, from + gap.frames_dropped() * kSlot,
                   absl::StrCat(gap.source_leg_id(), ": ", gap.reason()),
                   nullptr);
      return;
    }
    case v1::TapMessage::kTelephoneEvent: {
      if (!policy_.keep_telephone_events()) return;
      const v1::TapTelephoneEvent& event = message.telephone_event();
      const int leg = FindLegLocked(event.source_leg_id());
      if (leg < 0 || !event.end()) return;
      const int64_t media_us =
          absl::ToInt64Microseconds(FromProtoDuration(event.media_time()));
      // RFC 4733 repeats the end packet; keep one event.
      if (!digits_seen_
               .emplace(std::make_pair(event.source_leg_id(), media_us), true)
               .second) {
        return;
      }
      v1::Recording::TelephoneEvent* kept = recording_.add_telephone_events();
      kept->set_participant(channel_names_[legs_[leg].channel]);
      const int64_t slot =
          mapped_ ? media_us / absl::ToInt64Microseconds(kSlot) + offset_
                  : now_slot;
      *kept->mutable_time() = ToProtoTime(SlotTime(slot));
      kept->set_event(event.event());
      *kept->mutable_duration() = event.duration();
      return;
    }
    default:
      return;  // leg changes: frames say all we need
  }
}

absl::Status RecordingSession::Pause(const std::string& reason,
                                     absl::Time now) {
  (void)reason;  // kept by the caller's audit trail, not in the index
  std::lock_guard<std::mutex> lock(mu_);
  if (recording_.state() != v1::Recording::ACTIVE) {
    return absl::FailedPreconditionError(absl::StrCat(
        "recording ", recording_.name(), " is ",
        v1::Recording::State_Name(recording_.state()), ", not ACTIVE"));
  }
  pauses_.emplace_back(now, absl::InfiniteFuture());
  *recording_.add_pauses()->mutable_start_time() = ToProtoTime(now);
  recording_.set_state(v1::Recording::PAUSED);
  // Frames already buffered for the paused span are dropped now.
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = SlotTime(it->first) + kSlot > now ? pending_.erase(it) : ++it;
  }
  return absl::OkStatus();
}

absl::Status RecordingSession::Resume(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (recording_.state() != v1::Recording::PAUSED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "recording ", recording_.name(), " is ",
        v1::Recording::State_Name(recording_.state()), ", not PAUSED"));
  }
  pauses_.back().second = now;
  *recording_.mutable_pauses(recording_.pauses_size() - 1)->mutable_end_time() =
      ToProtoTime(now);
  recording_.set_state(v1::Recording::ACTIVE);
  return absl::OkStatus();
}

absl::Status RecordingSession::Annotate(
    const v1::AnnotateRecordingRequest& request, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (recording_.state() != v1::Recording::ACTIVE &&
      recording_.state() != v1::Recording::PAUSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("recording ", recording_.name(), " is ",
                     v1::Recording::State_Name(recording_.state()),
                     "; nothing to annotate"));
  }
  if (!request.added_leg_id().empty()) {
    LegBinding leg;
    leg.leg_id = request.added_leg_id();
    leg.role = request.added_leg_role();
    leg.user_id = request.added_leg_user_id();
    if (absl::Status status = BindLocked(leg); !status.ok()) return status;
  }
  if (request.supervision().empty()) return absl::OkStatus();
  const std::string& leg_id = request.supervision_leg_id().empty()
                                  ? request.added_leg_id()
                                  : request.supervision_leg_id();
  if (!leg_id.empty()) {
    const int leg = FindLegLocked(leg_id);
    if (leg < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "supervision_leg_id \"", leg_id,
          "\" is not a leg of the recording; add it first (added_leg_id)"));
    }
    if (legs_[leg].role != v1::ROLE_SUPERVISOR) {
      return absl::InvalidArgumentError(absl::StrCat(
          "supervision_leg_id \"", leg_id, "\" is not a supervisor's leg"));
    }
    legs_[leg].supervision = request.supervision();
  }
  const absl::Time when =
      request.has_time() ? FromProtoTime(request.time()) : now;
  const bool ended = request.supervision_ended();
  if (!ended && request.mode() == v1::MODE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "mode is required with supervision (or set supervision_ended)");
  }
  auto& timeline = modes_[request.supervision()];
  const v1::Mode mode = ended ? v1::MODE_UNSPECIFIED : request.mode();
  timeline.emplace_back(when, mode);
  std::stable_sort(
      timeline.begin(), timeline.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  for (v1::Recording::ModeSpan& span : *recording_.mutable_mode_spans()) {
    if (span.supervision() == request.supervision() &&
        !span.range().has_end_time()) {
      *span.mutable_range()->mutable_end_time() = ToProtoTime(when);
    }
  }
  if (!ended) {
    v1::Recording::ModeSpan* span = recording_.add_mode_spans();
    span->set_supervision(request.supervision());
    span->set_supervisor(request.supervisor());
    span->set_mode(mode);
    *span->mutable_range()->mutable_start_time() = ToProtoTime(when);
  }
  return absl::OkStatus();
}

void RecordingSession::UpdateFileLocked(const FileSlot& slot) {
  v1::Recording::File* file = recording_.mutable_files(slot.file_index);
  file->set_bytes(slot.writer->file_bytes());
  file->set_format(slot.writer->rf64() ? "rf64" : "wav");
  *file->mutable_duration() =
      ToProtoDuration(AudioLength(slot.writer->frames()));
}

absl::Status RecordingSession::FinishFileLocked(FileSlot& slot) {
  if (slot.writer == nullptr) return absl::OkStatus();
  if (absl::Status status = slot.writer->Finish(); !status.ok()) return status;
  UpdateFileLocked(slot);
  auto hash = Sha256File(slot.writer->path());
  if (!hash.ok()) return hash.status();
  recording_.mutable_files(slot.file_index)->set_sha256(*hash);
  slot.writer.reset();
  return absl::OkStatus();
}

absl::Status RecordingSession::WriteUntilLocked(int64_t end_slot,
                                                WriteStats* stats) {
  if (end_slot <= written_) return absl::OkStatus();
  const size_t channels = channel_names_.size();
  std::vector<int16_t> mixed(channels * kSamplesPerSlot);
  std::vector<std::vector<int16_t>> buffers(files_.size());
  auto flush = [&](size_t f) -> absl::Status {
    if (buffers[f].empty()) return absl::OkStatus();
    if (absl::Status status = files_[f].writer->Append(buffers[f]);
        !status.ok()) {
      return status;
    }
    stats->bytes_written += buffers[f].size() * 2;
    buffers[f].clear();
    return absl::OkStatus();
  };
  for (int64_t s = written_; s < end_slot; ++s) {
    std::fill(mixed.begin(), mixed.end(), 0);
    const absl::Time t = SlotTime(s);
    auto found = pending_.find(s);
    if (found != pending_.end() && !PausedAt(t)) {
      for (const PendingFrame& frame : found->second) {
        if (!KeepLegAt(frame.leg, t)) continue;
        int16_t* out = &mixed[legs_[frame.leg].channel * kSamplesPerSlot];
        for (int i = 0; i < kSamplesPerSlot; ++i) {
          out[i] = SaturatingAdd(out[i], frame.samples[i]);
        }
      }
    }
    for (size_t f = 0; f < files_.size(); ++f) {
      FileSlot& slot = files_[f];
      const uint64_t slot_bytes = 2u * kSamplesPerSlot * slot.channels.size();
      if (options_.large_files == LargeFiles::kSegment &&
          slot.writer->data_bytes() > 0 &&
          slot.writer->data_bytes() + buffers[f].size() * 2 + slot_bytes >
              options_.file_limit_bytes) {
        if (absl::Status status = flush(f); !status.ok()) return status;
        const uint32_t segment =
            recording_.files(slot.file_index).segment() + 1;
        if (absl::Status status = FinishFileLocked(slot); !status.ok()) {
          return status;
        }
        if (absl::Status status = OpenSegment(slot, segment); !status.ok()) {
          return status;
        }
        stats->index_changed = true;
      }
      for (int i = 0; i < kSamplesPerSlot; ++i) {
        for (int global : slot.channels) {
          buffers[f].push_back(mixed[global * kSamplesPerSlot + i]);
        }
      }
    }
  }
  for (size_t f = 0; f < files_.size(); ++f) {
    if (absl::Status status = flush(f); !status.ok()) return status;
  }
  written_ = end_slot;
  pending_.erase(pending_.begin(), pending_.lower_bound(end_slot));
  return absl::OkStatus();
}

absl::Status RecordingSession::SyncLocked(absl::Time now, WriteStats* stats) {
  for (FileSlot& slot : files_) {
    if (slot.writer == nullptr) continue;
    const absl::Time before = absl::Now();
    if (absl::Status status = slot.writer->Sync(); !status.ok()) return status;
    stats->fsync_latencies.push_back(absl::Now() - before);
    UpdateFileLocked(slot);
  }
  last_sync_ = now;
  return absl::OkStatus();
}

absl::StatusOr<WriteStats> RecordingSession::Tick(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteStats stats;
  if (recording_.state() != v1::Recording::ACTIVE &&
      recording_.state() != v1::Recording::PAUSED) {
    return stats;
  }
  absl::Duration unused;
  const int64_t holdback =
      absl::IDivDuration(options_.holdback, kSlot, &unused);
  if (absl::Status status = WriteUntilLocked(SlotAt(now) - holdback, &stats);
      !status.ok()) {
    return status;
  }
  if (now - last_sync_ >= options_.sync_interval) {
    if (absl::Status status = SyncLocked(now, &stats); !status.ok()) {
      return status;
    }
  }
  *recording_.mutable_duration() = ToProtoDuration(written_ * kSlot);
  stats.gaps_opened = new_gaps_;
  stats.index_changed = stats.index_changed || dirty_;
  new_gaps_ = 0;
  dirty_ = false;
  return stats;
}

absl::StatusOr<WriteStats> RecordingSession::Stop(
    absl::Time now, v1::Recording::State final_state) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteStats stats;
  if (recording_.state() != v1::Recording::ACTIVE &&
      recording_.state() != v1::Recording::PAUSED) {
    return stats;
  }
  if (recording_.state() == v1::Recording::PAUSED) {
    pauses_.back().second = now;
    *recording_.mutable_pauses(recording_.pauses_size() - 1)
         ->mutable_end_time() = ToProtoTime(now);
  }
  const int64_t end_slot = std::max(SlotAt(now), written_);
  if (absl::Status status = WriteUntilLocked(end_slot, &stats); !status.ok()) {
    return status;
  }
  const absl::Time end = SlotTime(end_slot);
  for (int leg = 0; leg < static_cast<int>(legs_.size()); ++leg) {
    EndSilentRunLocked(leg, std::min(end_slot, last_slot_ + 1), &stats);
  }
  if (broken_) {
    AddGapLocked(broken_since_, end, broken_reason_, &stats);
    broken_ = false;
  }
  for (v1::Recording::ModeSpan& span : *recording_.mutable_mode_spans()) {
    if (!span.range().has_end_time()) {
      *span.mutable_range()->mutable_end_time() = ToProtoTime(end);
    }
  }
  for (FileSlot& slot : files_) {
    const absl::Time before = absl::Now();
    if (absl::Status status = FinishFileLocked(slot); !status.ok()) {
      return status;
    }
    stats.fsync_latencies.push_back(absl::Now() - before);
  }
  recording_.set_state(final_state);
  *recording_.mutable_end_time() = ToProtoTime(end);
  *recording_.mutable_duration() = ToProtoDuration(end_slot * kSlot);
  stats.index_changed = true;
  stats.gaps_opened = new_gaps_;
  new_gaps_ = 0;
  dirty_ = false;
  return stats;
}

void RecordingSession::Fail(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (FileSlot& slot : files_) {
    if (slot.writer == nullptr) continue;
    (void)slot.writer->Finish();
    UpdateFileLocked(slot);
    slot.writer.reset();
  }
  recording_.set_state(v1::Recording::FAILED);
  *recording_.mutable_end_time() = ToProtoTime(now);
}

absl::Status RecordingSession::SyncNow(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteStats ignored;
  return SyncLocked(now, &ignored);
}

v1::Recording RecordingSession::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recording_;
}

std::vector<LegBinding> RecordingSession::Legs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return legs_;
}

bool RecordingSession::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recording_.state() != v1::Recording::ACTIVE &&
         recording_.state() != v1::Recording::PAUSED;
}

}  // namespace sotto::recorder
