/* SRTP/SRTCP on libsrtp2 behind an explicit-capacity API. See srtp.h. */
#include "core/srtp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "core/srtp_crypto.h"

/* RFC 3711 §3.3.2 asks for a replay window of at least 64 packets; libsrtp2
 * defaults to 128. We use 1024: it costs 128 bytes per stream and, at one
 * audio packet per 20 ms, covers 20 s, so a burst of late packets (a Wi-Fi
 * stall, ICE-TCP head-of-line blocking) is never mistaken for a replay.
 * Deciding that a packet is too late to play is the jitter buffer's job,
 * not SRTP's. */
#define SRTP_REPLAY_WINDOW 1024

/* Trailer sizes. RFC 3711 §4.2: HMAC-SHA1 tag truncated to 80 bits.
 * RFC 7714 §5.2: AEAD_AES_128_GCM has a 16-byte tag. RFC 3711 §3.4: SRTCP
 * appends the 32-bit E flag + SRTCP index before the tag. */
#define TAG_LEN_CM_80 10
#define TAG_LEN_GCM 16
#define SRTCP_INDEX_LEN 4

/* An RTP fixed header is 12 bytes (RFC 3550 §5.1); an RTCP header with the
 * sender SSRC is 8 (RFC 3550 §6.4.1). libsrtp2 checks the rest. */
#define RTP_MIN_LEN 12
#define RTCP_MIN_LEN 8

struct vg_srtp {
  srtp_t tx; /* owned: protects with the local key, any outbound SSRC */
  srtp_t rx; /* owned: unprotects with the remote key, any inbound SSRC */
  vg_srtp_profile_t profile;
  size_t tag_len;
};

static int session_create(srtp_t *out, vg_srtp_profile_t profile, const uint8_t *key,
                          size_t key_len, const uint8_t *salt, size_t salt_len,
                          srtp_ssrc_type_t direction);

int vg_srtp_global_init(void) {
  srtp_err_status_t st = srtp_init();
  if (st != srtp_err_status_ok) {
    /* libsrtp2 2.x refuses a second srtp_init with bad_param (it tries to
     * register its debug module twice). Rather than keep a global flag,
     * tell "already initialised" from a real failure by building a
     * session. */
    if (st != srtp_err_status_bad_param) return VG_ECRYPTO;
    static const uint8_t zero[VG_SRTP_MAX_KEY_LEN + VG_SRTP_MAX_SALT_LEN];
    srtp_t probe = NULL;
    if (session_create(&probe, VG_SRTP_PROFILE_AES128_CM_SHA1_80, zero, 16, zero, 14,
                       ssrc_any_outbound) < 0)
      return VG_ECRYPTO;
    srtp_dealloc(probe);
  }
  /* The packet path's AES and HMAC on OpenSSL rather than the NSS build's
   * per-packet PKCS#11 contexts (srtp_crypto.h). */
  return vg_srtp_crypto_install();
}

const char *vg_srtp_profile_name(vg_srtp_profile_t profile) {
  switch (profile) {
  case VG_SRTP_PROFILE_AES128_CM_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
  case VG_SRTP_PROFILE_AEAD_AES_128_GCM: return "AEAD_AES_128_GCM";
  default: return "none";
  }
}

int vg_srtp_profile_lengths(vg_srtp_profile_t profile, size_t *key_len, size_t *salt_len) {
  switch (profile) {
  case VG_SRTP_PROFILE_AES128_CM_SHA1_80:
    *key_len = 16; /* RFC 5764 §4.1.2: 128-bit master key, 112-bit salt */
    *salt_len = 14;
    return VG_OK;
  case VG_SRTP_PROFILE_AEAD_AES_128_GCM:
    *key_len = 16; /* RFC 7714 §12: 128-bit key, 96-bit salt */
    *salt_len = 12;
    return VG_OK;
  default: return VG_EUNSUPPORTED;
  }
}

static int map_status(srtp_err_status_t st) {
  switch (st) {
  case srtp_err_status_ok: return VG_OK;
  case srtp_err_status_replay_fail:
  case srtp_err_status_replay_old: return VG_EREPLAY;
  case srtp_err_status_auth_fail: return VG_EAUTH;
  case srtp_err_status_bad_param:
  case srtp_err_status_parse_err: return VG_EINVAL;
  case srtp_err_status_alloc_fail: return VG_ENOMEM;
  default: return VG_ECRYPTO;
  }
}

/* One libsrtp2 session: a single wildcard stream template keyed with
 * key || salt, the concatenation libsrtp2 expects. */
