/* ICE agent in simulated time: the lite server answering hand-built checks
 * the way a browser sends them, consent expiry to the microsecond, and a
 * controlling client joined to a lite server through an in-memory link. */
#include "base/addr.h"
#include "base/log.h"
#include "base/time.h"
#include "core/ice.h"
#include "core/stun.h"
#include "vgtest.h"

#define SRV_UFRAG "srvU"
#define SRV_PWD "serverpassword0123456789"
#define CLI_UFRAG "cliU"
#define CLI_PWD "clientpassword0123456789"

static vg_ice_t *make_ice(vg_ice_role_t role, vg_time_t now) {
  vg_ice_config_t cfg = {0};
  cfg.role = role;
  bool lite = role == VG_ICE_ROLE_LITE_CONTROLLED;
  cfg.local_ufrag = lite ? SRV_UFRAG : CLI_UFRAG;
  cfg.local_pwd = lite ? SRV_PWD : CLI_PWD;
  cfg.remote_ufrag = lite ? CLI_UFRAG : SRV_UFRAG;
  cfg.remote_pwd = lite ? CLI_PWD : SRV_PWD;
  cfg.tie_breaker = lite ? 0x1111 : 0x2222;
  cfg.now = now;
  cfg.sid = lite ? "srv" : "cli";
  vg_ice_t *ice = NULL;
  if (vg_ice_create(&cfg, &ice) != VG_OK) return NULL;
  return ice;
}

static vg_addr_t addr(const char *ip, uint16_t port) {
  vg_addr_t a;
  if (vg_addr_parse(&a, ip, port, VG_TRANSPORT_UDP) != VG_OK) memset(&a, 0, sizeof a);
  return a;
}

/* What a browser's check carries; fields let a test break one thing. */
typedef struct {
  const char *user; /* NULL: no USERNAME */
  const char *pwd;  /* NULL: no MESSAGE-INTEGRITY */
  bool use_candidate;
  bool controlled; /* ICE-CONTROLLED instead of ICE-CONTROLLING */
  uint16_t unknown_attr;
  uint32_t priority;
  uint8_t txid_byte;
} check_spec_t;

static check_spec_t good_check(void) {
  check_spec_t s = {SRV_UFRAG ":" CLI_UFRAG, SRV_PWD, false, false, 0, 0x6e7f1eff, 0x42};
  return s;
}

static int build_check(const check_spec_t *s, uint8_t *out, size_t cap) {
  uint8_t txid[VG_STUN_TXID_LEN];
  memset(txid, s->txid_byte, sizeof txid);
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, cap, VG_STUN_BINDING_REQUEST, txid);
  if (s->user) vg_stun_add_username(&b, s->user, strlen(s->user));
  vg_stun_add_priority(&b, s->priority);
  if (s->controlled)
    vg_stun_add_ice_controlled(&b, 0x9999);
  else
    vg_stun_add_ice_controlling(&b, 0x9999);
  if (s->use_candidate) vg_stun_add_use_candidate(&b);
  if (s->unknown_attr) vg_stun_add_attr(&b, s->unknown_attr, "x", 1);
  if (s->pwd) vg_stun_add_message_integrity(&b, (const uint8_t *)s->pwd, strlen(s->pwd));
  vg_stun_add_fingerprint(&b);
  return vg_stun_build_end(&b);
}

static int send_check(vg_ice_t *ice, vg_time_t now, const vg_addr_t *from,
                      const check_spec_t *s) {
  uint8_t buf[512];
  int n = build_check(s, buf, sizeof buf);
  if (n <= 0) return -1000;
  return vg_ice_handle_packet(ice, now, from, buf, (size_t)n);
}

/* Pops the next response and parses it into *m (pointing into buf). */
static bool pop_response(vg_ice_t *ice, uint8_t *buf, size_t cap, vg_stun_msg_t *m,
                         vg_addr_t *to) {
  int n = vg_ice_poll_transmit(ice, buf, cap, to);
  if (n <= 0) return false;
  return vg_stun_parse(m, buf, (size_t)n, NULL) == n;
}

static bool drain_events(vg_ice_t *ice, vg_ice_event_type_t type, vg_ice_event_t *out) {
  vg_ice_event_t ev;
  bool found = false;
  while (vg_ice_poll_event(ice, &ev))
    if (ev.type == type) {
      found = true;
      if (out) *out = ev;
    }
  return found;
}

static const uint8_t *srv_pwd(void) { return (const uint8_t *)SRV_PWD; }

/* --- Lite server -------------------------------------------------------- */

