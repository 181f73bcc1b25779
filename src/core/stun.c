#include "core/stun.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/bytes.h"

/* RFC 8489 §14: values are padded to a multiple of 4 bytes. */
#define PAD4(n) (((n) + 3u) & ~(size_t)3u)
/* An attribute header: type and length. */
#define ATTR_HEADER_LEN 4
/* RFC 8489 §14.5: 4-byte header + 20-byte HMAC-SHA1. */
#define INTEGRITY_ATTR_LEN (ATTR_HEADER_LEN + VG_STUN_INTEGRITY_LEN)
/* RFC 8489 §14.7: 4-byte header + 4-byte CRC. */
#define FINGERPRINT_ATTR_LEN (ATTR_HEADER_LEN + 4)
/* RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 is 16..32 bytes (truncation). */
#define INTEGRITY_SHA256_MIN 16
#define INTEGRITY_SHA256_MAX 32
/* RFC 8489 §14.4 (REALM), §14.10 (NONCE), §14.14 (SOFTWARE): under 128
 * characters, i.e. at most 763 bytes of UTF-8. */
#define TEXT_ATTR_MAX 763
/* RFC 8489 §14.8: the class digit of ERROR-CODE is 3..6. */
#define ERROR_CLASS_MIN 3
#define ERROR_CLASS_MAX 6
/* RFC 8489 §14.1: address families in (XOR-)MAPPED-ADDRESS. */
#define FAMILY_IPV4 0x01
#define FAMILY_IPV6 0x02

/* --- CRC-32 (RFC 8489 §14.7 uses the ISO-HDLC CRC, as in RFC 1952) ---- */

/* Reflected polynomial 0xEDB88320, one nibble at a time: table[i] is the
 * CRC of the 4-bit value i. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    crc = (crc >> 4) ^ crc_nibble[crc & 0x0f];
    crc = (crc >> 4) ^ crc_nibble[crc & 0x0f];
  }
  return crc;
}

uint32_t vg_stun_crc32(const uint8_t *buf, size_t len) {
  return ~crc_update(0xFFFFFFFFu, buf, len);
}

/* The CRC of a message prefix buf[0..upto) whose header length field is
 * replaced by `hdr_len` (RFC 8489 §14.7: the length counts FINGERPRINT). */
static uint32_t fingerprint_of(const uint8_t *buf, size_t upto, uint16_t hdr_len) {
  uint8_t hdr[VG_STUN_HEADER_LEN];
  memcpy(hdr, buf, sizeof hdr);
  vg_store_u16(hdr + 2, hdr_len);
  uint32_t crc = crc_update(0xFFFFFFFFu, hdr, sizeof hdr);
  crc = crc_update(crc, buf + VG_STUN_HEADER_LEN, upto - VG_STUN_HEADER_LEN);
  return ~crc ^ VG_STUN_FINGERPRINT_XOR;
}

/* HMAC-SHA1 of buf[0..upto) with the header length replaced by `hdr_len`
 * (RFC 8489 §14.5: the length counts up to and including M-I), on `ctx`
 * already initialised with the key. */
static int hmac_run(EVP_MAC_CTX *ctx, const uint8_t *buf, size_t upto, uint16_t hdr_len,
                    uint8_t mac[VG_STUN_INTEGRITY_LEN]) {
  uint8_t hdr[VG_STUN_HEADER_LEN];
  memcpy(hdr, buf, sizeof hdr);
  vg_store_u16(hdr + 2, hdr_len);
  size_t out_len = 0;
  if (EVP_MAC_update(ctx, hdr, sizeof hdr) == 1 &&
      EVP_MAC_update(ctx, buf + VG_STUN_HEADER_LEN, upto - VG_STUN_HEADER_LEN) == 1 &&
      EVP_MAC_final(ctx, mac, &out_len, VG_STUN_INTEGRITY_LEN) == 1 &&
      out_len == VG_STUN_INTEGRITY_LEN)
    return VG_OK;
  return VG_ECRYPTO;
}

/* A new HMAC-SHA1 context keyed with key[0..key_len) (empty allowed), or
 * NULL. */
