// Tests for structured logging: redaction of secrets, text quoting, JSON
// escaping and level filtering.
#include "services/common/logging.h"

#include <memory>
#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ostream_sink.h"

namespace sotto::service_kit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kTime = absl::FromUnixMillis(1796316000123);  // 2026-12-03

class LoggingTest : public ::testing::Test {
 protected:
  std::unique_ptr<Logger> MakeLogger(LogFormat format,
                                     LogLevel level = LogLevel::kInfo) {
    LoggingOptions options;
    options.service = "broker";
    options.format = format;
    options.level = level;
    return std::make_unique<Logger>(
        options, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }

  std::ostringstream out_;
};

TEST(IsSecretKeyTest, NamesThatMentionASecretAreSecret) {
  for (const char* key :
       {"key", "api_key", "tls_key_file", "Token", "refresh_token", "SECRET",
        "client_secret", "password", "db_Password", "Authorization",
        "credentials", "aws_credential_id"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"call", "tenant", "grpc_port", "user", "mode"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(LogFieldTest, SecretNamedFieldHoldsOnlyTheRedactedMarker) {
  const LogField field("Authorization", "Bearer eyJhbGciOi");
  EXPECT_TRUE(field.redacted());
  EXPECT_EQ(std::get<std::string>(field.value()), kRedacted);
}

TEST(LogFieldTest, SecretWrapperIsRedactedUnderAnyName) {
  const LogField field("note", Secret("hunter2"));
  EXPECT_TRUE(field.redacted());
  EXPECT_EQ(std::get<std::string>(field.value()), kRedacted);
}

TEST(LogFieldTest, NumbersStayNumbersUnlessSecretNamed) {
  EXPECT_EQ(std::get<int64_t>(LogField("port", 7100).value()), 7100);
  EXPECT_EQ(std::get<uint64_t>(LogField("n", size_t{3}).value()), 3u);
  EXPECT_EQ(std::get<std::string>(LogField("pin_token", 1234).value()),
            kRedacted);
}

TEST_F(LoggingTest, TextLineHasTimeLevelServiceMessageAndFields) {
  auto logger = MakeLogger(LogFormat::kText);
  EXPECT_EQ(logger->FormatLine(kTime, LogLevel::kInfo, "call registered",
                               {{"call", "abc"}, {"tenant", "t"}}),
            "2026-12-03T16:40:00.123Z INFO broker: call registered call=abc "
            "tenant=t");
}

TEST_F(LoggingTest, TextQuotesValuesWithSpacesAndEscapesNewlines) {
  auto logger = MakeLogger(LogFormat::kText);
  const std::string line =
      logger->FormatLine(kTime, LogLevel::kWarning, "two\nlines",
                         {{"reason", "said \"hi\" there"}, {"empty", ""}});
  EXPECT_THAT(line, HasSubstr("WARN broker: two\\nlines"));
  EXPECT_THAT(line, HasSubstr("reason=\"said \\\"hi\\\" there\""));
  EXPECT_THAT(line, HasSubstr("empty=\"\""));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST_F(LoggingTest, TextNeverShowsSecrets) {
  auto logger = MakeLogger(LogFormat::kText);
  const std::string line = logger->FormatLine(
      kTime, LogLevel::kInfo, "login",
      {{"password", "hunter2"}, {"user", "ann"}, {"x", Secret("s3cr3t")}});
  EXPECT_THAT(line, Not(HasSubstr("hunter2")));
  EXPECT_THAT(line, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(line, HasSubstr("password=[redacted]"));
  EXPECT_THAT(line, HasSubstr("x=[redacted]"));
  EXPECT_THAT(line, HasSubstr("user=ann"));
}

TEST_F(LoggingTest, JsonLineParsesBackToTheSameStrings) {
  auto logger = MakeLogger(LogFormat::kJson);
  const std::string nasty = "quote\" backslash\\ newline\n tab\t bell\x07 é";
  const std::string line =
      logger->FormatLine(kTime, LogLevel::kError, nasty,
                         {{"call", nasty}, {"port", 7100}, {"ok", true}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["ts"], "2026-12-03T16:40:00.123Z");
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_EQ(parsed["service"], "broker");
  EXPECT_EQ(parsed["msg"], nasty);
  EXPECT_EQ(parsed["call"], nasty);
  EXPECT_EQ(parsed["port"], 7100);
  EXPECT_EQ(parsed["ok"], true);
}

TEST_F(LoggingTest, JsonNeverShowsSecrets) {
  auto logger = MakeLogger(LogFormat::kJson);
  const std::string line = logger->FormatLine(
      kTime, LogLevel::kInfo, "calling policy",
      {{"api_token", "tok-123"}, {"header", Secret("Bearer abc")}});
  EXPECT_THAT(line, Not(HasSubstr("tok-123")));
  EXPECT_THAT(line, Not(HasSubstr("Bearer abc")));
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["api_token"], kRedacted);
  EXPECT_EQ(parsed["header"], kRedacted);
}

TEST_F(LoggingTest, JsonFieldCannotOverwriteReservedKeys) {
  auto logger = MakeLogger(LogFormat::kJson);
  const nlohmann::json parsed = nlohmann::json::parse(logger->FormatLine(
      kTime, LogLevel::kInfo, "real", {{"msg", "fake"}, {"level", "fake"}}));
  EXPECT_EQ(parsed["msg"], "real");
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["field.msg"], "fake");
  EXPECT_EQ(parsed["field.level"], "fake");
}

TEST_F(LoggingTest, JsonSurvivesInvalidUtf8) {
  auto logger = MakeLogger(LogFormat::kJson);
  const std::string line = logger->FormatLine(
      kTime, LogLevel::kInfo, "bytes \xff\xfe", {{"v", "\xc3"}});
  EXPECT_NO_THROW(nlohmann::json::parse(line));
}

TEST_F(LoggingTest, LinesBelowTheLevelAreDropped) {
  auto logger = MakeLogger(LogFormat::kText, LogLevel::kWarning);
  logger->Log(LogLevel::kInfo, "quiet");
  logger->Log(LogLevel::kError, "loud", {{"code", 3}});
  EXPECT_THAT(out_.str(), Not(HasSubstr("quiet")));
  EXPECT_THAT(out_.str(), HasSubstr("ERROR broker: loud code=3\n"));
}

TEST(ParseLogOptionsTest, AcceptsKnownNamesAndRejectsOthers) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogLevel("loud").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLogFormat("xml").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::service_kit
