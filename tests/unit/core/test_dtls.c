/* DTLS-SRTP handshake tests: a client and a server vg_dtls_t joined by an
 * in-memory link in simulated time (no sleep, no sockets). The link can
 * drop the first transmission of a chosen flight, or everything. */
#include "base/log.h"
#include "core/dtls.h"
#include "core/srtp.h"
#include "vgtest.h"

/* Flights of a full DTLS 1.2 handshake (RFC 6347 §4.2.4, no cookie):
 * 1 ClientHello; 4 ServerHello..ServerHelloDone; 5 Certificate..Finished
 * (client); 6 ChangeCipherSpec + Finished (server). */
enum { F_NONE = 0, F_CLIENT_HELLO = 1, F_SERVER_HELLO = 4, F_CLIENT_FINAL = 5, F_SERVER_FINAL = 6 };

typedef struct {
  bool connected, failed, closed;
  vg_time_t connected_at, failed_at;
  vg_srtp_keys_t keys;
  char reason[200];
} side_t;

typedef struct {
  vg_time_t at;
  bool to_server;
  int len;
  uint8_t data[VG_DTLS_MTU];
} wire_t;

/* How the pair is set up and how the link behaves. Zero is the default. */
typedef struct {
  const char *client_profiles;  /* NULL: default offer */
  const char *server_profiles;  /* NULL: default preference */
  const char *client_sees_fp;   /* NULL: the server's real fingerprint */
  const char *server_sees_fp;   /* NULL: the client's real fingerprint */
  vg_time_t client_rto, server_rto; /* 0: default */
  vg_time_t delay;              /* one-way link delay */
  int drop_flight;              /* drop the first transmission of this flight */
  bool drop_all;                /* a dead link */
  unsigned loss_percent;        /* random loss per datagram, both ways */
  uint32_t seed;
} opts_t;

typedef struct {
  opts_t o;
  vg_dtls_cert_t *cert_c, *cert_s;
  vg_dtls_t *c, *s;
  vg_time_t now;
  side_t sc, ss;
  bool dropped; /* drop_flight done */
  uint32_t rng;
  wire_t wire[64]; /* in flight, in send order */
  int wire_n;
  int datagrams_c2s, datagrams_s2c;
  vg_time_t c2s_times[32]; /* when each client datagram was sent */
} pair_t;

