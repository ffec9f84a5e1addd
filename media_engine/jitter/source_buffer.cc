#include "media_engine/jitter/source_buffer.h"

#include <algorithm>

namespace sotto::media {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// Bits [begin, end) of a slot's 160-bit fill map that fall in 64-bit `word`.
uint64_t RangeMask(int word, int begin, int end) {
  const int lo = std::max(begin, word * 64) - word * 64;
  const int hi = std::min(end, word * 64 + 64) - word * 64;
  if (hi <= lo) return 0;
  const uint64_t upto_hi = hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  return upto_hi & ~((uint64_t{1} << lo) - 1);
}

constexpr int64_t kMaxPutSamples = 3 * kSamplesPerFrame;  // 60 ms
// An in-order packet this far off its expected timing is a timestamp jump
// (or a stall long enough that playing it would be playing it late).
constexpr Micros kJumpEarly = 100'000;
constexpr Micros kJumpLateBeyondAllowance = 100'000;
constexpr int kLateRunForResync = 3;

}  // namespace

SourceBuffer::SourceBuffer(const SourceBufferConfig& config)
    : config_(config), allowance_(config.initial_allowance) {
  for (Slot& slot : ring_) {
    slot.samples.fill(0);
    slot.filled.fill(0);
  }
}

int64_t SourceBuffer::Unwrap(uint32_t rtp_timestamp) const {
  const int32_t delta =
      static_cast<int32_t>(rtp_timestamp - static_cast<uint32_t>(last_ts_));
  return last_ts_ + delta;
}

void SourceBuffer::ResetSlot(int64_t slot) {
  Slot& s = ring_[Index(slot)];
  s.samples.fill(0);
  s.filled.fill(0);
  s.filled_count = 0;
  s.concealed = false;
}

void SourceBuffer::Anchor(int64_t ts, int64_t samples, Micros now,
                          const RoomTimeline& timeline) {
  const bool fresh = !active_;
  const int64_t due = timeline.SlotAtOrAfter(now);
  // Continue right after the audio already final when that is at most a
  // couple of frames ahead of the clock (an SSRC change: no gap, no
  // overlap). Never further: a burst that filled frames ahead of real time
  // (a backlog after a stall) is dropped rather than played late.
  int64_t slot = due;
  if (anchored_ || active_) {
    slot = std::clamp(final_slot_, due, due + kMaxAnchorLeadSlots);
  }
  anchored_ = true;
  active_ = true;
  anchor_slot_ = slot;
  anchor_ts_ = ts;
  final_slot_ = slot;
  first_valid_slot_ = slot;
  max_written_slot_ = slot - 1;
  last_in_order_end_ = ts + samples;
  packet_phase_ = ts;
  packet_samples_ = samples;
  concealed_run_ = 0;
  late_in_order_run_ = 0;
  transit_count_ = 0;
  transit_next_ = 0;
  base_transit_ = now - (ts + samples) * kMicrosPerSample;
  if (fresh) {
    peak_deviation_ = config_.initial_allowance - config_.min_allowance;
    allowance_ = config_.initial_allowance;
  }
  last_decay_time_ = now;
  ++stats_.resyncs;
}

void SourceBuffer::ObserveTransit(int64_t ts_end, Micros now) {
  const Micros transit = now - ts_end * kMicrosPerSample;
  transits_[transit_next_] = transit;
  transit_next_ = (transit_next_ + 1) % kTransitWindow;
  transit_count_ = std::min(transit_count_ + 1, kTransitWindow);
  Micros base = transit;
  for (int i = 0; i < transit_count_; ++i) base = std::min(base, transits_[i]);
  base_transit_ = base;

  // Peak-hold of the delay variation, decaying so the allowance shrinks
  // back once the network calms down.
  const Micros elapsed = now - last_decay_time_;
  last_decay_time_ = now;
  if (elapsed > 0) {
    peak_deviation_ -=
        static_cast<Micros>(static_cast<double>(peak_deviation_) * elapsed /
                            static_cast<double>(config_.allowance_decay));
    if (peak_deviation_ < 0) peak_deviation_ = 0;
  }
  peak_deviation_ = std::max(peak_deviation_, transit - base);
  allowance_ = std::clamp(peak_deviation_ + config_.min_allowance,
                          config_.min_allowance, config_.max_allowance);
}