static void test_lite_answers_check(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  vg_addr_t from = addr("192.0.2.10", 50000);
  check_spec_t s = good_check();
  CHECK_EQ(send_check(ice, VG_MSEC(100), &from, &s), VG_OK);

  uint8_t buf[256];
  vg_stun_msg_t m;
  vg_addr_t to;
  CHECK(pop_response(ice, buf, sizeof buf, &m, &to));
  CHECK(vg_addr_equal(&to, &from));
  CHECK_EQ(m.type, VG_STUN_BINDING_SUCCESS);
  uint8_t txid[VG_STUN_TXID_LEN];
  memset(txid, 0x42, sizeof txid);
  CHECK_MEM(m.txid, txid, sizeof txid);
  CHECK(m.has_xor_mapped);
  CHECK(vg_addr_equal(&m.xor_mapped, &from));
  CHECK_EQ(vg_stun_check_integrity(&m, srv_pwd(), strlen(SRV_PWD)), VG_OK);
  CHECK_EQ(vg_stun_check_integrity(&m, (const uint8_t *)CLI_PWD, strlen(CLI_PWD)), VG_EAUTH);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);
  /* No USE-CANDIDATE: nothing is selected. */
  CHECK(vg_ice_selected(ice) == NULL);
  CHECK(!drain_events(ice, VG_ICE_EV_SELECTED, NULL));
  CHECK_EQ(vg_ice_poll_transmit(ice, buf, sizeof buf, &to), 0);

  /* IPv6 over ICE-TCP: the response goes back on TCP, mapped address is the
   * source. */
  vg_addr_t v6;
  CHECK_EQ(vg_addr_parse(&v6, "2001:db8::77", 40001, VG_TRANSPORT_TCP), VG_OK);
  CHECK_EQ(send_check(ice, VG_MSEC(200), &v6, &s), VG_OK);
  CHECK(pop_response(ice, buf, sizeof buf, &m, &to));
  CHECK(vg_addr_equal(&to, &v6));
  CHECK_EQ(m.xor_mapped.family, 6);
  CHECK_EQ(m.xor_mapped.port, 40001);
  CHECK_MEM(m.xor_mapped.ip, v6.ip, 16);
  CHECK_EQ(vg_stun_check_integrity(&m, srv_pwd(), strlen(SRV_PWD)), VG_OK);

  /* A too-small buffer keeps the datagram queued. */
  CHECK_EQ(send_check(ice, VG_MSEC(300), &from, &s), VG_OK);
  CHECK_EQ(vg_ice_poll_transmit(ice, buf, 10, &to), VG_ENOSPC);
  CHECK(pop_response(ice, buf, sizeof buf, &m, &to));
  vg_ice_destroy(ice);
}

/* Sends a bad check and expects `code` back, unsigned, and nothing else. */
static void expect_error(vg_ice_t *ice, const check_spec_t *s, int rc, uint16_t code,
                         bool signed_) {
  vg_addr_t from = addr("198.51.100.4", 6000);
  CHECK_EQ(send_check(ice, VG_SEC(1), &from, s), rc);
  uint8_t buf[256];
  vg_stun_msg_t m;
  vg_addr_t to;
  CHECK(pop_response(ice, buf, sizeof buf, &m, &to));
  CHECK(vg_addr_equal(&to, &from));
  CHECK_EQ(m.type, VG_STUN_BINDING_ERROR);
  CHECK(m.has_error_code);
  CHECK_EQ(m.error_code, code);
  CHECK(!m.has_xor_mapped);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);
  CHECK_EQ(vg_stun_check_integrity(&m, srv_pwd(), strlen(SRV_PWD)),
           signed_ ? VG_OK : VG_ENOTFOUND);
  CHECK_EQ(vg_ice_poll_transmit(ice, buf, sizeof buf, &to), 0);
  CHECK(vg_ice_selected(ice) == NULL);
  CHECK(!drain_events(ice, VG_ICE_EV_SELECTED, NULL));
}

static void test_lite_rejects_bad_credentials(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  check_spec_t s;

  s = good_check(); /* signed with the wrong password */
  s.use_candidate = true;
  s.pwd = CLI_PWD;
  expect_error(ice, &s, VG_EAUTH, 401, false);
  if (vgt_current_failed) goto out;
  s = good_check(); /* someone else's ufrag */
  s.use_candidate = true;
  s.user = "otherU:" CLI_UFRAG;
  expect_error(ice, &s, VG_EAUTH, 401, false);
  if (vgt_current_failed) goto out;
  s.user = SRV_UFRAG ":wrongRemote";
  expect_error(ice, &s, VG_EAUTH, 401, false);
  if (vgt_current_failed) goto out;
  s.user = SRV_UFRAG; /* no colon */
  expect_error(ice, &s, VG_EAUTH, 401, false);
  if (vgt_current_failed) goto out;
  s = good_check(); /* no USERNAME */
  s.use_candidate = true;
  s.user = NULL;
  expect_error(ice, &s, VG_EAUTH, 400, false);
  if (vgt_current_failed) goto out;
  s = good_check(); /* no MESSAGE-INTEGRITY */
  s.use_candidate = true;
  s.pwd = NULL;
  expect_error(ice, &s, VG_EAUTH, 400, false);
  if (vgt_current_failed) goto out;
  /* RFC 8445 §7.3.1.1: a peer that also claims the controlled role. */
  s = good_check();
  s.use_candidate = true;
  s.controlled = true;
  expect_error(ice, &s, VG_ESTATE, 487, true);
  if (vgt_current_failed) goto out;
  /* RFC 8489 §6.3.1.1: unknown comprehension-required attribute. */
  s = good_check();
  s.use_candidate = true;
  s.unknown_attr = 0x7abc;
  expect_error(ice, &s, VG_EUNSUPPORTED, 420, true);
  if (vgt_current_failed) goto out;

  /* None of it counted as consent: expiry is still 30 s after creation. */
  CHECK_EQ(vg_ice_poll_timeout(ice), VG_ICE_CONSENT_TIMEOUT);
out:
  vg_ice_destroy(ice);
}