static uint32_t rng_next(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Which flight a datagram starts, from its record headers (RFC 6347 §4.1:
 * type at 0, epoch at 3, length at 11; epoch-0 handshake fragments start
 * with the HandshakeType). */
static int flight_of(const uint8_t *p, size_t n, bool from_client) {
  size_t pos = 0;
  bool ccs = false;
  while (pos + 13 <= n) {
    uint8_t type = p[pos];
    unsigned epoch = (unsigned)(p[pos + 3] << 8 | p[pos + 4]);
    size_t len = (size_t)(p[pos + 11] << 8 | p[pos + 12]);
    if (pos + 13 + len > n) break;
    if (type == 22 && epoch == 0 && len > 0) {
      if (p[pos + 13] == 1) return F_CLIENT_HELLO;
      if (p[pos + 13] == 2) return F_SERVER_HELLO;
    }
    if (type == 20) ccs = true;
    pos += 13 + len;
  }
  if (ccs) return from_client ? F_CLIENT_FINAL : F_SERVER_FINAL;
  return F_NONE;
}

static void drain_events(pair_t *p, vg_dtls_t *d, side_t *s) {
  vg_dtls_event_t ev;
  while (vg_dtls_poll_event(d, &ev)) {
    if (ev.type == VG_DTLS_EVENT_CONNECTED) {
      s->connected = true;
      s->connected_at = p->now;
      s->keys = ev.keys;
    } else if (ev.type == VG_DTLS_EVENT_FAILED) {
      s->failed = true;
      s->failed_at = p->now;
      snprintf(s->reason, sizeof s->reason, "%s", ev.reason);
    } else if (ev.type == VG_DTLS_EVENT_CLOSED) {
      s->closed = true;
    }
  }
}

/* Puts everything `from` has queued on the wire (one burst); the link's
 * loss rules decide what arrives. */
static void send_burst(pair_t *p, vg_dtls_t *from) {
  bool from_client = from == p->c;
  bool drop_burst = false;
  uint8_t buf[VG_DTLS_MTU];
  int len;
  for (bool first = true; (len = vg_dtls_poll_transmit(from, buf, sizeof buf)) > 0; first = false) {
    if (from_client) {
      if (p->datagrams_c2s < 32) p->c2s_times[p->datagrams_c2s] = p->now;
      p->datagrams_c2s++;
    } else {
      p->datagrams_s2c++;
    }
    if (first && !p->dropped && p->o.drop_flight != F_NONE &&
        flight_of(buf, (size_t)len, from_client) == p->o.drop_flight)
      drop_burst = p->dropped = true;
    if (drop_burst || p->o.drop_all) continue;
    if (p->o.loss_percent && rng_next(&p->rng) % 100 < p->o.loss_percent) continue;
    if (p->wire_n == 64) continue; /* a full link drops */
    wire_t *w = &p->wire[p->wire_n++];
    w->at = p->now + p->o.delay;
    w->to_server = from_client;
    w->len = len;
    memcpy(w->data, buf, (size_t)len);
  }
}

/* Delivers what is due at `now`, until nothing moves. */
static void pump(pair_t *p) {
  for (int guard = 0; guard < 1000; guard++) {
    send_burst(p, p->c);
    send_burst(p, p->s);
    drain_events(p, p->c, &p->sc);
    drain_events(p, p->s, &p->ss);
    int i = 0;
    while (i < p->wire_n && p->wire[i].at > p->now) i++;
    if (i == p->wire_n) return;
    wire_t w = p->wire[i];
    memmove(&p->wire[i], &p->wire[i + 1], (size_t)(p->wire_n - i - 1) * sizeof w);
    p->wire_n--;
    int rc = vg_dtls_handle_packet(w.to_server ? p->s : p->c, p->now, w.data, (size_t)w.len);
    (void)rc; /* VG_ECLOSED once the receiver has failed: fine here */
  }
}

/* Runs the link until no timer or datagram is pending, or until `limit`. */
static void run(pair_t *p, vg_time_t limit) {
  for (int steps = 0; steps < 100000; steps++) {
    pump(p);
    vg_time_t t = vg_time_min(vg_dtls_poll_timeout(p->c), vg_dtls_poll_timeout(p->s));
    for (int i = 0; i < p->wire_n; i++) t = vg_time_min(t, p->wire[i].at);
    if (t == VG_TIME_NEVER || t > limit) return;
    if (t > p->now) p->now = t;
    (void)vg_dtls_handle_timeout(p->c, p->now);
    (void)vg_dtls_handle_timeout(p->s, p->now);
  }
}

static int pair_open(pair_t *p, const opts_t *o) {
  memset(p, 0, sizeof *p);
  if (o) p->o = *o;
  p->rng = p->o.seed ? p->o.seed : 1;
  p->now = VG_SEC(1000);
  if (vg_dtls_cert_create(&p->cert_c) < 0 || vg_dtls_cert_create(&p->cert_s) < 0) return -1;
  vg_dtls_config_t cc = {
      .role = VG_DTLS_ROLE_CLIENT,
      .cert = p->cert_c,
      .remote_fingerprint_alg = "sha-256",
      .remote_fingerprint = p->o.client_sees_fp ? p->o.client_sees_fp
                                                : vg_dtls_cert_fingerprint(p->cert_s),
      .initial_rto = p->o.client_rto,
      .sid = "client",
      .srtp_profiles = p->o.client_profiles,
  };
  vg_dtls_config_t sc = {
      .role = VG_DTLS_ROLE_SERVER,
      .cert = p->cert_s,
      .remote_fingerprint_alg = "sha-256",
      .remote_fingerprint = p->o.server_sees_fp ? p->o.server_sees_fp
                                                : vg_dtls_cert_fingerprint(p->cert_c),
      .initial_rto = p->o.server_rto,
      .sid = "server",
      .srtp_profiles = p->o.server_profiles,
  };
  if (vg_dtls_create(&cc, &p->c) < 0 || vg_dtls_create(&sc, &p->s) < 0) return -1;
  if (vg_dtls_start(p->s, p->now) < 0 || vg_dtls_start(p->c, p->now) < 0) return -1;
  return 0;
}

static void pair_close(pair_t *p) {
  vg_dtls_destroy(p->c);
  vg_dtls_destroy(p->s);
  vg_dtls_cert_destroy(p->cert_c);
  vg_dtls_cert_destroy(p->cert_s);
}

static void test_cert_fingerprint(void) {
  vg_dtls_cert_t *a = NULL, *b = NULL;
  CHECK_EQ(vg_dtls_cert_create(&a), VG_OK);
  CHECK_EQ(vg_dtls_cert_create(&b), VG_OK);
  const char *fa = vg_dtls_cert_fingerprint(a);
  CHECK_EQ(strlen(fa), 32 * 3 - 1); /* 32 bytes "AB:" ... "EF" */
  for (size_t i = 0; i < strlen(fa); i++) {
    if (i % 3 == 2) {
      CHECK(fa[i] == ':');
    } else {
      CHECK((fa[i] >= '0' && fa[i] <= '9') || (fa[i] >= 'A' && fa[i] <= 'F'));
    }
  }
  CHECK(strcmp(fa, vg_dtls_cert_fingerprint(b)) != 0); /* fresh key each time */
  vg_dtls_cert_destroy(a);
  vg_dtls_cert_destroy(b);
  vg_dtls_cert_destroy(NULL);
  vg_dtls_destroy(NULL);
}

static void test_create_rejects_bad_config(void) {
  vg_dtls_cert_t *cert = NULL;
  vg_dtls_t *d = NULL;
  CHECK_EQ(vg_dtls_cert_create(&cert), VG_OK);
  vg_dtls_config_t cfg = {.role = VG_DTLS_ROLE_SERVER,
                          .cert = cert,
                          .remote_fingerprint_alg = "md5",
                          .remote_fingerprint = vg_dtls_cert_fingerprint(cert)};
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_EUNSUPPORTED);
  cfg.remote_fingerprint_alg = "sha-1"; /* a sha-256 digest is too long for sha-1 */
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_EINVAL);
  cfg.remote_fingerprint_alg = "SHA-256";
  cfg.remote_fingerprint = "AB:CD:zz";
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_EINVAL);
  cfg.remote_fingerprint = vg_dtls_cert_fingerprint(cert);
  cfg.srtp_profiles = "SRTP_AES128_CM_SHA1_32"; /* vg_srtp cannot key it */
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_EINVAL);
  CHECK(d == NULL);
  cfg.srtp_profiles = NULL;
  cfg.handshake_timeout = VG_DTLS_MAX_HANDSHAKE_TIMEOUT + 1;
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_EINVAL);
  cfg.handshake_timeout = 0;
  cfg.initial_rto = -1;
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_EINVAL);
  cfg.initial_rto = 0;
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_OK);
  /* Idle before start: no timer, packets refused. */
  CHECK_EQ(vg_dtls_poll_timeout(d), VG_TIME_NEVER);
  const uint8_t rec[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK_EQ(vg_dtls_handle_packet(d, 0, rec, sizeof rec), VG_ESTATE);
  const uint8_t stun[] = {0, 1, 0, 0};
  CHECK_EQ(vg_dtls_start(d, 0), VG_OK);
  CHECK_EQ(vg_dtls_start(d, 0), VG_ESTATE);
  CHECK_EQ(vg_dtls_handle_packet(d, 0, stun, sizeof stun), VG_EINVAL);
  CHECK_EQ(vg_dtls_handle_packet(d, 0, rec, 0), VG_EINVAL);
  vg_dtls_destroy(d);
  vg_dtls_cert_destroy(cert);
}

