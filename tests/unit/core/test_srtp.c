/* SRTP/SRTCP wrapper tests: known-answer vectors, round trips with both
 * profiles, replay and tamper detection, explicit output capacity. */
#include <srtp2/srtp.h>

#include "core/srtp.h"
#include "vgtest.h"

/* Known-answer vectors from libsrtp's test/srtp_driver.c (srtp_validate,
 * srtp_validate_gcm): a fresh session, one RTP packet then one RTCP
 * packet, SSRC 0xcafebabe. */
static const uint8_t kat_cm_key[16] = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                       0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39};
static const uint8_t kat_cm_salt[14] = {0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                        0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
static const uint8_t kat_gcm_key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t kat_gcm_salt[12] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                                         0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

static const uint8_t kat_rtp[28] = {
    0x80, 0x0f, 0x12, 0x34, /* V=2, PT=15, seq 0x1234 */
    0xde, 0xca, 0xfb, 0xad, /* timestamp */
    0xca, 0xfe, 0xba, 0xbe, /* SSRC */
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, /* payload */
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};
static const uint8_t kat_rtcp[24] = {
    0x81, 0xc8, 0x00, 0x0b, /* V=2, RC=1, PT=200 (SR), length 11 */
    0xca, 0xfe, 0xba, 0xbe, /* sender SSRC */
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, /* the rest */
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};

static const uint8_t kat_cm_srtp[38] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, /* header */
    0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, /* payload */
    0x94, 0x9d, 0x24, 0x02,
    0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb}; /* 80-bit tag */
static const uint8_t kat_cm_srtcp[38] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, /* header + SSRC */
    0x71, 0x28, 0x03, 0x5b, 0xe4, 0x87, 0xb9, 0xbd, /* encrypted */
    0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8,
    0x80, 0x00, 0x00, 0x01,                         /* E=1, SRTCP index 1 */
    0x99, 0x3e, 0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98}; /* tag */
static const uint8_t kat_gcm_srtp[44] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, /* header */
    0xc5, 0x00, 0x2e, 0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0, /* payload */
    0x88, 0x0a, 0xa0, 0x6e,
    0xd2, 0x97, 0x68, 0x26, 0xf7, 0x96, 0xb2, 0x01, /* 16-byte tag */
    0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92};
static const uint8_t kat_gcm_srtcp[44] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, /* header + SSRC */
    0xc9, 0x8b, 0x8b, 0x5d, 0xf0, 0x39, 0x2a, 0x55, /* encrypted */
    0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e, 0x70, 0x25,
    0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46, /* 16-byte tag */
    0xea, 0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e,
    0x80, 0x00, 0x00, 0x01}; /* E=1, SRTCP index 1 (RFC 7714 §9.1: after the tag) */

static vg_srtp_keys_t make_keys(vg_srtp_profile_t profile, const uint8_t *lk, const uint8_t *ls,
                                const uint8_t *rk, const uint8_t *rs) {
  vg_srtp_keys_t k;
  memset(&k, 0, sizeof k);
  k.profile = profile;
  k.key_len = 16;
  k.salt_len = profile == VG_SRTP_PROFILE_AES128_CM_SHA1_80 ? 14 : 12;
  memcpy(k.local_key, lk, 16);
  memcpy(k.local_salt, ls, k.salt_len);
  memcpy(k.remote_key, rk, 16);
  memcpy(k.remote_salt, rs, k.salt_len);
  return k;
}

/* Two endpoints with mirrored keys: a's local key is b's remote key. */
static int make_pair(vg_srtp_profile_t profile, vg_srtp_t **a, vg_srtp_t **b) {
  uint8_t k1[16], s1[14], k2[16], s2[14];
  for (int i = 0; i < 16; i++) {
    k1[i] = (uint8_t)(i * 7 + 1);
    k2[i] = (uint8_t)(i * 13 + 5);
  }
  for (int i = 0; i < 14; i++) {
    s1[i] = (uint8_t)(0x40 + i);
    s2[i] = (uint8_t)(0x90 + i);
  }
  vg_srtp_keys_t ka = make_keys(profile, k1, s1, k2, s2);
  vg_srtp_keys_t kb = make_keys(profile, k2, s2, k1, s1);
  if (vg_srtp_create(&ka, a) < 0) return -1;
  if (vg_srtp_create(&kb, b) < 0) return -1;
  return 0;
}