static void test_lite_drops_corrupt_messages(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  vg_addr_t from = addr("192.0.2.10", 50000), to;
  uint8_t buf[256];
  check_spec_t s = good_check();
  int n = build_check(&s, buf, sizeof buf);
  CHECK(n > 0);
  buf[n - 1] ^= 1; /* FINGERPRINT wrong: not STUN, no answer */
  CHECK_EQ(vg_ice_handle_packet(ice, 0, &from, buf, (size_t)n), VG_EPROTO);
  CHECK_EQ(vg_ice_handle_packet(ice, 0, &from, buf, 7), VG_EPROTO);
  const uint8_t rtp[12] = {0x80, 0x6f};
  CHECK_EQ(vg_ice_handle_packet(ice, 0, &from, rtp, sizeof rtp), VG_EPROTO);
  CHECK_EQ(vg_ice_poll_transmit(ice, buf, sizeof buf, &to), 0);
  /* A binding indication is ignored and answers nothing. */
  uint8_t txid[VG_STUN_TXID_LEN] = {1};
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, buf, sizeof buf, VG_STUN_BINDING_INDICATION, txid);
  vg_stun_add_fingerprint(&b);
  n = vg_stun_build_end(&b);
  CHECK_EQ(vg_ice_handle_packet(ice, VG_SEC(10), &from, buf, (size_t)n), VG_OK);
  CHECK_EQ(vg_ice_poll_transmit(ice, buf, sizeof buf, &to), 0);
  CHECK_EQ(vg_ice_poll_timeout(ice), VG_ICE_CONSENT_TIMEOUT); /* not refreshed */
  vg_ice_destroy(ice);
}

static void test_lite_peer_reflexive_use_candidate_selects(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  /* Never signalled: a peer-reflexive address behind a NAT. */
  vg_addr_t prflx = addr("203.0.113.9", 61234);
  check_spec_t s = good_check();
  s.use_candidate = true;
  CHECK_EQ(send_check(ice, VG_MSEC(40), &prflx, &s), VG_OK);
  vg_ice_event_t ev;
  CHECK(vg_ice_poll_event(ice, &ev));
  CHECK_EQ(ev.type, VG_ICE_EV_SELECTED);
  CHECK(vg_addr_equal(&ev.addr, &prflx));
  CHECK(!vg_ice_poll_event(ice, &ev));
  CHECK(vg_ice_selected(ice) != NULL);
  CHECK(vg_addr_equal(vg_ice_selected(ice), &prflx));
  /* And it was answered like any other check. */
  uint8_t buf[256];
  vg_stun_msg_t m;
  vg_addr_t to;
  CHECK(pop_response(ice, buf, sizeof buf, &m, &to));
  CHECK(vg_addr_equal(&m.xor_mapped, &prflx));
  /* A repeated nomination of the same pair raises no new event. */
  CHECK_EQ(send_check(ice, VG_MSEC(60), &prflx, &s), VG_OK);
  CHECK(!vg_ice_poll_event(ice, &ev));
  vg_ice_destroy(ice);
}

static void test_lite_nomination_policy(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  vg_addr_t a = addr("192.0.2.1", 1000), b = addr("192.0.2.2", 2000), c = addr("192.0.2.3", 3000);
  vg_ice_event_t ev;
  check_spec_t s = good_check();
  s.use_candidate = true;

  s.priority = 100;
  CHECK_EQ(send_check(ice, VG_MSEC(10), &a, &s), VG_OK);
  CHECK(drain_events(ice, VG_ICE_EV_SELECTED, &ev) && vg_addr_equal(&ev.addr, &a));
  /* A higher-priority nomination wins at once. */
  s.priority = 200;
  CHECK_EQ(send_check(ice, VG_MSEC(20), &b, &s), VG_OK);
  CHECK(drain_events(ice, VG_ICE_EV_SELECTED, &ev) && vg_addr_equal(&ev.addr, &b));
  /* A lower one does not while the selected path is alive. */
  s.priority = 100;
  CHECK_EQ(send_check(ice, VG_MSEC(30), &a, &s), VG_OK);
  CHECK(!drain_events(ice, VG_ICE_EV_SELECTED, NULL));
  CHECK(vg_addr_equal(vg_ice_selected(ice), &b));
  /* B keeps checking; just under the quiet time a lower nomination from C
   * still loses. */
  s.priority = 200;
  CHECK_EQ(send_check(ice, VG_SEC(2), &b, &s), VG_OK);
  s.priority = 50;
  CHECK_EQ(send_check(ice, VG_SEC(2) + VG_ICE_REBIND_QUIET - 1, &c, &s), VG_OK);
  CHECK(vg_addr_equal(vg_ice_selected(ice), &b));
  /* NAT rebinding: B went quiet, C's nomination takes over. */
  CHECK_EQ(send_check(ice, VG_SEC(2) + VG_ICE_REBIND_QUIET, &c, &s), VG_OK);
  CHECK(drain_events(ice, VG_ICE_EV_SELECTED, &ev) && vg_addr_equal(&ev.addr, &c));
  CHECK(vg_addr_equal(vg_ice_selected(ice), &c));
  vg_ice_destroy(ice);

  /* Equal priority: UDP is preferred over TCP. */
  ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  vg_addr_t tcp = addr("192.0.2.5", 443), udp = addr("192.0.2.5", 5000);
  tcp.transport = VG_TRANSPORT_TCP;
  s.priority = 1000;
  CHECK_EQ(send_check(ice, VG_MSEC(10), &tcp, &s), VG_OK);
  CHECK(vg_addr_equal(vg_ice_selected(ice), &tcp));
  CHECK_EQ(send_check(ice, VG_MSEC(20), &udp, &s), VG_OK);
  CHECK(vg_addr_equal(vg_ice_selected(ice), &udp));
  CHECK_EQ(send_check(ice, VG_MSEC(30), &tcp, &s), VG_OK); /* and not back */
  CHECK(vg_addr_equal(vg_ice_selected(ice), &udp));
  vg_ice_destroy(ice);
}

/* A lite agent with a pair selected by a check at t0 + 1 s; returns that
 * time in *last. */
