/* libsrtp2's AES-ICM, AES-GCM and HMAC-SHA1 on OpenSSL 3. See srtp_crypto.h.
 *
 * Each libsrtp2 cipher or authenticator instance owns one OpenSSL context,
 * keyed once in `init`; a packet only re-initialises it with a new IV
 * (cipher) or the same key (HMAC), which allocates nothing. */
#include "core/srtp_crypto.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <srtp2/crypto_types.h>

/* RFC 3711 §4.1.1 / §8.2: AES-128 key and the 112-bit master salt. The ICM
 * "key" libsrtp2 hands a cipher is key || salt. */
#define AES128_KEY_LEN 16
#define ICM_SALT_LEN 14
#define ICM_KEY_LEN_WSALT (AES128_KEY_LEN + ICM_SALT_LEN)
#define ICM_BLOCK 16
/* RFC 3711 §4.1.1: the block counter is the low 16 bits of the counter, so
 * one IV covers at most 2^16 blocks of keystream. */
#define ICM_MAX_KEYSTREAM (0xffffu * ICM_BLOCK)
/* RFC 7714 §12: AEAD_AES_128_GCM keys are 128 bits with a 96-bit salt; the
 * IV is 12 octets; tags are 16 octets (or 8 for the _8 variant). */
#define GCM_SALT_LEN 12
#define GCM_KEY_LEN_WSALT (AES128_KEY_LEN + GCM_SALT_LEN)
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16
#define GCM_TAG_LEN_8 8
/* RFC 2104 with SHA-1 (RFC 3711 §4.2.1): a 160-bit output, truncated by
 * the caller's tag length; libsrtp2 keys it with 160 bits. */
#define SHA1_LEN 20

/* ---- the cipher state and its lifecycle (ICM and GCM) ------------------- */

typedef struct {
  EVP_CIPHER_CTX *ctx; /* owned; AES-128-CTR or AES-128-GCM, keyed by init */
  union {
    struct {                     /* ICM */
      uint8_t offset[ICM_BLOCK]; /* the salt, left-aligned (RFC 3711 §4.1.1) */
      size_t used;               /* keystream bytes used since the last IV */
    };
    struct {        /* GCM */
      int tag_len;  /* 16 or 8 */
      bool encrypt; /* the direction set with the IV */
    };
  };
} aes_t;

static srtp_err_status_t aes_dealloc(srtp_cipher_t *c) {
  if (!c) return srtp_err_status_ok;
  aes_t *s = c->state;
  if (s) {
    EVP_CIPHER_CTX_free(s->ctx);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
  }
  free(c);
  return srtp_err_status_ok;
}

/* A cipher of `type` with its state and an unkeyed OpenSSL context; the
 * caller has checked the lengths. */
static srtp_err_status_t aes_alloc(srtp_cipher_t **out, const srtp_cipher_type_t *type,
                                   int algorithm, int key_len) {
  *out = NULL;
  srtp_cipher_t *c = calloc(1, sizeof *c);
  aes_t *s = calloc(1, sizeof *s);
  if (c) c->state = s;
  if (!c || !s || !(s->ctx = EVP_CIPHER_CTX_new())) {
    aes_dealloc(c);
    if (!c) free(s);
    return srtp_err_status_alloc_fail;
  }
  c->type = type;
  c->algorithm = algorithm;
  c->key_len = key_len;
  *out = c;
  return srtp_err_status_ok;
}

/* ---- AES-128 ICM (counter mode) ----------------------------------------- */

static const srtp_cipher_type_t icm_type;

static srtp_err_status_t icm_alloc(srtp_cipher_t **out, int key_len, int tag_len) {
  (void)tag_len;
  *out = NULL;
  if (key_len != ICM_KEY_LEN_WSALT) return srtp_err_status_bad_param;
  return aes_alloc(out, &icm_type, SRTP_AES_ICM_128, key_len);
}

static srtp_err_status_t icm_init(void *state, const uint8_t *key) {
  aes_t *s = state;
  memset(s->offset, 0, sizeof s->offset);
  memcpy(s->offset, key + AES128_KEY_LEN, ICM_SALT_LEN);
  s->used = 0;
  if (EVP_EncryptInit_ex(s->ctx, EVP_aes_128_ctr(), NULL, key, s->offset) != 1)
    return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

/* RFC 3711 §4.1.1: counter = IV XOR (salt << 16); libsrtp2 passes the IV
 * already shifted into a 16-octet block. Direction does not matter in
 * counter mode. */
static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir) {
  (void)dir;
  aes_t *s = state;
  uint8_t counter[ICM_BLOCK];
  for (size_t i = 0; i < ICM_BLOCK; i++) counter[i] = (uint8_t)(iv[i] ^ s->offset[i]);
  s->used = 0;
  if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, counter) != 1) return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

