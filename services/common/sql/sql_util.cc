#include "services/common/sql/sql_util.h"

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace sotto::sql::internal {

namespace {
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}
}  // namespace

ScannedSql ScanPlaceholders(absl::string_view sql, bool to_sqlite) {
  ScannedSql out;
  out.sql.reserve(sql.size());
  size_t i = 0;
  const size_t n = sql.size();
  auto copy_until = [&](size_t end) {
    out.sql.append(sql.data() + i, end - i);
    i = end;
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // '' and "" inside are escapes; scanning to the next quote twice
      // handles them.
      size_t end = sql.find(c, i + 1);
      copy_until(end == absl::string_view::npos ? n : end + 1);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      copy_until(end == absl::string_view::npos ? n : end + 1);
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      copy_until(end == absl::string_view::npos ? n : end + 2);
    } else if (c == '$' && i + 1 < n && IsDigit(sql[i + 1]) &&
               (i == 0 || !IsIdentChar(sql[i - 1]))) {
      size_t end = i + 1;
      int index = 0;
      while (end < n && IsDigit(sql[end])) {
        index = std::min(index * 10 + (sql[end] - '0'), 1000000);
        ++end;
      }
      out.max_placeholder = std::max(out.max_placeholder, index);
      if (to_sqlite) {
        out.sql += '?';
        out.sql.append(sql.data() + i + 1, end - i - 1);
        i = end;
      } else {
        copy_until(end);
      }
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1]))) {
      // A PostgreSQL dollar-quoted body: $tag$ ... $tag$.
      size_t end = i + 1;
      while (end < n && IsIdentChar(sql[end])) ++end;
      if (end < n && sql[end] == '$') {
        const absl::string_view tag = sql.substr(i, end - i + 1);
        size_t close = sql.find(tag, end + 1);
        copy_until(close == absl::string_view::npos ? n : close + tag.size());
      } else {
        copy_until(i + 1);
      }
    } else {
      copy_until(i + 1);
    }
  }
  return out;
}

absl::Status CheckParamCount(const ScannedSql& scanned, size_t given,
                             absl::string_view sql) {
  if (static_cast<size_t>(scanned.max_placeholder) == given) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the statement uses ", scanned.max_placeholder,
                   " parameter(s) ($1..$", scanned.max_placeholder, ") but ",
                   given, " were given: ", SqlForMessage(sql)));
}

std::string SqlForMessage(absl::string_view sql) {
  constexpr size_t kMax = 160;
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
  }
  return out;
}

std::string RedactParams(std::string message, Params params,
                         bool quoted_values) {
  constexpr absl::string_view kRedacted = "[redacted]";
  if (quoted_values) {
    std::string out;
    size_t i = 0;
    while (i < message.size()) {
      size_t open = message.find('"', i);
      size_t close =
          open == std::string::npos ? open : message.find('"', open + 1);
      if (close == std::string::npos) {
        out.append(message, i, std::string::npos);
        break;
      }
      out.append(message, i, open - i);
      absl::StrAppend(&out, "\"", kRedacted, "\"");
      i = close + 1;
    }
    message = std::move(out);
  }
  for (const Value& p : params) {
    std::string needle;
    switch (p.type()) {
      case Value::Type::kText:
        needle = p.text();
        break;
      case Value::Type::kBytes:
        needle = p.bytes();
        break;
      case Value::Type::kInt64:
        needle = absl::StrCat(p.int64());
        break;
      case Value::Type::kDouble:
        needle = absl::StrCat(p.dbl());
        break;
      case Value::Type::kNull:
        break;
    }
    // Short values (a digit, a letter) would shred the message and reveal
    // little; numbers are redacted from 4 digits on.
    const size_t min_len =
        p.type() == Value::Type::kText || p.type() == Value::Type::kBytes ? 3
                                                                          : 4;
    if (needle.size() >= min_len) {
      message = absl::StrReplaceAll(message, {{needle, kRedacted}});
    }
  }
  return message;
}

absl::Status RetryOnAborted(const TransactionOptions& options,
                            const std::function<absl::Status()>& attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  absl::Duration backoff = options.initial_backoff;
  absl::Status status;
  const int attempts = std::max(1, options.max_attempts);
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) {
      std::uniform_int_distribution<int64_t> jitter(
          0, std::max<int64_t>(1, absl::ToInt64Microseconds(backoff)));
      std::this_thread::sleep_for(std::chrono::microseconds(jitter(rng)));
      backoff = std::min(backoff * 2, options.max_backoff);
    }
    status = attempt();
    if (!absl::IsAborted(status)) return status;
  }
  return absl::AbortedError(absl::StrCat("transaction gave up after ", attempts,
                                         " attempts: ", status.message()));
}

absl::StatusOr<int64_t> DoomOnFailureTransaction::Execute(absl::string_view sql,
                                                          Params params) {
  if (!failed_.ok()) return Doomed();
  return Remember(RunStatement(sql, params, nullptr));
}

absl::StatusOr<Rows> DoomOnFailureTransaction::Query(absl::string_view sql,
                                                     Params params) {
  if (!failed_.ok()) return Doomed();
  Rows rows;
  absl::StatusOr<int64_t> result = Remember(RunStatement(sql, params, &rows));
  if (!result.ok()) return result.status();
  return rows;
}

absl::Status DoomOnFailureTransaction::ExecuteScript(absl::string_view sql) {
  if (!failed_.ok()) return Doomed();
  absl::Status status = RunScript(sql);
  if (!status.ok()) failed_ = status;
  return status;
}

absl::Status DoomOnFailureTransaction::Doomed() const {
  return absl::FailedPreconditionError(
      absl::StrCat("an earlier statement of this transaction failed (",
                   failed_.message(), "); it will be rolled back"));
}

absl::StatusOr<int64_t> DoomOnFailureTransaction::Remember(
    absl::StatusOr<int64_t> result) {
  if (!result.ok() && failed_.ok()) failed_ = result.status();
  return result;
}

}  // namespace sotto::sql::internal