static void make_rtp(uint8_t *p, size_t len, uint16_t seq) {
  memset(p, 0, len);
  p[0] = 0x80;
  p[1] = 111; /* Opus */
  p[2] = (uint8_t)(seq >> 8);
  p[3] = (uint8_t)seq;
  p[7] = 0xa0;                                   /* timestamp */
  p[8] = 0x12, p[9] = 0x34, p[10] = 0x56, p[11] = 0x78; /* SSRC */
  for (size_t i = 12; i < len; i++) p[i] = (uint8_t)(i ^ seq);
}

static void test_global_init_idempotent(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  CHECK_STR(vg_srtp_profile_name(VG_SRTP_PROFILE_AEAD_AES_128_GCM), "AEAD_AES_128_GCM");
  CHECK_STR(vg_srtp_profile_name(VG_SRTP_PROFILE_NONE), "none");
}

static void check_kat(vg_srtp_profile_t profile, const uint8_t *key, const uint8_t *salt,
                      const uint8_t *want_srtp, size_t srtp_len, const uint8_t *want_srtcp,
                      size_t srtcp_len, size_t tag_len) {
  vg_srtp_keys_t tx_keys = make_keys(profile, key, salt, key, salt);
  vg_srtp_t *tx = NULL, *rx = NULL;
  uint8_t out[64];
  size_t n = 0;
  CHECK_EQ(vg_srtp_create(&tx_keys, &tx), VG_OK);
  CHECK_EQ(vg_srtp_protect_rtp(tx, kat_rtp, sizeof kat_rtp, out, sizeof out, &n), VG_OK);
  CHECK_EQ(n, srtp_len);
  CHECK_EQ(n - sizeof kat_rtp, tag_len);
  CHECK_MEM(out, want_srtp, srtp_len);
  CHECK_EQ(vg_srtp_protect_rtcp(tx, kat_rtcp, sizeof kat_rtcp, out, sizeof out, &n), VG_OK);
  CHECK_EQ(n, srtcp_len);
  CHECK_EQ(n - sizeof kat_rtcp, tag_len + 4);
  CHECK_MEM(out, want_srtcp, srtcp_len);
  /* And back: the same key as the remote one opens the vectors. */
  CHECK_EQ(vg_srtp_create(&tx_keys, &rx), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtp(rx, want_srtp, srtp_len, out, sizeof out, &n), VG_OK);
  CHECK_EQ(n, sizeof kat_rtp);
  CHECK_MEM(out, kat_rtp, n);
  CHECK_EQ(vg_srtp_unprotect_rtcp(rx, want_srtcp, srtcp_len, out, sizeof out, &n), VG_OK);
  CHECK_EQ(n, sizeof kat_rtcp);
  CHECK_MEM(out, kat_rtcp, n);
  vg_srtp_destroy(tx);
  vg_srtp_destroy(rx);
}

static void test_known_answer_cm(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  check_kat(VG_SRTP_PROFILE_AES128_CM_SHA1_80, kat_cm_key, kat_cm_salt, kat_cm_srtp,
            sizeof kat_cm_srtp, kat_cm_srtcp, sizeof kat_cm_srtcp, 10);
}

static void test_known_answer_gcm(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  check_kat(VG_SRTP_PROFILE_AEAD_AES_128_GCM, kat_gcm_key, kat_gcm_salt, kat_gcm_srtp,
            sizeof kat_gcm_srtp, kat_gcm_srtcp, sizeof kat_gcm_srtcp, 16);
}