/* No common SRTP profile: DTLS itself completes on the server, which then
 * refuses (RFC 5764 §4.1.1: no use_srtp, no SRTP keys) and withholds its
 * final flight, so the client never connects either. */
static void test_no_common_profile(void) {
  pair_t p;
  opts_t o = {.client_profiles = "SRTP_AES128_CM_SHA1_80",
              .server_profiles = "SRTP_AEAD_AES_128_GCM"};
  CHECK_EQ(pair_open(&p, &o), 0);
  run(&p, p.now + VG_SEC(60));
  CHECK(!p.sc.connected && !p.ss.connected);
  CHECK(p.ss.failed);
  CHECK_STR(p.ss.reason, "the peer negotiated no usable SRTP profile (use_srtp)");
  CHECK(p.sc.failed);
  CHECK_STR(p.sc.reason, "DTLS handshake timed out");
  pair_close(&p);
}

static void check_mirrored(const side_t *c, const side_t *s, vg_srtp_profile_t profile,
                           size_t salt_len) {
  CHECK_EQ(c->keys.profile, profile);
  CHECK_EQ(s->keys.profile, profile);
  CHECK_EQ(c->keys.key_len, 16);
  CHECK_EQ(c->keys.salt_len, salt_len);
  CHECK_EQ(s->keys.salt_len, salt_len);
  CHECK_MEM(c->keys.local_key, s->keys.remote_key, 16);
  CHECK_MEM(c->keys.remote_key, s->keys.local_key, 16);
  CHECK_MEM(c->keys.local_salt, s->keys.remote_salt, salt_len);
  CHECK_MEM(c->keys.remote_salt, s->keys.local_salt, salt_len);
  CHECK(memcmp(c->keys.local_key, c->keys.remote_key, 16) != 0);
}

