// Inbound SRTP with re-key overlap and same-key restart recovery; the
// design and its limits are described in the header.
#include "media_engine/srtp/inbound_srtp.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace sotto::media::srtp {
namespace {

constexpr size_t kRtpHeaderSize = 12;
constexpr size_t kRtcpHeaderSize = 8;

uint32_t ReadSsrc(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}

// Failures that another key or a fresh per-SSRC state could turn into a
// success; anything else (malformed, bad parameter) fails the same way
// everywhere.
bool Retryable(SrtpResult result) {
  return result == SrtpResult::kAuthFail || result == SrtpResult::kReplayFail ||
         result == SrtpResult::kReplayOld;
}

}  // namespace

// Everything that belongs to one key.
struct InboundSrtp::Epoch {
  SrtpSession main;
  // Same key, per-SSRC state only for streams suspected of restarting.
  SrtpSession probe;
  bool authenticated_any = false;

  static absl::StatusOr<std::unique_ptr<Epoch>> Create(
      const SrtpKeyMaterial& key) {
    absl::StatusOr<SrtpSession> main =
        SrtpSession::Create(SrtpDirection::kInbound, key);
    if (!main.ok()) return main.status();
    absl::StatusOr<SrtpSession> probe =
        SrtpSession::Create(SrtpDirection::kInbound, key);
    if (!probe.ok()) return probe.status();
    return std::unique_ptr<Epoch>(
        new Epoch{*std::move(main), *std::move(probe)});
  }
};

absl::StatusOr<InboundSrtp> InboundSrtp::Create(
    const SrtpKeyMaterial& key, const InboundSrtpOptions& options) {
  absl::StatusOr<std::unique_ptr<Epoch>> epoch = Epoch::Create(key);
  if (!epoch.ok()) return epoch.status();
  return InboundSrtp(*std::move(epoch), options);
}

InboundSrtp::InboundSrtp(std::unique_ptr<Epoch> current,
                         const InboundSrtpOptions& options)
    : options_(options),
      current_(std::move(current)),
      scratch_(new uint8_t[options.max_retry_packet_size]) {
  options_.restart_probation_packets =
      std::max(options_.restart_probation_packets, 1);
}

InboundSrtp::InboundSrtp(InboundSrtp&&) noexcept = default;
InboundSrtp& InboundSrtp::operator=(InboundSrtp&&) noexcept = default;
InboundSrtp::~InboundSrtp() = default;

absl::Status InboundSrtp::Rekey(const SrtpKeyMaterial& key, int64_t now_us) {
  absl::StatusOr<std::unique_ptr<Epoch>> epoch = Epoch::Create(key);
  if (!epoch.ok()) return epoch.status();
  previous_ = std::move(current_);
  current_ = *std::move(epoch);
  previous_deadline_us_ = now_us + options_.previous_key_max_lifetime_us;
  // Until the remote switches, its packets still use the old key.
  previous_preferred_ = true;
  // Restart tracking is about what the current key has authenticated.
  tracked_ = {};
  return absl::OkStatus();
}

absl::optional<uint32_t> InboundSrtp::RolloverCounter(uint32_t ssrc) const {
  return current_->main.RolloverCounter(ssrc);
}

void InboundSrtp::ExpirePrevious(int64_t now_us) {
  if (previous_ != nullptr && now_us >= previous_deadline_us_) {
    previous_.reset();
    previous_preferred_ = false;
  }
}

InboundSrtp::TrackedSsrc* InboundSrtp::FindTracked(uint32_t ssrc) {
  for (TrackedSsrc& tracked : tracked_) {
    if (tracked.in_use && tracked.ssrc == ssrc) return &tracked;
  }
  return nullptr;
}

InboundSrtp::TrackedSsrc* InboundSrtp::Track(uint32_t ssrc) {
  if (TrackedSsrc* tracked = FindTracked(ssrc)) return tracked;
  // A leg normally has one remote SSRC at a time; evict the least recently
  // used of the few we keep.
  TrackedSsrc* victim = &tracked_[0];
  for (TrackedSsrc& tracked : tracked_) {
    if (!tracked.in_use) {
      victim = &tracked;
      break;
    }
    if (tracked.last_used < victim->last_used) victim = &tracked;
  }
  if (victim->in_use && victim->probe_successes > 0) {
    current_->probe.RemoveStream(victim->ssrc);
  }
  *victim = TrackedSsrc();
  victim->ssrc = ssrc;
  victim->in_use = true;
  return victim;
}

void InboundSrtp::OnCurrentAccepted(uint32_t ssrc, int64_t now_us) {
  previous_preferred_ = false;
  if (!current_->authenticated_any) {
    current_->authenticated_any = true;
    // The new key works: the old one only has to cover packets in flight.
    previous_deadline_us_ = std::min(previous_deadline_us_,
                                     now_us + options_.previous_key_overlap_us);
  }
  TrackedSsrc* tracked = Track(ssrc);
  tracked->last_accepted_us = now_us;
  tracked->last_used = ++track_clock_;
  if (tracked->probe_successes > 0) {
    // The stream is alive in the current session again: whatever
    // authenticated in the probe was a replay, not a restart.
    tracked->probe_successes = 0;
    current_->probe.RemoveStream(ssrc);
  }
}

