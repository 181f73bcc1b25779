/* STUN messages (RFC 8489): a zero-copy parser, integrity and fingerprint
 * checks, and a builder over the caller's buffer.
 *
 * Message header (RFC 8489 §5):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0|     STUN Message Type     |         Message Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Magic Cookie                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     Transaction ID (96 bits)                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * followed by Message Length bytes of attributes (RFC 8489 §14), each a
 * type, a length, and a value padded to a multiple of 4 bytes:
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Type                  |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Value (variable)                ....
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The parser never allocates: byte-string attributes point into the input,
 * which must outlive the parsed message. */
#ifndef VG_CORE_STUN_H
#define VG_CORE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"

/* RFC 8489 §5. */
#define VG_STUN_HEADER_LEN 20
#define VG_STUN_MAGIC_COOKIE 0x2112A442u
#define VG_STUN_TXID_LEN 12
/* RFC 8489 §14.5: HMAC-SHA1 is 20 bytes; the attribute is 24 on the wire. */
#define VG_STUN_INTEGRITY_LEN 20
/* RFC 8489 §14.7: CRC-32 XOR'ed with this constant ("STUN"). */
#define VG_STUN_FINGERPRINT_XOR 0x5354554eu
/* RFC 8489 §14.3: USERNAME is less than 513 bytes. */
#define VG_STUN_USERNAME_MAX 513
/* RFC 8489 §14.8: the ERROR-CODE reason phrase is less than 128 characters
 * (up to 763 bytes of UTF-8); we never build a longer one than this. */
#define VG_STUN_REASON_MAX 763
/* How many unknown comprehension-required attribute types the parser keeps
 * for a 420 response (RFC 8489 §14.9). A request with more still gets a 420
 * listing the first few. */
#define VG_STUN_MAX_UNKNOWN 4

/* RFC 8489 §5: the class bits C1 C0, spread through the message type. */
typedef enum {
  VG_STUN_CLASS_REQUEST = 0,
  VG_STUN_CLASS_INDICATION = 1,
  VG_STUN_CLASS_SUCCESS = 2,
  VG_STUN_CLASS_ERROR = 3,
} vg_stun_class_t;

/* RFC 8489 §18.2. */
#define VG_STUN_METHOD_BINDING 0x001

/* Full message types (method and class combined). */
#define VG_STUN_BINDING_REQUEST 0x0001
#define VG_STUN_BINDING_INDICATION 0x0011
#define VG_STUN_BINDING_SUCCESS 0x0101
#define VG_STUN_BINDING_ERROR 0x0111

/* Attribute types: RFC 8489 §18.3, RFC 8445 §16.1. Types below 0x8000 are
 * comprehension-required, the others comprehension-optional. */
