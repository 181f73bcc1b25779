/* libsrtp2's ciphers and authenticator on OpenSSL: standard vectors through
 * libsrtp2's own test driver, keystream continuity, tag checks, HMAC
 * restarts. Whole-packet SRTP vectors with these types installed are in
 * test_srtp.c. */
#include <srtp2/srtp.h>

#include "core/srtp.h"
#include "core/srtp_crypto.h"
#include "vgtest.h"

/* RFC 3711 B.2: session key, salt, and the first three keystream blocks. */
static const uint8_t b2_key[30] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c,                                                                   /* key */
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd}; /* salt */
static const uint8_t b2_keystream[48] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
    0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0};

static void test_install_is_idempotent(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK); /* srtp_init, then the install */
  /* Installing runs libsrtp2's known-answer tests and ours on each type. */
  CHECK_EQ(vg_srtp_crypto_install(), VG_OK);
  CHECK_EQ(vg_srtp_crypto_install(), VG_OK);
  /* And the self-tests pass through libsrtp2's public driver. */
  CHECK_EQ(srtp_cipher_type_self_test(vg_srtp_crypto_aes_icm_128()), srtp_err_status_ok);
  CHECK_EQ(srtp_cipher_type_self_test(vg_srtp_crypto_aes_gcm_128()), srtp_err_status_ok);
  CHECK_EQ(srtp_auth_type_self_test(vg_srtp_crypto_hmac_sha1()), srtp_err_status_ok);
}

/* The keystream continues across calls (key derivation asks for it in
 * pieces): 7 + 25 + 16 bytes equal the RFC's three blocks. */
static void test_icm_keystream_continues(void) {
  srtp_cipher_t *c = NULL;
  uint8_t iv[16] = {0}, buf[48] = {0};
  CHECK_EQ(srtp_cipher_type_alloc(vg_srtp_crypto_aes_icm_128(), &c, 30, 0), srtp_err_status_ok);
  CHECK_EQ(srtp_cipher_init(c, b2_key), srtp_err_status_ok);
  CHECK_EQ(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt), srtp_err_status_ok);
  uint32_t n = 7;
  CHECK_EQ(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_ok);
  n = 25;
  CHECK_EQ(srtp_cipher_encrypt(c, buf + 7, &n), srtp_err_status_ok);
  n = 16;
  CHECK_EQ(srtp_cipher_output(c, buf + 32, &n), srtp_err_status_ok);
  CHECK_MEM(buf, b2_keystream, sizeof b2_keystream);
  /* A new IV starts over; decrypting is the same XOR. */
  CHECK_EQ(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt), srtp_err_status_ok);
  n = 48;
  CHECK_EQ(srtp_cipher_decrypt(c, buf, &n), srtp_err_status_ok);
  uint8_t zero[48] = {0};
  CHECK_MEM(buf, zero, sizeof zero);
  /* RFC 3711 §4.1.1: one IV covers at most 2^16 blocks. */
  static uint8_t big[0x10000 * 16];
  CHECK_EQ(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt), srtp_err_status_ok);
  n = sizeof big;
  CHECK_EQ(srtp_cipher_encrypt(c, big, &n), srtp_err_status_terminus);
  CHECK_EQ(srtp_cipher_dealloc(c), srtp_err_status_ok);
  /* Only AES-128 with its 14-octet salt. */
  CHECK_EQ(srtp_cipher_type_alloc(vg_srtp_crypto_aes_icm_128(), &c, 46, 0),
           srtp_err_status_bad_param);
}

/* GCM: seal, open, and refuse a flipped bit in the tag, the ciphertext or
 * the AAD; the 8-octet tag is the 16-octet one cut short. */