/* The exported keys work: an RTP packet protected with the client's keys
 * is opened with the server's. */
static void check_srtp_roundtrip(const side_t *c, const side_t *s) {
  vg_srtp_t *tx = NULL, *rx = NULL;
  CHECK_EQ(vg_srtp_global_init(), VG_OK);
  CHECK_EQ(vg_srtp_create(&c->keys, &tx), VG_OK);
  CHECK_EQ(vg_srtp_create(&s->keys, &rx), VG_OK);
  const uint8_t rtp[] = {0x80, 0x6f, 0x00, 0x01, 0, 0, 0x03, 0xc0, 0x11, 0x22, 0x33, 0x44,
                         0xde, 0xad, 0xbe, 0xef};
  uint8_t sealed[64], opened[64];
  size_t n = 0, m = 0;
  CHECK_EQ(vg_srtp_protect_rtp(tx, rtp, sizeof rtp, sealed, sizeof sealed, &n), VG_OK);
  CHECK_EQ(vg_srtp_unprotect_rtp(rx, sealed, n, opened, sizeof opened, &m), VG_OK);
  CHECK_EQ(m, sizeof rtp);
  CHECK_MEM(opened, rtp, sizeof rtp);
  vg_srtp_destroy(tx);
  vg_srtp_destroy(rx);
}

static void test_handshake_gcm_default(void) {
  pair_t p;
  CHECK_EQ(pair_open(&p, NULL), 0);
  vg_time_t t0 = p.now;
  run(&p, t0 + VG_SEC(60));
  CHECK(p.sc.connected && p.ss.connected);
  CHECK(!p.sc.failed && !p.ss.failed);
  CHECK_EQ(p.sc.connected_at, t0); /* no loss: no retransmission needed */
  check_mirrored(&p.sc, &p.ss, VG_SRTP_PROFILE_AEAD_AES_128_GCM, 12);
  check_srtp_roundtrip(&p.sc, &p.ss);
  CHECK_EQ(vg_dtls_state(p.c), VG_DTLS_STATE_CONNECTED);
  CHECK_EQ(vg_dtls_state(p.s), VG_DTLS_STATE_CONNECTED);
  /* Connected and idle: no timer on either side. */
  CHECK_EQ(vg_dtls_poll_timeout(p.c), VG_TIME_NEVER);
  CHECK_EQ(vg_dtls_poll_timeout(p.s), VG_TIME_NEVER);
  /* Four flights, one datagram each, none retransmitted. */
  CHECK_EQ(p.datagrams_c2s, 2);
  CHECK_EQ(p.datagrams_s2c, 2);
  pair_close(&p);
}

static void test_handshake_cm_when_client_offers_only_cm(void) {
  pair_t p;
  opts_t o = {.client_profiles = "SRTP_AES128_CM_SHA1_80"};
  CHECK_EQ(pair_open(&p, &o), 0);
  run(&p, p.now + VG_SEC(60));
  CHECK(p.sc.connected && p.ss.connected);
  check_mirrored(&p.sc, &p.ss, VG_SRTP_PROFILE_AES128_CM_SHA1_80, 14);
  check_srtp_roundtrip(&p.sc, &p.ss);
  pair_close(&p);
}

/* Drops the first transmission of one flight and returns how long the
 * handshake took (both sides connected), or -1. */
static vg_time_t handshake_with_loss(const opts_t *o) {
  pair_t p;
  vg_time_t took = -1;
  if (pair_open(&p, o) == 0) {
    vg_time_t t0 = p.now;
    run(&p, t0 + VG_SEC(60));
    bool ok = p.dropped && p.sc.connected && p.ss.connected && !p.sc.failed && !p.ss.failed &&
              memcmp(p.sc.keys.local_key, p.ss.keys.remote_key, 16) == 0 &&
              vg_dtls_poll_timeout(p.c) == VG_TIME_NEVER &&
              vg_dtls_poll_timeout(p.s) == VG_TIME_NEVER;
    if (ok) took = (p.sc.connected_at > p.ss.connected_at ? p.sc.connected_at : p.ss.connected_at) - t0;
    printf("  flight %d lost once (rto client %lld ms, server %lld ms): %s after %lld ms of "
           "simulated time, %d datagrams c->s, %d s->c\n",
           o->drop_flight, (long long)((o->client_rto ? o->client_rto : VG_DTLS_DEFAULT_INITIAL_RTO) / 1000),
           (long long)((o->server_rto ? o->server_rto : VG_DTLS_DEFAULT_INITIAL_RTO) / 1000),
           ok ? "connected" : "NOT connected", (long long)(took / 1000), p.datagrams_c2s,
           p.datagrams_s2c);
  }
  pair_close(&p);
  return took;
}

