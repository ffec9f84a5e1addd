#include "services/policy/policy_document.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "yaml-cpp/yaml.h"

namespace sotto::policy {
namespace {

constexpr int kSupportedVersion = 1;
// RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
constexpr size_t kMinHmacKeyBytes = 32;
constexpr char kReservedRuleId[] = "default-deny";

struct ActionEntry {
  Action action;
  const char* name;
};
constexpr ActionEntry kActions[] = {
    {Action::kCallsManage, "calls.manage"},
    {Action::kCallsView, "calls.view"},
    {Action::kCallsSupervise, "calls.supervise"},
    {Action::kRecordingsRead, "recordings.read"},
    {Action::kRecordingsControl, "recordings.control"},
    {Action::kReportsRead, "reports.read"},
    {Action::kOutcomesWrite, "outcomes.write"},
};

struct ModeEntry {
  Mode mode;
  const char* name;
};
constexpr ModeEntry kModes[] = {
    {Mode::kListen, "LISTEN"},
    {Mode::kWhisper, "WHISPER"},
    {Mode::kBarge, "BARGE"},
    {Mode::kTakeover, "TAKEOVER"},
};

std::string KnownActions() {
  std::vector<std::string> names;
  for (const ActionEntry& entry : kActions) names.push_back(entry.name);
  return absl::StrJoin(names, ", ");
}

std::string KnownModes() {
  std::vector<std::string> names;
  for (const ModeEntry& entry : kModes) names.push_back(entry.name);
  return absl::StrJoin(names, ", ");
}

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
           c == '_' || c == '-' || c == '~';
  });
}

// Walks the YAML tree; the first error wins. Every message is
// "<file>:<line>: <key path>: <what>".
class Parser {
 public:
  explicit Parser(const std::string& path) : path_(path) {
    const size_t slash = path.rfind('/');
    base_dir_ = slash == std::string::npos ? "." : path.substr(0, slash);
    if (base_dir_.empty()) base_dir_ = "/";
  }

