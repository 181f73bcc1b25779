/* Fuzzes the STUN parser, its integrity and fingerprint checks, the
 * username peek, and the builder: whatever parses is rebuilt, re-parsed and
 * must come back the same and verify. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/stun.h"

/* The RFC 5769 password, so the seed vectors take the verified path. */
static const uint8_t KEY[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define KEY_LEN (sizeof KEY - 1)

#define REQUIRE(c)                                                             \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  if (!a || !b) return a == b;
  return an == bn && memcmp(a, b, an) == 0;
}

/* Builds what `m` holds into out; returns the length or a negative error. */
static int rebuild(const vg_stun_msg_t *m, uint8_t *out, size_t cap) {
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, cap, m->type, m->txid);
  if (m->has_xor_mapped) vg_stun_add_xor_mapped_address(&b, &m->xor_mapped);
  if (m->username) vg_stun_add_attr(&b, VG_STUN_ATTR_USERNAME, m->username, m->username_len);
  if (m->realm) vg_stun_add_attr(&b, VG_STUN_ATTR_REALM, m->realm, m->realm_len);
  if (m->nonce) vg_stun_add_attr(&b, VG_STUN_ATTR_NONCE, m->nonce, m->nonce_len);
  if (m->software) vg_stun_add_attr(&b, VG_STUN_ATTR_SOFTWARE, m->software, m->software_len);
  if (m->has_priority) vg_stun_add_priority(&b, m->priority);
  if (m->use_candidate) vg_stun_add_use_candidate(&b);
  if (m->has_ice_controlling) vg_stun_add_ice_controlling(&b, m->ice_controlling);
  if (m->has_ice_controlled) vg_stun_add_ice_controlled(&b, m->ice_controlled);
  if (m->has_error_code) {
    char reason[VG_STUN_REASON_MAX + 1];
    memcpy(reason, m->error_reason, m->error_reason_len);
    reason[m->error_reason_len] = '\0';
    /* A reason with a NUL in it is kept raw. */
    if (strlen(reason) == m->error_reason_len) {
      vg_stun_add_error_code(&b, m->error_code, reason);
    } else {
      uint8_t v[4 + VG_STUN_REASON_MAX] = {0, 0, (uint8_t)(m->error_code / 100),
                                           (uint8_t)(m->error_code % 100)};
      memcpy(v + 4, m->error_reason, m->error_reason_len);
      vg_stun_add_attr(&b, VG_STUN_ATTR_ERROR_CODE, v, 4 + m->error_reason_len);
    }
  }
  size_t nu = m->unknown_count < VG_STUN_MAX_UNKNOWN ? m->unknown_count : VG_STUN_MAX_UNKNOWN;
  for (size_t i = 0; i < nu; i++) vg_stun_add_attr(&b, m->unknown[i], NULL, 0);
  vg_stun_add_message_integrity(&b, KEY, KEY_LEN);
  vg_stun_add_fingerprint(&b);
  return vg_stun_build_end(&b);
}

static void compare(const vg_stun_msg_t *a, const vg_stun_msg_t *b) {
  REQUIRE(a->type == b->type && a->method == b->method && a->cls == b->cls);
  REQUIRE(memcmp(a->txid, b->txid, VG_STUN_TXID_LEN) == 0);
  REQUIRE(a->has_xor_mapped == b->has_xor_mapped);
  if (a->has_xor_mapped) REQUIRE(vg_addr_equal(&a->xor_mapped, &b->xor_mapped));
  REQUIRE(same_bytes(a->username, a->username_len, b->username, b->username_len));
  REQUIRE(same_bytes(a->realm, a->realm_len, b->realm, b->realm_len));
  REQUIRE(same_bytes(a->nonce, a->nonce_len, b->nonce, b->nonce_len));
  REQUIRE(same_bytes(a->software, a->software_len, b->software, b->software_len));
  REQUIRE(a->has_priority == b->has_priority && a->priority == b->priority);
  REQUIRE(a->use_candidate == b->use_candidate);
  REQUIRE(a->has_ice_controlling == b->has_ice_controlling &&
          a->ice_controlling == b->ice_controlling);
  REQUIRE(a->has_ice_controlled == b->has_ice_controlled &&
          a->ice_controlled == b->ice_controlled);
  REQUIRE(a->has_error_code == b->has_error_code && a->error_code == b->error_code);
  if (a->has_error_code)
    REQUIRE(same_bytes(a->error_reason, a->error_reason_len, b->error_reason,
                       b->error_reason_len));
  size_t nu = a->unknown_count < VG_STUN_MAX_UNKNOWN ? a->unknown_count : VG_STUN_MAX_UNKNOWN;
  REQUIRE(b->unknown_count == nu);
  REQUIRE(memcmp(a->unknown, b->unknown, nu * sizeof a->unknown[0]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vg_stun_msg_t m;
  const char *why = NULL;
  int n = vg_stun_parse(&m, data, size, &why);

  const uint8_t *user = NULL;
  size_t user_len = 0;
  int peek = vg_stun_peek_username(data, size, &user, &user_len);
  if (peek == VG_OK) REQUIRE(user >= data && user + user_len <= data + size);

  if (n < 0) {
    REQUIRE(why != NULL);
    return 0;
  }
  REQUIRE((size_t)n <= size && (size_t)n == m.len && n >= VG_STUN_HEADER_LEN);
  /* The fast path agrees with the full parser on what it routes by. */
  if (m.type == VG_STUN_BINDING_REQUEST && m.username) {
    REQUIRE(peek == VG_OK);
    REQUIRE(user == m.username && user_len == m.username_len);
  }
  int ri = vg_stun_check_integrity(&m, KEY, KEY_LEN);
  REQUIRE(ri == VG_OK || ri == VG_EAUTH || ri == VG_ENOTFOUND);
  REQUIRE((ri == VG_ENOTFOUND) == (m.integrity_off == 0));
  int rf = vg_stun_check_fingerprint(&m);
  REQUIRE(rf == VG_OK || rf == VG_EAUTH || rf == VG_ENOTFOUND);

  static uint8_t out[8192];
  int len = rebuild(&m, out, sizeof out);
  REQUIRE(len > 0);
  vg_stun_msg_t again;
  REQUIRE(vg_stun_parse(&again, out, (size_t)len, &why) == len);
  compare(&m, &again);
  REQUIRE(vg_stun_check_integrity(&again, KEY, KEY_LEN) == VG_OK);
  REQUIRE(vg_stun_check_fingerprint(&again) == VG_OK);
  return 0;
}