SourceBuffer::PutResult SourceBuffer::Put(uint32_t rtp_timestamp,
                                          absl::Span<const int16_t> samples,
                                          bool in_order, Micros now,
                                          const RoomTimeline& timeline) {
  const int64_t n = static_cast<int64_t>(samples.size());
  if (n == 0 || n > kMaxPutSamples) return PutResult::kInvalid;

  PutResult result = PutResult::kStored;
  int64_t ts;
  if (!anchored_ || !active_) {
    ts = anchored_ ? Unwrap(rtp_timestamp) : rtp_timestamp;
    Anchor(ts, n, now, timeline);
    result = PutResult::kResynced;
  } else {
    ts = Unwrap(rtp_timestamp);
    if (in_order) {
      const Micros deviation =
          (now - (ts + n) * kMicrosPerSample) - base_transit_;
      const int64_t pos = anchor_slot_ * kSamplesPerFrame + (ts - anchor_ts_);
      const int64_t last_slot = FloorDiv(pos + n - 1, kSamplesPerFrame);
      // A late in-order packet is usually network delay; several in a row
      // mean the sender moved its timestamps back (the next sequence number
      // with an old timestamp): follow it rather than drop everything.
      const bool late = last_slot < final_slot_;
      late_in_order_run_ = late ? late_in_order_run_ + 1 : 0;
      if (deviation < -kJumpEarly ||
          deviation > config_.max_allowance + kJumpLateBeyondAllowance ||
          last_slot >= final_slot_ + kMaxAheadSlots ||
          last_slot < final_slot_ - kRingSlots / 2 ||
          late_in_order_run_ >= kLateRunForResync) {
        Anchor(ts, n, now, timeline);
        result = PutResult::kResynced;
      }
    }
  }
  const int64_t pos = anchor_slot_ * kSamplesPerFrame + (ts - anchor_ts_);
  const int64_t last_slot = FloorDiv(pos + n - 1, kSamplesPerFrame);
  if (last_slot >= final_slot_ + kMaxAheadSlots ||
      last_slot < final_slot_ - kRingSlots / 2) {
    // Out of order and far ahead or far behind (in-order jumps re-anchored
    // above): not trustworthy timing; drop it before it teaches the arrival
    // model or the unwrapping anything. One such packet (an old sequence
    // number, a timestamp days ahead) would otherwise make the base transit
    // days early, put every deadline in the past and have the worker
    // conceal frames nobody has sent, without end; days behind, it would
    // push the jitter allowance to its cap for everyone hearing the source.
    ++stats_.packets_late;
    return PutResult::kLate;
  }
  last_ts_ = std::max(last_ts_, ts);
  if (!anchored_) last_ts_ = ts;
  last_arrival_ = now;
  ObserveTransit(ts + n, now);
  if (in_order) {
    last_in_order_end_ = ts + n;
    packet_phase_ = ts;
    packet_samples_ = n;
  }
  if (last_slot < final_slot_) {
    ++stats_.packets_late;
    return PutResult::kLate;
  }
  // Slot by slot: a packet covers at most a few slots, and the usual case
  // (samples not seen before) is one copy and one bit-range per slot.
  int64_t newly_filled = 0;
  for (int64_t i = 0; i < n;) {
    const int64_t p = pos + i;
    const int64_t slot = FloorDiv(p, kSamplesPerFrame);
    const int offset = static_cast<int>(p - slot * kSamplesPerFrame);
    const int count =
        static_cast<int>(std::min<int64_t>(n - i, kSamplesPerFrame - offset));
    if (slot >= final_slot_) {  // earlier slots are already final
      while (max_written_slot_ < slot) ResetSlot(++max_written_slot_);
      newly_filled += FillSlot(
          ring_[Index(slot)], offset,
          samples.subspan(static_cast<size_t>(i), static_cast<size_t>(count)));
    }
    i += count;
  }
  if (newly_filled == 0 && result == PutResult::kStored) {
    ++stats_.packets_duplicate;
    return PutResult::kDuplicate;
  }
  FinalizeComplete(now);
  return result;
}

