// OpenSSL AES-128-ICM and HMAC-SHA1 for libsrtp2's crypto kernel.
//
// Why not the library's own backend: Debian builds libsrtp2 on NSS, whose
// AES-CTR creates (and frees) a PKCS#11 context under a lock for every
// packet and whose HMAC does the same per digest: ≈2 µs per protect against
// ≈0.5 µs with OpenSSL (../shared/PEERS.md), about half of the engine's CPU.
//
// Nothing here allocates, locks or logs per packet: the AES key schedule is
// made once per key (EVP_EncryptInit_ex with the cipher and key), a packet
// only sets the counter block; HMAC keeps the keyed inner and outer SHA-1
// states and copies them by value per packet. That is why HMAC uses
// OpenSSL's SHA1_* functions (deprecated in 3.0, still shipped and
// assembly-accelerated) rather than EVP: in OpenSSL 3.0 copying or
// re-initialising an EVP digest or MAC context allocates a provider
// context on every call.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "media_engine/srtp/openssl_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace sotto::media::srtp {
namespace {

constexpr int kAesBlock = 16;
constexpr int kAes128KeySize = 16;
constexpr int kSaltSize = 14;  // SRTP master and session salts: 112 bits
constexpr int kSha1BlockSize = 64;

// ---- AES-128 in SRTP's integer counter mode (RFC 3711 s4.1.1) ----
//
// Counter block = (salt << 16) XOR iv, where libsrtp's iv already holds the
// SSRC and packet index; the low 16 bits count blocks within the packet.
// OpenSSL's CTR increments all 128 bits, which equals SRTP's 16-bit block
// counter as long as a packet stays under 2^16 blocks; Encrypt refuses more.

struct AesIcmState {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t offset[kAesBlock] = {};   // salt, low 16 bits zero
  uint8_t counter[kAesBlock] = {};  // offset XOR iv of the current packet
  bool keyed = false;
};

struct AesIcmCipher {
  srtp_cipher_t cipher;
  AesIcmState state;
};

extern const srtp_cipher_type_t kAesIcm128Type;

srtp_err_status_t AesIcmAlloc(srtp_cipher_t** c, int key_len, int tag_len) {
  if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT) {
    return srtp_err_status_bad_param;
  }
  auto* holder = new (std::nothrow) AesIcmCipher();
  if (holder == nullptr) return srtp_err_status_alloc_fail;
  holder->state.ctx = EVP_CIPHER_CTX_new();
  if (holder->state.ctx == nullptr) {
    delete holder;
    return srtp_err_status_alloc_fail;
  }
  holder->cipher.type = &kAesIcm128Type;
  holder->cipher.state = &holder->state;
  holder->cipher.key_len = key_len;
  holder->cipher.algorithm = SRTP_AES_ICM_128;
  *c = &holder->cipher;
  return srtp_err_status_ok;
}

srtp_err_status_t AesIcmDealloc(srtp_cipher_t* c) {
  auto* holder = reinterpret_cast<AesIcmCipher*>(c);
  EVP_CIPHER_CTX_free(holder->state.ctx);
  OPENSSL_cleanse(&holder->state, sizeof(holder->state));
  delete holder;
  return srtp_err_status_ok;
}

srtp_err_status_t AesIcmInit(void* cv, const uint8_t* key) {
  auto* state = static_cast<AesIcmState*>(cv);
  std::memset(state->offset, 0, sizeof(state->offset));
  std::memcpy(state->offset, key + kAes128KeySize, kSaltSize);
  state->keyed = false;
  if (EVP_EncryptInit_ex(state->ctx, EVP_aes_128_ctr(), nullptr, key,
                         nullptr) != 1) {
    return srtp_err_status_cipher_fail;
  }
  state->keyed = true;
  return srtp_err_status_ok;
}