  absl::StatusOr<PolicyDocument> Parse(absl::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      // yaml-cpp's message already carries "line N, column M".
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", e.mark.line + 1, ": ", e.msg));
    }
    PolicyDocument document;
    try {
      absl::Status status = ParseRoot(root, &document);
      if (!status.ok()) return status;
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", e.mark.line + 1, ": ", e.msg));
    }
    return document;
  }

 private:
  absl::Status Error(const YAML::Node& at, absl::string_view key,
                     absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ":", Line(at), ": ", key, ": ", what));
  }

  static int Line(const YAML::Node& node) {
    return node.IsDefined() ? node.Mark().line + 1 : 0;
  }

  absl::Status RequireMap(const YAML::Node& node, absl::string_view key) const {
    if (!node.IsMap()) return Error(node, key, "must be a mapping");
    return absl::OkStatus();
  }

  // Rejects keys other than `allowed`, at the unknown key's own line.
  absl::Status CheckKeys(const YAML::Node& map, absl::string_view key,
                         std::initializer_list<absl::string_view> allowed) {
    for (const auto& entry : map) {
      const std::string name = entry.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return Error(entry.first, absl::StrCat(key, ".", name),
                     absl::StrCat("unknown key (allowed: ",
                                  absl::StrJoin(allowed, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status GetString(const YAML::Node& node, absl::string_view key,
                         std::string* out) const {
    if (!node.IsScalar() || node.Scalar().empty()) {
      return Error(node, key, "must be a non-empty string");
    }
    *out = node.Scalar();
    return absl::OkStatus();
  }

  absl::Status GetInt(const YAML::Node& node, absl::string_view key,
                      int64_t min, int64_t max, int64_t* out) const {
    int64_t value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) ||
        value < min || value > max) {
      return Error(node, key,
                   absl::StrCat("must be an integer in ", min, "..", max));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status GetBool(const YAML::Node& node, absl::string_view key,
                       bool* out) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      return Error(node, key, "must be true or false");
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status GetStringList(const YAML::Node& node, absl::string_view key,
                             std::vector<std::string>* out) const {
    if (!node.IsSequence() || node.size() == 0) {
      return Error(node, key, "must be a non-empty list");
    }
    out->clear();
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item;
      absl::Status status =
          GetString(node[i], absl::StrCat(key, "[", i, "]"), &item);
      if (!status.ok()) return status;
      out->push_back(std::move(item));
    }
    return absl::OkStatus();
  }

  absl::Status GetModeList(const YAML::Node& node, absl::string_view key,
                           std::vector<Mode>* out) const {
    std::vector<std::string> names;
    absl::Status status = GetStringList(node, key, &names);
    if (!status.ok()) return status;
    out->clear();
    for (size_t i = 0; i < names.size(); ++i) {
      std::optional<Mode> mode = ParseMode(names[i]);
      if (!mode.has_value()) {
        return Error(node[i], absl::StrCat(key, "[", i, "]"),
                     absl::StrCat("unknown mode \"", names[i],
                                  "\" (known: ", KnownModes(), ")"));
      }
      out->push_back(*mode);
    }
    return absl::OkStatus();
  }

  absl::Status ParseRoot(const YAML::Node& root, PolicyDocument* document) {
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_,
                       ":1: the document must be a mapping with "
                       "version, issuers and tenants"));
    }
    absl::Status status =
        CheckKeys(root, "", {"version", "issuers", "tenants"});
    if (!status.ok()) return status;
    const YAML::Node version = root["version"];
    if (!version.IsDefined()) {
      return Error(root, "version",
                   absl::StrCat("missing; this service reads version ",
                                kSupportedVersion));
    }
    int64_t number = 0;
    if (!version.IsScalar() || !absl::SimpleAtoi(version.Scalar(), &number) ||
        number != kSupportedVersion) {
      return Error(
          version, "version",
          absl::StrCat("unsupported version \"", version.Scalar(),
                       "\"; this service reads version ", kSupportedVersion));
    }
    document->version = static_cast<int>(number);

    if (const YAML::Node issuers = root["issuers"]; issuers.IsDefined()) {
      if (!issuers.IsSequence()) {
        return Error(issuers, "issuers", "must be a list");
      }
      for (size_t i = 0; i < issuers.size(); ++i) {
        IssuerSpec issuer;
        status =
            ParseIssuer(issuers[i], absl::StrCat("issuers[", i, "]"), &issuer);
        if (!status.ok()) return status;
        for (const IssuerSpec& other : document->issuers) {
          if (other.issuer == issuer.issuer) {
            return Error(issuers[i]["issuer"],
                         absl::StrCat("issuers[", i, "].issuer"),
                         absl::StrCat("\"", issuer.issuer,
                                      "\" is already used by issuer \"",
                                      other.name, "\"; iss must be unique"));
          }
        }
        document->issuers.push_back(std::move(issuer));
      }
    }

    if (const YAML::Node tenants = root["tenants"]; tenants.IsDefined()) {
      status = RequireMap(tenants, "tenants");
      if (!status.ok()) return status;
      for (const auto& entry : tenants) {
        TenantSpec tenant;
        tenant.id = entry.first.Scalar();
        const std::string key = absl::StrCat("tenants.", tenant.id);
        if (!ValidId(tenant.id)) {
          return Error(entry.first, key,
                       "tenant ids use [A-Za-z0-9._~-], 1-128 characters");
        }
        status = ParseTenant(entry.second, key, &tenant);
        if (!status.ok()) return status;
        document->tenants.emplace(tenant.id, std::move(tenant));
      }
    }
    for (const IssuerSpec& issuer : document->issuers) {
      for (const std::string& tenant : issuer.tenants) {
        if (document->tenants.count(tenant) == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              path_, ":", issuer.line, ": issuers.", issuer.name,
              ".tenants: tenant \"", tenant, "\" is not defined in tenants"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseIssuer(const YAML::Node& node, const std::string& key,
                           IssuerSpec* issuer) {
    absl::Status status = RequireMap(node, key);
    if (!status.ok()) return status;
    status = CheckKeys(
        node, key,
        {"name", "algorithm", "key_file", "issuer", "audience", "tenants"});
    if (!status.ok()) return status;
    issuer->line = Line(node);
    for (const char* required :
         {"name", "algorithm", "key_file", "issuer", "audience"}) {
      if (!node[required].IsDefined()) {
        return Error(node, absl::StrCat(key, ".", required), "missing");
      }
    }
    std::string algorithm;
    std::string key_file;
    if (!(status = GetString(node["name"], key + ".name", &issuer->name))
             .ok() ||
        !(status = GetString(node["algorithm"], key + ".algorithm", &algorithm))
             .ok() ||
        !(status = GetString(node["key_file"], key + ".key_file", &key_file))
             .ok() ||
        !(status = GetString(node["issuer"], key + ".issuer", &issuer->issuer))
             .ok() ||
        !(status =
              GetString(node["audience"], key + ".audience", &issuer->audience))
             .ok()) {
      return status;
    }
    if (node["tenants"].IsDefined()) {
      status =
          GetStringList(node["tenants"], key + ".tenants", &issuer->tenants);
      if (!status.ok()) return status;
    }
    if (algorithm == "HS256") {
      issuer->algorithm = JwtAlgorithm::kHs256;
    } else if (algorithm == "RS256") {
      issuer->algorithm = JwtAlgorithm::kRs256;
    } else if (algorithm == "ES256") {
      issuer->algorithm = JwtAlgorithm::kEs256;
    } else {
      return Error(node["algorithm"], key + ".algorithm",
                   absl::StrCat("unsupported algorithm \"", algorithm,
                                "\" (known: HS256, RS256, ES256)"));
    }
    issuer->key_file = absl::StartsWith(key_file, "/")
                           ? key_file
                           : absl::StrCat(base_dir_, "/", key_file);
    absl::StatusOr<std::string> contents = ReadFileToString(issuer->key_file);
    if (!contents.ok()) {
      return Error(node["key_file"], key + ".key_file",
                   contents.status().message());
    }
    return CheckKey(node["key_file"], key + ".key_file", *std::move(contents),
                    issuer);
  }

  // Validates the key now so a bad key fails the load, not every token.
  absl::Status CheckKey(const YAML::Node& at, const std::string& key,
                        std::string contents, IssuerSpec* issuer) {
    if (issuer->algorithm == JwtAlgorithm::kHs256) {
      while (!contents.empty() &&
             absl::ascii_isspace(static_cast<unsigned char>(contents.back()))) {
        contents.pop_back();
      }
      if (absl::StrContains(contents, "-----BEGIN")) {
        return Error(at, key,
                     "an HS256 secret must not be a PEM key (use RS256 or "
                     "ES256 for public keys)");
      }
      if (contents.size() < kMinHmacKeyBytes) {
        return Error(at, key,
                     absl::StrCat("an HS256 secret must be at least ",
                                  kMinHmacKeyBytes, " bytes"));
      }
      issuer->key = std::move(contents);
      return absl::OkStatus();
    }
    BIO* bio =
        BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size()));
    EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (pkey == nullptr) {
      return Error(at, key,
                   absl::StrCat("not a PEM public key (", issuer->key_file,
                                "); RS256 and ES256 need \"-----BEGIN PUBLIC "
                                "KEY-----\""));
    }
    const int type = EVP_PKEY_base_id(pkey);
    const int bits = EVP_PKEY_bits(pkey);
    EVP_PKEY_free(pkey);
    if (issuer->algorithm == JwtAlgorithm::kRs256 &&
        (type != EVP_PKEY_RSA || bits < 2048)) {
      return Error(at, key,
                   "RS256 needs an RSA public key of 2048 bits or more");
    }
    if (issuer->algorithm == JwtAlgorithm::kEs256 &&
        (type != EVP_PKEY_EC || bits != 256)) {
      return Error(at, key, "ES256 needs an EC P-256 public key");
    }
    issuer->key = std::move(contents);
    return absl::OkStatus();
  }

  absl::Status ParseTenant(const YAML::Node& node, const std::string& key,
                           TenantSpec* tenant) {
    absl::Status status = RequireMap(node, key);
    if (!status.ok()) return status;
    status = CheckKeys(node, key, {"roles", "rules", "recording"});
    if (!status.ok()) return status;

    const YAML::Node roles = node["roles"];
    if (!roles.IsDefined()) return Error(node, key + ".roles", "missing");
    status = RequireMap(roles, key + ".roles");
    if (!status.ok()) return status;
    for (const auto& entry : roles) {
      const std::string name = entry.first.Scalar();
      const std::string role_key = absl::StrCat(key, ".roles.", name);
      if (!ValidId(name)) {
        return Error(entry.first, role_key,
                     "role names use [A-Za-z0-9._~-], 1-128 characters");
      }
      status = RequireMap(entry.second, role_key);
      if (!status.ok()) return status;
      status = CheckKeys(entry.second, role_key, {"rank"});
      if (!status.ok()) return status;
      int64_t rank = 0;
      if (entry.second["rank"].IsDefined()) {
        status =
            GetInt(entry.second["rank"], role_key + ".rank", 0, 1000000, &rank);
        if (!status.ok()) return status;
      }
      tenant->role_ranks[name] = static_cast<int>(rank);
    }

    if (const YAML::Node rules = node["rules"]; rules.IsDefined()) {
      if (!rules.IsSequence()) {
        return Error(rules, key + ".rules", "must be a list");
      }
      std::map<std::string, int> seen;  // id -> line
      for (size_t i = 0; i < rules.size(); ++i) {
        RuleSpec rule;
        const std::string rule_key = absl::StrCat(key, ".rules[", i, "]");
        status = ParseRule(rules[i], rule_key, *tenant, &rule);
        if (!status.ok()) return status;
        auto [it, inserted] = seen.emplace(rule.id, rule.line);
        if (!inserted) {
          return Error(
              rules[i]["id"], rule_key + ".id",
              absl::StrCat("duplicate rule id \"", rule.id,
                           "\" (first defined at line ", it->second, ")"));
        }
        tenant->rules.push_back(std::move(rule));
      }
    }

    if (const YAML::Node recording = node["recording"]; recording.IsDefined()) {
      status = ParseRecording(recording, key + ".recording", /*allow_queues=*/
                              true, &tenant->recording);
      if (!status.ok()) return status;
      if (const YAML::Node queues = recording["queues"]; queues.IsDefined()) {
        status = RequireMap(queues, key + ".recording.queues");
        if (!status.ok()) return status;
        for (const auto& entry : queues) {
          RecordingSpec spec = tenant->recording;
          status = ParseRecording(
              entry.second,
              absl::StrCat(key, ".recording.queues.", entry.first.Scalar()),
              /*allow_queues=*/false, &spec);
          if (!status.ok()) return status;
          tenant->queue_recording[entry.first.Scalar()] = spec;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseRule(const YAML::Node& node, const std::string& key,
                         const TenantSpec& tenant, RuleSpec* rule) {
    absl::Status status = RequireMap(node, key);
    if (!status.ok()) return status;
    status = CheckKeys(
        node, key,
        {"id", "roles", "actions", "teams", "queues", "modes",
         "require_disclosure_for", "downgrade_to", "max_supervisors_per_call",
         "whisper_cue_tone", "customer_announcement",
         "agent_may_decline_whisper", "takeover_requires_reason"});
    if (!status.ok()) return status;
    rule->line = Line(node);
    if (!node["id"].IsDefined()) {
      return Error(node, key + ".id", "missing; every rule needs an id");
    }
    status = GetString(node["id"], key + ".id", &rule->id);
    if (!status.ok()) return status;
    if (!ValidId(rule->id)) {
      return Error(node["id"], key + ".id",
                   "rule ids use [A-Za-z0-9._~-], 1-128 characters");
    }
    if (rule->id == kReservedRuleId) {
      return Error(node["id"], key + ".id",
                   "\"default-deny\" is reserved for decisions no rule made");
    }
    const std::string named = absl::StrCat(key, " (", rule->id, ")");

    if (!node["roles"].IsDefined())
      return Error(node, named + ".roles", "missing");
    status = GetStringList(node["roles"], named + ".roles", &rule->roles);
    if (!status.ok()) return status;
    for (size_t i = 0; i < rule->roles.size(); ++i) {
      if (tenant.role_ranks.count(rule->roles[i]) == 0) {
        return Error(node["roles"][i], absl::StrCat(named, ".roles[", i, "]"),
                     absl::StrCat("role \"", rule->roles[i],
                                  "\" is not defined in the tenant's roles"));
      }
    }

    if (!node["actions"].IsDefined()) {
      return Error(node, named + ".actions", "missing");
    }
    std::vector<std::string> actions;
    status = GetStringList(node["actions"], named + ".actions", &actions);
    if (!status.ok()) return status;
    for (size_t i = 0; i < actions.size(); ++i) {
      std::optional<Action> action = ParseAction(actions[i]);
      if (!action.has_value()) {
        return Error(node["actions"][i],
                     absl::StrCat(named, ".actions[", i, "]"),
                     absl::StrCat("unknown action \"", actions[i],
                                  "\" (known: ", KnownActions(), ")"));
      }
      rule->actions.push_back(*action);
    }
    const bool supervises =
        std::find(rule->actions.begin(), rule->actions.end(),
                  Action::kCallsSupervise) != rule->actions.end();

    rule->teams = {"*"};
    if (node["teams"].IsDefined()) {
      status = GetStringList(node["teams"], named + ".teams", &rule->teams);
      if (!status.ok()) return status;
    }
    rule->queues = {"*"};
    if (node["queues"].IsDefined()) {
      status = GetStringList(node["queues"], named + ".queues", &rule->queues);
      if (!status.ok()) return status;
    }

    const YAML::Node modes = node["modes"];
    if (supervises && !modes.IsDefined()) {
      return Error(node, named + ".modes",
                   "missing; a rule granting calls.supervise must list the "
                   "modes it grants");
    }
    if (!supervises) {
      for (const char* only_supervise :
           {"modes", "require_disclosure_for", "downgrade_to",
            "max_supervisors_per_call", "whisper_cue_tone",
            "customer_announcement", "agent_may_decline_whisper",
            "takeover_requires_reason"}) {
        if (node[only_supervise].IsDefined()) {
          return Error(node[only_supervise],
                       absl::StrCat(named, ".", only_supervise),
                       "applies only to rules granting calls.supervise");
        }
      }
      return absl::OkStatus();
    }
    status = GetModeList(modes, named + ".modes", &rule->modes);
    if (!status.ok()) return status;
    auto granted = [rule](Mode mode) {
      return std::find(rule->modes.begin(), rule->modes.end(), mode) !=
             rule->modes.end();
    };
    if (const YAML::Node disclosure = node["require_disclosure_for"];
        disclosure.IsDefined()) {
      status = GetModeList(disclosure, named + ".require_disclosure_for",
                           &rule->require_disclosure_for);
      if (!status.ok()) return status;
      for (size_t i = 0; i < rule->require_disclosure_for.size(); ++i) {
        if (!granted(rule->require_disclosure_for[i])) {
          return Error(disclosure[i],
                       absl::StrCat(named, ".require_disclosure_for[", i, "]"),
                       absl::StrCat(ModeName(rule->require_disclosure_for[i]),
                                    " is not among the rule's modes"));
        }
      }
    }
    if (const YAML::Node downgrade = node["downgrade_to"];
        downgrade.IsDefined()) {
      std::string name;
      status = GetString(downgrade, named + ".downgrade_to", &name);
      if (!status.ok()) return status;
      std::optional<Mode> mode = ParseMode(name);
      if (!mode.has_value()) {
        return Error(downgrade, named + ".downgrade_to",
                     absl::StrCat("unknown mode \"", name,
                                  "\" (known: ", KnownModes(), ")"));
      }
      if (!granted(*mode)) {
        return Error(downgrade, named + ".downgrade_to",
                     absl::StrCat(name, " is not among the rule's modes"));
      }
      rule->downgrade_to = *mode;
    }
    if (node["max_supervisors_per_call"].IsDefined()) {
      int64_t max = 0;
      status = GetInt(node["max_supervisors_per_call"],
                      named + ".max_supervisors_per_call", 0, 1000, &max);
      if (!status.ok()) return status;
      rule->max_supervisors_per_call = static_cast<uint32_t>(max);
    }
    if (node["whisper_cue_tone"].IsDefined()) {
      status = GetBool(node["whisper_cue_tone"], named + ".whisper_cue_tone",
                       &rule->whisper_cue_tone);
      if (!status.ok()) return status;
    }
    for (auto [field, target] :
         {std::pair{"customer_announcement", &rule->customer_announcement},
          std::pair{"agent_may_decline_whisper",
                    &rule->agent_may_decline_whisper},
          std::pair{"takeover_requires_reason",
                    &rule->takeover_requires_reason}}) {
      if (!node[field].IsDefined()) continue;
      status = GetBool(node[field], absl::StrCat(named, ".", field), target);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // Fields present in `node` override `spec` (so queues inherit the
  // tenant's settings).
  absl::Status ParseRecording(const YAML::Node& node, const std::string& key,
                              bool allow_queues, RecordingSpec* spec) {
    absl::Status status = RequireMap(node, key);
    if (!status.ok()) return status;
    if (allow_queues) {
      status = CheckKeys(
          node, key,
          {"enabled", "require_disclosure", "layout", "keep_whisper_audio",
           "keep_telephone_events", "retention", "queues"});
    } else {
      status = CheckKeys(
          node, key,
          {"enabled", "require_disclosure", "layout", "keep_whisper_audio",
           "keep_telephone_events", "retention"});
    }
    if (!status.ok()) return status;
    struct BoolField {
      const char* name;
      bool* out;
    };
    for (const BoolField& field :
         {BoolField{"enabled", &spec->enabled},
          BoolField{"require_disclosure", &spec->require_disclosure},
          BoolField{"keep_whisper_audio", &spec->keep_whisper_audio},
          BoolField{"keep_telephone_events", &spec->keep_telephone_events}}) {
      if (node[field.name].IsDefined()) {
        status = GetBool(node[field.name], absl::StrCat(key, ".", field.name),
                         field.out);
        if (!status.ok()) return status;
      }
    }
    if (const YAML::Node layout = node["layout"]; layout.IsDefined()) {
      std::string name;
      status = GetString(layout, key + ".layout", &name);
      if (!status.ok()) return status;
      if (name == "MULTICHANNEL") {
        spec->layout = RecordingLayout::kMultichannel;
      } else if (name == "STEREO_PLUS_SUPERVISOR_FILE") {
        spec->layout = RecordingLayout::kStereoPlusSupervisorFile;
      } else {
        return Error(layout, key + ".layout",
                     absl::StrCat("unknown layout \"", name,
                                  "\" (known: MULTICHANNEL, "
                                  "STEREO_PLUS_SUPERVISOR_FILE)"));
      }
    }
    if (const YAML::Node retention = node["retention"]; retention.IsDefined()) {
      absl::StatusOr<absl::Duration> duration =
          retention.IsScalar() ? ParseRetention(retention.Scalar())
                               : absl::InvalidArgumentError("not a scalar");
      if (!duration.ok()) {
        return Error(retention, key + ".retention",
                     absl::StrCat("must be a duration like 90d, 12h, 30m, "
                                  "45s or 0 (keep forever): ",
                                  duration.status().message()));
      }
      spec->retention = *duration;
    }
    return absl::OkStatus();
  }

  std::string path_;
  std::string base_dir_;
};

}  // namespace

absl::string_view ActionName(Action action) {
  for (const ActionEntry& entry : kActions) {
    if (entry.action == action) return entry.name;
  }
  return "unspecified";
}

std::optional<Action> ParseAction(absl::string_view name) {
  for (const ActionEntry& entry : kActions) {
    if (name == entry.name) return entry.action;
  }
  return std::nullopt;
}

absl::string_view ModeName(Mode mode) {
  for (const ModeEntry& entry : kModes) {
    if (entry.mode == mode) return entry.name;
  }
  return "UNSPECIFIED";
}

std::optional<Mode> ParseMode(absl::string_view name) {
  for (const ModeEntry& entry : kModes) {
    if (name == entry.name) return entry.mode;
  }
  return std::nullopt;
}

absl::string_view JwtAlgorithmName(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHs256:
      return "HS256";
    case JwtAlgorithm::kRs256:
      return "RS256";
    case JwtAlgorithm::kEs256:
      return "ES256";
  }
  return "?";
}

size_t PolicyDocument::RuleCount() const {
  size_t count = 0;
  for (const auto& [id, tenant] : tenants) count += tenant.rules.size();
  return count;
}

absl::StatusOr<absl::Duration> ParseRetention(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text == "0") return absl::ZeroDuration();
  if (text.size() < 2) return absl::InvalidArgumentError("too short");
  int64_t amount = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &amount) ||
      amount < 0 || amount > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad number \"", text.substr(0, text.size() - 1), "\""));
  }
  switch (text.back()) {
    case 'd':
      return absl::Hours(24 * amount);
    case 'h':
      return absl::Hours(amount);
    case 'm':
      return absl::Minutes(amount);
    case 's':
      return absl::Seconds(amount);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown unit '", text.substr(text.size() - 1), "'"));
  }
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(error)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat("error reading ", path));
  }
  return contents.str();
}

absl::StatusOr<PolicyDocument> ParsePolicyDocument(absl::string_view yaml,
                                                   const std::string& path) {
  return Parser(path).Parse(yaml);
}

absl::StatusOr<PolicyDocument> LoadPolicyDocument(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParsePolicyDocument(*text, path);
}

}  // namespace sotto::policy