/* One loss costs one initial RTO: the first retransmission repairs it. */
static void test_lost_client_hello(void) {
  opts_t o = {.drop_flight = F_CLIENT_HELLO};
  CHECK_EQ(handshake_with_loss(&o), VG_DTLS_DEFAULT_INITIAL_RTO);
}
static void test_lost_server_flight(void) {
  opts_t o = {.drop_flight = F_SERVER_HELLO};
  CHECK_EQ(handshake_with_loss(&o), VG_DTLS_DEFAULT_INITIAL_RTO);
}
static void test_lost_client_flight(void) {
  opts_t o = {.drop_flight = F_CLIENT_FINAL};
  CHECK_EQ(handshake_with_loss(&o), VG_DTLS_DEFAULT_INITIAL_RTO);
}
/* The server has no timer for its final flight: only the client's
 * retransmitted flight 5 (answered by the resend rule) repairs it. */
static void test_lost_server_final_flight(void) {
  opts_t o = {.drop_flight = F_SERVER_FINAL};
  CHECK_EQ(handshake_with_loss(&o), VG_DTLS_DEFAULT_INITIAL_RTO);
}

/* The resend-on-retransmission rules alone, with the other side's timer
 * out of the way (10 s): the side whose flight was lost learns it only
 * from the peer's verbatim retransmission, which its own replay window
 * discards. */
static void test_lost_server_flight_repaired_by_server_rule(void) {
  /* Server flight 4 lost; the server's own timer is slow, so the client's
   * ClientHello retransmission at 400 ms must make the server resend. */
  opts_t o = {.drop_flight = F_SERVER_HELLO, .server_rto = VG_SEC(10)};
  CHECK_EQ(handshake_with_loss(&o), VG_DTLS_DEFAULT_INITIAL_RTO);
}
static void test_lost_client_flight_repaired_by_client_rule(void) {
  /* Client flight 5 lost; the client's timer is slow, so the server's
   * flight 4 retransmission at 400 ms must make the client resend. */
  opts_t o = {.drop_flight = F_CLIENT_FINAL, .client_rto = VG_SEC(10)};
  CHECK_EQ(handshake_with_loss(&o), VG_DTLS_DEFAULT_INITIAL_RTO);
}

/* A lossy, slow link: 100 ms each way, 25% of datagrams lost at random.
 * Every seed must connect before the handshake deadline. */
static void test_lossy_link(void) {
  int connected = 0;
  vg_time_t worst = 0;
  for (uint32_t seed = 1; seed <= 40; seed++) {
    pair_t p;
    opts_t o = {.delay = VG_MSEC(100), .loss_percent = 25, .seed = seed * 2654435761u};
    CHECK_EQ(pair_open(&p, &o), 0);
    vg_time_t t0 = p.now;
    run(&p, t0 + VG_SEC(60));
    bool ok = p.sc.connected && p.ss.connected && !p.sc.failed && !p.ss.failed;
    if (ok) {
      connected++;
      vg_time_t t = (p.sc.connected_at > p.ss.connected_at ? p.sc.connected_at : p.ss.connected_at) - t0;
      if (t > worst) worst = t;
      CHECK_MEM(p.sc.keys.local_key, p.ss.keys.remote_key, 16);
    } else {
      printf("  seed %u: client %s, server %s\n", (unsigned)seed,
             p.sc.connected ? "connected" : p.sc.reason, p.ss.connected ? "connected" : p.ss.reason);
    }
    pair_close(&p);
  }
  printf("  lossy link: %d/40 connected, slowest %lld ms\n", connected, (long long)(worst / 1000));
  CHECK_EQ(connected, 40);
}

static void flip_hex_digit(char *fp) { fp[0] = fp[0] == 'A' ? 'B' : 'A'; }

