// Friendly command-line values → proto values for sottoctl: enums by short
// name ("listen", "pcmu", "plain-rtp"), endpoints, times and durations. Every
// error names the flag and, for enums, lists the valid values.
#ifndef SOTTO_TOOLS_SOTTOCTL_VALUES_H_
#define SOTTO_TOOLS_SOTTOCTL_VALUES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "sotto/v1/broker.pb.h"
#include "sotto/v1/common.pb.h"
#include "sotto/v1/policy.pb.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::sottoctl {

// The friendly name of an enum value: its name without the enum's prefix,
// lower case, '_' → '-' (MODE_LISTEN → "listen", CRYPTO_SUITE_PLAIN_RTP →
// "plain-rtp", ON_HOLD → "on-hold").
std::string FriendlyName(const google::protobuf::EnumValueDescriptor* value);
// The same from a number; the number itself if the enum does not know it.
std::string FriendlyName(const google::protobuf::EnumDescriptor* type,
                         int number);

// Parses `text` as a value of `type`: the friendly name, the full value name
// or the full name without prefix, any case, '-' or '_' or '.'. The
// *_UNSPECIFIED value is never accepted. Errors name `flag` and list the
// valid friendly names.
absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* type,
                              absl::string_view flag, absl::string_view text);

// Typed wrappers, with the aliases people type ("plain" for plain RTP,
// "srtp" for the default SRTP suite, "calls.manage" for actions).
absl::StatusOr<v1::Mode> ParseMode(absl::string_view flag,
                                   absl::string_view text);
absl::StatusOr<v1::Codec> ParseCodec(absl::string_view flag,
                                     absl::string_view text);
absl::StatusOr<v1::CryptoSuite> ParseSuite(absl::string_view flag,
                                           absl::string_view text);
absl::StatusOr<v1::RtcpMode> ParseRtcpMode(absl::string_view flag,
                                           absl::string_view text);
absl::StatusOr<v1::Call::State> ParseCallState(absl::string_view flag,
                                               absl::string_view text);
absl::StatusOr<v1::GroupBy> ParseGroupBy(absl::string_view flag,
                                         absl::string_view text);
absl::StatusOr<v1::Role> ParseRole(absl::string_view flag,
                                   absl::string_view text);
absl::StatusOr<v1::Action> ParseAction(absl::string_view flag,
                                       absl::string_view text);
absl::StatusOr<v1::RecordingPolicy::Layout> ParseLayout(absl::string_view flag,
                                                        absl::string_view text);

// "IP:PORT" or "[IPv6]:PORT". The address is passed on as given (the
// server checks it is a literal); the port must be 1..65535.
absl::StatusOr<v1::Endpoint> ParseEndpoint(absl::string_view flag,
                                           absl::string_view text);

// A duration: absl's form ("90s", "1h30m") plus whole days ("7d").
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view flag,
                                             absl::string_view text);
// An RFC 3339 time ("2026-12-03T10:00:00Z"), or "now".
absl::StatusOr<absl::Time> ParseTime(absl::string_view flag,
                                     absl::string_view text, absl::Time now);

google::protobuf::Timestamp ToProtoTime(absl::Time time);
google::protobuf::Duration ToProtoDuration(absl::Duration duration);
absl::Time FromProtoTime(const google::protobuf::Timestamp& time);
absl::Duration FromProtoDuration(const google::protobuf::Duration& duration);

}  // namespace sotto::sottoctl

#endif  // SOTTO_TOOLS_SOTTOCTL_VALUES_H_
