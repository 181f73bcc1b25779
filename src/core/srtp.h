/* SRTP and SRTCP protection (RFC 3711, AES-GCM per RFC 7714) on libsrtp2.
 *
 * One vg_srtp_t per peer holds two libsrtp2 sessions: "tx" keyed with the
 * local master key and salt (protects what we send, any outbound SSRC) and
 * "rx" keyed with the remote ones (unprotects what the peer sends, any
 * inbound SSRC). The keys come from the DTLS-SRTP handshake
 * (vg_dtls_event_t.keys, RFC 5764 §4.2), already split by role.
 *
 * libsrtp2 protects in place and writes its trailer (auth tag, SRTCP index)
 * past the packet's end. These wrappers take an explicit output buffer
 * instead: the input is copied into `out` and processed there, so the input
 * is never modified and nothing is written past `out_cap`.
 *
 *   vg_srtp_global_init();                      // once, at start
 *   vg_srtp_create(&ev.keys, &s);
 *   vg_srtp_protect_rtp(s, rtp, n, buf, sizeof buf, &len);   // send buf
 *   vg_srtp_unprotect_rtp(s, pkt, n, buf, sizeof buf, &len); // read buf
 *
 * No allocation per packet, except that libsrtp2 allocates a stream the
 * first time it sees each new SSRC. Not thread-safe per object. */
#ifndef VG_CORE_SRTP_H
#define VG_CORE_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* DTLS-SRTP protection profiles we support. The values are the IANA
 * "DTLS-SRTP Protection Profiles" ids carried in the use_srtp extension
 * (RFC 5764 §4.1.2, RFC 7714 §14.2). */
typedef enum {
  VG_SRTP_PROFILE_NONE = 0,
  VG_SRTP_PROFILE_AES128_CM_SHA1_80 = 0x0001, /* RFC 5764: AES-128 CTR, HMAC-SHA1 80-bit tag */
  VG_SRTP_PROFILE_AEAD_AES_128_GCM = 0x0007,  /* RFC 7714: AES-128 GCM, 16-byte tag */
} vg_srtp_profile_t;

/* Master key and salt lengths per profile (RFC 5764 §4.1.2; RFC 7714 §12:
 * GCM uses a 96-bit salt). The arrays below hold the largest. */
#define VG_SRTP_MAX_KEY_LEN 16
#define VG_SRTP_MAX_SALT_LEN 14

/* Keying material for one peer, already split into ours and theirs. */
typedef struct {
  vg_srtp_profile_t profile;
  size_t key_len;  /* 16 for both profiles */
  size_t salt_len; /* 14 for AES128_CM_SHA1_80, 12 for AEAD_AES_128_GCM */
  uint8_t local_key[VG_SRTP_MAX_KEY_LEN];   /* protects what we send */
  uint8_t local_salt[VG_SRTP_MAX_SALT_LEN];
  uint8_t remote_key[VG_SRTP_MAX_KEY_LEN];  /* unprotects what the peer sends */
  uint8_t remote_salt[VG_SRTP_MAX_SALT_LEN];
} vg_srtp_keys_t;

/* Largest packet accepted by protect/unprotect (RFC 4571 framing and UDP
 * both cap a packet at 65535 bytes; libsrtp2 takes an int length). */
#define VG_SRTP_MAX_PACKET 65535

typedef struct vg_srtp vg_srtp_t;

/* Initialises libsrtp2 (srtp_init) and installs its OpenSSL ciphers
 * (srtp_crypto.h). Call once at start, before any other thread uses SRTP;
 * calling it again is harmless. Returns VG_OK or VG_ECRYPTO. */
VG_MUST_USE int vg_srtp_global_init(void);

/* "AES_CM_128_HMAC_SHA1_80" / "AEAD_AES_128_GCM" (the SDES / IANA name), or
 * "none". Never NULL. */
const char *vg_srtp_profile_name(vg_srtp_profile_t profile);

/* Key and salt lengths of `profile`; VG_EUNSUPPORTED for an unknown one. */
VG_MUST_USE int vg_srtp_profile_lengths(vg_srtp_profile_t profile, size_t *key_len,
                                        size_t *salt_len);

/* Creates the tx and rx sessions from `keys` (copied; the caller may wipe
 * its copy). Replay protection is on for both directions. Returns VG_OK
 * and sets *out (owned by the caller, free with vg_srtp_destroy), or
 * VG_EINVAL (lengths do not match the profile), VG_EUNSUPPORTED (profile),
 * VG_ENOMEM, VG_ECRYPTO. vg_srtp_global_init must have run. */
VG_MUST_USE int vg_srtp_create(const vg_srtp_keys_t *keys, vg_srtp_t **out);

/* Frees `s` and wipes its keys. NULL is a no-op. */
void vg_srtp_destroy(vg_srtp_t *s);

/* The four packet operations share one shape:
 *   in, in_len    the packet (borrowed, never modified)
 *   out, out_cap  where the result goes; may not overlap `in` unless
 *                 out == in (then the packet is processed in place, and
 *                 out_cap still bounds every write)
 *   *out_len      the result's length on success
 * Protect needs out_cap >= in_len + the trailer (auth tag; for SRTCP also
 * the 4-byte E+index word): see vg_srtp_max_overhead. Unprotect needs
 * out_cap >= in_len. Returns VG_OK, or
 *   VG_ENOSPC   out_cap too small (nothing written),
 *   VG_EINVAL   not a well-formed RTP/RTCP packet, or too long,
 *   VG_EREPLAY  replayed or too-old packet (RFC 3711 §3.3.2),
 *   VG_EAUTH    authentication tag check failed,
 *   VG_ECRYPTO  any other libsrtp2 failure.
 * On failure the contents of out[0..out_cap) are unspecified. */
VG_MUST_USE int vg_srtp_protect_rtp(vg_srtp_t *s, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t out_cap, size_t *out_len);
VG_MUST_USE int vg_srtp_unprotect_rtp(vg_srtp_t *s, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len);
VG_MUST_USE int vg_srtp_protect_rtcp(vg_srtp_t *s, const uint8_t *in, size_t in_len,
                                     uint8_t *out, size_t out_cap, size_t *out_len);
VG_MUST_USE int vg_srtp_unprotect_rtcp(vg_srtp_t *s, const uint8_t *in, size_t in_len,
                                       uint8_t *out, size_t out_cap, size_t *out_len);

/* The most bytes protect adds to a packet with this profile: the SRTCP
 * trailer (tag + 4-byte index), which is the larger of the two. 14 for
 * AES128_CM_SHA1_80 (10 + 4), 20 for AEAD_AES_128_GCM (16 + 4). */
size_t vg_srtp_max_overhead(const vg_srtp_t *s);

/* The profile `s` was created with. */
vg_srtp_profile_t vg_srtp_profile(const vg_srtp_t *s);

#endif