static vg_ice_t *selected_lite(vg_time_t t0, const vg_addr_t *peer, vg_time_t *last) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, t0);
  if (!ice) return NULL;
  check_spec_t s = good_check();
  s.use_candidate = true;
  *last = t0 + VG_SEC(1);
  if (send_check(ice, *last, peer, &s) != VG_OK || !drain_events(ice, VG_ICE_EV_SELECTED, NULL)) {
    vg_ice_destroy(ice);
    return NULL;
  }
  return ice;
}

static void test_lite_consent_expires_exactly(void) {
  vg_addr_t peer = addr("192.0.2.10", 50000);
  vg_time_t last;
  vg_ice_t *ice = selected_lite(VG_SEC(1000), &peer, &last);
  CHECK(ice != NULL);
  CHECK_EQ(vg_ice_poll_timeout(ice), last + VG_SEC(30));

  /* 29.999 s after the last check: still alive. */
  CHECK_EQ(vg_ice_handle_timeout(ice, last + VG_MSEC(29999)), VG_OK);
  CHECK(!drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, NULL));
  CHECK(vg_ice_selected(ice) != NULL);

  /* Exactly 30 s: expired, with a reason, and dead from then on. */
  CHECK_EQ(vg_ice_handle_timeout(ice, last + VG_SEC(30)), VG_ECLOSED);
  vg_ice_event_t ev;
  CHECK(drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, &ev));
  CHECK(ev.reason != NULL);
  CHECK(vg_ice_selected(ice) == NULL);
  CHECK_EQ(vg_ice_poll_timeout(ice), VG_TIME_NEVER);
  check_spec_t s = good_check();
  CHECK_EQ(send_check(ice, last + VG_SEC(31), &peer, &s), VG_ECLOSED);
  uint8_t buf[256];
  vg_addr_t to;
  CHECK_EQ(vg_ice_poll_transmit(ice, buf, sizeof buf, &to), 0);
  vg_ice_destroy(ice);
}

static void test_lite_consent_check_pushes_expiry(void) {
  vg_addr_t peer = addr("192.0.2.10", 50000), other = addr("192.0.2.11", 50000);
  vg_time_t t1;
  vg_ice_t *ice = selected_lite(0, &peer, &t1);
  CHECK(ice != NULL);
  check_spec_t s = good_check();
  /* A check from a non-selected address does not count... */
  CHECK_EQ(send_check(ice, t1 + VG_SEC(20), &other, &s), VG_OK);
  CHECK_EQ(vg_ice_poll_timeout(ice), t1 + VG_SEC(30));
  /* ...one from the selected address at 20 s does. */
  CHECK_EQ(send_check(ice, t1 + VG_SEC(20), &peer, &s), VG_OK);
  CHECK_EQ(vg_ice_poll_timeout(ice), t1 + VG_SEC(50));
  CHECK_EQ(vg_ice_handle_timeout(ice, t1 + VG_SEC(30)), VG_OK); /* the old deadline */
  CHECK_EQ(vg_ice_handle_timeout(ice, t1 + VG_MSEC(49999)), VG_OK);
  CHECK(!drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, NULL));
  CHECK_EQ(vg_ice_handle_timeout(ice, t1 + VG_SEC(50)), VG_ECLOSED);
  CHECK(drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, NULL));
  vg_ice_destroy(ice);
}

/* A check that arrives at the deadline without a timer having fired first
 * does not revive the session. */
static void test_lite_consent_late_check_does_not_revive(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  vg_addr_t peer = addr("192.0.2.10", 50000);
  check_spec_t s = good_check();
  s.use_candidate = true;
  CHECK_EQ(send_check(ice, VG_SEC(5), &peer, &s), VG_OK);
  CHECK_EQ(send_check(ice, VG_SEC(35) - 1, &peer, &s), VG_OK);
  CHECK_EQ(send_check(ice, VG_SEC(65) - 1, &peer, &s), VG_ECLOSED);
  CHECK(drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, NULL));
  vg_ice_destroy(ice);
}

static void test_lite_consent_before_selection(void) {
  vg_time_t t0 = VG_SEC(5);
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, t0);
  CHECK(ice != NULL);
  CHECK_EQ(vg_ice_poll_timeout(ice), t0 + VG_SEC(30));
  /* An authenticated check without nomination pushes it out. */
  vg_addr_t peer = addr("192.0.2.10", 50000);
  check_spec_t s = good_check();
  CHECK_EQ(send_check(ice, t0 + VG_SEC(10), &peer, &s), VG_OK);
  CHECK_EQ(vg_ice_poll_timeout(ice), t0 + VG_SEC(40));
  CHECK_EQ(vg_ice_handle_timeout(ice, t0 + VG_SEC(40) - 1), VG_OK);
  CHECK(!drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, NULL));
  CHECK_EQ(vg_ice_handle_timeout(ice, t0 + VG_SEC(40)), VG_ECLOSED);
  CHECK(drain_events(ice, VG_ICE_EV_CONSENT_EXPIRED, NULL));
  vg_ice_destroy(ice);
}

