/* vg_bench_srtp: what SRTP costs per packet as the number of sessions
 * grows, for each way libsrtp2 can do its AES and HMAC here, in one run:
 *
 *   nss-default   Debian's libsrtp2 as it comes: NSS, with each cipher's
 *                 NSS_InitContext asking for OPTIMIZESPACE (small handle
 *                 tables, so every packet walks chains as long as the
 *                 number of keys alive);
 *   nss-init      the same after the application initialised NSS itself
 *                 (NSS_NoDB_Init), as voxgate_load does for its own use;
 *   openssl       voxgate's ciphers (core/srtp_crypto.h), what
 *                 vg_srtp_global_init installs.
 *
 * For S sessions alive, each a sender and a receiver with their own keys,
 * it protects and unprotects an 80-byte Opus-sized RTP packet round-robin
 * over the sessions and prints microseconds per packet (protect plus
 * unprotect), for AEAD_AES_128_GCM and AES_CM_128_HMAC_SHA1_80.
 * "nss-init" runs in a child process: NSS keeps the table sizes of its
 * first initialisation for the life of the process. libsrtp2 binds a
 * session to the cipher implementation current when it is created, so
 * "openssl" simply comes after "nss-default".
 *
 *   vg_bench_srtp [packets per figure, default 200000] */
#include <nss.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/srtp_crypto.h"

#define PAYLOAD 80
#define RTP_HEADER 12
#define MAX_TRAILER 16

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set_policy(srtp_policy_t *p, int gcm, uint8_t *key, srtp_ssrc_type_t dir) {
  memset(p, 0, sizeof *p);
  if (gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
  }
  p->ssrc.type = dir;
  p->key = key;
  p->window_size = 1024;
}

/* Microseconds per packet (protect + unprotect) with `sessions` alive, or
 * -1 on a failure. */
static double measure(int gcm, int sessions, int packets) {
  srtp_t *tx = calloc((size_t)sessions, sizeof *tx), *rx = calloc((size_t)sessions, sizeof *rx);
  double us = -1;
  if (!tx || !rx) goto out;
  for (int i = 0; i < sessions; i++) {
    uint8_t key[30];
    for (int k = 0; k < 30; k++) key[k] = (uint8_t)(i * 31 + k * 7);
    srtp_policy_t p;
    set_policy(&p, gcm, key, ssrc_any_outbound);
    if (srtp_create(&tx[i], &p) != srtp_err_status_ok) goto out;
    set_policy(&p, gcm, key, ssrc_any_inbound);
    if (srtp_create(&rx[i], &p) != srtp_err_status_ok) goto out;
  }
  uint8_t pkt[RTP_HEADER + PAYLOAD + MAX_TRAILER];
  double t0 = now_s();
  for (int n = 0; n < packets; n++) {
    int i = n % sessions;
    uint16_t seq = (uint16_t)(n / sessions);
    memset(pkt, 0x5a, sizeof pkt);
    pkt[0] = 0x80;                                   /* V=2 */
    pkt[1] = 111;                                    /* Opus */
    pkt[2] = (uint8_t)(seq >> 8), pkt[3] = (uint8_t)seq;
    pkt[8] = (uint8_t)(i >> 8), pkt[9] = (uint8_t)i; /* SSRC */
    int len = RTP_HEADER + PAYLOAD;
    if (srtp_protect(tx[i], pkt, &len) != srtp_err_status_ok ||
        srtp_unprotect(rx[i], pkt, &len) != srtp_err_status_ok || len != RTP_HEADER + PAYLOAD)
      goto out;
  }
  us = (now_s() - t0) / packets * 1e6;
out:
  for (int i = 0; tx && rx && i < sessions; i++) {
    if (tx[i]) srtp_dealloc(tx[i]);
    if (rx[i]) srtp_dealloc(rx[i]);
  }
  free(tx);
  free(rx);
  return us;
}

static void row(const char *impl, int packets) {
  static const int counts[] = {1, 100, 1000};
  for (int gcm = 1; gcm >= 0; gcm--) {
    printf("%-12s %-24s", impl, gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80");
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
      printf(" %10.2f", measure(gcm, counts[c], packets));
    printf("\n");
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  int packets = argc > 1 ? atoi(argv[1]) : 200000;
  if (packets < 1000) {
    fprintf(stderr, "usage: vg_bench_srtp [packets >= 1000]\n");
    return 2;
  }
  double la[3] = {-1, -1, -1};
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3) la[0] = -1;
    fclose(f);
  }
  printf("SRTP protect + unprotect, 80-byte payload, us per packet; %d packets per figure; "
         "load average %.2f %.2f %.2f\n",
         packets, la[0], la[1], la[2]);
  printf("%-12s %-24s %10s %10s %10s\n", "crypto", "profile", "1 session", "100", "1000");
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (NSS_NoDB_Init(NULL) != SECSuccess || srtp_init() != srtp_err_status_ok) _exit(1);
    row("nss-init", packets);
    _exit(0);
  }
  int status = 1;
  if (child < 0 || waitpid(child, &status, 0) < 0 || status != 0) return 1;
  if (srtp_init() != srtp_err_status_ok) return 1;
  row("nss-default", packets);
  if (vg_srtp_crypto_install() < 0) return 1;
  row("openssl", packets);
  return 0;
}