static EVP_MAC_CTX *hmac_new(const uint8_t *key, size_t key_len) {
  /* HMAC accepts an empty key; OpenSSL wants a non-NULL pointer for it. */
  static const uint8_t empty = 0;
  if (key_len == 0) key = &empty;
  EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
  EVP_MAC_free(m); /* the context keeps its own reference */
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
      OSSL_PARAM_construct_end(),
  };
  if (ctx && EVP_MAC_init(ctx, key, key_len, params) == 1) return ctx;
  EVP_MAC_CTX_free(ctx);
  return NULL;
}

static int hmac_of(const uint8_t *buf, size_t upto, uint16_t hdr_len, const uint8_t *key,
                   size_t key_len, uint8_t mac[VG_STUN_INTEGRITY_LEN]) {
  EVP_MAC_CTX *ctx = hmac_new(key, key_len);
  int rc = ctx ? hmac_run(ctx, buf, upto, hdr_len, mac) : VG_ECRYPTO;
  EVP_MAC_CTX_free(ctx);
  return rc;
}

/* --- Pre-keyed credentials ------------------------------------------------ */

struct vg_stun_key {
  EVP_MAC_CTX *ctx; /* owned; keyed once, restarted per message */
};

int vg_stun_key_create(const uint8_t *key, size_t key_len, vg_stun_key_t **out) {
  *out = NULL;
  if (key_len && !key) return VG_EINVAL;
  vg_stun_key_t *k = calloc(1, sizeof *k);
  if (!k) return VG_ENOMEM;
  if (!(k->ctx = hmac_new(key, key_len))) {
    free(k);
    return VG_ECRYPTO;
  }
  *out = k;
  return VG_OK;
}

void vg_stun_key_destroy(vg_stun_key_t *k) {
  if (!k) return;
  EVP_MAC_CTX_free(k->ctx); /* wipes the key */
  free(k);
}

/* The HMAC of one message with a pre-keyed context: OpenSSL restarts it
 * from the stored keyed state (no allocation, no key schedule). */
static int hmac_keyed(vg_stun_key_t *k, const uint8_t *buf, size_t upto, uint16_t hdr_len,
                      uint8_t mac[VG_STUN_INTEGRITY_LEN]) {
  if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1) return VG_ECRYPTO;
  return hmac_run(k->ctx, buf, upto, hdr_len, mac);
}

/* --- Parsing ------------------------------------------------------------ */

static int fail(const char **why, const char *reason, int err) {
  if (why) *why = reason;
  return err;
}

/* RFC 8489 §5: the method bits M0..M11 and class bits C0, C1 interleave:
 *
 *     0                 1
 *     2  3  4 5 6 7 8 9 0 1 2 3 4 5
 *    +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
 *    |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
 *    +--+--+-+-+-+-+-+-+-+-+-+-+-+-+ */