/* Our wrapper and libsrtp2 used directly produce the same bytes. */
static void check_same_as_libsrtp(vg_srtp_profile_t profile) {
  uint8_t key[30];
  for (int i = 0; i < 30; i++) key[i] = (uint8_t)(0x5a ^ (i * 31));
  size_t salt_len = profile == VG_SRTP_PROFILE_AES128_CM_SHA1_80 ? 14 : 12;
  vg_srtp_keys_t k = make_keys(profile, key, key + 16, key, key + 16);
  vg_srtp_t *ours = NULL;
  CHECK_EQ(vg_srtp_create(&k, &ours), VG_OK);
  srtp_policy_t policy;
  memset(&policy, 0, sizeof policy);
  if (profile == VG_SRTP_PROFILE_AES128_CM_SHA1_80) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  }
  uint8_t master[30];
  memcpy(master, key, 16);
  memcpy(master + 16, key + 16, salt_len);
  policy.ssrc.type = ssrc_specific;
  policy.ssrc.value = 0x12345678;
  policy.key = master;
  policy.window_size = 128;
  srtp_t direct = NULL;
  CHECK_EQ(srtp_create(&direct, &policy), srtp_err_status_ok);
  for (uint16_t seq = 65533; seq != 3; seq++) { /* across the rollover */
    uint8_t in[172], a[200], b[200];
    size_t na = 0;
    make_rtp(in, sizeof in, seq);
    memcpy(b, in, sizeof in);
    int nb = (int)sizeof in;
    CHECK_EQ(vg_srtp_protect_rtp(ours, in, sizeof in, a, sizeof a, &na), VG_OK);
    CHECK_EQ(srtp_protect(direct, b, &nb), srtp_err_status_ok);
    CHECK_EQ(na, (size_t)nb);
    CHECK_MEM(a, b, na);
  }
  srtp_dealloc(direct);
  vg_srtp_destroy(ours);
}

static void test_same_bytes_as_libsrtp(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  check_same_as_libsrtp(VG_SRTP_PROFILE_AES128_CM_SHA1_80);
  check_same_as_libsrtp(VG_SRTP_PROFILE_AEAD_AES_128_GCM);
}

static void check_roundtrip(vg_srtp_profile_t profile, size_t tag_len) {
  vg_srtp_t *a = NULL, *b = NULL;
  CHECK_EQ(make_pair(profile, &a, &b), 0);
  CHECK_EQ(vg_srtp_profile(a), profile);
  CHECK_EQ(vg_srtp_max_overhead(a), tag_len + 4);
  for (uint16_t seq = 1; seq <= 50; seq++) {
    uint8_t rtp[160], sealed[200], opened[200];
    size_t n = 0, m = 0;
    make_rtp(rtp, sizeof rtp, seq);
    /* a -> b and b -> a: the key each side sends with is the other's
     * receive key. */
    vg_srtp_t *from = (seq & 1) ? a : b, *to = (seq & 1) ? b : a;
    CHECK_EQ(vg_srtp_protect_rtp(from, rtp, sizeof rtp, sealed, sizeof sealed, &n), VG_OK);
    CHECK_EQ(n, sizeof rtp + tag_len);
    CHECK_MEM(sealed, rtp, 12);                      /* header in the clear */
    CHECK(memcmp(sealed + 12, rtp + 12, 16) != 0);   /* payload is not */
    CHECK_EQ(vg_srtp_unprotect_rtp(to, sealed, n, opened, sizeof opened, &m), VG_OK);
    CHECK_EQ(m, sizeof rtp);
    CHECK_MEM(opened, rtp, m);
    /* The wrong direction's key fails authentication. */
    CHECK_EQ(vg_srtp_unprotect_rtp(from, sealed, n, opened, sizeof opened, &m), VG_EAUTH);
  }
  /* RTCP: a receiver report with one block, both ways. */
  uint8_t rr[32] = {0x81, 201, 0, 7, 0x12, 0x34, 0x56, 0x78, 0xca, 0xfe, 0xba, 0xbe};
  for (int i = 0; i < 3; i++) {
    uint8_t sealed[64], opened[64];
    size_t n = 0, m = 0;
    rr[12] = (uint8_t)i;
    CHECK_EQ(vg_srtp_protect_rtcp(a, rr, sizeof rr, sealed, sizeof sealed, &n), VG_OK);
    CHECK_EQ(n, sizeof rr + 4 + tag_len);
    CHECK_EQ(vg_srtp_unprotect_rtcp(b, sealed, n, opened, sizeof opened, &m), VG_OK);
    CHECK_EQ(m, sizeof rr);
    CHECK_MEM(opened, rr, m);
    CHECK_EQ(vg_srtp_protect_rtcp(b, rr, sizeof rr, sealed, sizeof sealed, &n), VG_OK);
    CHECK_EQ(vg_srtp_unprotect_rtcp(a, sealed, n, opened, sizeof opened, &m), VG_OK);
    CHECK_MEM(opened, rr, sizeof rr);
  }
  vg_srtp_destroy(a);
  vg_srtp_destroy(b);
}

