#include "services/common/logging.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "spdlog/logger.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace sotto::service_kit {
namespace {

// Keys that the JSON format writes itself; a field with one of these names is
// written as "field.<name>" so it cannot overwrite them.
constexpr std::array<absl::string_view, 4> kReservedJsonKeys = {
    "ts", "level", "service", "msg"};

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

spdlog::level::level_enum ToSpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Escapes control characters so one event stays one line; other bytes
// (including UTF-8) pass through so messages stay readable.
void AppendEscaped(absl::string_view text, bool escape_quotes,
                   std::string* out) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (escape_quotes && (c == '"' || c == '\\')) {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppendFormat(out, "\\x%02x", byte);
    } else {
      out->push_back(c);
    }
  }
}

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || byte < 0x20 ||
        byte == 0x7f) {
      return true;
    }
  }
  return false;
}

std::string ValueToText(const LogField::Value& value) {
  struct Visitor {
    std::string operator()(const std::string& v) const { return v; }
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(uint64_t v) const { return absl::StrCat(v); }
    std::string operator()(double v) const { return absl::StrCat(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
  };
  return std::visit(Visitor{}, value);
}

nlohmann::json ValueToJson(const LogField::Value& value) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "--log_level must be debug, info, warning or error, not \"", text, "\""));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "text") return LogFormat::kText;
  if (lower == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--log_format must be text or json, not \"", text, "\""));
}

bool IsSecretKey(absl::string_view key) {
  static constexpr std::array<absl::string_view, 6> kSecretWords = {
      "key", "token", "secret", "password", "authorization", "credential"};
  // Abseil 20220623 has no StrContainsIgnoreCase.
  const std::string lower = absl::AsciiStrToLower(key);
  for (absl::string_view word : kSecretWords) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

LogField::LogField(absl::string_view key, Value value)
    : key_(key), value_(std::move(value)) {
  if (IsSecretKey(key_)) {
    value_ = std::string(kRedacted);
    redacted_ = true;
  }
}

LogField::LogField(absl::string_view key, absl::string_view value)
    : LogField(key, Value(std::string(value))) {}

LogField::LogField(absl::string_view key, const Secret& /*secret*/)
    : key_(key), value_(std::string(kRedacted)), redacted_(true) {}

LogField::LogField(absl::string_view key, bool value)
    : LogField(key, Value(value)) {}

LogField::LogField(absl::string_view key, double value)
    : LogField(key, Value(value)) {}

LogField::LogField(absl::string_view key, const absl::Status& status)
    : LogField(key, Value(status.ToString())) {}

LogField::LogField(absl::string_view key, absl::Duration value)
    : LogField(key, Value(absl::FormatDuration(value))) {}

Logger::Logger(LoggingOptions options)
    : Logger(std::move(options),
             std::make_shared<spdlog::sinks::stderr_sink_mt>()) {}

Logger::Logger(LoggingOptions options,
               std::shared_ptr<spdlog::sinks::sink> sink)
    : options_(std::move(options)),
      logger_(
          std::make_shared<spdlog::logger>(options_.service, std::move(sink))) {
  // Lines arrive fully formatted; spdlog only filters, serialises and writes.
  logger_->set_pattern("%v");
  logger_->set_level(ToSpdlogLevel(options_.level));
  // Warnings and errors often precede an exit; do not leave them buffered.
  logger_->flush_on(spdlog::level::warn);
}

Logger::~Logger() = default;

void Logger::Log(LogLevel level, absl::string_view message,
                 absl::Span<const LogField> fields) {
  if (!Enabled(level)) return;
  const std::string line = FormatLine(absl::Now(), level, message, fields);
  logger_->log(ToSpdlogLevel(level),
               spdlog::string_view_t(line.data(), line.size()));
}

std::string Logger::FormatLine(absl::Time time, LogLevel level,
                               absl::string_view message,
                               absl::Span<const LogField> fields) const {
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  if (options_.format == LogFormat::kJson) {
    nlohmann::json line = nlohmann::json::object();
    line["ts"] = ts;
    line["level"] = absl::AsciiStrToLower(LevelName(level));
    line["service"] = options_.service;
    line["msg"] = std::string(message);
    for (const LogField& field : fields) {
      std::string key = field.key();
      for (absl::string_view reserved : kReservedJsonKeys) {
        if (key == reserved) key = absl::StrCat("field.", key);
      }
      line[key] = ValueToJson(field.value());
    }
    // Replace invalid UTF-8 instead of throwing: a log call must never fail.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out =
      absl::StrCat(ts, " ", LevelName(level), " ", options_.service, ": ");
  AppendEscaped(message, /*escape_quotes=*/false, &out);
  for (const LogField& field : fields) {
    out.push_back(' ');
    AppendEscaped(field.key(), /*escape_quotes=*/false, &out);
    out.push_back('=');
    const std::string value = ValueToText(field.value());
    if (NeedsQuotes(value)) {
      out.push_back('"');
      AppendEscaped(value, /*escape_quotes=*/true, &out);
      out.push_back('"');
    } else {
      out.append(value);
    }
  }
  return out;
}

namespace {

std::unique_ptr<Logger>& DefaultLoggerSlot() {
  static auto* slot =
      new std::unique_ptr<Logger>(std::make_unique<Logger>(LoggingOptions{}));
  return *slot;
}

}  // namespace

void InitLogging(LoggingOptions options) {
  DefaultLoggerSlot() = std::make_unique<Logger>(std::move(options));
}

Logger& DefaultLogger() { return *DefaultLoggerSlot(); }

}  // namespace sotto::service_kit
