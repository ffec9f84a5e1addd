#include "tools/sottoctl/values.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"

namespace sotto::sottoctl {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::util::TimeUtil;

// The common prefix of an enum's value names, taken from its UNSPECIFIED
// value ("MODE_UNSPECIFIED" → "MODE_", "STATE_UNSPECIFIED" → "" because
// nested state values carry no prefix).
std::string EnumPrefix(const EnumDescriptor* type) {
  const EnumValueDescriptor* zero = type->FindValueByNumber(0);
  if (zero == nullptr) return "";
  absl::string_view name = zero->name();
  if (!absl::ConsumeSuffix(&name, "UNSPECIFIED")) return "";
  std::string prefix(name);
  // Nested enums (Call.State) name the zero value STATE_UNSPECIFIED but
  // their other values have no STATE_ prefix.
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0 &&
        !absl::StartsWith(type->value(i)->name(), prefix)) {
      return "";
    }
  }
  return prefix;
}

std::string Normalise(absl::string_view text) {
  std::string out = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  for (char& c : out) {
    if (c == '-' || c == '.') c = '_';
  }
  return out;
}

template <typename E>
absl::StatusOr<E> Typed(absl::StatusOr<int> number) {
  if (!number.ok()) return number.status();
  return static_cast<E>(*number);
}

}  // namespace

std::string FriendlyName(const EnumValueDescriptor* value) {
  absl::string_view name = value->name();
  absl::ConsumePrefix(&name, EnumPrefix(value->type()));
  std::string out = absl::AsciiStrToLower(name);
  absl::StrReplaceAll({{"_", "-"}}, &out);
  return out;
}

std::string FriendlyName(const EnumDescriptor* type, int number) {
  const EnumValueDescriptor* value = type->FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  return FriendlyName(value);
}

absl::StatusOr<int> ParseEnum(const EnumDescriptor* type,
                              absl::string_view flag, absl::string_view text) {
  const std::string wanted = Normalise(text);
  const std::string prefix = EnumPrefix(type);
  std::vector<std::string> valid;
  for (int i = 0; i < type->value_count(); ++i) {
    const EnumValueDescriptor* value = type->value(i);
    if (value->number() == 0) continue;
    valid.push_back(FriendlyName(value));
    if (!wanted.empty() &&
        (value->name() == wanted || value->name() == prefix + wanted)) {
      return value->number();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": unknown value \"", text,
                   "\"; valid: ", absl::StrJoin(valid, ", ")));
}

absl::StatusOr<v1::Mode> ParseMode(absl::string_view flag,
                                   absl::string_view text) {
  return Typed<v1::Mode>(ParseEnum(v1::Mode_descriptor(), flag, text));
}

absl::StatusOr<v1::Codec> ParseCodec(absl::string_view flag,
                                     absl::string_view text) {
  return Typed<v1::Codec>(ParseEnum(v1::Codec_descriptor(), flag, text));
}

absl::StatusOr<v1::CryptoSuite> ParseSuite(absl::string_view flag,
                                           absl::string_view text) {
  const std::string normal = Normalise(text);
  if (normal == "PLAIN" || normal == "RTP" || normal == "NONE") {
    return v1::CRYPTO_SUITE_PLAIN_RTP;
  }
  if (normal == "SRTP") return v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80;
  return Typed<v1::CryptoSuite>(
      ParseEnum(v1::CryptoSuite_descriptor(), flag, text));
}

absl::StatusOr<v1::RtcpMode> ParseRtcpMode(absl::string_view flag,
                                           absl::string_view text) {
  return Typed<v1::RtcpMode>(ParseEnum(v1::RtcpMode_descriptor(), flag, text));
}

absl::StatusOr<v1::Call::State> ParseCallState(absl::string_view flag,
                                               absl::string_view text) {
  return Typed<v1::Call::State>(
      ParseEnum(v1::Call::State_descriptor(), flag, text));
}

absl::StatusOr<v1::GroupBy> ParseGroupBy(absl::string_view flag,
                                         absl::string_view text) {
  return Typed<v1::GroupBy>(ParseEnum(v1::GroupBy_descriptor(), flag, text));
}

absl::StatusOr<v1::Role> ParseRole(absl::string_view flag,
                                   absl::string_view text) {
  return Typed<v1::Role>(ParseEnum(v1::Role_descriptor(), flag, text));
}

absl::StatusOr<v1::Action> ParseAction(absl::string_view flag,
                                       absl::string_view text) {
  return Typed<v1::Action>(ParseEnum(v1::Action_descriptor(), flag, text));
}

absl::StatusOr<v1::RecordingPolicy::Layout> ParseLayout(
    absl::string_view flag, absl::string_view text) {
  return Typed<v1::RecordingPolicy::Layout>(
      ParseEnum(v1::RecordingPolicy::Layout_descriptor(), flag, text));
}

absl::StatusOr<v1::Endpoint> ParseEndpoint(absl::string_view flag,
                                           absl::string_view text) {
  absl::string_view host;
  absl::string_view port_text;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": expected [IPv6]:PORT, got \"", text, "\""));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": expected IP:PORT, got \"", text, "\""));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": port must be 1..65535, got \"", port_text, "\""));
  }
  v1::Endpoint endpoint;
  endpoint.set_address(std::string(host));
  endpoint.set_port(port);
  return endpoint;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view flag,
                                             absl::string_view text) {
  absl::Duration duration;
  int64_t days = 0;
  absl::string_view rest = text;
  if (absl::ConsumeSuffix(&rest, "d") && absl::SimpleAtoi(rest, &days) &&
      days >= 0) {
    return absl::Hours(24 * days);
  }
  if (absl::ParseDuration(text, &duration) &&
      duration >= absl::ZeroDuration()) {
    return duration;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": expected a duration like 30s, 15m, 2h or 7d, got \"", text,
      "\""));
}

absl::StatusOr<absl::Time> ParseTime(absl::string_view flag,
                                     absl::string_view text, absl::Time now) {
  if (text == "now") return now;
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": expected an RFC 3339 time like 2026-12-03T09:00:00Z, got \"",
      text, "\""));
}

// Protobuf's own conversions (TimeUtil) rather than hand-written ones.
google::protobuf::Timestamp ToProtoTime(absl::Time time) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

google::protobuf::Duration ToProtoDuration(absl::Duration duration) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(duration));
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& time) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(time));
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& duration) {
  return absl::Nanoseconds(TimeUtil::DurationToNanoseconds(duration));
}

}  // namespace sotto::sottoctl