static void test_roundtrip_cm(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  check_roundtrip(VG_SRTP_PROFILE_AES128_CM_SHA1_80, 10);
}

static void test_roundtrip_gcm(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  check_roundtrip(VG_SRTP_PROFILE_AEAD_AES_128_GCM, 16);
}

static void check_replay_and_tamper(vg_srtp_profile_t profile) {
  vg_srtp_t *a = NULL, *b = NULL;
  uint8_t rtp[100], sealed[140], opened[140], bad[140];
  size_t n = 0, m = 0;
  CHECK_EQ(make_pair(profile, &a, &b), 0);
  make_rtp(rtp, sizeof rtp, 1000);
  CHECK_EQ(vg_srtp_protect_rtp(a, rtp, sizeof rtp, sealed, sizeof sealed, &n), VG_OK);
  /* One flipped bit, anywhere (header, payload, tag), fails authentication
   * and does not consume the sequence number. */
  const size_t spots[] = {1, 5, 20, n - 1};
  for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
    memcpy(bad, sealed, n);
    bad[spots[i]] ^= 0x10;
    CHECK_EQ(vg_srtp_unprotect_rtp(b, bad, n, opened, sizeof opened, &m), VG_EAUTH);
  }
  CHECK_EQ(vg_srtp_unprotect_rtp(b, sealed, n, opened, sizeof opened, &m), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtp(b, sealed, n, opened, sizeof opened, &m), VG_EREPLAY);
  /* SRTCP has its own replay window (RFC 3711 §3.4). */
  const uint8_t rr[8] = {0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78};
  CHECK_EQ(vg_srtp_protect_rtcp(a, rr, sizeof rr, sealed, sizeof sealed, &n), VG_OK);
  memcpy(bad, sealed, n);
  bad[6] ^= 1;
  CHECK_EQ(vg_srtp_unprotect_rtcp(b, bad, n, opened, sizeof opened, &m), VG_EAUTH);
  CHECK_EQ(vg_srtp_unprotect_rtcp(b, sealed, n, opened, sizeof opened, &m), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtcp(b, sealed, n, opened, sizeof opened, &m), VG_EREPLAY);
  vg_srtp_destroy(a);
  vg_srtp_destroy(b);
}

static void test_replay_and_tamper(void) {
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  check_replay_and_tamper(VG_SRTP_PROFILE_AES128_CM_SHA1_80);
  check_replay_and_tamper(VG_SRTP_PROFILE_AEAD_AES_128_GCM);
}

/* A packet far behind the newest is "too old" (outside the 1024 window);
 * one just inside the window is still accepted out of order. */
static void test_replay_window(void) {
  vg_srtp_t *a = NULL, *b = NULL;
  static uint8_t sealed[1100][64];
  size_t lens[1100];
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  CHECK_EQ(make_pair(VG_SRTP_PROFILE_AES128_CM_SHA1_80, &a, &b), 0);
  for (int i = 0; i < 1100; i++) {
    uint8_t rtp[40];
    make_rtp(rtp, sizeof rtp, (uint16_t)(i + 1));
    CHECK_EQ(vg_srtp_protect_rtp(a, rtp, sizeof rtp, sealed[i], 64, &lens[i]), VG_OK);
  }
  uint8_t out[64];
  size_t m = 0;
  CHECK_EQ(vg_srtp_unprotect_rtp(b, sealed[1099], lens[1099], out, sizeof out, &m), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtp(b, sealed[1099 - 1000], lens[99], out, sizeof out, &m), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtp(b, sealed[10], lens[10], out, sizeof out, &m), VG_EREPLAY);
  vg_srtp_destroy(a);
  vg_srtp_destroy(b);
}

