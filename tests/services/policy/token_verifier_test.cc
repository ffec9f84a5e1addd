// TokenVerifier with tokens made here: HS256 through libjwt, RS256 and
// ES256 with key pairs the openssl CLI generates in the test's temp
// directory. Every refusal is UNAUTHENTICATED with a reason that contains
// no part of the token.
#include "services/policy/token_verifier.h"

#include <jwt.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/policy/policy_document.h"
#include "tests/services/policy/test_files.h"

namespace sotto::policy {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// Signs `claims` with libjwt; `key` is the HMAC secret or a private PEM.
std::string Sign(jwt_alg_t alg, const std::string& key, const json& claims) {
  jwt_t* raw = nullptr;
  EXPECT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  EXPECT_EQ(jwt_add_grants_json(jwt.get(), claims.dump().c_str()), 0);
  // JWT_ALG_NONE takes no key at all.
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg,
                        key.empty() ? nullptr
                                    : reinterpret_cast<const unsigned char*>(
                                          key.data()),
                        static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(jwt.get());
  EXPECT_NE(encoded, nullptr);
  std::string token = encoded == nullptr ? "" : encoded;
  free(encoded);
  return token;
}

json Claims(const std::string& iss = "sotto-local") {
  return json{{"iss", iss},
              {"aud", "sotto"},
              {"sub", "lead-1"},
              {"tenant", "acme"},
              {"roles", {"team_lead", "qa_analyst"}},
              {"teams", {"team-a"}},
              {"name", "Lee Lead"},
              {"iat", absl::ToUnixSeconds(kNow) - 10},
              {"exp", absl::ToUnixSeconds(kNow) + 300}};
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir());
    const std::string d = *dir_;
    const std::string commands = absl::StrCat(
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ", d,
        "/rsa.key 2>/dev/null && openssl pkey -in ", d,
        "/rsa.key -pubout -out ", d,
        "/rsa.pub && openssl genpkey -algorithm EC -pkeyopt "
        "ec_paramgen_curve:P-256 -out ",
        d,
        "/ec.key 2>/dev/null && openssl "
        "pkey -in ",
        d, "/ec.key -pubout -out ", d, "/ec.pub");
    ASSERT_EQ(std::system(commands.c_str()), 0) << commands;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Read(const std::string& name) {
    absl::StatusOr<std::string> text = ReadFileToString(*dir_ + "/" + name);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.value_or("");
  }

  static IssuerSpec Issuer(JwtAlgorithm algorithm, std::string key,
                           std::string iss) {
    IssuerSpec issuer;
    issuer.name = iss;
    issuer.algorithm = algorithm;
    issuer.key = std::move(key);
    issuer.issuer = std::move(iss);
    issuer.audience = "sotto";
    return issuer;
  }

  TokenVerifier Verifier() {
    return TokenVerifier(
        {Issuer(JwtAlgorithm::kHs256, testing::kHs256Secret, "sotto-local"),
         Issuer(JwtAlgorithm::kRs256, Read("rsa.pub"), "idp-rsa"),
         Issuer(JwtAlgorithm::kEs256, Read("ec.pub"), "idp-ec")},
        absl::Seconds(60));
  }

  std::string Hs256(const json& claims) {
    return Sign(JWT_ALG_HS256, testing::kHs256Secret, claims);
  }

  // Expects a refusal whose reason contains `reason` and no token part.
  void ExpectRefused(const std::string& token, const std::string& reason) {
    absl::StatusOr<Principal> principal = Verifier().Verify(token, kNow);
    ASSERT_FALSE(principal.ok()) << "accepted; expected: " << reason;
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(principal.status().message(), ::testing::HasSubstr(reason));
    for (absl::string_view part : absl::StrSplit(token, '.')) {
      if (part.size() < 8) continue;
      EXPECT_EQ(principal.status().message().find(part),
                absl::string_view::npos)
          << "the reason leaks the token";
    }
  }

  static std::string* dir_;
};

std::string* TokenVerifierTest::dir_ = nullptr;

TEST_F(TokenVerifierTest, ValidHs256TokenNamesThePrincipal) {
  absl::StatusOr<Principal> principal =
      Verifier().Verify(Hs256(Claims()), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->subject, "lead-1");
  EXPECT_THAT(principal->roles, ElementsAre("team_lead", "qa_analyst"));
  EXPECT_THAT(principal->teams, ElementsAre("team-a"));
  EXPECT_EQ(principal->display_name, "Lee Lead");
  EXPECT_EQ(principal->expire_time, kNow + absl::Seconds(300));
}

TEST_F(TokenVerifierTest, ValidRs256AndEs256TokensVerify) {
  absl::StatusOr<Principal> rsa = Verifier().Verify(
      Sign(JWT_ALG_RS256, Read("rsa.key"), Claims("idp-rsa")), kNow);
  EXPECT_TRUE(rsa.ok()) << rsa.status();
  absl::StatusOr<Principal> ec = Verifier().Verify(
      Sign(JWT_ALG_ES256, Read("ec.key"), Claims("idp-ec")), kNow);
  EXPECT_TRUE(ec.ok()) << ec.status();
}

