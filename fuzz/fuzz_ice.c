/* Fuzzes the ICE agent: a lite server and a controlling client fed a
 * sequence of datagrams from a few addresses at increasing times.
 *
 * Input: records of
 *   flags (1) | time step in ms (1) | length (2, big-endian) | bytes
 * flags bit 0: to the client (else the server); bits 1-2: source address;
 * bit 3: re-sign — the harness rebuilds a datagram that parses with valid
 * MESSAGE-INTEGRITY and FINGERPRINT (and, for the client, the transaction id
 * of its last request) so the authenticated paths are reachable.
 *
 * Checked: everything sent parses as STUN with a valid FINGERPRINT; the
 * server's success responses verify with its password and map the source
 * address; selected() agrees with the events; a dead agent stays dead. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/ice.h"
#include "core/stun.h"

#define SRV_UFRAG "srvU"
#define SRV_PWD "serverpassword0123456789"
#define CLI_UFRAG "cliU"
#define CLI_PWD "clientpassword0123456789"

#define REQUIRE(c)                                                             \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

typedef struct {
  vg_ice_t *ice;
  bool lite;
  bool dead;
  bool selected;
  uint8_t last_txid[VG_STUN_TXID_LEN];
} side_t;

static vg_addr_t source(int i) {
  vg_addr_t a;
  static const char *const ips[] = {"10.0.0.1", "10.0.0.2", "2001:db8::5", "10.0.0.1"};
  REQUIRE(vg_addr_parse(&a, ips[i], (uint16_t)(3478 + i),
                        i == 3 ? VG_TRANSPORT_TCP : VG_TRANSPORT_UDP) == VG_OK);
  return a;
}

/* Rebuilds a parsed message, signed with `pwd`, into out. */
static int resign(const vg_stun_msg_t *m, const uint8_t *txid, const char *pwd, uint8_t *out,
                  size_t cap) {
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, cap, m->type, txid ? txid : m->txid);
  if (m->has_xor_mapped) vg_stun_add_xor_mapped_address(&b, &m->xor_mapped);
  if (m->username) vg_stun_add_attr(&b, VG_STUN_ATTR_USERNAME, m->username, m->username_len);
  if (m->has_priority) vg_stun_add_priority(&b, m->priority);
  if (m->use_candidate) vg_stun_add_use_candidate(&b);
  if (m->has_ice_controlling) vg_stun_add_ice_controlling(&b, m->ice_controlling);
  if (m->has_ice_controlled) vg_stun_add_ice_controlled(&b, m->ice_controlled);
  if (m->has_error_code) vg_stun_add_error_code(&b, m->error_code, "x");
  for (size_t i = 0; i < m->unknown_count && i < VG_STUN_MAX_UNKNOWN; i++)
    vg_stun_add_attr(&b, m->unknown[i], NULL, 0);
  vg_stun_add_message_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
  vg_stun_add_fingerprint(&b);
  return vg_stun_build_end(&b);
}