srtp_err_status_t AesIcmSetIv(void* cv, uint8_t* iv,
                              srtp_cipher_direction_t direction) {
  auto* state = static_cast<AesIcmState*>(cv);
  if (!state->keyed) return srtp_err_status_bad_param;
  for (int i = 0; i < kAesBlock; ++i) {
    state->counter[i] = state->offset[i] ^ iv[i];
  }
  // Key stays; only the counter block is replaced.
  if (EVP_EncryptInit_ex(state->ctx, nullptr, nullptr, nullptr,
                         state->counter) != 1) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// Encryption and decryption are the same XOR with the key stream.
srtp_err_status_t AesIcmCrypt(void* cv, uint8_t* buffer, unsigned int* octets) {
  auto* state = static_cast<AesIcmState*>(cv);
  if (!state->keyed) return srtp_err_status_bad_param;
  const unsigned int first_block =
      (static_cast<unsigned int>(state->counter[14]) << 8) | state->counter[15];
  const unsigned long blocks = (*octets + kAesBlock - 1) / kAesBlock;
  if (first_block + blocks > 0x10000UL || *octets > INT32_MAX) {
    return srtp_err_status_terminus;  // the 16-bit block counter would wrap
  }
  int written = 0;
  if (EVP_EncryptUpdate(state->ctx, buffer, &written, buffer,
                        static_cast<int>(*octets)) != 1 ||
      written != static_cast<int>(*octets)) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// RFC 3711 appendix B.2: the AES-CM key stream for session key
// 2B7E1516..., session salt F0F1...FD and a zero index (encrypting zeros
// yields the key stream itself).
constexpr uint8_t kAesIcmTestKey[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7,
    0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c, 0xf0, 0xf1, 0xf2, 0xf3,
    0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
uint8_t kAesIcmTestIndex[kAesBlock] = {};
constexpr uint8_t kAesIcmTestZeros[48] = {};
constexpr uint8_t kAesIcmTestKeyStream[48] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d,
    0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
    0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab, 0x41, 0xe9, 0x5b, 0x3b,
    0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0};

const srtp_cipher_test_case_t kAesIcmTestCase = {SRTP_AES_ICM_128_KEY_LEN_WSALT,
                                                 kAesIcmTestKey,
                                                 kAesIcmTestIndex,
                                                 sizeof(kAesIcmTestZeros),
                                                 kAesIcmTestZeros,
                                                 sizeof(kAesIcmTestKeyStream),
                                                 kAesIcmTestKeyStream,
                                                 0,
                                                 nullptr,
                                                 0,
                                                 nullptr};

constexpr char kAesIcmDescription[] = "AES-128 integer counter mode (OpenSSL)";

const srtp_cipher_type_t kAesIcm128Type = {
    AesIcmAlloc,        AesIcmDealloc,    AesIcmInit,      nullptr,
    AesIcmCrypt,        AesIcmCrypt,      AesIcmSetIv,     nullptr,
    kAesIcmDescription, &kAesIcmTestCase, SRTP_AES_ICM_128};

// ---- HMAC-SHA1 (RFC 2104) ----

struct HmacSha1State {
  SHA_CTX inner;    // after H(K XOR ipad)
  SHA_CTX outer;    // after H(K XOR opad)
  SHA_CTX running;  // inner plus the message so far
};

struct HmacSha1Auth {
  srtp_auth_t auth;
  HmacSha1State state;
};

extern const srtp_auth_type_t kHmacSha1Type;

srtp_err_status_t HmacAlloc(srtp_auth_t** a, int key_len, int out_len) {
  if (out_len < 0 || out_len > SHA_DIGEST_LENGTH || key_len < 0) {
    return srtp_err_status_bad_param;
  }
  auto* holder = new (std::nothrow) HmacSha1Auth();
  if (holder == nullptr) return srtp_err_status_alloc_fail;
  holder->auth.type = &kHmacSha1Type;
  holder->auth.state = &holder->state;
  holder->auth.out_len = out_len;
  holder->auth.key_len = key_len;
  holder->auth.prefix_len = 0;
  *a = &holder->auth;
  return srtp_err_status_ok;
}

srtp_err_status_t HmacDealloc(srtp_auth_t* a) {
  auto* holder = reinterpret_cast<HmacSha1Auth*>(a);
  OPENSSL_cleanse(&holder->state, sizeof(holder->state));
  delete holder;
  return srtp_err_status_ok;
}

srtp_err_status_t HmacInit(void* sv, const uint8_t* key, int key_len) {
  auto* state = static_cast<HmacSha1State*>(sv);
  if (key_len < 0) return srtp_err_status_bad_param;
  uint8_t block[kSha1BlockSize] = {};
  if (key_len > kSha1BlockSize) {
    SHA1(key, static_cast<size_t>(key_len), block);  // RFC 2104: hash long keys
  } else if (key_len > 0) {
    std::memcpy(block, key, static_cast<size_t>(key_len));
  }
  uint8_t pad[kSha1BlockSize];
  for (int i = 0; i < kSha1BlockSize; ++i) pad[i] = block[i] ^ 0x36;
  bool ok = SHA1_Init(&state->inner) == 1 &&
            SHA1_Update(&state->inner, pad, sizeof(pad)) == 1;
  for (int i = 0; i < kSha1BlockSize; ++i) pad[i] = block[i] ^ 0x5c;
  ok = ok && SHA1_Init(&state->outer) == 1 &&
       SHA1_Update(&state->outer, pad, sizeof(pad)) == 1;
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(pad, sizeof(pad));
  state->running = state->inner;
  return ok ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

srtp_err_status_t HmacStart(void* sv) {
  auto* state = static_cast<HmacSha1State*>(sv);
  state->running = state->inner;
  return srtp_err_status_ok;
}

srtp_err_status_t HmacUpdate(void* sv, const uint8_t* message, int octets) {
  auto* state = static_cast<HmacSha1State*>(sv);
  if (octets < 0) return srtp_err_status_bad_param;
  return SHA1_Update(&state->running, message, static_cast<size_t>(octets)) == 1
             ? srtp_err_status_ok
             : srtp_err_status_auth_fail;
}

srtp_err_status_t HmacCompute(void* sv, const uint8_t* message, int octets,
                              int tag_len, uint8_t* result) {
  auto* state = static_cast<HmacSha1State*>(sv);
  if (octets < 0 || tag_len < 0 || tag_len > SHA_DIGEST_LENGTH) {
    return srtp_err_status_bad_param;
  }
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA_CTX outer = state->outer;
  const bool ok =
      SHA1_Update(&state->running, message, static_cast<size_t>(octets)) == 1 &&
      SHA1_Final(digest, &state->running) == 1 &&
      SHA1_Update(&outer, digest, sizeof(digest)) == 1 &&
      SHA1_Final(digest, &outer) == 1;
  if (ok) std::memcpy(result, digest, static_cast<size_t>(tag_len));
  OPENSSL_cleanse(digest, sizeof(digest));
  return ok ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

// RFC 2202 test cases 2 and 1 (libsrtp's kernel also runs its own against
// ours before accepting the replacement).
constexpr uint8_t kHmacCase2Key[] = {'J', 'e', 'f', 'e'};
constexpr char kHmacCase2Data[] = "what do ya want for nothing?";
constexpr uint8_t kHmacCase2Tag[SHA_DIGEST_LENGTH] = {
    0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
    0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};
constexpr uint8_t kHmacCase1Key[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                       0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                       0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
constexpr char kHmacCase1Data[] = "Hi There";
constexpr uint8_t kHmacCase1Tag[SHA_DIGEST_LENGTH] = {
    0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
    0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};

const srtp_auth_test_case_t kHmacCase1 = {
    sizeof(kHmacCase1Key),
    kHmacCase1Key,
    sizeof(kHmacCase1Data) - 1,
    reinterpret_cast<const uint8_t*>(kHmacCase1Data),
    sizeof(kHmacCase1Tag),
    kHmacCase1Tag,
    nullptr};
const srtp_auth_test_case_t kHmacCase2 = {
    sizeof(kHmacCase2Key),
    kHmacCase2Key,
    sizeof(kHmacCase2Data) - 1,
    reinterpret_cast<const uint8_t*>(kHmacCase2Data),
    sizeof(kHmacCase2Tag),
    kHmacCase2Tag,
    &kHmacCase1};

constexpr char kHmacDescription[] = "HMAC-SHA1 (OpenSSL SHA-1)";

const srtp_auth_type_t kHmacSha1Type = {
    HmacAlloc, HmacDealloc,      HmacInit,    HmacCompute,   HmacUpdate,
    HmacStart, kHmacDescription, &kHmacCase2, SRTP_HMAC_SHA1};

}  // namespace

absl::Status InstallOpenSslSrtpCrypto() {
  srtp_err_status_t status =
      srtp_replace_cipher_type(&kAesIcm128Type, SRTP_AES_ICM_128);
  if (status != srtp_err_status_ok) {
    return absl::InternalError(absl::StrCat(
        "libsrtp refused the OpenSSL AES-128-ICM cipher (self-test status ",
        status, ")"));
  }
  status = srtp_replace_auth_type(&kHmacSha1Type, SRTP_HMAC_SHA1);
  if (status != srtp_err_status_ok) {
    return absl::InternalError(absl::StrCat(
        "libsrtp refused the OpenSSL HMAC-SHA1 auth (self-test status ", status,
        ")"));
  }
  return absl::OkStatus();
}

}  // namespace sotto::media::srtp
