// libFuzzer target: SDP a=crypto attributes and SDES key-params (RFC 4568),
// the one place a remote's text becomes key material. Whatever parses must
// format back to text that parses to the same suite, tag and key.
#include <cstddef>
#include <cstdint>
#include <string>

#include "media_engine/srtp/srtp_key.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sotto::media::srtp;  // NOLINT: fuzz target, one function

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<SdesCryptoAttribute> attribute =
      ParseSdesCryptoAttribute(text);
  if (attribute.ok()) {
    const std::string again = FormatSdesCryptoAttribute(*attribute);
    absl::StatusOr<SdesCryptoAttribute> reparsed =
        ParseSdesCryptoAttribute(again);
    FUZZ_CHECK(reparsed.ok());
    FUZZ_CHECK(reparsed->tag == attribute->tag);
    FUZZ_CHECK(reparsed->key == attribute->key);
  } else {
    FUZZ_CHECK(attribute.status().code() == absl::StatusCode::kInvalidArgument);
    // The key never leaks into the message (it may be logged): whatever
    // follows "inline:", up to its '|' or ' ', is not repeated.
    const size_t inline_at = text.find("inline:");
    if (inline_at != std::string::npos) {
      const size_t start = inline_at + 7;
      const std::string key =
          text.substr(start, text.find_first_of("| ", start) - start);
      // (Unless the same text also stands elsewhere in the line, where it
      // may be quoted as what it is there: a suite name, say.)
      const bool only_there = text.find(key) == start &&
                              text.find(key, start + 1) == std::string::npos;
      FUZZ_CHECK(key.size() < 8 || !only_there ||
                 attribute.status().message().find(key) ==
                     absl::string_view::npos);
    }
  }

  // The key-params alone, under each suite.
  for (SrtpCryptoSuite suite : {SrtpCryptoSuite::kAesCm128HmacSha1_80,
                                SrtpCryptoSuite::kAesCm128HmacSha1_32,
                                SrtpCryptoSuite::kAeadAes128Gcm}) {
    absl::StatusOr<SrtpKeyMaterial> key =
        SrtpKeyMaterial::FromSdesKeyParams(suite, text);
    if (!key.ok()) continue;
    FUZZ_CHECK(key->suite() == suite);
    absl::StatusOr<SrtpKeyMaterial> again =
        SrtpKeyMaterial::FromSdesKeyParams(suite, key->ToSdesKeyParams());
    FUZZ_CHECK(again.ok() && *again == *key);
  }
  return 0;
}