/* XORs the next keystream bytes into buf (successive calls continue the
 * keystream, as key derivation and keystream prefixes need). */
static srtp_err_status_t icm_crypt(void *state, uint8_t *buf, unsigned int *len) {
  aes_t *s = state;
  if (*len == 0) return srtp_err_status_ok;
  if (*len > ICM_MAX_KEYSTREAM - s->used) return srtp_err_status_terminus;
  int outl = 0;
  if (EVP_EncryptUpdate(s->ctx, buf, &outl, buf, (int)*len) != 1 || outl != (int)*len)
    return srtp_err_status_cipher_fail;
  s->used += *len;
  return srtp_err_status_ok;
}

/* ---- AES-128 GCM ------------------------------------------------------- */

static const srtp_cipher_type_t gcm_type;

static srtp_err_status_t gcm_alloc(srtp_cipher_t **out, int key_len, int tag_len) {
  *out = NULL;
  if (key_len != GCM_KEY_LEN_WSALT || (tag_len != GCM_TAG_LEN && tag_len != GCM_TAG_LEN_8))
    return srtp_err_status_bad_param;
  srtp_err_status_t st = aes_alloc(out, &gcm_type, SRTP_AES_GCM_128, key_len);
  if (st == srtp_err_status_ok) ((aes_t *)(*out)->state)->tag_len = tag_len;
  return st;
}

/* The key is the first 16 octets; libsrtp2 applies the salt to the IV. */
static srtp_err_status_t gcm_init(void *state, const uint8_t *key) {
  aes_t *s = state;
  if (EVP_CipherInit_ex(s->ctx, EVP_aes_128_gcm(), NULL, key, NULL, 1) != 1)
    return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir) {
  aes_t *s = state;
  if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
    return srtp_err_status_bad_param;
  s->encrypt = dir == srtp_direction_encrypt;
  /* RFC 7714 §8.1: a 12-octet IV, OpenSSL's default length for GCM. */
  if (EVP_CipherInit_ex(s->ctx, NULL, NULL, NULL, iv, s->encrypt ? 1 : 0) != 1)
    return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

/* RFC 7714 §8.2/§9.2: the RTP header (or SRTCP header and index) is
 * authenticated, not encrypted. */
static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad, uint32_t len) {
  aes_t *s = state;
  int outl = 0;
  if (len && EVP_CipherUpdate(s->ctx, NULL, &outl, aad, (int)len) != 1)
    return srtp_err_status_algo_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_encrypt(void *state, uint8_t *buf, unsigned int *len) {
  aes_t *s = state;
  int outl = 0;
  if (!s->encrypt) return srtp_err_status_bad_param;
  if (*len && (EVP_CipherUpdate(s->ctx, buf, &outl, buf, (int)*len) != 1 || outl != (int)*len))
    return srtp_err_status_cipher_fail;
  return srtp_err_status_ok;
}

/* After encrypt: the tag, written to `tag` (the caller appends it). */
static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag, uint32_t *len) {
  aes_t *s = state;
  uint8_t none[GCM_TAG_LEN];
  int outl = 0;
  if (EVP_CipherFinal_ex(s->ctx, none, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, s->tag_len, tag) != 1)
    return srtp_err_status_algo_fail;
  *len = (uint32_t)s->tag_len;
  return srtp_err_status_ok;
}

/* `buf` holds the ciphertext followed by the tag; on success *len loses
 * the tag and buf holds the plaintext. */
static srtp_err_status_t gcm_decrypt(void *state, uint8_t *buf, unsigned int *len) {
  aes_t *s = state;
  if (s->encrypt) return srtp_err_status_bad_param;
  if (*len < (unsigned)s->tag_len) return srtp_err_status_bad_param;
  unsigned int n = *len - (unsigned)s->tag_len;
  uint8_t none[GCM_TAG_LEN];
  int outl = 0;
  if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, s->tag_len, buf + n) != 1)
    return srtp_err_status_algo_fail;
  if (n && (EVP_CipherUpdate(s->ctx, buf, &outl, buf, (int)n) != 1 || outl != (int)n))
    return srtp_err_status_cipher_fail;
  if (EVP_CipherFinal_ex(s->ctx, none, &outl) != 1) return srtp_err_status_auth_fail;
  *len = n;
  return srtp_err_status_ok;
}

