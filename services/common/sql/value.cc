#include "services/common/sql/value.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sotto::sql {

Value Value::Bytes(std::string bytes) {
  Value v;
  v.data_ = BytesData{std::move(bytes)};
  return v;
}

absl::string_view TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull:
      return "NULL";
    case Value::Type::kInt64:
      return "INT64";
    case Value::Type::kDouble:
      return "DOUBLE";
    case Value::Type::kText:
      return "TEXT";
    case Value::Type::kBytes:
      return "BYTES";
  }
  return "UNKNOWN";
}

namespace {
absl::Status WrongType(Value::Type have, Value::Type want) {
  return absl::InvalidArgumentError(
      absl::StrCat("value is ", TypeName(have), ", not ", TypeName(want)));
}
}  // namespace

absl::StatusOr<int64_t> Value::AsInt64() const {
  if (type() != Type::kInt64) return WrongType(type(), Type::kInt64);
  return int64();
}

absl::StatusOr<double> Value::AsDouble() const {
  if (type() == Type::kInt64) return static_cast<double>(int64());
  if (type() != Type::kDouble) return WrongType(type(), Type::kDouble);
  return dbl();
}

absl::StatusOr<std::string> Value::AsText() const {
  if (type() != Type::kText) return WrongType(type(), Type::kText);
  return text();
}

absl::StatusOr<std::string> Value::AsBytes() const {
  if (type() != Type::kBytes) return WrongType(type(), Type::kBytes);
  return bytes();
}

std::string Row::Describe(size_t column) const {
  if (columns_ && column < columns_->size()) {
    return absl::StrCat("column '", (*columns_)[column], "' (index ", column,
                        ")");
  }
  return absl::StrCat("column ", column);
}

absl::StatusOr<size_t> Row::Index(absl::string_view column) const {
  if (columns_) {
    for (size_t i = 0; i < columns_->size(); ++i) {
      if ((*columns_)[i] == column) return i;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no column named '", column, "'; the result has columns: ",
                   columns_ ? absl::StrJoin(*columns_, ", ") : std::string()));
}

absl::StatusOr<const Value*> Row::Checked(size_t column) const {
  if (column >= values_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("column index ", column, " is out of range; the row has ",
                     values_.size(), " columns"));
  }
  return &values_[column];
}

template <typename T>
absl::StatusOr<T> Row::Typed(size_t column, Value::Type want) const {
  absl::StatusOr<const Value*> v = Checked(column);
  if (!v.ok()) return v.status();
  const Value& value = **v;
  if (value.is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(column),
                     " is NULL; check IsNull() first for a nullable "
                     "column"));
  }
  absl::StatusOr<T> result;
  switch (want) {
    case Value::Type::kInt64:
      if constexpr (std::is_same_v<T, int64_t>) result = value.AsInt64();
      break;
    case Value::Type::kDouble:
      if constexpr (std::is_same_v<T, double>) result = value.AsDouble();
      break;
    case Value::Type::kText:
      if constexpr (std::is_same_v<T, std::string>) result = value.AsText();
      break;
    case Value::Type::kBytes:
      if constexpr (std::is_same_v<T, std::string>) result = value.AsBytes();
      break;
    case Value::Type::kNull:
      break;
  }
  if (!result.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(column), " is ",
                                                   TypeName(value.type()),
                                                   ", not ", TypeName(want)));
  }
  return result;
}

absl::StatusOr<Value> Row::Get(size_t column) const {
  absl::StatusOr<const Value*> v = Checked(column);
  if (!v.ok()) return v.status();
  return **v;
}
absl::StatusOr<Value> Row::Get(absl::string_view column) const {
  absl::StatusOr<size_t> i = Index(column);
  if (!i.ok()) return i.status();
  return Get(*i);
}
absl::StatusOr<bool> Row::IsNull(size_t column) const {
  absl::StatusOr<const Value*> v = Checked(column);
  if (!v.ok()) return v.status();
  return (*v)->is_null();
}
absl::StatusOr<bool> Row::IsNull(absl::string_view column) const {
  absl::StatusOr<size_t> i = Index(column);
  if (!i.ok()) return i.status();
  return IsNull(*i);
}

#define SOTTO_SQL_GETTER(Name, T, kType)                        \
  absl::StatusOr<T> Row::Name(size_t column) const {            \
    return Typed<T>(column, Value::Type::kType);                \
  }                                                             \
  absl::StatusOr<T> Row::Name(absl::string_view column) const { \
    absl::StatusOr<size_t> i = Index(column);                   \
    if (!i.ok()) return i.status();                             \
    return Typed<T>(*i, Value::Type::kType);                    \
  }
SOTTO_SQL_GETTER(GetInt64, int64_t, kInt64)
SOTTO_SQL_GETTER(GetDouble, double, kDouble)
SOTTO_SQL_GETTER(GetText, std::string, kText)
SOTTO_SQL_GETTER(GetBytes, std::string, kBytes)
#undef SOTTO_SQL_GETTER

absl::StatusOr<Row> Rows::Single() const {
  if (rows_.empty()) return absl::NotFoundError("the query returned no row");
  if (rows_.size() > 1) {
    return absl::InternalError(absl::StrCat("the query returned ", rows_.size(),
                                            " rows where one was expected"));
  }
  return rows_[0];
}

}  // namespace sotto::sql