enum {
  VG_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
  VG_STUN_ATTR_USERNAME = 0x0006,
  VG_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
  VG_STUN_ATTR_ERROR_CODE = 0x0009,
  VG_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
  VG_STUN_ATTR_REALM = 0x0014,
  VG_STUN_ATTR_NONCE = 0x0015,
  VG_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
  VG_STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
  VG_STUN_ATTR_USERHASH = 0x001E,
  VG_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
  VG_STUN_ATTR_PRIORITY = 0x0024,
  VG_STUN_ATTR_USE_CANDIDATE = 0x0025,
  VG_STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
  VG_STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
  VG_STUN_ATTR_SOFTWARE = 0x8022,
  VG_STUN_ATTR_ALTERNATE_SERVER = 0x8023,
  VG_STUN_ATTR_FINGERPRINT = 0x8028,
  VG_STUN_ATTR_ICE_CONTROLLED = 0x8029,
  VG_STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Error codes used by ICE (RFC 8489 §14.8, RFC 8445 §7.3.1.1). */
enum {
  VG_STUN_ERR_BAD_REQUEST = 400,
  VG_STUN_ERR_UNAUTHORIZED = 401,
  VG_STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
  VG_STUN_ERR_ROLE_CONFLICT = 487,
  VG_STUN_ERR_SERVER_ERROR = 500,
};

/* A parsed message. Every pointer borrows the input buffer given to
 * vg_stun_parse(); `has_*` says whether an attribute was present. Offsets
 * are from the start of the message; 0 means absent (an attribute can never
 * start before byte 20). */
typedef struct {
  const uint8_t *buf; /* borrowed: the whole message */
  size_t len;         /* header + attributes */
  uint16_t type;      /* full message type, e.g. VG_STUN_BINDING_REQUEST */
  uint16_t method;    /* e.g. VG_STUN_METHOD_BINDING */
  vg_stun_class_t cls;
  uint8_t txid[VG_STUN_TXID_LEN];

  bool has_xor_mapped;
  vg_addr_t xor_mapped; /* decoded (un-XOR'ed); transport is UDP */

  const uint8_t *username; /* borrowed; NULL when absent */
  size_t username_len;
  const uint8_t *realm; /* borrowed; NULL when absent (long-term credentials) */
  size_t realm_len;
  const uint8_t *nonce; /* borrowed; NULL when absent */
  size_t nonce_len;
  const uint8_t *software; /* borrowed; NULL when absent */
  size_t software_len;

  size_t integrity_off;        /* MESSAGE-INTEGRITY attribute header; 0 = absent */
  size_t integrity_sha256_off; /* MESSAGE-INTEGRITY-SHA256 (recorded, not checked) */
  size_t fingerprint_off;      /* FINGERPRINT attribute header; 0 = absent */

  bool has_priority;
  uint32_t priority;
  bool use_candidate;
  bool has_ice_controlling;
  uint64_t ice_controlling; /* tie-breaker */
  bool has_ice_controlled;
  uint64_t ice_controlled; /* tie-breaker */

  bool has_error_code;
  uint16_t error_code;        /* 300..699 */
  const uint8_t *error_reason; /* borrowed, UTF-8, not NUL-terminated */
  size_t error_reason_len;

  /* Unknown comprehension-required attributes before MESSAGE-INTEGRITY:
   * the first VG_STUN_MAX_UNKNOWN types, and how many there were. */
  uint16_t unknown[VG_STUN_MAX_UNKNOWN];
  size_t unknown_count; /* may exceed VG_STUN_MAX_UNKNOWN */
} vg_stun_msg_t;

/* Parses one STUN message at the start of buf[0..len).
 *
 * Checks the header (top two bits zero, magic cookie, length a multiple of 4
 * and within `len`), walks every attribute with its padding and records the
 * ones above. Per RFC 8489 §14.5 / §14.6 attributes after MESSAGE-INTEGRITY
 * are ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT; per §14.7 any
 * attribute after FINGERPRINT is an error.
 *
 * Returns the bytes consumed (20 + Message Length; a datagram holding more
 * than that is the caller's concern), VG_EAGAIN when `len` is shorter than
 * the header or the declared length, or VG_EPROTO when malformed. `why`
 * (nullable) receives a static one-line reason on failure. `msg` borrows
 * `buf`. Does not verify integrity or fingerprint: call the checks below. */
int vg_stun_parse(vg_stun_msg_t *msg, const uint8_t *buf, size_t len,
                  const char **why) VG_MUST_USE;

/* Verifies MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 with `key` over the
 * message up to the attribute, with the header length counting up to and
 * including it. For short-term credentials (ICE) the key is the password.
 * Returns VG_OK, VG_EAUTH on mismatch, VG_ENOTFOUND when absent, VG_ECRYPTO
 * when OpenSSL fails. */
int vg_stun_check_integrity(const vg_stun_msg_t *msg, const uint8_t *key,
                            size_t key_len) VG_MUST_USE;

/* A MESSAGE-INTEGRITY key keyed once: for a credential used on many
 * messages (an ICE agent's passwords), so that each message costs one HMAC
 * and no allocation. Create returns VG_OK, VG_EINVAL (key_len without a
 * key), VG_ENOMEM or VG_ECRYPTO; the key bytes are copied. destroy(NULL) is
 * a no-op. Not thread-safe: one key serves one message at a time. */
typedef struct vg_stun_key vg_stun_key_t;
int vg_stun_key_create(const uint8_t *key, size_t key_len, vg_stun_key_t **out) VG_MUST_USE;
void vg_stun_key_destroy(vg_stun_key_t *k);
/* vg_stun_check_integrity with a pre-keyed `k` (same results). */
int vg_stun_check_integrity_key(const vg_stun_msg_t *msg, vg_stun_key_t *k) VG_MUST_USE;

/* Verifies FINGERPRINT (RFC 8489 §14.7). Returns VG_OK, VG_EAUTH on
 * mismatch, VG_ENOTFOUND when absent. */
int vg_stun_check_fingerprint(const vg_stun_msg_t *msg) VG_MUST_USE;

/* CRC-32 (ISO-HDLC, as in RFC 1952) of buf[0..len). */
uint32_t vg_stun_crc32(const uint8_t *buf, size_t len);

/* Fast path for routing by ufrag (the peer table): when buf is a Binding
 * request with a USERNAME attribute, points *user into buf at its value and
 * returns VG_OK. Otherwise VG_ENOTFOUND (a request without USERNAME, or not
 * a Binding request) or VG_EPROTO (not well-formed STUN). Bounds-safe on any
 * input; verifies nothing cryptographic. */
int vg_stun_peek_username(const uint8_t *buf, size_t len, const uint8_t **user,
                          size_t *user_len) VG_MUST_USE;

/* A message builder over the caller's buffer. Errors are sticky, like the
 * base writer: after one failed add every later add does nothing and
 * vg_stun_build_end() reports the first error. The header length is kept
 * up to date after every add, so MESSAGE-INTEGRITY and FINGERPRINT cover
 * exactly what precedes them. */
typedef struct {
  uint8_t *out; /* borrowed: the caller's buffer */
  size_t cap;
  size_t pos;
  int err;           /* first error, VG_OK while none */
  uint8_t pad;       /* padding byte value, 0 by default */
  bool has_integrity;   /* MESSAGE-INTEGRITY added: only FINGERPRINT may follow */
  bool has_fingerprint; /* FINGERPRINT added: nothing may follow */
} vg_stun_builder_t;

/* Starts a message of `type` (e.g. VG_STUN_BINDING_SUCCESS) with the given
 * 12-byte transaction id. `out` must outlive the builder. */
void vg_stun_build_begin(vg_stun_builder_t *b, uint8_t *out, size_t cap, uint16_t type,
                         const uint8_t txid[VG_STUN_TXID_LEN]);
/* Sets the byte used to pad attribute values to 4 bytes. RFC 8489 §14 says
 * padding is ignored on receipt; we send zeros. The RFC 5769 test vectors
 * pad with 0x20 (space), so the tests set it to reproduce them exactly. */
void vg_stun_build_set_padding(vg_stun_builder_t *b, uint8_t pad);

/* Any attribute with a raw value (len < 65536); the typed adders below are
 * preferred. VG_EINVAL (sticky) after FINGERPRINT, or after
 * MESSAGE-INTEGRITY for anything but FINGERPRINT. */
void vg_stun_add_attr(vg_stun_builder_t *b, uint16_t type, const void *value, size_t len);
/* RFC 8489 §14.2; `addr` family 4 or 6 (else VG_EINVAL). */
void vg_stun_add_xor_mapped_address(vg_stun_builder_t *b, const vg_addr_t *addr);
/* RFC 8489 §14.3; len < VG_STUN_USERNAME_MAX (else VG_EINVAL). */
void vg_stun_add_username(vg_stun_builder_t *b, const char *user, size_t len);
/* RFC 8489 §14.14; `software` NUL-terminated, under 764 bytes. */
void vg_stun_add_software(vg_stun_builder_t *b, const char *software);
/* RFC 8445 §7.1.1. */
void vg_stun_add_priority(vg_stun_builder_t *b, uint32_t priority);
/* RFC 8445 §7.1.2. */
void vg_stun_add_use_candidate(vg_stun_builder_t *b);
/* RFC 8445 §7.1.3: the sender's tie-breaker. */
void vg_stun_add_ice_controlling(vg_stun_builder_t *b, uint64_t tie_breaker);
void vg_stun_add_ice_controlled(vg_stun_builder_t *b, uint64_t tie_breaker);
/* RFC 8489 §14.8: code 300..699; `reason` NUL-terminated UTF-8 (nullable:
 * empty). */
void vg_stun_add_error_code(vg_stun_builder_t *b, uint16_t code, const char *reason);
/* RFC 8489 §14.9: the attribute types a 420 response lists. */
void vg_stun_add_unknown_attributes(vg_stun_builder_t *b, const uint16_t *types, size_t n);
/* RFC 8489 §14.5: HMAC-SHA1 with `key` over everything so far. */
void vg_stun_add_message_integrity(vg_stun_builder_t *b, const uint8_t *key, size_t key_len);
/* The same with a pre-keyed `k` (vg_stun_key_create). */
void vg_stun_add_message_integrity_key(vg_stun_builder_t *b, vg_stun_key_t *k);
/* RFC 8489 §14.7: must be last. */
void vg_stun_add_fingerprint(vg_stun_builder_t *b);

/* Returns the message's total length, or the first error: VG_ENOSPC when
 * the buffer was too small, VG_EINVAL for a bad argument or attribute order,
 * VG_ECRYPTO when OpenSSL failed. */
int vg_stun_build_end(vg_stun_builder_t *b) VG_MUST_USE;

#endif