static void test_fingerprint_mismatch_client(void) {
  pair_t p;
  vg_dtls_cert_t *other = NULL;
  CHECK_EQ(vg_dtls_cert_create(&other), VG_OK);
  char fp[VG_DTLS_FINGERPRINT_MAX];
  snprintf(fp, sizeof fp, "%s", vg_dtls_cert_fingerprint(other));
  vg_dtls_cert_destroy(other);
  /* The client expects a different server certificate. */
  opts_t o = {.client_sees_fp = fp};
  CHECK_EQ(pair_open(&p, &o), 0);
  run(&p, p.now + VG_SEC(60));
  CHECK(p.sc.failed);
  CHECK_STR(p.sc.reason, "certificate fingerprint does not match the SDP");
  CHECK(!p.sc.connected && !p.ss.connected);
  CHECK(p.ss.failed); /* told by the bad_certificate alert */
  CHECK_EQ(vg_dtls_state(p.c), VG_DTLS_STATE_FAILED);
  pair_close(&p);
}

static void test_fingerprint_mismatch_server(void) {
  pair_t p;
  vg_dtls_cert_t *probe = NULL;
  CHECK_EQ(vg_dtls_cert_create(&probe), VG_OK);
  char fp[VG_DTLS_FINGERPRINT_MAX];
  snprintf(fp, sizeof fp, "%s", vg_dtls_cert_fingerprint(probe));
  flip_hex_digit(fp);
  vg_dtls_cert_destroy(probe);
  opts_t o = {.server_sees_fp = fp};
  CHECK_EQ(pair_open(&p, &o), 0);
  run(&p, p.now + VG_SEC(60));
  CHECK(p.ss.failed);
  CHECK_STR(p.ss.reason, "certificate fingerprint does not match the SDP");
  CHECK(!p.sc.connected && !p.ss.connected);
  CHECK(p.sc.failed);
  pair_close(&p);
}

/* Lower-case hex and an upper-case algorithm name are the same fingerprint. */
static void test_fingerprint_case_insensitive(void) {
  pair_t p;
  memset(&p, 0, sizeof p);
  vg_dtls_cert_t *cs = NULL, *cc = NULL;
  CHECK_EQ(vg_dtls_cert_create(&cs), VG_OK);
  CHECK_EQ(vg_dtls_cert_create(&cc), VG_OK);
  char lower[VG_DTLS_FINGERPRINT_MAX];
  snprintf(lower, sizeof lower, "%s", vg_dtls_cert_fingerprint(cs));
  for (char *q = lower; *q; q++)
    if (*q >= 'A' && *q <= 'F') *q = (char)(*q + 32);
  vg_dtls_config_t c = {.role = VG_DTLS_ROLE_CLIENT, .cert = cc,
                        .remote_fingerprint_alg = "SHA-256", .remote_fingerprint = lower};
  vg_dtls_config_t s = {.role = VG_DTLS_ROLE_SERVER, .cert = cs,
                        .remote_fingerprint_alg = "sha-256",
                        .remote_fingerprint = vg_dtls_cert_fingerprint(cc)};
  CHECK_EQ(vg_dtls_create(&c, &p.c), VG_OK);
  CHECK_EQ(vg_dtls_create(&s, &p.s), VG_OK);
  CHECK_EQ(vg_dtls_start(p.s, 0), VG_OK);
  CHECK_EQ(vg_dtls_start(p.c, 0), VG_OK);
  run(&p, VG_SEC(60));
  CHECK(p.sc.connected && p.ss.connected);
  vg_dtls_destroy(p.c);
  vg_dtls_destroy(p.s);
  vg_dtls_cert_destroy(cs);
  vg_dtls_cert_destroy(cc);
}

/* RFC 6347 §4.2.4.1 back-off: the ClientHello is resent at +400 ms, then
 * each interval doubles; the handshake fails at its deadline exactly. */
