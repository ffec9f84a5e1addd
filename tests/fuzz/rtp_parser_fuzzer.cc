// libFuzzer target: RTP parser, extension iterator, writer round trip,
// mux classification and receive statistics on untrusted bytes.
#include <array>
#include <cstddef>
#include <cstdint>

#include "media_engine/rtp/receive_statistics.h"
#include "media_engine/rtp/rtp_demux.h"
#include "media_engine/rtp/rtp_packet.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sotto::media::rtp;  // NOLINT: fuzz target, one function

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Span<const uint8_t> input(data, size);
  ClassifyMuxedPacket(input);

  RtpPacketView view;
  const RtpParseError error = ParseRtp(input, &view);
  FUZZ_CHECK(static_cast<size_t>(error) < kRtpParseErrorCount);
  if (error != RtpParseError::kOk) return 0;

  // The pieces tile the packet exactly and stay inside it.
  FUZZ_CHECK(view.header_size() + view.payload().size() + view.padding_size() ==
             size);
  FUZZ_CHECK(view.payload().data() == data + view.header_size());
  FUZZ_CHECK(view.csrc_count() <= kRtpMaxCsrcs);
  std::array<uint32_t, kRtpMaxCsrcs> csrcs{};
  for (int i = 0; i < view.csrc_count(); ++i) csrcs[i] = view.csrc(i);

  RtpExtensionIterator it(view);
  RtpExtensionElement element;
  size_t elements = 0;
  while (it.Next(&element)) {
    FUZZ_CHECK(element.data.data() >= view.extension_data().data());
    FUZZ_CHECK(element.data.data() + element.data.size() <=
               view.extension_data().data() + view.extension_data().size());
    FUZZ_CHECK(++elements <= view.extension_data().size());
  }

  // Writing the parsed fields back gives the same packet minus padding.
  RtpHeaderFields fields;
  fields.marker = view.marker();
  fields.payload_type = view.payload_type();
  fields.sequence_number = view.sequence_number();
  fields.timestamp = view.timestamp();
  fields.ssrc = view.ssrc();
  fields.csrcs = absl::MakeConstSpan(csrcs.data(), view.csrc_count());
  fields.has_extension = view.has_extension();
  fields.extension_profile = view.extension_profile();
  fields.extension_data = view.extension_data();
  static std::array<uint8_t, 70000> buffer;
  if (size > buffer.size()) return 0;
  const size_t written =
      WriteRtpPacket(fields, view.payload(), absl::MakeSpan(buffer));
  FUZZ_CHECK(written == size - view.padding_size());
  RtpPacketView again;
  FUZZ_CHECK(ParseRtp(absl::MakeConstSpan(buffer.data(), written), &again) ==
             RtpParseError::kOk);
  FUZZ_CHECK(again.sequence_number() == view.sequence_number());
  FUZZ_CHECK(again.timestamp() == view.timestamp());
  FUZZ_CHECK(again.ssrc() == view.ssrc());
  FUZZ_CHECK(again.payload().size() == view.payload().size());

  RtpReceiveStatistics stats;
  stats.OnPacket(view.sequence_number(), view.timestamp(), 0);
  stats.OnPacket(static_cast<uint16_t>(view.sequence_number() + 1),
                 view.timestamp() + 160, 20'000);
  stats.MakeReportBlock(view.ssrc(), 40'000);
  return 0;
}
