// RFC 3550 A.1 / A.3 / A.8, kept close to the RFC's C so it can be checked
// against it line by line.
#include "media_engine/rtp/receive_statistics.h"

#include <algorithm>

namespace sotto::media::rtp {
namespace {

constexpr uint32_t kSeqMod = 1u << 16;

// Microseconds to timestamp units without overflowing for large clocks.
uint32_t ToRtpUnits(int64_t time_us, uint32_t clock_rate_hz) {
  const int64_t seconds = time_us / 1000000;
  const int64_t micros = time_us % 1000000;
  return static_cast<uint32_t>(seconds * clock_rate_hz +
                               micros * clock_rate_hz / 1000000);
}

}  // namespace

RtpReceiveStatistics::RtpReceiveStatistics()
    : RtpReceiveStatistics(Options()) {}

RtpReceiveStatistics::RtpReceiveStatistics(const Options& options)
    : options_(options) {
  options_.min_sequential = std::max(options_.min_sequential, 1);
}

void RtpReceiveStatistics::InitSequence(uint16_t sequence_number) {
  base_seq_ = sequence_number;
  max_seq_ = sequence_number;
  bad_seq_ = kSeqMod + 1;  // so seq == bad_seq is false
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  have_transit_ = false;
}

SequenceVerdict RtpReceiveStatistics::OnPacket(uint16_t sequence_number,
                                               uint32_t rtp_timestamp,
                                               int64_t arrival_time_us) {
  if (!started_) {
    started_ = true;
    InitSequence(sequence_number);
    max_seq_ = static_cast<uint16_t>(sequence_number - 1);
    probation_ = options_.min_sequential;
  }
  const uint16_t udelta = static_cast<uint16_t>(sequence_number - max_seq_);
  SequenceVerdict verdict;
  if (probation_ > 0) {
    // Packets must be in sequence before the source counts as valid.
    if (sequence_number == static_cast<uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = sequence_number;
      if (probation_ == 0) {
        InitSequence(sequence_number);
        ++received_;
        UpdateJitter(rtp_timestamp, arrival_time_us);
        return SequenceVerdict::kInOrder;
      }
    } else {
      probation_ = options_.min_sequential - 1;
      max_seq_ = sequence_number;
    }
    return SequenceVerdict::kProbation;
  } else if (udelta < options_.max_dropout) {
    // In order, with permissible gap.
    if (sequence_number < max_seq_) cycles_ += kSeqMod;  // wrapped
    max_seq_ = sequence_number;
    // udelta 0 is a duplicate of the highest; A.1 counts it like any other.
    verdict = udelta == 0 ? SequenceVerdict::kLate : SequenceVerdict::kInOrder;
  } else if (udelta <= kSeqMod - options_.max_misorder) {
    // The sequence number made a very large jump.
    if (sequence_number == bad_seq_) {
      // Two sequential packets: assume the other side restarted without
      // telling us, so resync (A.1) and count this packet afresh.
      InitSequence(sequence_number);
      verdict = SequenceVerdict::kRestarted;
    } else {
      bad_seq_ = (sequence_number + 1u) & (kSeqMod - 1);
      return SequenceVerdict::kBadJump;
    }
  } else {
    verdict = SequenceVerdict::kLate;  // duplicate or reordered
  }
  ++received_;
  UpdateJitter(rtp_timestamp, arrival_time_us);
  return verdict;
}

void RtpReceiveStatistics::UpdateJitter(uint32_t rtp_timestamp,
                                        int64_t arrival_time_us) {
  // A.8: transit times are differences of two clocks with unknown offset;
  // only their variation matters, so modular uint32 arithmetic is exact.
  const uint32_t transit =
      ToRtpUnits(arrival_time_us, options_.clock_rate_hz) - rtp_timestamp;
  if (have_transit_) {
    int32_t d = static_cast<int32_t>(transit - last_transit_);
    if (d < 0) d = -d;
    // J += (|D| - J) / 16 in fixed point with 4 fractional bits (A.8).
    jitter_q4_ += static_cast<uint32_t>(d) - ((jitter_q4_ + 8) >> 4);
  }
  last_transit_ = transit;
  have_transit_ = true;
}

void RtpReceiveStatistics::OnSenderReport(uint64_t ntp_timestamp,
                                          int64_t arrival_time_us) {
  have_sr_ = true;
  last_sr_ = CompactNtp(ntp_timestamp);
  last_sr_arrival_us_ = arrival_time_us;
}

int64_t RtpReceiveStatistics::cumulative_lost() const {
  if (!validated()) return 0;
  const int64_t expected =
      int64_t{extended_highest_sequence()} - int64_t{base_seq_} + 1;
  return expected - received_;
}

double RtpReceiveStatistics::jitter_ms() const {
  return 1000.0 * jitter() / options_.clock_rate_hz;
}

RtcpReportBlock RtpReceiveStatistics::MakeReportBlock(uint32_t source_ssrc,
                                                      int64_t now_us) {
  RtcpReportBlock block;
  block.source_ssrc = source_ssrc;
  block.extended_highest_sequence = extended_highest_sequence();
  block.jitter = jitter();
  if (validated()) {
    const uint32_t expected = extended_highest_sequence() - base_seq_ + 1;
    const int64_t lost = int64_t{expected} - received_;
    block.cumulative_lost =
        static_cast<int32_t>(std::clamp<int64_t>(lost, -0x800000, 0x7FFFFF));
    const uint32_t expected_interval = expected - expected_prior_;
    expected_prior_ = expected;
    const uint32_t received_interval = received_ - received_prior_;
    received_prior_ = received_;
    const int64_t lost_interval =
        int64_t{expected_interval} - int64_t{received_interval};
    // Duplicates can make the interval loss negative: report 0 (A.3).
    if (expected_interval != 0 && lost_interval > 0) {
      // Losing the whole interval gives 256, which the 8-bit field cannot
      // hold; 255 is the closest it can say.
      block.fraction_lost = static_cast<uint8_t>(
          std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
    }
  }
  if (have_sr_) {
    block.last_sr = last_sr_;
    // 1/65536 s units; the field saturates after about 18 hours.
    const int64_t delay_us =
        std::clamp<int64_t>(now_us - last_sr_arrival_us_, 0, 65535000000);
    block.delay_since_last_sr =
        static_cast<uint32_t>(delay_us * 65536 / 1000000);
  }
  return block;
}

}  // namespace sotto::media::rtp