static uint16_t type_method(uint16_t t) {
  return (uint16_t)((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
}
static vg_stun_class_t type_class(uint16_t t) {
  return (vg_stun_class_t)(((t >> 4) & 1) | ((t >> 7) & 2));
}

/* Checks the fixed header; on success *body_len is the Message Length. */
static int parse_header(const uint8_t *buf, size_t len, size_t *body_len, const char **why) {
  if (len < VG_STUN_HEADER_LEN) return fail(why, "shorter than the STUN header", VG_EAGAIN);
  /* RFC 8489 §5: the most significant two bits of every message are zero. */
  if (buf[0] & 0xC0) return fail(why, "top two bits of the message type are not zero", VG_EPROTO);
  if (vg_load_u32(buf + 4) != VG_STUN_MAGIC_COOKIE)
    return fail(why, "magic cookie is not 0x2112A442", VG_EPROTO);
  size_t n = vg_load_u16(buf + 2);
  /* RFC 8489 §5: the length is a multiple of 4 (attributes are padded). */
  if (n % 4) return fail(why, "message length is not a multiple of 4", VG_EPROTO);
  if (len - VG_STUN_HEADER_LEN < n)
    return fail(why, "message length runs past the end of the input", VG_EAGAIN);
  *body_len = n;
  return VG_OK;
}

/* RFC 8489 §14.2: the port is XOR'ed with the cookie's top 16 bits, an IPv4
 * address with the cookie, an IPv6 address with cookie || transaction id.
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0 0 0 0 0 0 0|    Family     |         X-Port                |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                X-Address (Variable)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
static void xor_mask(const uint8_t *msg_header, uint8_t mask[16]) {
  memcpy(mask, msg_header + 4, 16); /* cookie, then the transaction id */
}

static int parse_xor_address(vg_stun_msg_t *m, const uint8_t *v, size_t n, const char **why) {
  uint8_t mask[16];
  xor_mask(m->buf, mask);
  memset(&m->xor_mapped, 0, sizeof m->xor_mapped);
  if (n == 8 && v[1] == FAMILY_IPV4) {
    m->xor_mapped.family = 4;
  } else if (n == 20 && v[1] == FAMILY_IPV6) {
    m->xor_mapped.family = 6;
  } else {
    return fail(why, "XOR-MAPPED-ADDRESS has a bad family or length", VG_EPROTO);
  }
  m->xor_mapped.transport = VG_TRANSPORT_UDP;
  m->xor_mapped.port = (uint16_t)(vg_load_u16(v + 2) ^ (VG_STUN_MAGIC_COOKIE >> 16));
  for (size_t i = 0; i + 4 < n; i++) m->xor_mapped.ip[i] = v[4 + i] ^ mask[i];
  m->has_xor_mapped = true;
  return VG_OK;
}

/* RFC 8489 §14.8:
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Reserved, should be 0         |Class|     Number    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Reason Phrase (variable)                                ..
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
static int parse_error_code(vg_stun_msg_t *m, const uint8_t *v, size_t n, const char **why) {
  if (n < 4 || n - 4 > VG_STUN_REASON_MAX)
    return fail(why, "ERROR-CODE has a bad length", VG_EPROTO);
  unsigned cls = v[2] & 0x07, num = v[3];
  if (cls < ERROR_CLASS_MIN || cls > ERROR_CLASS_MAX || num > 99)
    return fail(why, "ERROR-CODE is not 300..699", VG_EPROTO);
  m->has_error_code = true;
  m->error_code = (uint16_t)(cls * 100 + num);
  m->error_reason = v + 4;
  m->error_reason_len = n - 4;
  return VG_OK;
}

static int parse_text(const uint8_t **dst, size_t *dst_len, const uint8_t *v, size_t n,
                      size_t max, const char **why, const char *too_long) {
  if (n > max) return fail(why, too_long, VG_EPROTO);
  if (!*dst) { /* RFC 8489 §14: only the first occurrence counts */
    *dst = v;
    *dst_len = n;
  }
  return VG_OK;
}

static bool is_known(uint16_t type) {
  switch (type) {
  case VG_STUN_ATTR_MAPPED_ADDRESS: case VG_STUN_ATTR_USERNAME:
  case VG_STUN_ATTR_MESSAGE_INTEGRITY: case VG_STUN_ATTR_ERROR_CODE:
  case VG_STUN_ATTR_UNKNOWN_ATTRIBUTES: case VG_STUN_ATTR_REALM: case VG_STUN_ATTR_NONCE:
  case VG_STUN_ATTR_MESSAGE_INTEGRITY_SHA256: case VG_STUN_ATTR_PASSWORD_ALGORITHM:
  case VG_STUN_ATTR_USERHASH: case VG_STUN_ATTR_XOR_MAPPED_ADDRESS:
  case VG_STUN_ATTR_PRIORITY: case VG_STUN_ATTR_USE_CANDIDATE:
    return true;
  default:
    return false;
  }
}