/* ---- HMAC-SHA1 ---------------------------------------------------------- */

typedef struct {
  EVP_MAC_CTX *ctx; /* owned; keyed by init, restarted per packet */
} hmac_t;

static srtp_err_status_t hmac_dealloc(srtp_auth_t *a) {
  if (!a) return srtp_err_status_ok;
  hmac_t *s = a->state;
  if (s) {
    EVP_MAC_CTX_free(s->ctx); /* wipes the key */
    free(s);
  }
  free(a);
  return srtp_err_status_ok;
}

static const srtp_auth_type_t hmac_type;

static srtp_err_status_t hmac_alloc(srtp_auth_t **out, int key_len, int out_len) {
  *out = NULL;
  if (key_len < 0 || key_len > SHA1_LEN || out_len < 0 || out_len > SHA1_LEN)
    return srtp_err_status_bad_param;
  srtp_auth_t *a = calloc(1, sizeof *a);
  hmac_t *s = calloc(1, sizeof *s);
  EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  if (a) a->state = s;
  if (s && mac) s->ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac); /* the context keeps its own reference */
  if (!a || !s || !s->ctx) {
    hmac_dealloc(a);
    if (!a) free(s);
    return srtp_err_status_alloc_fail;
  }
  a->type = &hmac_type;
  a->key_len = key_len;
  a->out_len = out_len;
  a->prefix_len = 0;
  *out = a;
  return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len) {
  hmac_t *s = state;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
      OSSL_PARAM_construct_end()};
  /* HMAC takes an empty key; OpenSSL wants a non-NULL pointer for it. */
  static const uint8_t empty[1];
  if (EVP_MAC_init(s->ctx, key_len ? key : empty, (size_t)key_len, params) != 1)
    return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

/* A new message with the same key (OpenSSL keeps the keyed state). */
static srtp_err_status_t hmac_start(void *state) {
  hmac_t *s = state;
  return EVP_MAC_init(s->ctx, NULL, 0, NULL) == 1 ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len) {
  hmac_t *s = state;
  if (len < 0) return srtp_err_status_bad_param;
  if (len && EVP_MAC_update(s->ctx, buf, (size_t)len) != 1) return srtp_err_status_auth_fail;
  return srtp_err_status_ok;
}

/* Adds `buf` and writes the first `tag_len` octets of the MAC (RFC 3711
 * §4.2.1: the 80- or 32-bit truncation). */
static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
                                      uint8_t *tag) {
  hmac_t *s = state;
  uint8_t md[SHA1_LEN];
  size_t md_len = 0;
  if (tag_len < 0 || tag_len > SHA1_LEN) return srtp_err_status_bad_param;
  srtp_err_status_t st = hmac_update(state, buf, len);
  if (st != srtp_err_status_ok) return st;
  if (EVP_MAC_final(s->ctx, md, &md_len, sizeof md) != 1 || md_len != SHA1_LEN)
    return srtp_err_status_auth_fail;
  memcpy(tag, md, (size_t)tag_len);
  OPENSSL_cleanse(md, sizeof md);
  return srtp_err_status_ok;
}

/* ---- known answers ------------------------------------------------------ */

/* libsrtp2's test-case struct takes a non-const IV; set_iv only reads it. */

/* RFC 3711 Appendix B.2: AES-CM keystream for session key
 * 2B7E1516 28AED2A6 ABF71588 09CF4F3C and salt F0F1...FCFD (the ICM "key"
 * is key || salt); IV 0 (ROC, SEQ and SSRC all zero), so the first
 * counter is the salt shifted left by 16 bits. Encrypting zeros yields
 * the first two keystream blocks. */
static const uint8_t icm_kat_key[ICM_KEY_LEN_WSALT] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t icm_kat_iv[ICM_BLOCK]; /* zero */
static const uint8_t icm_kat_zeros[32];
static const uint8_t icm_kat_keystream[32] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
static const srtp_cipher_test_case_t icm_kat = {
    ICM_KEY_LEN_WSALT, icm_kat_key, (uint8_t *)icm_kat_iv, sizeof icm_kat_zeros, icm_kat_zeros,
    sizeof icm_kat_keystream, icm_kat_keystream, 0, NULL, 0, NULL};

/* The GCM specification's (McGrew & Viega) test case 4: 60 octets of
 * plaintext, 20 of AAD; the key is followed by 12 salt octets, which the
 * cipher ignores (libsrtp2 folds the salt into the IV). */
