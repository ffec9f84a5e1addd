// Structured logging for Sotto services: one line per event, either
// human-readable text or JSON, with a message plus key/value fields and with
// secrets redacted before they reach any sink.
#ifndef SOTTO_SERVICES_COMMON_LOGGING_H_
#define SOTTO_SERVICES_COMMON_LOGGING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace spdlog {
class logger;
namespace sinks {
class sink;
}  // namespace sinks
}  // namespace spdlog

namespace sotto::service_kit {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// Accepts "debug", "info", "warning" (or "warn"), "error"; case-insensitive.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
// Accepts "text" or "json"; case-insensitive.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);

// What every redacted value is written as.
inline constexpr char kRedacted[] = "[redacted]";

// True when a field called `key` must never show its value: the name
// contains key, token, secret, password, authorization or credential
// (case-insensitive). Names are matched rather than values because a secret's
// value cannot be recognised, but the code that names a field knows what it
// holds.
bool IsSecretKey(absl::string_view key);

// Holds a secret (token, password, key material). Whatever field it is
// logged under, it is written as "[redacted]"; wrap secrets in it where they
// enter the program so a mislabelled field cannot leak them.
class Secret {
 public:
  explicit Secret(std::string value) : value_(std::move(value)) {}

  // For using the secret, never for logging it.
  const std::string& value() const { return value_; }

 private:
  std::string value_;
};

// One key/value pair of a log line. Redaction happens here, at construction,
// so no formatting path ever sees a secret value.
class LogField {
 public:
  using Value = std::variant<std::string, int64_t, uint64_t, double, bool>;

  LogField(absl::string_view key, absl::string_view value);
  LogField(absl::string_view key, const char* value)
      : LogField(key, absl::string_view(value == nullptr ? "" : value)) {}
  LogField(absl::string_view key, const std::string& value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, std::string_view value)
      : LogField(key, absl::string_view(value.data(), value.size())) {}
  LogField(absl::string_view key, const Secret& secret);
  LogField(absl::string_view key, bool value);
  LogField(absl::string_view key, double value);
  LogField(absl::string_view key, const absl::Status& status);
  LogField(absl::string_view key, absl::Duration value);
  template <typename Int, std::enable_if_t<std::is_integral_v<Int> &&
                                               !std::is_same_v<Int, bool> &&
                                               !std::is_same_v<Int, char>,
                                           int> = 0>
  LogField(absl::string_view key, Int value)
      : LogField(key, std::is_signed_v<Int>
                          ? Value(static_cast<int64_t>(value))
                          : Value(static_cast<uint64_t>(value))) {}

  const std::string& key() const { return key_; }
  const Value& value() const { return value_; }
  bool redacted() const { return redacted_; }

 private:
  LogField(absl::string_view key, Value value);

  std::string key_;
  Value value_;
  bool redacted_ = false;
};

struct LoggingOptions {
  // Short service name written on every line ("broker").
  std::string service = "sotto";
  LogFormat format = LogFormat::kText;
  LogLevel level = LogLevel::kInfo;
};

// Formats lines and hands them to an spdlog sink. Thread-safe: Log() may be
// called from any thread (the sink serialises writes).
class Logger {
 public:
  // Writes to stderr, where container runtimes collect logs.
  explicit Logger(LoggingOptions options);
  // Writes to `sink`; tests pass an ostream sink to capture lines.
  Logger(LoggingOptions options, std::shared_ptr<spdlog::sinks::sink> sink);
  ~Logger();

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(LogLevel level) const { return level >= options_.level; }

  void Log(LogLevel level, absl::string_view message,
           absl::Span<const LogField> fields = {});

  // The line Log() would write at `time`, without the trailing newline.
  std::string FormatLine(absl::Time time, LogLevel level,
                         absl::string_view message,
                         absl::Span<const LogField> fields) const;

  const LoggingOptions& options() const { return options_; }

 private:
  LoggingOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Replaces the process-wide logger. Call from main() before other threads
// start; lines logged before it go to stderr as text at INFO.
void InitLogging(LoggingOptions options);
Logger& DefaultLogger();

inline void LogDebug(absl::string_view message,
                     absl::Span<const LogField> fields = {}) {
  DefaultLogger().Log(LogLevel::kDebug, message, fields);
}
inline void LogInfo(absl::string_view message,
                    absl::Span<const LogField> fields = {}) {
  DefaultLogger().Log(LogLevel::kInfo, message, fields);
}
inline void LogWarning(absl::string_view message,
                       absl::Span<const LogField> fields = {}) {
  DefaultLogger().Log(LogLevel::kWarning, message, fields);
}
inline void LogError(absl::string_view message,
                     absl::Span<const LogField> fields = {}) {
  DefaultLogger().Log(LogLevel::kError, message, fields);
}

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_LOGGING_H_