/* Decodes one attribute before MESSAGE-INTEGRITY. */
static int parse_attr(vg_stun_msg_t *m, uint16_t type, const uint8_t *v, size_t n,
                      const char **why) {
  switch (type) {
  case VG_STUN_ATTR_XOR_MAPPED_ADDRESS:
    return m->has_xor_mapped ? VG_OK : parse_xor_address(m, v, n, why);
  case VG_STUN_ATTR_USERNAME:
    return parse_text(&m->username, &m->username_len, v, n, VG_STUN_USERNAME_MAX - 1, why,
                      "USERNAME is 513 bytes or longer");
  case VG_STUN_ATTR_REALM:
    return parse_text(&m->realm, &m->realm_len, v, n, TEXT_ATTR_MAX, why, "REALM too long");
  case VG_STUN_ATTR_NONCE:
    return parse_text(&m->nonce, &m->nonce_len, v, n, TEXT_ATTR_MAX, why, "NONCE too long");
  case VG_STUN_ATTR_SOFTWARE:
    return parse_text(&m->software, &m->software_len, v, n, TEXT_ATTR_MAX, why,
                      "SOFTWARE too long");
  case VG_STUN_ATTR_ERROR_CODE:
    return m->has_error_code ? VG_OK : parse_error_code(m, v, n, why);
  case VG_STUN_ATTR_PRIORITY:
    if (n != 4) return fail(why, "PRIORITY is not 4 bytes", VG_EPROTO);
    if (!m->has_priority) m->priority = vg_load_u32(v);
    m->has_priority = true;
    return VG_OK;
  case VG_STUN_ATTR_USE_CANDIDATE:
    if (n != 0) return fail(why, "USE-CANDIDATE is not empty", VG_EPROTO);
    m->use_candidate = true;
    return VG_OK;
  case VG_STUN_ATTR_ICE_CONTROLLING:
  case VG_STUN_ATTR_ICE_CONTROLLED: {
    if (n != 8) return fail(why, "ICE-CONTROLLING/CONTROLLED is not 8 bytes", VG_EPROTO);
    uint64_t tb = ((uint64_t)vg_load_u32(v) << 32) | vg_load_u32(v + 4);
    if (type == VG_STUN_ATTR_ICE_CONTROLLING && !m->has_ice_controlling) {
      m->has_ice_controlling = true;
      m->ice_controlling = tb;
    } else if (type == VG_STUN_ATTR_ICE_CONTROLLED && !m->has_ice_controlled) {
      m->has_ice_controlled = true;
      m->ice_controlled = tb;
    }
    return VG_OK;
  }
  default:
    /* RFC 8489 §14: 0x0000-0x7FFF are comprehension-required; a request
     * carrying one we do not know gets a 420 listing it (§6.3.1.1). */
    if (type < 0x8000 && !is_known(type)) {
      if (m->unknown_count < VG_STUN_MAX_UNKNOWN) m->unknown[m->unknown_count] = type;
      m->unknown_count++;
    }
    return VG_OK;
  }
}

int vg_stun_parse(vg_stun_msg_t *msg, const uint8_t *buf, size_t len, const char **why) {
  memset(msg, 0, sizeof *msg);
  size_t body_len = 0;
  int rc = parse_header(buf, len, &body_len, why);
  if (rc < 0) return rc;
  msg->buf = buf;
  msg->len = VG_STUN_HEADER_LEN + body_len;
  msg->type = vg_load_u16(buf);
  msg->method = type_method(msg->type);
  msg->cls = type_class(msg->type);
  memcpy(msg->txid, buf + 8, VG_STUN_TXID_LEN);

  vg_reader_t r = vg_reader(buf, msg->len);
  vg_reader_skip(&r, VG_STUN_HEADER_LEN);
  while (vg_reader_left(&r) > 0) {
    size_t at = r.pos;
    uint16_t type = vg_read_u16(&r);
    size_t n = vg_read_u16(&r);
    if (r.err) return fail(why, "attribute header overruns the message", VG_EPROTO);
    const uint8_t *v = vg_read_bytes(&r, n);
    if (!v || !vg_reader_skip(&r, PAD4(n) - n))
      return fail(why, "attribute value overruns the message", VG_EPROTO);

    /* RFC 8489 §14.7: FINGERPRINT is the last attribute. */
    if (msg->fingerprint_off) return fail(why, "attribute after FINGERPRINT", VG_EPROTO);
    if (type == VG_STUN_ATTR_FINGERPRINT) {
      if (n != 4) return fail(why, "FINGERPRINT is not 4 bytes", VG_EPROTO);
      msg->fingerprint_off = at;
      continue;
    }
    /* RFC 8489 §14.5/§14.6: after MESSAGE-INTEGRITY only the SHA256 variant
     * and FINGERPRINT count; everything else there is ignored. */
    if (type == VG_STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
      if (n < INTEGRITY_SHA256_MIN || n > INTEGRITY_SHA256_MAX || n % 4)
        return fail(why, "MESSAGE-INTEGRITY-SHA256 has a bad length", VG_EPROTO);
      if (!msg->integrity_sha256_off) msg->integrity_sha256_off = at;
      continue;
    }
    if (msg->integrity_off || msg->integrity_sha256_off) continue;
    if (type == VG_STUN_ATTR_MESSAGE_INTEGRITY) {
      if (n != VG_STUN_INTEGRITY_LEN)
        return fail(why, "MESSAGE-INTEGRITY is not 20 bytes", VG_EPROTO);
      msg->integrity_off = at;
      continue;
    }
    rc = parse_attr(msg, type, v, n, why);
    if (rc < 0) return rc;
  }
  return (int)msg->len;
}