static void test_capacity(void) {
  vg_srtp_t *a = NULL, *b = NULL;
  uint8_t rtp[60], buf[128];
  size_t n = 12345;
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  CHECK_EQ(make_pair(VG_SRTP_PROFILE_AEAD_AES_128_GCM, &a, &b), 0);
  make_rtp(rtp, sizeof rtp, 7);
  /* One byte short of packet + 16-byte tag: refused, nothing written. */
  memset(buf, 0xee, sizeof buf);
  CHECK_EQ(vg_srtp_protect_rtp(a, rtp, sizeof rtp, buf, sizeof rtp + 15, &n), VG_ENOSPC);
  for (size_t i = 0; i < sizeof buf; i++) CHECK_EQ(buf[i], 0xee);
  CHECK_EQ(n, 12345);
  const uint8_t rr[8] = {0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78};
  CHECK_EQ(vg_srtp_protect_rtcp(a, rr, sizeof rr, buf, sizeof rr + 19, &n), VG_ENOSPC);
  for (size_t i = 0; i < sizeof buf; i++) CHECK_EQ(buf[i], 0xee);
  /* Exactly enough: the bytes after the result stay untouched. */
  CHECK_EQ(vg_srtp_protect_rtp(a, rtp, sizeof rtp, buf, sizeof rtp + 16, &n), VG_OK);
  CHECK_EQ(n, sizeof rtp + 16);
  for (size_t i = n; i < sizeof buf; i++) CHECK_EQ(buf[i], 0xee);
  /* Unprotect needs room for the input. */
  uint8_t small[40];
  CHECK_EQ(vg_srtp_unprotect_rtp(b, buf, n, small, sizeof small, &n), VG_ENOSPC);
  /* In place (out == in) works for both directions. */
  uint8_t inplace[128];
  make_rtp(inplace, sizeof rtp, 8);
  CHECK_EQ(vg_srtp_protect_rtp(a, inplace, sizeof rtp, inplace, sizeof inplace, &n), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtp(b, inplace, n, inplace, sizeof inplace, &n), VG_OK);
  make_rtp(rtp, sizeof rtp, 8);
  CHECK_EQ(n, sizeof rtp);
  CHECK_MEM(inplace, rtp, n);
  vg_srtp_destroy(a);
  vg_srtp_destroy(b);
}

static void test_malformed_input(void) {
  vg_srtp_t *a = NULL, *b = NULL;
  uint8_t buf[256];
  size_t n = 0;
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  CHECK_EQ(make_pair(VG_SRTP_PROFILE_AES128_CM_SHA1_80, &a, &b), 0);
  const uint8_t tiny[8] = {0x80, 0, 0, 1};
  CHECK_EQ(vg_srtp_protect_rtp(a, tiny, sizeof tiny, buf, sizeof buf, &n), VG_EINVAL);
  CHECK_EQ(vg_srtp_unprotect_rtp(b, tiny, sizeof tiny, buf, sizeof buf, &n), VG_EINVAL);
  CHECK_EQ(vg_srtp_unprotect_rtcp(b, tiny, sizeof tiny, buf, sizeof buf, &n), VG_EINVAL);
  /* CSRC count 15 promises 60 bytes of CSRCs that are not there. */
  uint8_t rtp[24];
  make_rtp(rtp, sizeof rtp, 1);
  rtp[0] = 0x8f;
  CHECK(vg_srtp_protect_rtp(a, rtp, sizeof rtp, buf, sizeof buf, &n) < 0);
  vg_srtp_destroy(a);
  vg_srtp_destroy(b);
}

static void test_create_checks_keys(void) {
  uint8_t z[16] = {0};
  vg_srtp_t *s = NULL;
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  vg_srtp_keys_t k = make_keys(VG_SRTP_PROFILE_AEAD_AES_128_GCM, z, z, z, z);
  k.salt_len = 14; /* GCM salts are 12 bytes */
  CHECK_EQ(vg_srtp_create(&k, &s), VG_EINVAL);
  k.profile = (vg_srtp_profile_t)0x0002; /* SRTP_AES128_CM_HMAC_SHA1_32 */
  CHECK_EQ(vg_srtp_create(&k, &s), VG_EUNSUPPORTED);
  CHECK(s == NULL);
  vg_srtp_destroy(NULL);
}

VGT_MAIN(VGT_CASE(test_global_init_idempotent), VGT_CASE(test_known_answer_cm),
         VGT_CASE(test_known_answer_gcm), VGT_CASE(test_same_bytes_as_libsrtp),
         VGT_CASE(test_roundtrip_cm), VGT_CASE(test_roundtrip_gcm),
         VGT_CASE(test_replay_and_tamper), VGT_CASE(test_replay_window),
         VGT_CASE(test_capacity), VGT_CASE(test_malformed_input),
         VGT_CASE(test_create_checks_keys))