static void drain(side_t *s, const vg_addr_t *last_from) {
  uint8_t out[1280];
  vg_addr_t to;
  int n;
  while ((n = vg_ice_poll_transmit(s->ice, out, sizeof out, &to)) > 0) {
    REQUIRE(!s->dead);
    vg_stun_msg_t m;
    REQUIRE(vg_stun_parse(&m, out, (size_t)n, NULL) == n);
    REQUIRE(vg_stun_check_fingerprint(&m) == VG_OK);
    if (m.cls == VG_STUN_CLASS_REQUEST) memcpy(s->last_txid, m.txid, VG_STUN_TXID_LEN);
    if (s->lite) REQUIRE(m.cls == VG_STUN_CLASS_SUCCESS || m.cls == VG_STUN_CLASS_ERROR);
    if (s->lite && m.cls == VG_STUN_CLASS_SUCCESS) {
      REQUIRE(vg_stun_check_integrity(&m, (const uint8_t *)SRV_PWD, strlen(SRV_PWD)) == VG_OK);
      REQUIRE(m.has_xor_mapped && vg_addr_equal(&to, last_from));
      REQUIRE(m.xor_mapped.port == to.port);
    }
  }
  REQUIRE(n == 0);
  vg_ice_event_t ev;
  while (vg_ice_poll_event(s->ice, &ev)) {
    if (ev.type == VG_ICE_EV_SELECTED) s->selected = true;
    if (ev.type == VG_ICE_EV_CONSENT_EXPIRED || ev.type == VG_ICE_EV_FAILED) {
      REQUIRE(ev.reason != NULL);
      s->dead = true;
    }
  }
  REQUIRE((vg_ice_selected(s->ice) != NULL) == (s->selected && !s->dead));
  if (s->dead) REQUIRE(vg_ice_poll_timeout(s->ice) == VG_TIME_NEVER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vg_log_set_level(VG_LOG_ERROR);
  side_t sides[2] = {{.lite = true}, {.lite = false}};
  for (int i = 0; i < 2; i++) {
    vg_ice_config_t cfg = {0};
    cfg.role = sides[i].lite ? VG_ICE_ROLE_LITE_CONTROLLED : VG_ICE_ROLE_CONTROLLING;
    cfg.local_ufrag = sides[i].lite ? SRV_UFRAG : CLI_UFRAG;
    cfg.local_pwd = sides[i].lite ? SRV_PWD : CLI_PWD;
    cfg.remote_ufrag = sides[i].lite ? CLI_UFRAG : SRV_UFRAG;
    cfg.remote_pwd = sides[i].lite ? CLI_PWD : SRV_PWD;
    cfg.tie_breaker = 1000;
    REQUIRE(vg_ice_create(&cfg, &sides[i].ice) == VG_OK);
  }
  for (int i = 0; i < 3; i++) {
    vg_addr_t a = source(i);
    REQUIRE(vg_ice_add_remote_candidate(sides[1].ice, &a, (uint32_t)(100 - i)) == VG_OK);
  }

  vg_time_t now = 0;
  vg_addr_t from = source(0);
  size_t pos = 0;
  while (size - pos >= 4) {
    uint8_t flags = data[pos];
    now += VG_MSEC(data[pos + 1]) * (flags & 0x10 ? 100 : 1);
    size_t len = (size_t)data[pos + 2] << 8 | data[pos + 3];
    pos += 4;
    if (len > size - pos) len = size - pos;
    const uint8_t *msg = data + pos;
    pos += len;

    side_t *s = &sides[flags & 1];
    from = source((flags >> 1) & 3);
    for (int i = 0; i < 2; i++) {
      if (vg_ice_poll_timeout(sides[i].ice) <= now) (void)vg_ice_handle_timeout(sides[i].ice, now);
      drain(&sides[i], &from);
    }
    uint8_t signed_buf[1280];
    vg_stun_msg_t m;
    if ((flags & 0x08) && vg_stun_parse(&m, msg, len, NULL) > 0) {
      /* The server checks requests with its password; the client checks
       * responses with the server's password and requests with its own. */
      bool to_client_request = !s->lite && m.cls == VG_STUN_CLASS_REQUEST;
      const uint8_t *txid = s->lite || to_client_request ? NULL : s->last_txid;
      int n = resign(&m, txid, to_client_request ? CLI_PWD : SRV_PWD, signed_buf,
                     sizeof signed_buf);
      if (n > 0) {
        msg = signed_buf;
        len = (size_t)n;
      }
    }
    int rc = vg_ice_handle_packet(s->ice, now, &from, msg, len);
    if (s->dead) REQUIRE(rc == VG_ECLOSED);
    drain(s, &from);
  }
  vg_ice_destroy(sides[0].ice);
  vg_ice_destroy(sides[1].ice);
  return 0;
}