/* Checks MESSAGE-INTEGRITY with `k` when non-NULL, else with key bytes. */
static int check_integrity(const vg_stun_msg_t *msg, vg_stun_key_t *k, const uint8_t *key,
                           size_t key_len) {
  if (!msg->integrity_off) return VG_ENOTFOUND;
  size_t off = msg->integrity_off;
  uint16_t hdr_len = (uint16_t)(off + INTEGRITY_ATTR_LEN - VG_STUN_HEADER_LEN);
  uint8_t mac[VG_STUN_INTEGRITY_LEN];
  int rc = k ? hmac_keyed(k, msg->buf, off, hdr_len, mac)
             : hmac_of(msg->buf, off, hdr_len, key, key_len, mac);
  if (rc < 0) return rc;
  const uint8_t *want = msg->buf + off + ATTR_HEADER_LEN;
  return CRYPTO_memcmp(mac, want, sizeof mac) == 0 ? VG_OK : VG_EAUTH;
}

int vg_stun_check_integrity(const vg_stun_msg_t *msg, const uint8_t *key, size_t key_len) {
  return check_integrity(msg, NULL, key, key_len);
}

int vg_stun_check_integrity_key(const vg_stun_msg_t *msg, vg_stun_key_t *k) {
  return check_integrity(msg, k, NULL, 0);
}

int vg_stun_check_fingerprint(const vg_stun_msg_t *msg) {
  if (!msg->fingerprint_off) return VG_ENOTFOUND;
  size_t off = msg->fingerprint_off;
  uint32_t crc =
      fingerprint_of(msg->buf, off, (uint16_t)(off + FINGERPRINT_ATTR_LEN - VG_STUN_HEADER_LEN));
  return crc == vg_load_u32(msg->buf + off + ATTR_HEADER_LEN) ? VG_OK : VG_EAUTH;
}

int vg_stun_peek_username(const uint8_t *buf, size_t len, const uint8_t **user,
                          size_t *user_len) {
  size_t body_len = 0;
  if (parse_header(buf, len, &body_len, NULL) < 0) return VG_EPROTO;
  if (vg_load_u16(buf) != VG_STUN_BINDING_REQUEST) return VG_ENOTFOUND;
  vg_reader_t r = vg_reader(buf, VG_STUN_HEADER_LEN + body_len);
  vg_reader_skip(&r, VG_STUN_HEADER_LEN);
  while (vg_reader_left(&r) > 0) {
    uint16_t type = vg_read_u16(&r);
    size_t n = vg_read_u16(&r);
    const uint8_t *v = vg_read_bytes(&r, n);
    if (!v || !vg_reader_skip(&r, PAD4(n) - n)) return VG_EPROTO;
    /* Anything after MESSAGE-INTEGRITY(-SHA256) is ignored (RFC 8489
     * §14.5, §14.6), as vg_stun_parse() does. */
    if (type == VG_STUN_ATTR_MESSAGE_INTEGRITY || type == VG_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
        type == VG_STUN_ATTR_FINGERPRINT)
      break;
    if (type == VG_STUN_ATTR_USERNAME) {
      if (n >= VG_STUN_USERNAME_MAX) return VG_EPROTO;
      *user = v;
      *user_len = n;
      return VG_OK;
    }
  }
  return VG_ENOTFOUND;
}

