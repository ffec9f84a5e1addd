// libFuzzer target: RTCP compound parser (both validation modes) and the
// report-block writer round trip on untrusted bytes.
#include <array>
#include <cstddef>
#include <cstdint>

#include "media_engine/rtp/rtcp_packet.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sotto::media::rtp;  // NOLINT: fuzz target, one function

namespace {

// Touches every view the parser hands out, and re-encodes report blocks.
class CheckingVisitor : public RtcpVisitor {
 public:
  CheckingVisitor(const uint8_t* begin, const uint8_t* end)
      : begin_(begin), end_(end) {}

  void OnSenderReport(const RtcpSenderReportView& report) override {
    CheckBlocks(report.report_blocks);
    CheckInside(report.profile_extension);
  }
  void OnReceiverReport(const RtcpReceiverReportView& report) override {
    CheckBlocks(report.report_blocks);
    CheckInside(report.profile_extension);
  }
  void OnSdesItem(const RtcpSdesItem& item) override {
    FUZZ_CHECK(item.type != 0);
    CheckInside(item.value);
  }
  void OnBye(const RtcpByeView& bye) override {
    for (size_t i = 0; i < bye.ssrc_count(); ++i) sink_ ^= bye.ssrc(i);
    CheckInside(bye.reason());
  }
  void OnApp(const RtcpAppView& app) override {
    FUZZ_CHECK(app.name.size() == 4);
    CheckInside(app.data);
  }
  void OnUnknown(uint8_t packet_type, uint8_t count,
                 absl::Span<const uint8_t> body) override {
    CheckInside(body);
  }

 private:
  void CheckInside(absl::Span<const uint8_t> span) {
    if (span.empty()) return;
    FUZZ_CHECK(span.data() >= begin_ && span.data() + span.size() <= end_);
  }
  void CheckBlocks(const RtcpReportBlocks& blocks) {
    FUZZ_CHECK(blocks.size() <= kRtcpMaxReportBlocks);
    std::array<RtcpReportBlock, kRtcpMaxReportBlocks> decoded;
    for (size_t i = 0; i < blocks.size(); ++i) {
      decoded[i] = blocks[i];
      FUZZ_CHECK(decoded[i].cumulative_lost >= -0x800000 &&
                 decoded[i].cumulative_lost <= 0x7FFFFF);
    }
    // Blocks survive write + parse unchanged.
    std::array<uint8_t, 8 + 24 * kRtcpMaxReportBlocks> buffer;
    const size_t size = WriteRtcpReceiverReport(
        1, absl::MakeConstSpan(decoded.data(), blocks.size()),
        absl::MakeSpan(buffer));
    FUZZ_CHECK(size == 8 + 24 * blocks.size());
    struct Reparse : RtcpVisitor {
      void OnReceiverReport(const RtcpReceiverReportView& report) override {
        for (size_t i = 0; i < report.report_blocks.size(); ++i) {
          const RtcpReportBlock a = report.report_blocks[i];
          const RtcpReportBlock& b = (*expected)[i];
          FUZZ_CHECK(a.source_ssrc == b.source_ssrc &&
                     a.fraction_lost == b.fraction_lost &&
                     a.cumulative_lost == b.cumulative_lost &&
                     a.extended_highest_sequence ==
                         b.extended_highest_sequence &&
                     a.jitter == b.jitter && a.last_sr == b.last_sr &&
                     a.delay_since_last_sr == b.delay_since_last_sr);
        }
      }
      const std::array<RtcpReportBlock, kRtcpMaxReportBlocks>* expected;
    } reparse;
    reparse.expected = &decoded;
    FUZZ_CHECK(ParseRtcpCompound(absl::MakeConstSpan(buffer.data(), size),
                                 &reparse) == RtcpParseError::kOk);
  }

  const uint8_t* begin_;
  const uint8_t* end_;
  uint32_t sink_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Span<const uint8_t> input(data, size);
  CheckingVisitor visitor(data, data + size);
  const RtcpParseError strict = ParseRtcpCompound(input, &visitor);
  FUZZ_CHECK(static_cast<size_t>(strict) < kRtcpParseErrorCount);
  // Validation alone agrees with validation plus visiting.
  FUZZ_CHECK(ParseRtcpCompound(input, nullptr) == strict);
  RtcpParseOptions reduced_size;
  reduced_size.require_report_first = false;
  const RtcpParseError relaxed =
      ParseRtcpCompound(input, &visitor, reduced_size);
  // Relaxing the first-packet rule never rejects what strict accepted.
  if (strict == RtcpParseError::kOk) FUZZ_CHECK(relaxed == RtcpParseError::kOk);
  return 0;
}
