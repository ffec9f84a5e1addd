// Command-line tokens → flags and positional arguments for sottoctl, checked
// against the flags a command declares. Hand-written rather than absl flags:
// absl flags are process-global and one set per binary, while every sottoctl
// command has its own flags and its own usage text.
#ifndef SOTTO_TOOLS_SOTTOCTL_ARGS_H_
#define SOTTO_TOOLS_SOTTOCTL_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::sottoctl {

// One flag a command accepts.
struct FlagSpec {
  enum class Kind {
    kString,    // --name=value or --name value; the last one wins.
    kBool,      // --name, --name=true|false.
    kRepeated,  // --name=a --name=b (and --name=a,b where the flag says so).
  };
  std::string name;  // Without the dashes.
  Kind kind = Kind::kString;
  std::string value_name;  // For usage: "QUEUE", "IP:PORT".
  std::string help;
};

// The flags and positional arguments of one command line.
class ParsedArgs {
 public:
  std::vector<std::string> positional;

  bool Has(absl::string_view name) const;
  // The last value given, or `fallback`.
  std::string Get(absl::string_view name,
                  absl::string_view fallback = "") const;
  // Every value given, in order; comma-separated values are split.
  std::vector<std::string> GetList(absl::string_view name) const;
  // Booleans: absent → fallback; "--x" → true; "--x=false" → false.
  absl::StatusOr<bool> GetBool(absl::string_view name,
                               bool fallback = false) const;
  absl::StatusOr<int> GetInt(absl::string_view name, int fallback = 0) const;

  void Add(const std::string& name, std::string value);

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// Parses `tokens` against `specs`. "-o X" is "--output=X", "-h" is
// "--help"; "--" ends the flags. An unknown flag, a missing value or a value
// given to a flag that takes none is INVALID_ARGUMENT naming the flag.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& tokens,
                                     const std::vector<FlagSpec>& specs);

// Finds a spec by name, or nullptr.
const FlagSpec* FindFlag(const std::vector<FlagSpec>& specs,
                         absl::string_view name);

}  // namespace sotto::sottoctl

#endif  // SOTTO_TOOLS_SOTTOCTL_ARGS_H_