static const uint8_t gcm_kat_key[GCM_KEY_LEN_WSALT] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30,
    0x83, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
static const uint8_t gcm_kat_iv[GCM_IV_LEN] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                         0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t gcm_kat_plain[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
    0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
    0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
    0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
static const uint8_t gcm_kat_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe,
                                        0xef, 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad,
                                        0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t gcm_kat_sealed[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4,
    0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac,
    0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac,
    0x84, 0xaa, 0x05, 0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    /* the 16-octet tag; the 8-octet variant is its first half */
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a,
    0x47};
static const srtp_cipher_test_case_t gcm_kat_8 = {
    GCM_KEY_LEN_WSALT, gcm_kat_key, (uint8_t *)gcm_kat_iv, sizeof gcm_kat_plain, gcm_kat_plain,
    sizeof gcm_kat_plain + GCM_TAG_LEN_8, gcm_kat_sealed, sizeof gcm_kat_aad, gcm_kat_aad,
    GCM_TAG_LEN_8, NULL};
static const srtp_cipher_test_case_t gcm_kat = {
    GCM_KEY_LEN_WSALT, gcm_kat_key, (uint8_t *)gcm_kat_iv, sizeof gcm_kat_plain, gcm_kat_plain,
    sizeof gcm_kat_sealed, gcm_kat_sealed, sizeof gcm_kat_aad, gcm_kat_aad, GCM_TAG_LEN,
    &gcm_kat_8};

/* RFC 2202 §3 test case 1: key 0x0b x 20, "Hi There". */
static const uint8_t hmac_kat_key[SHA1_LEN] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                               0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                               0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t hmac_kat_data[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
static const uint8_t hmac_kat_mac[SHA1_LEN] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                               0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                               0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
static const srtp_auth_test_case_t hmac_kat = {sizeof hmac_kat_key, hmac_kat_key,
                                               sizeof hmac_kat_data, hmac_kat_data,
                                               sizeof hmac_kat_mac, hmac_kat_mac, NULL};

/* ---- the types ---------------------------------------------------------- */

static const srtp_cipher_type_t icm_type = {
    .alloc = icm_alloc,
    .dealloc = aes_dealloc,
    .init = icm_init,
    .set_aad = NULL, /* not an AEAD */
    .encrypt = icm_crypt,
    .decrypt = icm_crypt,
    .set_iv = icm_set_iv,
    .get_tag = NULL,
    .description = "AES-128 counter mode on OpenSSL (voxgate)",
    .test_data = &icm_kat,
    .id = SRTP_AES_ICM_128,
};

static const srtp_cipher_type_t gcm_type = {
    .alloc = gcm_alloc,
    .dealloc = aes_dealloc,
    .init = gcm_init,
    .set_aad = gcm_set_aad,
    .encrypt = gcm_encrypt,
    .decrypt = gcm_decrypt,
    .set_iv = gcm_set_iv,
    .get_tag = gcm_get_tag,
    .description = "AES-128 GCM on OpenSSL (voxgate)",
    .test_data = &gcm_kat,
    .id = SRTP_AES_GCM_128,
};

static const srtp_auth_type_t hmac_type = {
    .alloc = hmac_alloc,
    .dealloc = hmac_dealloc,
    .init = hmac_init,
    .compute = hmac_compute,
    .update = hmac_update,
    .start = hmac_start,
    .description = "HMAC-SHA1 on OpenSSL (voxgate)",
    .test_data = &hmac_kat,
    .id = SRTP_HMAC_SHA1,
};

const srtp_cipher_type_t *vg_srtp_crypto_aes_icm_128(void) { return &icm_type; }
const srtp_cipher_type_t *vg_srtp_crypto_aes_gcm_128(void) { return &gcm_type; }
const srtp_auth_type_t *vg_srtp_crypto_hmac_sha1(void) { return &hmac_type; }

int vg_srtp_crypto_install(void) {
  /* Each call runs our vectors and libsrtp2's own for the type replaced. */
  if (srtp_replace_cipher_type(&icm_type, SRTP_AES_ICM_128) != srtp_err_status_ok ||
      srtp_replace_cipher_type(&gcm_type, SRTP_AES_GCM_128) != srtp_err_status_ok ||
      srtp_replace_auth_type(&hmac_type, SRTP_HMAC_SHA1) != srtp_err_status_ok)
    return VG_ECRYPTO;
  return VG_OK;
}
