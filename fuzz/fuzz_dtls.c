/* Feeds random datagrams and times to one vg_dtls_t (server, or client when
 * the first byte is odd) and checks what comes out.
 *
 * Input: a role byte, then a list of steps:
 *   0x00..0x7f hi lo  <len bytes>   one datagram of len = (hi << 8 | lo)
 *                                   (the first byte of the step is ignored
 *                                   beyond choosing this form)
 *   0x80 | n                        time passes: n * 100 ms, then
 *                                   handle_timeout
 * Checks: handle_packet refuses exactly the datagrams RFC 7983 says are not
 * DTLS; every datagram sent fits the MTU and is whole DTLS records; an
 * event always matches the state; the timer never asks to run in the past;
 * and nothing the fuzzer can write ever connects, since it cannot present
 * a certificate with the expected fingerprint. */
#include <stdint.h>
#include <stdlib.h>

#include "base/log.h"
#include "core/dtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                             \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

/* Whole records, RFC 6347 §4.1: 13-byte header with the length at 11. */
static void check_datagram(const uint8_t *p, int n) {
  REQUIRE(n > 0 && n <= VG_DTLS_MTU);
  size_t pos = 0;
  while (pos < (size_t)n) {
    REQUIRE(pos + 13 <= (size_t)n);
    REQUIRE(p[pos] >= 20 && p[pos] <= 23);
    pos += 13 + (size_t)(p[pos + 11] << 8 | p[pos + 12]);
  }
  REQUIRE(pos == (size_t)n);
}

static void drain(vg_dtls_t *d, vg_time_t now) {
  uint8_t out[VG_DTLS_MTU];
  int n;
  while ((n = vg_dtls_poll_transmit(d, out, sizeof out)) > 0) check_datagram(out, n);
  REQUIRE(n == 0);
  vg_dtls_event_t ev;
  while (vg_dtls_poll_event(d, &ev)) {
    REQUIRE(ev.type != VG_DTLS_EVENT_CONNECTED);
    if (ev.type == VG_DTLS_EVENT_FAILED) {
      REQUIRE(ev.reason && ev.reason[0]);
      REQUIRE(vg_dtls_state(d) == VG_DTLS_STATE_FAILED);
    }
    if (ev.type == VG_DTLS_EVENT_CLOSED) REQUIRE(vg_dtls_state(d) == VG_DTLS_STATE_CLOSED);
  }
  REQUIRE(vg_dtls_state(d) != VG_DTLS_STATE_CONNECTED);
  vg_time_t t = vg_dtls_poll_timeout(d);
  REQUIRE(t == VG_TIME_NEVER || t > now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* One certificate for the whole run: creating it costs a key generation
   * and a signature. The fuzz harness may keep state; src/core may not. */
  static vg_dtls_cert_t *cert;
  if (!cert) {
    vg_log_set_level(VG_LOG_ERROR);
    if (vg_dtls_cert_create(&cert) < 0) abort();
  }
  if (size < 1) return 0;
  vg_dtls_config_t cfg = {
      .role = (data[0] & 1) ? VG_DTLS_ROLE_CLIENT : VG_DTLS_ROLE_SERVER,
      .cert = cert,
      .remote_fingerprint_alg = "sha-256",
      /* Our own fingerprint: a peer would need our private key to match. */
      .remote_fingerprint = vg_dtls_cert_fingerprint(cert),
  };
  vg_dtls_t *d = NULL;
  if (vg_dtls_create(&cfg, &d) < 0) abort();
  vg_time_t now = VG_SEC(1);
  if (vg_dtls_start(d, now) < 0) abort();
  drain(d, now);
  size_t pos = 1;
  while (pos < size) {
    uint8_t op = data[pos++];
    if (op & 0x80) {
      now += VG_MSEC(100) * (op & 0x7f);
      REQUIRE(vg_dtls_handle_timeout(d, now) == VG_OK);
    } else {
      if (size - pos < 2) break;
      size_t len = (size_t)(data[pos] << 8 | data[pos + 1]);
      pos += 2;
      if (len > size - pos) len = size - pos;
      const uint8_t *dg = data + pos;
      pos += len;
      vg_dtls_state_t before = vg_dtls_state(d);
      int rc = vg_dtls_handle_packet(d, now, dg, len);
      bool dtls_byte = len > 0 && dg[0] >= 20 && dg[0] <= 63;
      if (!dtls_byte) {
        REQUIRE(rc == VG_EINVAL);
      } else if (before == VG_DTLS_STATE_FAILED || before == VG_DTLS_STATE_CLOSED) {
        REQUIRE(rc == VG_ECLOSED);
      } else {
        REQUIRE(rc == VG_OK);
      }
    }
    drain(d, now);
  }
  vg_dtls_destroy(d);
  return 0;
}