static void test_lite_response_queue_bounded(void) {
  vg_ice_t *ice = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  CHECK(ice != NULL);
  vg_log_level_t lvl = vg_log_get_level();
  vg_log_set_level(VG_LOG_ERROR); /* the drops are logged as warnings */
  vg_addr_t peer = addr("192.0.2.10", 50000);
  check_spec_t s = good_check();
  for (int i = 0; i < 20; i++) {
    s.txid_byte = (uint8_t)i;
    CHECK_EQ(send_check(ice, VG_MSEC(i), &peer, &s), VG_OK);
  }
  vg_log_set_level(lvl);
  /* The newest responses survive, in order. */
  uint8_t buf[256];
  vg_stun_msg_t m;
  vg_addr_t to;
  int got = 0, first = -1, prev = -1;
  while (pop_response(ice, buf, sizeof buf, &m, &to)) {
    if (first < 0) first = m.txid[0];
    CHECK(m.txid[0] > prev);
    prev = m.txid[0];
    got++;
  }
  CHECK(got >= 4 && got < 20);
  CHECK_EQ(prev, 19);
  CHECK_EQ(first, 20 - got);
  vg_ice_destroy(ice);
}

static void test_config_validation(void) {
  vg_ice_config_t cfg = {0};
  vg_ice_t *ice = (vg_ice_t *)&cfg;
  cfg.role = VG_ICE_ROLE_CONTROLLING;
  cfg.local_ufrag = CLI_UFRAG;
  cfg.local_pwd = CLI_PWD;
  cfg.remote_ufrag = SRV_UFRAG; /* no remote password: the client needs it */
  CHECK_EQ(vg_ice_create(&cfg, &ice), VG_EINVAL);
  CHECK(ice == NULL);
  cfg.role = VG_ICE_ROLE_LITE_CONTROLLED; /* lite does not */
  CHECK_EQ(vg_ice_create(&cfg, &ice), VG_OK);
  vg_ice_destroy(ice);
  cfg.local_ufrag = "a:b";
  CHECK_EQ(vg_ice_create(&cfg, &ice), VG_EINVAL);
  cfg.local_ufrag = "";
  CHECK_EQ(vg_ice_create(&cfg, &ice), VG_EINVAL);
  vg_ice_destroy(NULL);
}

/* Lite with the remote ufrag unknown accepts any remote part. */
static void test_lite_without_remote_ufrag(void) {
  vg_ice_config_t cfg = {0};
  cfg.role = VG_ICE_ROLE_LITE_CONTROLLED;
  cfg.local_ufrag = SRV_UFRAG;
  cfg.local_pwd = SRV_PWD;
  vg_ice_t *ice = NULL;
  CHECK_EQ(vg_ice_create(&cfg, &ice), VG_OK);
  vg_addr_t peer = addr("192.0.2.10", 50000);
  check_spec_t s = good_check();
  s.user = SRV_UFRAG ":anything";
  CHECK_EQ(send_check(ice, 0, &peer, &s), VG_OK);
  s.user = "srvUx:anything"; /* a longer ufrag with ours as a prefix */
  CHECK_EQ(send_check(ice, 0, &peer, &s), VG_EAUTH);
  vg_ice_destroy(ice);
}

/* --- Client and server in simulated time -------------------------------- */

typedef struct {
  vg_ice_t *cli, *srv;
  vg_addr_t cli_addr, srv_addr;
  int drop_to_srv;  /* drop this many more client datagrams */
  bool link_down;   /* drop everything */
  int cli_sent, srv_got_checks;
  vg_time_t cli_selected_at, srv_selected_at, cli_expired_at, srv_expired_at, cli_failed_at;
  vg_time_t last_check_at, max_check_gap;
} net_t;

static void net_init(net_t *n) {
  memset(n, 0, sizeof *n);
  n->cli = make_ice(VG_ICE_ROLE_CONTROLLING, 0);
  n->srv = make_ice(VG_ICE_ROLE_LITE_CONTROLLED, 0);
  n->cli_addr = addr("10.0.0.2", 40000);
  n->srv_addr = addr("10.0.0.1", 3478);
  n->cli_selected_at = n->srv_selected_at = n->cli_expired_at = n->srv_expired_at =
      n->cli_failed_at = -1;
}

static void net_free(net_t *n) {
  vg_ice_destroy(n->cli);
  vg_ice_destroy(n->srv);
}

static void collect_events(net_t *n, vg_time_t now) {
  vg_ice_event_t ev;
  while (vg_ice_poll_event(n->cli, &ev)) {
    if (ev.type == VG_ICE_EV_SELECTED && n->cli_selected_at < 0) n->cli_selected_at = now;
    if (ev.type == VG_ICE_EV_CONSENT_EXPIRED) n->cli_expired_at = now;
    if (ev.type == VG_ICE_EV_FAILED) n->cli_failed_at = now;
  }
  while (vg_ice_poll_event(n->srv, &ev)) {
    if (ev.type == VG_ICE_EV_SELECTED && n->srv_selected_at < 0) n->srv_selected_at = now;
    if (ev.type == VG_ICE_EV_CONSENT_EXPIRED) n->srv_expired_at = now;
  }
}

/* Delivers everything queued, both ways, until both are quiet. */
static void pump(net_t *n, vg_time_t now) {
  uint8_t buf[1280];
  vg_addr_t to;
  for (bool moved = true; moved;) {
    moved = false;
    int len;
    while ((len = vg_ice_poll_transmit(n->cli, buf, sizeof buf, &to)) > 0) {
      moved = true;
      n->cli_sent++;
      if (!vg_addr_equal(&to, &n->srv_addr) || n->link_down) continue;
      if (n->drop_to_srv > 0) {
        n->drop_to_srv--;
        continue;
      }
      vg_stun_msg_t m;
      if (vg_stun_parse(&m, buf, (size_t)len, NULL) == len && m.cls == VG_STUN_CLASS_REQUEST) {
        n->srv_got_checks++;
        if (n->last_check_at > 0 && now - n->last_check_at > n->max_check_gap)
          n->max_check_gap = now - n->last_check_at;
        n->last_check_at = now;
      }
      (void)vg_ice_handle_packet(n->srv, now, &n->cli_addr, buf, (size_t)len);
    }
    while ((len = vg_ice_poll_transmit(n->srv, buf, sizeof buf, &to)) > 0) {
      moved = true;
      if (vg_addr_equal(&to, &n->cli_addr) && !n->link_down)
        (void)vg_ice_handle_packet(n->cli, now, &n->srv_addr, buf, (size_t)len);
    }
    collect_events(n, now);
  }
}