static void test_gcm_tags(void) {
  uint8_t key[28], iv[12], aad[12], buf[64 + 16], full_tag[16];
  for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)(i * 11 + 3);
  for (size_t i = 0; i < sizeof iv; i++) iv[i] = (uint8_t)(0xa0 + i);
  for (size_t i = 0; i < sizeof aad; i++) aad[i] = (uint8_t)(0x80 + i);
  for (int tag_len = 16; tag_len >= 8; tag_len -= 8) {
    for (int flip = -1; flip < 3; flip++) {
      srtp_cipher_t *c = NULL;
      CHECK_EQ(srtp_cipher_type_alloc(vg_srtp_crypto_aes_gcm_128(), &c, 28, tag_len),
               srtp_err_status_ok);
      CHECK_EQ(srtp_cipher_init(c, key), srtp_err_status_ok);
      for (size_t i = 0; i < 64; i++) buf[i] = (uint8_t)i;
      CHECK_EQ(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt), srtp_err_status_ok);
      CHECK_EQ(srtp_cipher_set_aad(c, aad, sizeof aad), srtp_err_status_ok);
      uint32_t n = 64, t = 0;
      CHECK_EQ(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_ok);
      CHECK_EQ(n, 64);
      CHECK_EQ(srtp_cipher_get_tag(c, buf + 64, &t), srtp_err_status_ok);
      CHECK_EQ(t, (uint32_t)tag_len);
      if (tag_len == 16) memcpy(full_tag, buf + 64, 16);
      else CHECK_MEM(buf + 64, full_tag, 8);
      uint8_t aad2[sizeof aad];
      memcpy(aad2, aad, sizeof aad);
      if (flip == 0) buf[64 + tag_len - 1] ^= 1; /* tag */
      if (flip == 1) buf[5] ^= 0x10;             /* ciphertext */
      if (flip == 2) aad2[3] ^= 0x01;            /* AAD */
      CHECK_EQ(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt), srtp_err_status_ok);
      CHECK_EQ(srtp_cipher_set_aad(c, aad2, sizeof aad2), srtp_err_status_ok);
      n = 64 + (uint32_t)tag_len;
      srtp_err_status_t st = srtp_cipher_decrypt(c, buf, &n);
      if (flip < 0) {
        CHECK_EQ(st, srtp_err_status_ok);
        CHECK_EQ(n, 64);
        for (size_t i = 0; i < 64; i++) CHECK_EQ(buf[i], i);
      } else {
        CHECK_EQ(st, srtp_err_status_auth_fail);
      }
      CHECK_EQ(srtp_cipher_dealloc(c), srtp_err_status_ok);
    }
  }
}

/* RFC 2202 §3 test case 2 ("Jefe"), computed twice on one context (the
 * key survives a restart), once in pieces, and truncated to 80 bits. */
static void test_hmac_restarts(void) {
  static const uint8_t key[4] = {'J', 'e', 'f', 'e'};
  static const char data[] = "what do ya want for nothing?";
  static const uint8_t want[20] = {0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
                                   0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};
  srtp_auth_t *a = NULL;
  uint8_t tag[20];
  CHECK_EQ(srtp_auth_type_alloc(vg_srtp_crypto_hmac_sha1(), &a, 4, 20), srtp_err_status_ok);
  CHECK_EQ(srtp_auth_init(a, key), srtp_err_status_ok);
  for (int round = 0; round < 2; round++) {
    memset(tag, 0, sizeof tag);
    CHECK_EQ(srtp_auth_start(a), srtp_err_status_ok);
    CHECK_EQ(srtp_auth_compute(a, (const uint8_t *)data, 28, tag), srtp_err_status_ok);
    CHECK_MEM(tag, want, 20);
  }
  memset(tag, 0, sizeof tag);
  CHECK_EQ(srtp_auth_start(a), srtp_err_status_ok);
  CHECK_EQ(srtp_auth_update(a, (const uint8_t *)data, 10), srtp_err_status_ok);
  CHECK_EQ(srtp_auth_compute(a, (const uint8_t *)data + 10, 18, tag), srtp_err_status_ok);
  CHECK_MEM(tag, want, 20);
  CHECK_EQ(srtp_auth_dealloc(a), srtp_err_status_ok);
  /* The 80-bit SRTP tag is the MAC's first ten octets, nothing more. */
  CHECK_EQ(srtp_auth_type_alloc(vg_srtp_crypto_hmac_sha1(), &a, 4, 10), srtp_err_status_ok);
  CHECK_EQ(srtp_auth_init(a, key), srtp_err_status_ok);
  memset(tag, 0xee, sizeof tag);
  CHECK_EQ(srtp_auth_start(a), srtp_err_status_ok);
  CHECK_EQ(srtp_auth_compute(a, (const uint8_t *)data, 28, tag), srtp_err_status_ok);
  CHECK_MEM(tag, want, 10);
  CHECK_EQ(tag[10], 0xee);
  CHECK_EQ(srtp_auth_dealloc(a), srtp_err_status_ok);
}

VGT_MAIN(VGT_CASE(test_install_is_idempotent), VGT_CASE(test_icm_keystream_continues),
         VGT_CASE(test_gcm_tags), VGT_CASE(test_hmac_restarts))