static void test_silence_times_out(void) {
  pair_t p;
  opts_t o = {.drop_all = true};
  CHECK_EQ(pair_open(&p, &o), 0);
  vg_time_t t0 = p.now;
  run(&p, t0 + VG_SEC(120));
  CHECK(p.sc.failed && p.ss.failed);
  CHECK(!p.sc.connected && !p.ss.connected);
  CHECK_STR(p.sc.reason, "DTLS handshake timed out");
  CHECK_STR(p.ss.reason, "DTLS handshake timed out");
  CHECK_EQ(p.sc.failed_at - t0, VG_DTLS_DEFAULT_HANDSHAKE_TIMEOUT);
  CHECK_EQ(p.ss.failed_at - t0, VG_DTLS_DEFAULT_HANDSHAKE_TIMEOUT);
  const vg_time_t want[] = {0, 400, 1200, 2800, 6000, 12400}; /* ms; next 25200 > 20000 */
  CHECK_EQ(p.datagrams_c2s, 6);
  for (int i = 0; i < 6; i++) CHECK_EQ(p.c2s_times[i] - t0, VG_MSEC(want[i]));
  CHECK_EQ(p.datagrams_s2c, 0); /* the server never heard anything */
  CHECK_EQ(vg_dtls_poll_timeout(p.c), VG_TIME_NEVER);
  const uint8_t rec[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK_EQ(vg_dtls_handle_packet(p.c, p.now, rec, sizeof rec), VG_ECLOSED);
  pair_close(&p);
}

/* Configured timers: 100 ms initial RTO, 1 s deadline. */
static void test_custom_timeouts(void) {
  vg_dtls_cert_t *cert = NULL;
  vg_dtls_t *d = NULL;
  uint8_t out[VG_DTLS_MTU];
  CHECK_EQ(vg_dtls_cert_create(&cert), VG_OK);
  vg_dtls_config_t cfg = {.role = VG_DTLS_ROLE_CLIENT, .cert = cert,
                          .remote_fingerprint_alg = "sha-256",
                          .remote_fingerprint = vg_dtls_cert_fingerprint(cert),
                          .initial_rto = VG_MSEC(100), .handshake_timeout = VG_SEC(1)};
  CHECK_EQ(vg_dtls_create(&cfg, &d), VG_OK);
  CHECK_EQ(vg_dtls_start(d, 0), VG_OK);
  const vg_time_t sends[] = {0, 100, 300, 700}; /* ms */
  vg_dtls_event_t ev;
  for (int i = 0; i < 4; i++) {
    CHECK(vg_dtls_poll_transmit(d, out, sizeof out) > 0);
    CHECK_EQ(vg_dtls_poll_transmit(d, out, sizeof out), 0);
    vg_time_t next = vg_dtls_poll_timeout(d);
    CHECK_EQ(next, i < 3 ? VG_MSEC(sends[i + 1]) : VG_SEC(1));
    CHECK_EQ(vg_dtls_handle_timeout(d, next - 1), VG_OK); /* early: nothing */
    CHECK_EQ(vg_dtls_poll_transmit(d, out, sizeof out), 0);
    CHECK_EQ(vg_dtls_handle_timeout(d, next), VG_OK);
  }
  CHECK(vg_dtls_poll_event(d, &ev));
  CHECK_EQ(ev.type, VG_DTLS_EVENT_FAILED);
  CHECK_STR(ev.reason, "DTLS handshake timed out");
  CHECK_EQ(vg_dtls_poll_timeout(d), VG_TIME_NEVER);
  CHECK(!vg_dtls_poll_event(d, &ev));
  vg_dtls_destroy(d);
  vg_dtls_cert_destroy(cert);
}

static void test_close_notify(void) {
  pair_t p;
  CHECK_EQ(pair_open(&p, NULL), 0);
  run(&p, p.now + VG_SEC(60));
  CHECK(p.sc.connected && p.ss.connected);
  CHECK_EQ(vg_dtls_close(p.c), VG_OK);
  CHECK_EQ(vg_dtls_state(p.c), VG_DTLS_STATE_CLOSED);
  pump(&p);
  CHECK(p.ss.closed);
  CHECK(!p.sc.closed); /* our own close is not an event */
  CHECK(!p.ss.failed);
  CHECK_EQ(vg_dtls_state(p.s), VG_DTLS_STATE_CLOSED);
  CHECK_EQ(vg_dtls_poll_timeout(p.s), VG_TIME_NEVER);
  CHECK_EQ(vg_dtls_close(p.s), VG_OK); /* already closed: harmless */
  pair_close(&p);
}

static void test_poll_transmit_small_buffer(void) {
  pair_t p;
  CHECK_EQ(pair_open(&p, NULL), 0);
  uint8_t small[16], big[VG_DTLS_MTU];
  CHECK_EQ(vg_dtls_poll_transmit(p.c, small, sizeof small), VG_ENOSPC);
  int n = vg_dtls_poll_transmit(p.c, big, sizeof big); /* still queued */
  CHECK(n > (int)sizeof small && n <= VG_DTLS_MTU);
  CHECK_EQ(big[0], 22); /* a handshake record: the ClientHello */
  CHECK_EQ(vg_dtls_poll_transmit(p.c, big, sizeof big), 0);
  pair_close(&p);
}

static void feed_garbage(vg_dtls_t *d, vg_time_t now, uint32_t *seed, int count) {
  uint8_t buf[1500];
  for (int i = 0; i < count; i++) {
    size_t len = 1 + rng_next(seed) % sizeof buf;
    for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)rng_next(seed);
    buf[0] = (uint8_t)(20 + rng_next(seed) % 44);
    /* Half of them carry a plausible DTLS 1.2 record header. */
    if ((i & 1) && len >= 13) {
      buf[1] = 0xfe;
      buf[2] = 0xfd;
      size_t body = len - 13;
      buf[11] = (uint8_t)(body >> 8);
      buf[12] = (uint8_t)body;
    }
    int rc = vg_dtls_handle_packet(d, now, buf, len);
    (void)rc;
  }
}