static int session_create(srtp_t *out, vg_srtp_profile_t profile, const uint8_t *key,
                          size_t key_len, const uint8_t *salt, size_t salt_len,
                          srtp_ssrc_type_t direction) {
  uint8_t master[VG_SRTP_MAX_KEY_LEN + VG_SRTP_MAX_SALT_LEN];
  srtp_policy_t policy;
  memset(&policy, 0, sizeof policy);
  if (profile == VG_SRTP_PROFILE_AES128_CM_SHA1_80) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  }
  memcpy(master, key, key_len);
  memcpy(master + key_len, salt, salt_len);
  policy.ssrc.type = direction;
  policy.key = master;
  policy.window_size = SRTP_REPLAY_WINDOW;
  /* We never send two packets with one sequence number, so a repeated
   * index on protect is a bug upstream; let libsrtp2 refuse it. */
  policy.allow_repeat_tx = 0;
  srtp_err_status_t st = srtp_create(out, &policy);
  OPENSSL_cleanse(master, sizeof master);
  if (st != srtp_err_status_ok) {
    *out = NULL;
    return st == srtp_err_status_alloc_fail ? VG_ENOMEM : VG_ECRYPTO;
  }
  return VG_OK;
}

int vg_srtp_create(const vg_srtp_keys_t *keys, vg_srtp_t **out) {
  size_t key_len, salt_len;
  vg_srtp_t *s = NULL;
  int rc;
  *out = NULL;
  if (!keys) return VG_EINVAL;
  rc = vg_srtp_profile_lengths(keys->profile, &key_len, &salt_len);
  if (rc < 0) return rc;
  if (keys->key_len != key_len || keys->salt_len != salt_len) return VG_EINVAL;
  s = calloc(1, sizeof *s);
  if (!s) return VG_ENOMEM;
  s->profile = keys->profile;
  s->tag_len = keys->profile == VG_SRTP_PROFILE_AES128_CM_SHA1_80 ? TAG_LEN_CM_80 : TAG_LEN_GCM;
  rc = session_create(&s->tx, keys->profile, keys->local_key, key_len, keys->local_salt,
                      salt_len, ssrc_any_outbound);
  if (rc < 0) goto fail;
  rc = session_create(&s->rx, keys->profile, keys->remote_key, key_len, keys->remote_salt,
                      salt_len, ssrc_any_inbound);
  if (rc < 0) goto fail;
  *out = s;
  return VG_OK;
fail:
  vg_srtp_destroy(s);
  return rc;
}

void vg_srtp_destroy(vg_srtp_t *s) {
  if (!s) return;
  /* srtp_dealloc zeroes the session keys before freeing them. */
  if (s->tx) srtp_dealloc(s->tx);
  if (s->rx) srtp_dealloc(s->rx);
  free(s);
}

size_t vg_srtp_max_overhead(const vg_srtp_t *s) { return s->tag_len + SRTCP_INDEX_LEN; }

vg_srtp_profile_t vg_srtp_profile(const vg_srtp_t *s) { return s->profile; }

typedef srtp_err_status_t (*srtp_op_fn)(srtp_t ctx, void *pkt, int *len);

/* Copies `in` to `out` (unless they are the same buffer) after checking
 * that the result, `in_len + grow` bytes at most, fits in `out_cap`, then
 * runs the in-place libsrtp2 operation there. */
static int run(srtp_t ctx, srtp_op_fn op, size_t min_len, size_t grow, const uint8_t *in,
               size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len) {
  if (!in || !out || !out_len) return VG_EINVAL;
  if (in_len < min_len || in_len > VG_SRTP_MAX_PACKET) return VG_EINVAL;
  if (out_cap < in_len || out_cap - in_len < grow) return VG_ENOSPC;
  if (out != in) memmove(out, in, in_len);
  int len = (int)in_len;
  int rc = map_status(op(ctx, out, &len));
  if (rc < 0) return rc;
  if (len < 0 || (size_t)len > in_len + grow) return VG_ECRYPTO; /* cannot happen */
  *out_len = (size_t)len;
  return VG_OK;
}

int vg_srtp_protect_rtp(vg_srtp_t *s, const uint8_t *in, size_t in_len, uint8_t *out,
                        size_t out_cap, size_t *out_len) {
  return run(s->tx, srtp_protect, RTP_MIN_LEN, s->tag_len, in, in_len, out, out_cap, out_len);
}

int vg_srtp_unprotect_rtp(vg_srtp_t *s, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t out_cap, size_t *out_len) {
  /* An SRTP packet carries at least the header and the tag. */
  return run(s->rx, srtp_unprotect, RTP_MIN_LEN + s->tag_len, 0, in, in_len, out, out_cap,
             out_len);
}

int vg_srtp_protect_rtcp(vg_srtp_t *s, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t out_cap, size_t *out_len) {
  return run(s->tx, srtp_protect_rtcp, RTCP_MIN_LEN, s->tag_len + SRTCP_INDEX_LEN, in, in_len,
             out, out_cap, out_len);
}

int vg_srtp_unprotect_rtcp(vg_srtp_t *s, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t out_cap, size_t *out_len) {
  return run(s->rx, srtp_unprotect_rtcp, RTCP_MIN_LEN + SRTCP_INDEX_LEN + s->tag_len, 0, in,
             in_len, out, out_cap, out_len);
}