/* Runs both agents' timers from `now` up to `end`; returns the time. */
static vg_time_t run(net_t *n, vg_time_t now, vg_time_t end) {
  for (int guard = 0; guard < 100000; guard++) {
    pump(n, now);
    vg_time_t t = vg_time_min(vg_ice_poll_timeout(n->cli), vg_ice_poll_timeout(n->srv));
    if (t > end) return end;
    if (t > now) now = t;
    if (vg_ice_poll_timeout(n->cli) <= now) (void)vg_ice_handle_timeout(n->cli, now);
    if (vg_ice_poll_timeout(n->srv) <= now) (void)vg_ice_handle_timeout(n->srv, now);
  }
  return now;
}

static void test_client_and_lite_connect(void) {
  net_t n;
  net_init(&n);
  CHECK(n.cli && n.srv);
  CHECK_EQ(vg_ice_add_remote_candidate(n.cli, &n.srv_addr, 2130706431u), VG_OK);
  CHECK_EQ(vg_ice_add_remote_candidate(n.cli, &n.srv_addr, 1), VG_EEXIST);
  run(&n, 0, VG_SEC(1));
  /* No loss: check, success, nomination, success — all at t=0. */
  CHECK_EQ(n.cli_selected_at, 0);
  CHECK_EQ(n.srv_selected_at, 0);
  CHECK(vg_ice_selected(n.cli) && vg_addr_equal(vg_ice_selected(n.cli), &n.srv_addr));
  CHECK(vg_ice_selected(n.srv) && vg_addr_equal(vg_ice_selected(n.srv), &n.cli_addr));
  CHECK_EQ(n.srv_got_checks, 2);

  /* Ten minutes of consent checks every 4–6 s keep both sides alive. */
  run(&n, VG_SEC(1), VG_SEC(600));
  CHECK_EQ(n.cli_expired_at, -1);
  CHECK_EQ(n.srv_expired_at, -1);
  CHECK(n.srv_got_checks >= 2 + 600 / 6 && n.srv_got_checks <= 2 + 600 / 4 + 1);
  CHECK(n.max_check_gap >= VG_SEC(4) && n.max_check_gap <= VG_SEC(6));

  /* The link dies: each side expires 30 s after the last thing it heard. */
  n.link_down = true;
  vg_time_t last = n.last_check_at;
  run(&n, VG_SEC(600), VG_SEC(700));
  CHECK_EQ(n.srv_expired_at, last + VG_ICE_CONSENT_TIMEOUT);
  CHECK_EQ(n.cli_expired_at, last + VG_ICE_CONSENT_TIMEOUT);
  CHECK(vg_ice_selected(n.cli) == NULL && vg_ice_selected(n.srv) == NULL);
  net_free(&n);
}

static void test_client_retransmits_through_loss(void) {
  net_t n;
  net_init(&n);
  CHECK(n.cli && n.srv);
  CHECK_EQ(vg_ice_add_remote_candidate(n.cli, &n.srv_addr, 100), VG_OK);
  /* RFC 8489 §6.2.1: transmissions at 0, 0.5, 1.5, 3.5 s... Dropping the
   * first three, the fourth gets through at 3.5 s. */
  n.drop_to_srv = 3;
  run(&n, 0, VG_SEC(7)); /* before the first consent check */
  CHECK_EQ(n.srv_selected_at, VG_MSEC(3500));
  CHECK_EQ(n.cli_selected_at, VG_MSEC(3500));
  CHECK_EQ(n.cli_sent, 5); /* 4 checks + 1 nomination */
  CHECK_EQ(n.cli_failed_at, -1);
  net_free(&n);
}

static void test_client_fails_when_nothing_answers(void) {
  net_t n;
  net_init(&n);
  CHECK(n.cli && n.srv);
  vg_addr_t other = addr("10.0.0.9", 9);
  CHECK_EQ(vg_ice_add_remote_candidate(n.cli, &n.srv_addr, 100), VG_OK);
  CHECK_EQ(vg_ice_add_remote_candidate(n.cli, &other, 50), VG_OK);
  n.link_down = true;
  run(&n, 0, VG_SEC(60));
  /* Rc = 7 transmissions each (0 .. 31.5 s), then Rm * RTO = 8 s; the
   * second candidate starts Ta = 50 ms later. */
  CHECK_EQ(n.cli_sent, 14);
  CHECK_EQ(n.cli_failed_at, VG_MSEC(39500) + VG_MSEC(50));
  CHECK(vg_ice_selected(n.cli) == NULL);
  CHECK_EQ(vg_ice_poll_timeout(n.cli), VG_TIME_NEVER);
  CHECK_EQ(vg_ice_add_remote_candidate(n.cli, &n.srv_addr, 1), VG_ESTATE);
  net_free(&n);
}

/* The client takes only a response that matches its transaction, verifies
 * with the server's password, and comes from where the check went. */