TEST_F(TokenVerifierTest, AudienceMayBeAList) {
  json claims = Claims();
  claims["aud"] = {"reporting", "sotto"};
  EXPECT_TRUE(Verifier().Verify(Hs256(claims), kNow).ok());
}

TEST_F(TokenVerifierTest, ExpiredTokenIsRefusedAfterTheLeeway) {
  json claims = Claims();
  claims["exp"] = absl::ToUnixSeconds(kNow) - 30;
  EXPECT_TRUE(Verifier().Verify(Hs256(claims), kNow).ok())
      << "30 s past exp is within the 60 s leeway";
  claims["exp"] = absl::ToUnixSeconds(kNow) - 61;
  ExpectRefused(Hs256(claims), "expired");
}

TEST_F(TokenVerifierTest, TokenWithoutExpiryIsRefused) {
  json claims = Claims();
  claims.erase("exp");
  ExpectRefused(Hs256(claims), "no expiry");
}

TEST_F(TokenVerifierTest, NotYetValidTokenIsRefusedBeyondTheLeeway) {
  json claims = Claims();
  claims["nbf"] = absl::ToUnixSeconds(kNow) + 30;
  EXPECT_TRUE(Verifier().Verify(Hs256(claims), kNow).ok());
  claims["nbf"] = absl::ToUnixSeconds(kNow) + 120;
  ExpectRefused(Hs256(claims), "not yet valid");
}

TEST_F(TokenVerifierTest, WrongIssuerIsRefused) {
  ExpectRefused(Hs256(Claims("someone-else")), "unknown issuer");
}

TEST_F(TokenVerifierTest, WrongAudienceIsRefused) {
  json claims = Claims();
  claims["aud"] = "reporting";
  ExpectRefused(Hs256(claims), "wrong audience");
  claims.erase("aud");
  ExpectRefused(Hs256(claims), "wrong audience");
}

TEST_F(TokenVerifierTest, BadSignatureIsRefused) {
  ExpectRefused(
      Sign(JWT_ALG_HS256, "another-secret-that-is-long-enough-xx", Claims()),
      "bad signature");
  // A valid token with its payload swapped for another: same signature.
  const std::string good = Hs256(Claims());
  json admin = Claims();
  admin["roles"] = {"admin"};
  const std::string forged_payload =
      std::vector<std::string>(absl::StrSplit(Hs256(admin), '.'))[1];
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  ExpectRefused(absl::StrCat(parts[0], ".", forged_payload, ".", parts[2]),
                "bad signature");
  // An RS256 token whose signature is cut short.
  const std::string rsa =
      Sign(JWT_ALG_RS256, Read("rsa.key"), Claims("idp-rsa"));
  ExpectRefused(rsa.substr(0, rsa.size() - 4), "bad signature");
}

TEST_F(TokenVerifierTest, HmacSignedWithThePublicKeyIsRefused) {
  // Algorithm confusion: the RS256 issuer's public PEM used as an HMAC
  // secret. A verifier that trusted the header's alg would accept it.
  ExpectRefused(Sign(JWT_ALG_HS256, Read("rsa.pub"), Claims("idp-rsa")),
                "algorithm not accepted");
}

TEST_F(TokenVerifierTest, UnsignedTokenIsRefused) {
  // {"alg":"none"} with the claims and an empty signature.
  const std::string token = Sign(JWT_ALG_NONE, "", Claims());
  ExpectRefused(token, "algorithm not accepted");
}

TEST_F(TokenVerifierTest, MissingTenantClaimIsRefused) {
  json claims = Claims();
  claims.erase("tenant");
  ExpectRefused(Hs256(claims), "missing tenant claim");
  claims["tenant"] = "";
  ExpectRefused(Hs256(claims), "missing tenant claim");
}

TEST_F(TokenVerifierTest, MissingSubjectIsRefused) {
  json claims = Claims();
  claims.erase("sub");
  ExpectRefused(Hs256(claims), "missing subject");
}

TEST_F(TokenVerifierTest, RolesMustBeAList) {
  json claims = Claims();
  claims["roles"] = "admin";
  ExpectRefused(Hs256(claims), "roles claim must be a list");
}

TEST_F(TokenVerifierTest, MalformedTokensAreRefused) {
  ExpectRefused("", "no token");
  ExpectRefused("not-a-jwt", "malformed token");
  ExpectRefused("a.b.c", "malformed token");
  ExpectRefused(std::string(kMaxTokenBytes + 1, 'a'), "too large");
}

TEST_F(TokenVerifierTest, IssuerLimitedToTenantsRefusesOthers) {
  IssuerSpec issuer =
      Issuer(JwtAlgorithm::kHs256, testing::kHs256Secret, "sotto-local");
  issuer.tenants = {"globex"};
  TokenVerifier verifier({issuer}, absl::Seconds(60));
  absl::StatusOr<Principal> principal = verifier.Verify(Hs256(Claims()), kNow);
  ASSERT_FALSE(principal.ok());
  EXPECT_THAT(principal.status().message(),
              ::testing::HasSubstr("may not issue tokens for this tenant"));
}

}  // namespace
}  // namespace sotto::policy
