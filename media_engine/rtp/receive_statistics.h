// Receive-side statistics of one inbound RTP stream: RFC 3550 A.1 sequence
// tracking, A.3 loss, A.8 interarrival jitter, and the RTCP report block.
#ifndef SOTTO_MEDIA_ENGINE_RTP_RECEIVE_STATISTICS_H_
#define SOTTO_MEDIA_ENGINE_RTP_RECEIVE_STATISTICS_H_

#include <cstdint>

#include "media_engine/rtp/rtcp_packet.h"

namespace sotto::media::rtp {

// What A.1's update_seq concluded about one packet.
enum class SequenceVerdict : uint8_t {
  kInOrder,    // new highest sequence number (possibly after a gap)
  kLate,       // behind the highest: reordered or duplicate; still counted
  kProbation,  // source not yet validated (first packets); not counted
  kBadJump,    // jumped further than max_dropout; not counted unless the
               // next packet follows it, which then restarts the stream
  kRestarted,  // second packet after a big jump: statistics restarted
};

// Not thread-safe: owned by the thread that receives the stream. Times come
// from the caller (arrival timestamps), never from a clock read here.
class RtpReceiveStatistics {
 public:
  struct Options {
    uint32_t clock_rate_hz = 8000;
    // A.1 defaults: a jump of less than max_dropout ahead is a gap; less
    // than max_misorder behind is reordering; anything else a bad jump.
    uint16_t max_dropout = 3000;
    uint16_t max_misorder = 100;
    // Sequential packets needed before a new source counts (A.1
    // MIN_SEQUENTIAL). 1 accepts the first packet, which is right once SRTP
    // has authenticated it; 2 is the RFC default for unauthenticated RTP.
    int min_sequential = 2;
  };

  RtpReceiveStatistics();
  explicit RtpReceiveStatistics(const Options& options);

  // Records one packet. `arrival_time_us` is a monotonic receive time.
  SequenceVerdict OnPacket(uint16_t sequence_number, uint32_t rtp_timestamp,
                           int64_t arrival_time_us);

  // Records the sender's last SR so the next report block carries LSR and
  // DLSR and the sender can compute the round-trip time.
  void OnSenderReport(uint64_t ntp_timestamp, int64_t arrival_time_us);

  // Builds the report block about this stream for our next SR/RR and starts
  // a new loss interval (A.3 expected_prior / received_prior).
  RtcpReportBlock MakeReportBlock(uint32_t source_ssrc, int64_t now_us);

  // Packets counted as received since the (re)start.
  uint32_t received() const { return received_; }
  // Cycles * 65536 + highest sequence number seen.
  uint32_t extended_highest_sequence() const { return cycles_ + max_seq_; }
  // Expected minus received (A.3); negative with duplicates.
  int64_t cumulative_lost() const;
  // A.8 interarrival jitter in timestamp units.
  uint32_t jitter() const { return jitter_q4_ >> 4; }
  double jitter_ms() const;
  bool validated() const { return started_ && probation_ == 0; }

 private:
  void InitSequence(uint16_t sequence_number);
  void UpdateJitter(uint32_t rtp_timestamp, int64_t arrival_time_us);

  Options options_;
  bool started_ = false;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;  // shifted count of sequence number cycles
  uint32_t base_seq_ = 0;
  uint32_t bad_seq_ = 0;
  int probation_ = 0;
  uint32_t received_ = 0;
  uint32_t expected_prior_ = 0;
  uint32_t received_prior_ = 0;

  bool have_transit_ = false;
  uint32_t last_transit_ = 0;
  uint32_t jitter_q4_ = 0;  // jitter * 16, as in A.8's integer form

  bool have_sr_ = false;
  uint32_t last_sr_ = 0;
  int64_t last_sr_arrival_us_ = 0;
};

}  // namespace sotto::media::rtp

#endif  // SOTTO_MEDIA_ENGINE_RTP_RECEIVE_STATISTICS_H_