static void test_client_verifies_responses(void) {
  vg_ice_t *cli = make_ice(VG_ICE_ROLE_CONTROLLING, 0);
  CHECK(cli != NULL);
  vg_addr_t srv = addr("10.0.0.1", 3478);
  CHECK_EQ(vg_ice_add_remote_candidate(cli, &srv, 100), VG_OK);
  CHECK_EQ(vg_ice_poll_timeout(cli), 0);
  CHECK_EQ(vg_ice_handle_timeout(cli, 0), VG_OK);
  uint8_t req[1280], resp[256];
  vg_addr_t to;
  int n = vg_ice_poll_transmit(cli, req, sizeof req, &to);
  CHECK(n > 0);
  CHECK(vg_addr_equal(&to, &srv));
  vg_stun_msg_t m;
  CHECK_EQ(vg_stun_parse(&m, req, (size_t)n, NULL), n);
  /* What the client sends (RFC 8445 §7.2.2). */
  CHECK(m.username_len == strlen(SRV_UFRAG ":" CLI_UFRAG) &&
        memcmp(m.username, SRV_UFRAG ":" CLI_UFRAG, m.username_len) == 0);
  CHECK(m.has_priority && m.has_ice_controlling && !m.use_candidate);
  CHECK(m.ice_controlling == 0x2222);
  CHECK_EQ(vg_stun_check_integrity(&m, srv_pwd(), strlen(SRV_PWD)), VG_OK);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);

  vg_addr_t mapped = addr("10.0.0.2", 40000);
  vg_stun_builder_t b;
  /* Wrong transaction id. */
  uint8_t other[VG_STUN_TXID_LEN] = {9};
  vg_stun_build_begin(&b, resp, sizeof resp, VG_STUN_BINDING_SUCCESS, other);
  vg_stun_add_xor_mapped_address(&b, &mapped);
  vg_stun_add_message_integrity(&b, srv_pwd(), strlen(SRV_PWD));
  int rn = vg_stun_build_end(&b);
  CHECK_EQ(vg_ice_handle_packet(cli, VG_MSEC(10), &srv, resp, (size_t)rn), VG_ENOTFOUND);
  /* Right id, wrong password. */
  vg_stun_build_begin(&b, resp, sizeof resp, VG_STUN_BINDING_SUCCESS, m.txid);
  vg_stun_add_xor_mapped_address(&b, &mapped);
  vg_stun_add_message_integrity(&b, (const uint8_t *)CLI_PWD, strlen(CLI_PWD));
  rn = vg_stun_build_end(&b);
  CHECK_EQ(vg_ice_handle_packet(cli, VG_MSEC(10), &srv, resp, (size_t)rn), VG_EAUTH);
  /* No integrity at all. */
  vg_stun_build_begin(&b, resp, sizeof resp, VG_STUN_BINDING_SUCCESS, m.txid);
  vg_stun_add_xor_mapped_address(&b, &mapped);
  rn = vg_stun_build_end(&b);
  CHECK_EQ(vg_ice_handle_packet(cli, VG_MSEC(10), &srv, resp, (size_t)rn), VG_EAUTH);
  CHECK(vg_ice_poll_transmit(cli, req, sizeof req, &to) == 0); /* no nomination */

  /* A valid response: the client nominates with USE-CANDIDATE. */
  vg_stun_build_begin(&b, resp, sizeof resp, VG_STUN_BINDING_SUCCESS, m.txid);
  vg_stun_add_xor_mapped_address(&b, &mapped);
  vg_stun_add_message_integrity(&b, srv_pwd(), strlen(SRV_PWD));
  vg_stun_add_fingerprint(&b);
  rn = vg_stun_build_end(&b);
  CHECK_EQ(vg_ice_handle_packet(cli, VG_MSEC(10), &srv, resp, (size_t)rn), VG_OK);
  n = vg_ice_poll_transmit(cli, req, sizeof req, &to);
  CHECK(n > 0);
  CHECK_EQ(vg_stun_parse(&m, req, (size_t)n, NULL), n);
  CHECK(m.use_candidate);
  CHECK(vg_ice_selected(cli) == NULL);

  /* Its success, but from another address: asymmetric, the pair fails and
   * with no other candidate, ICE fails. */
  vg_stun_build_begin(&b, resp, sizeof resp, VG_STUN_BINDING_SUCCESS, m.txid);
  vg_stun_add_xor_mapped_address(&b, &mapped);
  vg_stun_add_message_integrity(&b, srv_pwd(), strlen(SRV_PWD));
  rn = vg_stun_build_end(&b);
  vg_addr_t elsewhere = addr("10.0.0.66", 3478);
  CHECK_EQ(vg_ice_handle_packet(cli, VG_MSEC(20), &elsewhere, resp, (size_t)rn), VG_OK);
  CHECK(vg_ice_selected(cli) == NULL);
  CHECK(drain_events(cli, VG_ICE_EV_FAILED, NULL));
  vg_ice_destroy(cli);
}

/* A full ICE peer in the controlled role (Janus's libnice, aioice) checks
 * our candidates too: the controlling client answers those checks with a
 * success signed with its own password (RFC 8445 §7.3), whether they come
 * before or after its own nomination, and never selects on them. */