static void test_garbage_does_not_connect(void) {
  pair_t p;
  uint32_t seed = 0x9e3779b9u;
  uint8_t out[VG_DTLS_MTU];
  CHECK_EQ(pair_open(&p, NULL), 0);
  /* Random datagrams at a fresh server: nothing connects; the server
   * answers nothing it could not parse as a ClientHello. */
  vg_dtls_event_t ev;
  feed_garbage(p.s, p.now, &seed, 300);
  while (vg_dtls_poll_event(p.s, &ev)) CHECK(ev.type != VG_DTLS_EVENT_CONNECTED);
  while (vg_dtls_poll_transmit(p.s, out, sizeof out) > 0) {
  }
  CHECK(vg_dtls_state(p.s) != VG_DTLS_STATE_CONNECTED);
  pair_close(&p);

  /* Once connected, garbage is discarded and the session survives. */
  CHECK_EQ(pair_open(&p, NULL), 0);
  run(&p, p.now + VG_SEC(60));
  CHECK(p.sc.connected && p.ss.connected);
  feed_garbage(p.s, p.now, &seed, 300);
  feed_garbage(p.c, p.now, &seed, 300);
  CHECK_EQ(vg_dtls_state(p.s), VG_DTLS_STATE_CONNECTED);
  CHECK_EQ(vg_dtls_state(p.c), VG_DTLS_STATE_CONNECTED);
  while (vg_dtls_poll_event(p.s, &ev)) CHECK(ev.type == VG_DTLS_EVENT_CONNECTED);
  pair_close(&p);
}

/* Each datagram carries whole records and fits the MTU; the lengths in the
 * record headers add up to the datagram. */
static void test_datagrams_are_whole_records(void) {
  pair_t p;
  CHECK_EQ(pair_open(&p, NULL), 0);
  uint8_t dg[VG_DTLS_MTU];
  int n = vg_dtls_poll_transmit(p.c, dg, sizeof dg);
  CHECK(n > 0);
  CHECK_EQ(vg_dtls_handle_packet(p.s, p.now, dg, (size_t)n), VG_OK);
  int records = 0;
  while ((n = vg_dtls_poll_transmit(p.s, dg, sizeof dg)) > 0) {
    size_t pos = 0;
    while (pos < (size_t)n) {
      CHECK(pos + 13 <= (size_t)n);
      CHECK_EQ(dg[pos + 1], 0xfe); /* DTLS 1.x */
      pos += 13 + (size_t)(dg[pos + 11] << 8 | dg[pos + 12]);
      records++;
    }
    CHECK_EQ(pos, (size_t)n);
  }
  /* ServerHello, Certificate, ServerKeyExchange, CertificateRequest,
   * ServerHelloDone: one record each. */
  CHECK(records >= 5);
  pair_close(&p);
}

VGT_MAIN(VGT_CASE(test_cert_fingerprint), VGT_CASE(test_create_rejects_bad_config),
         VGT_CASE(test_handshake_gcm_default),
         VGT_CASE(test_handshake_cm_when_client_offers_only_cm), VGT_CASE(test_no_common_profile),
         VGT_CASE(test_lost_client_hello), VGT_CASE(test_lost_server_flight),
         VGT_CASE(test_lost_client_flight), VGT_CASE(test_lost_server_final_flight),
         VGT_CASE(test_lost_server_flight_repaired_by_server_rule),
         VGT_CASE(test_lost_client_flight_repaired_by_client_rule), VGT_CASE(test_lossy_link),
         VGT_CASE(test_fingerprint_mismatch_client), VGT_CASE(test_fingerprint_mismatch_server),
         VGT_CASE(test_fingerprint_case_insensitive), VGT_CASE(test_silence_times_out),
         VGT_CASE(test_custom_timeouts),
         VGT_CASE(test_close_notify), VGT_CASE(test_poll_transmit_small_buffer),
         VGT_CASE(test_garbage_does_not_connect), VGT_CASE(test_datagrams_are_whole_records))