/* --- Building ----------------------------------------------------------- */

static void set_err(vg_stun_builder_t *b, int err) {
  if (b->err == VG_OK) b->err = err;
}

/* Keeps the header's Message Length equal to what has been written. */
static void update_length(vg_stun_builder_t *b) {
  vg_store_u16(b->out + 2, (uint16_t)(b->pos - VG_STUN_HEADER_LEN));
}

void vg_stun_build_begin(vg_stun_builder_t *b, uint8_t *out, size_t cap, uint16_t type,
                         const uint8_t txid[VG_STUN_TXID_LEN]) {
  memset(b, 0, sizeof *b);
  b->out = out;
  b->cap = cap;
  if (cap < VG_STUN_HEADER_LEN) {
    b->err = VG_ENOSPC;
    return;
  }
  if (type & 0xC000) {
    b->err = VG_EINVAL;
    return;
  }
  vg_store_u16(out, type);
  vg_store_u16(out + 2, 0);
  vg_store_u32(out + 4, VG_STUN_MAGIC_COOKIE);
  memcpy(out + 8, txid, VG_STUN_TXID_LEN);
  b->pos = VG_STUN_HEADER_LEN;
}

void vg_stun_build_set_padding(vg_stun_builder_t *b, uint8_t pad) { b->pad = pad; }

/* Reserves an attribute of `n` value bytes (plus header and padding) and
 * returns a pointer to its value, or NULL after setting the error. */
static uint8_t *begin_attr(vg_stun_builder_t *b, uint16_t type, size_t n) {
  if (b->err) return NULL;
  if (b->has_fingerprint || (b->has_integrity && type != VG_STUN_ATTR_FINGERPRINT) ||
      n > 0xFFFF) {
    set_err(b, VG_EINVAL);
    return NULL;
  }
  size_t total = ATTR_HEADER_LEN + PAD4(n);
  /* The Message Length field is 16 bits. */
  if (b->cap - b->pos < total || b->pos + total - VG_STUN_HEADER_LEN > 0xFFFF) {
    set_err(b, VG_ENOSPC);
    return NULL;
  }
  uint8_t *p = b->out + b->pos;
  vg_store_u16(p, type);
  vg_store_u16(p + 2, (uint16_t)n);
  memset(p + ATTR_HEADER_LEN + n, b->pad, PAD4(n) - n);
  b->pos += total;
  update_length(b);
  return p + ATTR_HEADER_LEN;
}

void vg_stun_add_attr(vg_stun_builder_t *b, uint16_t type, const void *value, size_t len) {
  if (len && !value) {
    set_err(b, VG_EINVAL);
    return;
  }
  uint8_t *v = begin_attr(b, type, len);
  if (v && len) memcpy(v, value, len);
}