SrtpResult InboundSrtp::TryRestartProbe(absl::Span<uint8_t> buffer,
                                        size_t* length, TrackedSsrc* tracked,
                                        int64_t now_us) {
  const SrtpResult result = current_->probe.UnprotectRtp(buffer, length);
  if (result != SrtpResult::kOk) return result;
  if (++tracked->probe_successes < options_.restart_probation_packets) {
    return SrtpResult::kRestartProbation;
  }
  // Restart confirmed: forget the old stream's index so the next packet
  // starts a fresh one at ROC 0; this packet was decrypted by the probe.
  current_->main.RemoveStream(tracked->ssrc);
  current_->probe.RemoveStream(tracked->ssrc);
  tracked->probe_successes = 0;
  tracked->last_accepted_us = now_us;
  ++counters_.restarts_recovered;
  return SrtpResult::kOk;
}

SrtpResult InboundSrtp::UnprotectRtp(absl::Span<uint8_t> buffer, size_t* length,
                                     int64_t now_us) {
  ExpirePrevious(now_us);
  auto count = [this](SrtpResult result) {
    ++counters_.rtp[static_cast<size_t>(result)];
    return result;
  };
  if (*length < kRtpHeaderSize || *length > buffer.size()) {
    return count(SrtpResult::kMalformed);
  }
  const uint32_t ssrc = ReadSsrc(buffer.data() + 8);
  const size_t input_length = *length;
  const bool can_copy = input_length <= options_.max_retry_packet_size;
  // The restart probe only runs once the current session has accepted
  // nothing from this SSRC for restart_min_silence_us: while the genuine
  // stream flows, replays cost nothing extra and can never reset it.
  TrackedSsrc* tracked =
      options_.recover_restarts && can_copy ? FindTracked(ssrc) : nullptr;
  const bool may_probe =
      tracked != nullptr &&
      now_us - tracked->last_accepted_us >= options_.restart_min_silence_us;
  const bool may_fall_back = can_copy && previous_ != nullptr;
  // A failed attempt may leave the buffer modified (AEAD backends decrypt
  // before checking the tag), so retries start from a copy.
  if (may_probe || may_fall_back) {
    std::memcpy(scratch_.get(), buffer.data(), input_length);
  }
  auto restore = [&] {
    std::memcpy(buffer.data(), scratch_.get(), input_length);
    *length = input_length;
  };

  Epoch* first = current_.get();
  Epoch* second = previous_.get();
  if (previous_preferred_ && previous_ != nullptr) std::swap(first, second);

  SrtpResult result = first->main.UnprotectRtp(buffer, length);
  SrtpResult current_result = result;
  if (result == SrtpResult::kOk) {
    if (first == current_.get()) {
      OnCurrentAccepted(ssrc, now_us);
    } else {
      previous_preferred_ = true;
      ++counters_.previous_key_accepted;
    }
    return count(result);
  }
  if (may_fall_back && Retryable(result)) {
    restore();
    const SrtpResult second_result = second->main.UnprotectRtp(buffer, length);
    if (second_result == SrtpResult::kOk) {
      if (second == current_.get()) {
        OnCurrentAccepted(ssrc, now_us);
      } else {
        previous_preferred_ = true;
        ++counters_.previous_key_accepted;
      }
      return count(second_result);
    }
    if (second == current_.get()) current_result = second_result;
  }
  if (may_probe && Retryable(current_result)) {
    restore();
    const SrtpResult probe_result =
        TryRestartProbe(buffer, length, tracked, now_us);
    if (probe_result == SrtpResult::kOk ||
        probe_result == SrtpResult::kRestartProbation) {
      return count(probe_result);
    }
  }
  return count(current_result);
}

SrtpResult InboundSrtp::UnprotectRtcp(absl::Span<uint8_t> buffer,
                                      size_t* length, int64_t now_us) {
  ExpirePrevious(now_us);
  auto count = [this](SrtpResult result) {
    ++counters_.rtcp[static_cast<size_t>(result)];
    return result;
  };
  if (*length < kRtcpHeaderSize || *length > buffer.size()) {
    return count(SrtpResult::kMalformed);
  }
  const size_t input_length = *length;
  const bool may_fall_back =
      previous_ != nullptr && input_length <= options_.max_retry_packet_size;
  if (may_fall_back) std::memcpy(scratch_.get(), buffer.data(), input_length);

  Epoch* first = current_.get();
  Epoch* second = previous_.get();
  if (previous_preferred_ && previous_ != nullptr) std::swap(first, second);

  SrtpResult result = first->main.UnprotectRtcp(buffer, length);
  if (result != SrtpResult::kOk && may_fall_back && Retryable(result)) {
    std::memcpy(buffer.data(), scratch_.get(), input_length);
    *length = input_length;
    const SrtpResult second_result = second->main.UnprotectRtcp(buffer, length);
    if (second_result == SrtpResult::kOk) {
      first = second;
      result = second_result;
    } else if (second == current_.get()) {
      result = second_result;
    }
  }
  if (result == SrtpResult::kOk && first == previous_.get()) {
    ++counters_.previous_key_accepted;
  }
  return count(result);
}

}  // namespace sotto::media::srtp