static void test_client_answers_a_full_controlled_peer(void) {
  vg_ice_t *cli = make_ice(VG_ICE_ROLE_CONTROLLING, 0);
  CHECK(cli != NULL);
  vg_addr_t srv = addr("10.0.0.1", 3478);
  CHECK_EQ(vg_ice_add_remote_candidate(cli, &srv, 100), VG_OK);
  /* The peer's check: USERNAME "<our ufrag>:<its ufrag>", ICE-CONTROLLED,
   * signed with our password. */
  check_spec_t peer = {CLI_UFRAG ":" SRV_UFRAG, CLI_PWD, false, true, 0, 0x6e7f1eff, 0x17};
  uint8_t buf[1280];
  vg_stun_msg_t m;
  vg_addr_t to;
  CHECK_EQ(send_check(cli, VG_MSEC(1), &srv, &peer), VG_OK);
  CHECK(pop_response(cli, buf, sizeof buf, &m, &to));
  CHECK(vg_addr_equal(&to, &srv));
  CHECK_EQ(m.type, VG_STUN_BINDING_SUCCESS);
  CHECK(m.txid[0] == 0x17);
  CHECK(m.has_xor_mapped && vg_addr_equal(&m.xor_mapped, &srv));
  CHECK_EQ(vg_stun_check_integrity(&m, (const uint8_t *)CLI_PWD, strlen(CLI_PWD)), VG_OK);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);
  CHECK(vg_ice_selected(cli) == NULL); /* a check does not select: we nominate */
  CHECK(!drain_events(cli, VG_ICE_EV_SELECTED, NULL));

  /* Our own check and nomination go on as usual in between. */
  CHECK_EQ(vg_ice_handle_timeout(cli, VG_MSEC(2)), VG_OK);
  int n = vg_ice_poll_transmit(cli, buf, sizeof buf, &to);
  CHECK(n > 0 && vg_stun_parse(&m, buf, (size_t)n, NULL) == n && !m.use_candidate);
  uint8_t resp[256];
  vg_stun_builder_t b;
  for (int round = 0; round < 2; round++) {
    vg_stun_build_begin(&b, resp, sizeof resp, VG_STUN_BINDING_SUCCESS, m.txid);
    vg_addr_t mapped = addr("10.0.0.2", 40000);
    vg_stun_add_xor_mapped_address(&b, &mapped);
    vg_stun_add_message_integrity(&b, srv_pwd(), strlen(SRV_PWD));
    vg_stun_add_fingerprint(&b);
    int rn = vg_stun_build_end(&b);
    /* The peer's retransmitted check arrives between our check and its
     * response: still answered. */
    peer.txid_byte = (uint8_t)(0x20 + round);
    CHECK_EQ(send_check(cli, VG_MSEC(3), &srv, &peer), VG_OK);
    CHECK_EQ(vg_ice_handle_packet(cli, VG_MSEC(3), &srv, resp, (size_t)rn), VG_OK);
    CHECK(pop_response(cli, buf, sizeof buf, &m, &to));
    CHECK(m.type == VG_STUN_BINDING_SUCCESS && m.txid[0] == 0x20 + round);
    if (round == 0) { /* the nominating check follows */
      n = vg_ice_poll_transmit(cli, buf, sizeof buf, &to);
      CHECK(n > 0 && vg_stun_parse(&m, buf, (size_t)n, NULL) == n && m.use_candidate);
    }
  }
  CHECK(vg_ice_selected(cli) && vg_addr_equal(vg_ice_selected(cli), &srv));
  CHECK(drain_events(cli, VG_ICE_EV_SELECTED, NULL));

  /* A check with our password wrong is refused, unsigned. */
  check_spec_t bad = peer;
  bad.pwd = SRV_PWD;
  CHECK_EQ(send_check(cli, VG_MSEC(4), &srv, &bad), VG_EAUTH);
  CHECK(pop_response(cli, buf, sizeof buf, &m, &to));
  CHECK_EQ(m.error_code, VG_STUN_ERR_UNAUTHORIZED);
  vg_ice_destroy(cli);

  /* RFC 8445 §7.3.1.1: a peer that claims controlling too, with a smaller
   * tie-breaker than ours, gets 487 and must switch; we stay controlling. */
  vg_ice_config_t cfg = {.role = VG_ICE_ROLE_CONTROLLING, .local_ufrag = CLI_UFRAG,
                         .local_pwd = CLI_PWD, .remote_ufrag = SRV_UFRAG,
                         .remote_pwd = SRV_PWD, .tie_breaker = 0xFFFFFF};
  CHECK_EQ(vg_ice_create(&cfg, &cli), VG_OK);
  check_spec_t rival = peer;
  rival.controlled = false; /* ICE-CONTROLLING 0x9999 */
  CHECK_EQ(send_check(cli, VG_MSEC(1), &srv, &rival), VG_ESTATE);
  CHECK(pop_response(cli, buf, sizeof buf, &m, &to));
  CHECK_EQ(m.type, VG_STUN_BINDING_ERROR);
  CHECK_EQ(m.error_code, VG_STUN_ERR_ROLE_CONFLICT);
  vg_ice_destroy(cli);
}

VGT_MAIN(VGT_CASE(test_lite_answers_check), VGT_CASE(test_lite_rejects_bad_credentials),
         VGT_CASE(test_lite_drops_corrupt_messages),
         VGT_CASE(test_lite_peer_reflexive_use_candidate_selects),
         VGT_CASE(test_lite_nomination_policy), VGT_CASE(test_lite_consent_expires_exactly),
         VGT_CASE(test_lite_consent_check_pushes_expiry),
         VGT_CASE(test_lite_consent_late_check_does_not_revive),
         VGT_CASE(test_lite_consent_before_selection),
         VGT_CASE(test_lite_response_queue_bounded), VGT_CASE(test_config_validation),
         VGT_CASE(test_lite_without_remote_ufrag), VGT_CASE(test_client_and_lite_connect),
         VGT_CASE(test_client_retransmits_through_loss),
         VGT_CASE(test_client_fails_when_nothing_answers),
         VGT_CASE(test_client_verifies_responses),
         VGT_CASE(test_client_answers_a_full_controlled_peer))