void vg_stun_add_xor_mapped_address(vg_stun_builder_t *b, const vg_addr_t *addr) {
  if (!addr || (addr->family != 4 && addr->family != 6)) {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t ip_len = addr->family == 4 ? 4 : 16;
  uint8_t *v = begin_attr(b, VG_STUN_ATTR_XOR_MAPPED_ADDRESS, 4 + ip_len);
  if (!v) return;
  uint8_t mask[16];
  xor_mask(b->out, mask);
  v[0] = 0;
  v[1] = addr->family == 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  vg_store_u16(v + 2, (uint16_t)(addr->port ^ (VG_STUN_MAGIC_COOKIE >> 16)));
  for (size_t i = 0; i < ip_len; i++) v[4 + i] = addr->ip[i] ^ mask[i];
}

void vg_stun_add_username(vg_stun_builder_t *b, const char *user, size_t len) {
  if (len >= VG_STUN_USERNAME_MAX) {
    set_err(b, VG_EINVAL);
    return;
  }
  vg_stun_add_attr(b, VG_STUN_ATTR_USERNAME, user, len);
}

void vg_stun_add_software(vg_stun_builder_t *b, const char *software) {
  size_t n = software ? strlen(software) : 0;
  if (n > TEXT_ATTR_MAX) {
    set_err(b, VG_EINVAL);
    return;
  }
  vg_stun_add_attr(b, VG_STUN_ATTR_SOFTWARE, software, n);
}

void vg_stun_add_priority(vg_stun_builder_t *b, uint32_t priority) {
  uint8_t *v = begin_attr(b, VG_STUN_ATTR_PRIORITY, 4);
  if (v) vg_store_u32(v, priority);
}

void vg_stun_add_use_candidate(vg_stun_builder_t *b) {
  (void)begin_attr(b, VG_STUN_ATTR_USE_CANDIDATE, 0);
}

static void add_u64(vg_stun_builder_t *b, uint16_t type, uint64_t x) {
  uint8_t *v = begin_attr(b, type, 8);
  if (!v) return;
  vg_store_u32(v, (uint32_t)(x >> 32));
  vg_store_u32(v + 4, (uint32_t)x);
}

void vg_stun_add_ice_controlling(vg_stun_builder_t *b, uint64_t tie_breaker) {
  add_u64(b, VG_STUN_ATTR_ICE_CONTROLLING, tie_breaker);
}

void vg_stun_add_ice_controlled(vg_stun_builder_t *b, uint64_t tie_breaker) {
  add_u64(b, VG_STUN_ATTR_ICE_CONTROLLED, tie_breaker);
}

void vg_stun_add_error_code(vg_stun_builder_t *b, uint16_t code, const char *reason) {
  size_t n = reason ? strlen(reason) : 0;
  if (code < ERROR_CLASS_MIN * 100 || code >= (ERROR_CLASS_MAX + 1) * 100 ||
      n > VG_STUN_REASON_MAX) {
    set_err(b, VG_EINVAL);
    return;
  }
  uint8_t *v = begin_attr(b, VG_STUN_ATTR_ERROR_CODE, 4 + n);
  if (!v) return;
  v[0] = v[1] = 0;
  v[2] = (uint8_t)(code / 100);
  v[3] = (uint8_t)(code % 100);
  if (n) memcpy(v + 4, reason, n);
}

/* RFC 8489 §14.9: a list of 16-bit attribute types. */
void vg_stun_add_unknown_attributes(vg_stun_builder_t *b, const uint16_t *types, size_t n) {
  if (n && !types) {
    set_err(b, VG_EINVAL);
    return;
  }
  uint8_t *v = begin_attr(b, VG_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
  if (!v) return;
  for (size_t i = 0; i < n; i++) vg_store_u16(v + 2 * i, types[i]);
}

static void add_integrity(vg_stun_builder_t *b, vg_stun_key_t *k, const uint8_t *key,
                          size_t key_len) {
  if (b->err) return;
  if (b->has_integrity || (!k && key_len && !key)) {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t at = b->pos;
  uint8_t *v = begin_attr(b, VG_STUN_ATTR_MESSAGE_INTEGRITY, VG_STUN_INTEGRITY_LEN);
  if (!v) return;
  /* begin_attr already set the length to include this attribute. */
  uint16_t hdr_len = vg_load_u16(b->out + 2);
  int rc = k ? hmac_keyed(k, b->out, at, hdr_len, v) : hmac_of(b->out, at, hdr_len, key, key_len, v);
  if (rc < 0) set_err(b, rc);
  b->has_integrity = true;
}

void vg_stun_add_message_integrity(vg_stun_builder_t *b, const uint8_t *key, size_t key_len) {
  add_integrity(b, NULL, key, key_len);
}

void vg_stun_add_message_integrity_key(vg_stun_builder_t *b, vg_stun_key_t *k) {
  add_integrity(b, k, NULL, 0);
}

void vg_stun_add_fingerprint(vg_stun_builder_t *b) {
  size_t at = b->pos;
  uint8_t *v = begin_attr(b, VG_STUN_ATTR_FINGERPRINT, 4);
  if (!v) return;
  vg_store_u32(v, fingerprint_of(b->out, at, vg_load_u16(b->out + 2)));
  b->has_fingerprint = true;
}

int vg_stun_build_end(vg_stun_builder_t *b) {
  if (b->err) return b->err;
  return (int)b->pos;
}
