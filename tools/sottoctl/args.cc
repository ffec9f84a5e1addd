#include "tools/sottoctl/args.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sotto::sottoctl {

bool ParsedArgs::Has(absl::string_view name) const {
  return values_.find(name) != values_.end();
}

std::string ParsedArgs::Get(absl::string_view name,
                            absl::string_view fallback) const {
  auto found = values_.find(name);
  if (found == values_.end() || found->second.empty()) {
    return std::string(fallback);
  }
  return found->second.back();
}

std::vector<std::string> ParsedArgs::GetList(absl::string_view name) const {
  std::vector<std::string> out;
  auto found = values_.find(name);
  if (found == values_.end()) return out;
  for (const std::string& value : found->second) {
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      part = absl::StripAsciiWhitespace(part);
      if (!part.empty()) out.emplace_back(part);
    }
  }
  return out;
}

absl::StatusOr<bool> ParsedArgs::GetBool(absl::string_view name,
                                         bool fallback) const {
  if (!Has(name)) return fallback;
  const std::string value = absl::AsciiStrToLower(Get(name));
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return absl::InvalidArgumentError(absl::StrCat(
      "--", name, ": expected true or false, got \"", value, "\""));
}

absl::StatusOr<int> ParsedArgs::GetInt(absl::string_view name,
                                       int fallback) const {
  if (!Has(name)) return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(Get(name), &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": expected a whole number, got \"", Get(name), "\""));
  }
  return value;
}

void ParsedArgs::Add(const std::string& name, std::string value) {
  values_[name].push_back(std::move(value));
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& specs,
                         absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& tokens,
                                     const std::vector<FlagSpec>& specs) {
  ParsedArgs parsed;
  bool flags_done = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (flags_done || token.size() < 2 || token[0] != '-') {
      parsed.positional.push_back(token);
      continue;
    }
    if (token == "--") {
      flags_done = true;
      continue;
    }
    std::string name;
    std::string value;
    bool has_value = false;
    if (token[1] == '-') {
      absl::string_view body = absl::string_view(token).substr(2);
      const size_t eq = body.find('=');
      name = std::string(body.substr(0, eq));
      if (eq != absl::string_view::npos) {
        value = std::string(body.substr(eq + 1));
        has_value = true;
      }
    } else {
      // Short forms: -o json, -o=json, -ojson, -h.
      const char letter = token[1];
      if (letter == 'o') {
        name = "output";
      } else if (letter == 'h') {
        name = "help";
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag ", token));
      }
      if (token.size() > 2) {
        value = token.substr(token[2] == '=' ? 3 : 2);
        has_value = true;
      }
    }
    // Accept --page-size as well as --page_size.
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    const FlagSpec* spec = FindFlag(specs, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (spec->kind == FlagSpec::Kind::kBool) {
      parsed.Add(name, has_value ? value : "true");
      // Checked here so that a typo fails before anything is sent.
      absl::StatusOr<bool> valid = parsed.GetBool(name);
      if (!valid.ok()) return valid.status();
      continue;
    }
    if (!has_value) {
      if (i + 1 >= tokens.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = tokens[++i];
    }
    parsed.Add(name, std::move(value));
  }
  return parsed;
}

}  // namespace sotto::sottoctl
