/* Whole-peer fuzz target: a server vg_rtc that a real client has reached
 * through ICE (so its address is validated and DTLS/SRTP input is not
 * filtered out up front) is fed the fuzzer's datagrams and clock steps.
 *
 * Input: a sequence of records
 *
 *    0                   1                   2
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+---------
 *   |S|T|  advance  |          length (16)          | data ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+---------
 *
 *   S: 1 = from an address that never authenticated, 0 = the client's
 *   T: 1 = also run handle_timeout after the datagram
 *   advance: the clock moves by advance^3 ms (0 .. 250 s) first
 *
 * Everything the peer queues is drained after each step, as the IO layer
 * does; the peer must never crash, leak, or stop answering its verbs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/rtc.h"
#include "core/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vg_dtls_cert_t *cert_s, *cert_c;

/* Drains `rtc`; datagrams go to `other` (nullable) when `stun_only` lets
 * them: the set-up carries ICE only, so the fuzzer's own bytes are what the
 * server's DTLS sees first. */
static void drain(vg_rtc_t *rtc, vg_rtc_t *other, vg_time_t now, const vg_addr_t *self,
                  bool stun_only) {
  uint8_t buf[1500];
  vg_addr_t to;
  int n;
  while ((n = vg_rtc_poll_transmit(rtc, buf, sizeof buf, &to)) > 0)
    if (other && (!stun_only || buf[0] < 4)) (void)vg_rtc_handle_packet(other, now, self, buf, (size_t)n);
  vg_rtc_event_t ev;
  while (vg_rtc_poll_event(rtc, &ev)) {
    /* echo, as the server does; a refusal (queue full, closed) is fine */
    if (ev.type == VG_RTC_EV_AUDIO && vg_rtc_send_audio(rtc, now, ev.u.audio.timestamp, false,
                                                        ev.u.audio.payload,
                                                        ev.u.audio.payload_len) < 0)
      continue;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!cert_s) {
    vg_log_set_level(VG_LOG_ERROR);
    if (vg_srtp_global_init() < 0 || vg_dtls_cert_create(&cert_s) < 0 ||
        vg_dtls_cert_create(&cert_c) < 0)
      abort();
  }
  vg_addr_t server_addr, client_addr, stranger;
  if (vg_addr_parse(&server_addr, "192.0.2.1", 8080, VG_TRANSPORT_UDP) < 0 ||
      vg_addr_parse(&client_addr, "198.51.100.7", 40000, VG_TRANSPORT_UDP) < 0 ||
      vg_addr_parse(&stranger, "203.0.113.9", 5555, VG_TRANSPORT_UDP) < 0)
    abort();

  vg_rtc_config_t cc = {.role = VG_RTC_ROLE_CLIENT, .cert = cert_c};
  vg_rtc_config_t sc = {.role = VG_RTC_ROLE_SERVER, .cert = cert_s};
  vg_rtc_t *client = NULL, *server = NULL;
  char offer[4096], answer[8192];
  vg_time_t now = VG_SEC(100);
  if (vg_rtc_create(&cc, &client) < 0 || vg_rtc_create(&sc, &server) < 0) abort();
  int n = vg_rtc_create_offer(client, offer, sizeof offer);
  vg_rtc_candidate_t cand = {.addr = server_addr};
  int a = n > 0 ? vg_rtc_accept_offer(server, now, offer, (size_t)n, &cand, 1, answer,
                                      sizeof answer, NULL)
                : -1;
  if (a <= 0 || vg_rtc_apply_answer(client, now, answer, (size_t)a, NULL) < 0) abort();

  /* ICE between the real client and the server: checks, nomination. */
  for (int i = 0; i < 6; i++) {
    (void)vg_rtc_handle_timeout(client, now);
    drain(client, server, now, &client_addr, true);
    drain(server, client, now, &server_addr, true);
    now += VG_MSEC(50);
  }

  while (size >= 3) {
    uint8_t flags = data[0];
    size_t len = ((size_t)data[1] << 8) | data[2];
    data += 3;
    size -= 3;
    if (len > size) len = size;
    vg_time_t adv = flags & 0x3f;
    now += VG_MSEC(adv * adv * adv);
    const vg_addr_t *from = (flags & 0x80) ? &stranger : &client_addr;
    (void)vg_rtc_handle_packet(server, now, from, data, len);
    drain(server, NULL, now, &server_addr, false);
    if (flags & 0x40 || vg_rtc_poll_timeout(server) <= now) {
      (void)vg_rtc_handle_timeout(server, now);
      drain(server, NULL, now, &server_addr, false);
    }
    data += len;
    size -= len;
  }
  vg_rtc_stats_t st;
  vg_rtc_get_stats(server, &st);
  (void)vg_rtc_close(server, now);
  drain(server, NULL, now, &server_addr, false);
  vg_rtc_destroy(server);
  vg_rtc_destroy(client);
  return 0;
}
