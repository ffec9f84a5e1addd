// Tests for SRTP key material: generation, SDES text forms, redaction.
#include "media_engine/srtp/srtp_key.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "tests/media_engine/srtp/srtp_test_util.h"

namespace sotto::media::srtp {
namespace {

TEST(SrtpKeyTest, SuiteNamesRoundTrip) {
  for (SrtpCryptoSuite suite : {SrtpCryptoSuite::kAesCm128HmacSha1_80,
                                SrtpCryptoSuite::kAesCm128HmacSha1_32,
                                SrtpCryptoSuite::kAeadAes128Gcm}) {
    EXPECT_EQ(SrtpCryptoSuiteFromName(SrtpCryptoSuiteName(suite)), suite);
  }
  EXPECT_FALSE(SrtpCryptoSuiteFromName("F8_128_HMAC_SHA1_80").has_value());
  EXPECT_EQ(SrtpMasterKeyLength(SrtpCryptoSuite::kAesCm128HmacSha1_32), 30u);
  EXPECT_EQ(SrtpMasterKeyLength(SrtpCryptoSuite::kAeadAes128Gcm), 28u);
}

TEST(SrtpKeyTest, FromBytesRequiresTheSuitesExactLength) {
  std::vector<uint8_t> bytes(29);
  EXPECT_FALSE(
      SrtpKeyMaterial::FromBytes(SrtpCryptoSuite::kAesCm128HmacSha1_80, bytes)
          .ok());
  bytes.resize(30);
  EXPECT_TRUE(
      SrtpKeyMaterial::FromBytes(SrtpCryptoSuite::kAesCm128HmacSha1_80, bytes)
          .ok());
  EXPECT_FALSE(
      SrtpKeyMaterial::FromBytes(SrtpCryptoSuite::kAeadAes128Gcm, bytes).ok());
}

TEST(SrtpKeyTest, GeneratedKeysHaveTheRightLengthAndDiffer) {
  const absl::StatusOr<SrtpKeyMaterial> a =
      SrtpKeyMaterial::Generate(SrtpCryptoSuite::kAesCm128HmacSha1_80);
  const absl::StatusOr<SrtpKeyMaterial> b =
      SrtpKeyMaterial::Generate(SrtpCryptoSuite::kAesCm128HmacSha1_80);
  const absl::StatusOr<SrtpKeyMaterial> gcm =
      SrtpKeyMaterial::Generate(SrtpCryptoSuite::kAeadAes128Gcm);
  ASSERT_TRUE(a.ok() && b.ok() && gcm.ok());
  EXPECT_EQ(a->bytes().size(), 30u);
  EXPECT_EQ(gcm->bytes().size(), 28u);
  EXPECT_NE(*a, *b);
}

TEST(SrtpKeyTest, SdesInlineRoundTripsForEverySuite) {
  for (SrtpCryptoSuite suite : {SrtpCryptoSuite::kAesCm128HmacSha1_80,
                                SrtpCryptoSuite::kAesCm128HmacSha1_32,
                                SrtpCryptoSuite::kAeadAes128Gcm}) {
    const SrtpKeyMaterial key = *SrtpKeyMaterial::Generate(suite);
    const std::string params = key.ToSdesKeyParams();
    EXPECT_TRUE(absl::StartsWith(params, "inline:"));
    const absl::StatusOr<SrtpKeyMaterial> parsed =
        SrtpKeyMaterial::FromSdesKeyParams(suite, params);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, key);
  }
}

TEST(SrtpKeyTest, ParsesRfc4568ExampleWithLifetime) {
  // RFC 4568 s9.1's example key with a lifetime.
  const absl::StatusOr<SdesCryptoAttribute> attribute =
      ParseSdesCryptoAttribute(
          "1 AES_CM_128_HMAC_SHA1_80 "
          "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20");
  ASSERT_TRUE(attribute.ok()) << attribute.status();
  EXPECT_EQ(attribute->tag, 1);
  EXPECT_EQ(attribute->key.suite(), SrtpCryptoSuite::kAesCm128HmacSha1_80);
  std::string raw;
  ASSERT_TRUE(
      absl::Base64Unescape("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", &raw));
  EXPECT_EQ(
      std::string(attribute->key.bytes().begin(), attribute->key.bytes().end()),
      raw);
  EXPECT_EQ(FormatSdesCryptoAttribute(*attribute),
            "1 AES_CM_128_HMAC_SHA1_80 "
            "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
}

TEST(SrtpKeyTest, RejectsWhatWeCannotHonour) {
  const std::string key = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
  const std::vector<std::string> bad_attributes = {
      "1 AES_CM_128_HMAC_SHA1_80 " + key + "|2^20|1:4",  // MKI
      "1 AES_CM_128_HMAC_SHA1_80 " + key + ";" + key,    // two keys
      "1 F8_128_HMAC_SHA1_80 " + key,                    // suite
      "1 AES_CM_128_HMAC_SHA1_80 " + key + " UNENCRYPTED_SRTP",
      "1 AES_CM_128_HMAC_SHA1_80 " + key + " KDR=1",
      "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVm",  // short
      "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVe*CFCanVmcjkpPywjNWhcYD0mX",
      "1 AES_CM_128_HMAC_SHA1_80 PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
      "x AES_CM_128_HMAC_SHA1_80 " + key,
      "1 AES_CM_128_HMAC_SHA1_80",
  };
  for (const std::string& bad : bad_attributes) {
    EXPECT_FALSE(ParseSdesCryptoAttribute(bad).ok()) << bad;
  }
  EXPECT_TRUE(
      ParseSdesCryptoAttribute("1 AES_CM_128_HMAC_SHA1_32 " + key + " WSH=64")
          .ok());
}

TEST(SrtpKeyTest, DebugOutputNeverContainsKeyMaterial) {
  const SrtpKeyMaterial key = TestKey(SrtpCryptoSuite::kAesCm128HmacSha1_80, 7);
  const std::string base64 =
      key.ToSdesKeyParams().substr(std::string("inline:").size());
  std::ostringstream streamed;
  streamed << key;
  for (const std::string& text : {key.DebugString(), streamed.str()}) {
    EXPECT_TRUE(absl::StrContains(text, "redacted")) << text;
    EXPECT_FALSE(absl::StrContains(text, base64.substr(0, 8))) << text;
    EXPECT_FALSE(absl::StrContains(
        text, absl::BytesToHexString(absl::string_view(
                  reinterpret_cast<const char*>(key.bytes().data()), 4))));
  }
}

TEST(SdesCryptoAttributeTest, ErrorsNeverQuoteAMisplacedKey) {
  const std::string key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
  for (const std::string& line : {
           "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " inline:" + key,
           "1 inline:" + key + " AES_CM_128_HMAC_SHA1_80",
           "1 " + key + " inline:" + key,
           "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " " + key,
       }) {
    auto parsed = ParseSdesCryptoAttribute(line);
    ASSERT_FALSE(parsed.ok()) << line;
    EXPECT_EQ(parsed.status().message().find(key.substr(0, 12)),
              absl::string_view::npos)
        << parsed.status().message();
  }
}

}  // namespace
}  // namespace sotto::media::srtp
