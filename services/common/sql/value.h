// Typed SQL values (parameters and results) and the rows a query returns,
// shared by every Database implementation.
#ifndef SOTTO_SERVICES_COMMON_SQL_VALUE_H_
#define SOTTO_SERVICES_COMMON_SQL_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::sql {

// One SQL value: NULL, a 64-bit integer, a double, text (UTF-8) or bytes.
// Integer types convert implicitly (so `{call_id, 42}` works as a parameter
// list); bool does not, because SQLite has no boolean type: store 0/1.
class Value {
 public:
  enum class Type { kNull, kInt64, kDouble, kText, kBytes };

  Value() = default;  // NULL
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T> &&
                                                    !std::is_same_v<T, bool>>>
  Value(T v) : data_(static_cast<int64_t>(v)) {}  // NOLINT: implicit on purpose
  Value(bool) = delete;
  Value(double v) : data_(v) {}                                // NOLINT
  Value(const char* v) : data_(Text{std::string(v)}) {}        // NOLINT
  Value(std::string v) : data_(Text{std::move(v)}) {}          // NOLINT
  Value(absl::string_view v) : data_(Text{std::string(v)}) {}  // NOLINT

  static Value Null() { return Value(); }
  static Value Bytes(std::string bytes);

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::kNull; }

  // Checked accessors; the error says which type the value really has.
  // AsDouble also accepts an integer (both backends may return a whole
  // number from a REAL/double column as either).
  absl::StatusOr<int64_t> AsInt64() const;
  absl::StatusOr<double> AsDouble() const;
  absl::StatusOr<std::string> AsText() const;
  absl::StatusOr<std::string> AsBytes() const;

  // Unchecked views for implementations; call only after checking type().
  int64_t int64() const { return std::get<int64_t>(data_); }
  double dbl() const { return std::get<double>(data_); }
  const std::string& text() const { return std::get<Text>(data_).s; }
  const std::string& bytes() const { return std::get<BytesData>(data_).s; }

  friend bool operator==(const Value& a, const Value& b) {
    return a.data_ == b.data_;
  }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  struct Text {
    std::string s;
    bool operator==(const Text& o) const { return s == o.s; }
  };
  struct BytesData {
    std::string s;
    bool operator==(const BytesData& o) const { return s == o.s; }
  };
  // The index order matches Type.
  std::variant<std::monostate, int64_t, double, Text, BytesData> data_;
};

absl::string_view TypeName(Value::Type type);

// One result row. Columns are addressed by index or by name; every accessor
// returns INVALID_ARGUMENT naming the column when it does not exist, holds
// NULL (typed getters) or holds another type.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns,
      std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const std::vector<Value>& values() const { return values_; }

  absl::StatusOr<Value> Get(size_t column) const;
  absl::StatusOr<Value> Get(absl::string_view column) const;
  absl::StatusOr<bool> IsNull(size_t column) const;
  absl::StatusOr<bool> IsNull(absl::string_view column) const;
  absl::StatusOr<int64_t> GetInt64(size_t column) const;
  absl::StatusOr<int64_t> GetInt64(absl::string_view column) const;
  absl::StatusOr<double> GetDouble(size_t column) const;
  absl::StatusOr<double> GetDouble(absl::string_view column) const;
  absl::StatusOr<std::string> GetText(size_t column) const;
  absl::StatusOr<std::string> GetText(absl::string_view column) const;
  absl::StatusOr<std::string> GetBytes(size_t column) const;
  absl::StatusOr<std::string> GetBytes(absl::string_view column) const;

 private:
  absl::StatusOr<size_t> Index(absl::string_view column) const;
  absl::StatusOr<const Value*> Checked(size_t column) const;
  std::string Describe(size_t column) const;
  template <typename T>
  absl::StatusOr<T> Typed(size_t column, Value::Type want) const;

  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

// The result of a query: column names and rows.
class Rows {
 public:
  Rows() : columns_(std::make_shared<std::vector<std::string>>()) {}
  explicit Rows(std::vector<std::string> columns)
      : columns_(std::make_shared<const std::vector<std::string>>(
            std::move(columns))) {}

  const std::vector<std::string>& columns() const { return *columns_; }
  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const Row& operator[](size_t i) const { return rows_[i]; }
  std::vector<Row>::const_iterator begin() const { return rows_.begin(); }
  std::vector<Row>::const_iterator end() const { return rows_.end(); }

  // The only row; NOT_FOUND if there is none, INTERNAL if more than one.
  absl::StatusOr<Row> Single() const;

  void AddRow(std::vector<Value> values) {
    rows_.emplace_back(columns_, std::move(values));
  }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Row> rows_;
};

}  // namespace sotto::sql

#endif  // SOTTO_SERVICES_COMMON_SQL_VALUE_H_