int SourceBuffer::FillSlot(Slot& slot, int offset,
                           absl::Span<const int16_t> samples) {
  const int end = offset + static_cast<int>(samples.size());
  bool any_filled = false;
  for (int word = offset / 64; word <= (end - 1) / 64; ++word) {
    any_filled =
        any_filled || (slot.filled[word] & RangeMask(word, offset, end)) != 0;
  }
  if (!any_filled) {
    std::copy(samples.begin(), samples.end(), slot.samples.begin() + offset);
    for (int word = offset / 64; word <= (end - 1) / 64; ++word) {
      slot.filled[word] |= RangeMask(word, offset, end);
    }
    slot.filled_count += static_cast<int>(samples.size());
    return static_cast<int>(samples.size());
  }
  // Some of these samples are already here (a duplicate or an overlapping
  // packet): keep the first copy of each sample.
  int newly_filled = 0;
  for (int bit = offset; bit < end; ++bit) {
    const uint64_t mask = uint64_t{1} << (bit % 64);
    if ((slot.filled[bit / 64] & mask) != 0) continue;
    slot.filled[bit / 64] |= mask;
    slot.samples[bit] = samples[static_cast<size_t>(bit - offset)];
    ++slot.filled_count;
    ++newly_filled;
  }
  return newly_filled;
}

void SourceBuffer::FinalizeComplete(Micros now) {
  while (final_slot_ <= max_written_slot_) {
    Slot& s = ring_[Index(final_slot_)];
    if (s.filled_count != kSamplesPerFrame) break;
    s.concealed = false;
    s.final_time = now;
    concealed_run_ = 0;
    ++stats_.frames_complete;
    ++final_slot_;
  }
}

void SourceBuffer::Conceal(int64_t slot, Micros now) {
  while (max_written_slot_ < slot) ResetSlot(++max_written_slot_);
  Slot& s = ring_[Index(slot)];
  ++concealed_run_;
  // Each concealed frame scales the previous one so that the run telescopes
  // to (fade - run) / fade of the last real audio: a smooth fade to silence.
  const int fade = std::max(1, config_.fade_frames);
  const int remaining = std::max(0, fade - concealed_run_);
  const float gain = remaining == 0 ? 0.0f
                                    : static_cast<float>(remaining) /
                                          static_cast<float>(remaining + 1);
  const bool have_previous = slot - 1 >= first_valid_slot_;
  const AudioFrame& previous = ring_[Index(slot - 1)].samples;
  if (s.filled_count == 0) {
    // Nothing of this frame arrived (the usual case): one pass the
    // compiler can vectorise, no per-sample fill test.
    if (!have_previous || remaining == 0) {
      s.samples.fill(0);
    } else {
      for (int i = 0; i < kSamplesPerFrame; ++i) {
        s.samples[i] = static_cast<int16_t>(previous[i] * gain);
      }
    }
  } else {
    for (int i = 0; i < kSamplesPerFrame; ++i) {
      if ((s.filled[i / 64] >> (i % 64)) & 1) continue;
      s.samples[i] =
          have_previous ? static_cast<int16_t>(previous[i] * gain) : int16_t{0};
    }
  }
  s.concealed = true;
  s.final_time = now;
  ++stats_.frames_concealed;
}

Micros SourceBuffer::ExpectedArrival(int64_t slot) const {
  const int64_t slot_end_ts =
      anchor_ts_ + (slot - anchor_slot_ + 1) * kSamplesPerFrame;
  // The samples arrive with the packet that carries them; packets are
  // `packet_samples_` long, on boundaries through `packet_phase_`.
  const int64_t packets = CeilDiv(slot_end_ts - packet_phase_,
                                  std::max<int64_t>(1, packet_samples_));
  const int64_t packet_end_ts = packet_phase_ + packets * packet_samples_;
  return base_transit_ + packet_end_ts * kMicrosPerSample;
}

Micros SourceBuffer::NextDeadline() const {
  return ExpectedArrival(final_slot_) + allowance_;
}

void SourceBuffer::AdvanceTo(Micros now) {
  if (!active_) return;
  FinalizeComplete(now);
  for (int guard = 0; guard < kRingSlots && now >= NextDeadline(); ++guard) {
    Conceal(final_slot_, now);
    ++final_slot_;
    FinalizeComplete(now);
  }
  const Micros packet_time = packet_samples_ * kMicrosPerSample;
  if (now - last_arrival_ > config_.inactive_after + packet_time) {
    active_ = false;
  }
}

}  // namespace sotto::media
