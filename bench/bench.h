/* What the benchmark clients share: the clock, HTTP through libcurl, UDP
 * sockets for the core's client role, WHIP session set-up, and the
 * server's CPU time and memory from /proc.
 *
 * This is IO code, like src/io: it owns sockets and reads the clock. */
#ifndef VG_BENCH_H
#define VG_BENCH_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/addr.h"
#include "base/time.h"
#include "core/rtc.h"

#define VG_BENCH_UDP_MAX 1500

/* The monotonic clock in microseconds. */
vg_time_t vg_bench_now(void);

/* A growing response body, NUL-terminated; `data` owned (free it). */
typedef struct {
  char *data;
  size_t len, cap;
} vg_bench_buf_t;

/* A CURLOPT_WRITEFUNCTION that appends to the vg_bench_buf_t `ud` (keeping
 * it NUL-terminated). Returns `size * n`, or 0 when it cannot grow (curl
 * then fails the request with a write error). */
size_t vg_bench_buf_write(char *p, size_t size, size_t n, void *ud);

/* One libcurl easy handle (owned) and what every request carries. */
typedef struct {
  CURL *curl;
  const char *token;     /* borrowed, nullable: Authorization: Bearer */
  bool fresh_connection; /* a new TCP connection for every request */
} vg_bench_http_t;

/* Initialises libcurl and the handle with the bench's settings (5 s per
 * request, TCP_NODELAY). Returns 0, or -1 when curl cannot start. */
int vg_bench_http_init(vg_bench_http_t *h, const char *token);
void vg_bench_http_cleanup(vg_bench_http_t *h);

/* One request: POST when `payload` is non-NULL, else `method` (GET,
 * DELETE, ...). `content_type` is nullable. `body` receives the response.
 * Returns the HTTP status, or -1 with `why` filled on a transport error. */
long vg_bench_http(vg_bench_http_t *h, const char *method, const char *url,
                   const char *content_type, const char *payload, size_t payload_len,
                   vg_bench_buf_t *body, char *why, size_t why_cap);

/* The host part of a URL ("127.0.0.1" of http://127.0.0.1:8080), or an
 * empty string. */
void vg_bench_url_host(const char *url, char *host, size_t cap);

/* A non-blocking UDP socket of `family` (AF_INET, AF_INET6), or -1. */
int vg_bench_open_udp(int family);

/* Sends every datagram `rtc` has queued, on fd[0] (IPv4) or fd[1] (IPv6),
 * opening the socket when it is -1. UDP only; TCP transmits are dropped. */
void vg_bench_send_queued(vg_rtc_t *rtc, int fd[2]);

/* Receives one datagram from `fd` and hands it to `rtc`. Returns true when
 * there was one, false when the socket is drained. */
bool vg_bench_recv_one(vg_rtc_t *rtc, int fd);

/* A started WHIP session. */
typedef struct {
  vg_time_t t0;        /* just before the POST */
  vg_time_t answer_at; /* when the response came; -1 without one */
  char url[600];       /* the session's absolute URL (Location) */
} vg_bench_whip_t;

/* Makes `rtc`'s offer, adds fd's host candidate (binding fd) when
 * `add_candidate`, POSTs it to `whip_url` and applies the 201's answer.
 * `base_url` resolves a relative Location. Returns 0, or -1 with `why`
 * filled (the status and body for a refusal). */
int vg_bench_whip_start(vg_bench_http_t *h, vg_rtc_t *rtc, int fd, const char *base_url,
                        const char *whip_url, bool add_candidate, vg_bench_whip_t *out, char *why,
                        size_t why_cap);

/* Inserts "a=candidate:1 1 udp 2130706431 <ip> <port> typ host" (our UDP
 * host candidate, RFC 8839 §5.1) before the "a=end-of-candidates" line of
 * the NUL-terminated `offer` of length `n` in a buffer of `cap` bytes.
 * Returns the new length, or `n` unchanged when the offer has no such line
 * or the line does not fit. */
int vg_bench_offer_add_host(char *offer, int n, size_t cap, const char *ip, unsigned port);

/* Strict command-line numbers. The whole of `v` must be one decimal
 * integer (optional sign, no spaces, nothing after it) in [min, max], or for
 * the double variant one finite number in [min, max]. `opt` is the option's
 * name for the message. Returns 0 with *out set, or -1 (*out untouched)
 * after printing "PROG: --sessions: 'abc' is not a number in [1, 100000]"
 * to stderr. */
int vg_bench_parse_long(const char *opt, const char *v, long min, long max, long *out);
int vg_bench_parse_int(const char *opt, const char *v, int min, int max, int *out);
int vg_bench_parse_double(const char *opt, const char *v, double min, double max, double *out);

/* Nearest-rank percentile `p` (0-100) of sorted v[0..n), n > 0. */
double vg_bench_percentile(const double *v, size_t n, int p);
int vg_bench_cmp_double(const void *a, const void *b);

/* utime + stime of `pid` in seconds, or -1. */
double vg_bench_cpu_s(long pid);

/* A "Vm...:" field of /proc/<pid>/status (e.g. "VmRSS", "VmHWM") in KiB,
 * or -1. */
long vg_bench_status_kb(long pid, const char *field);

/* This process's own CPU time in milliseconds. */
double vg_bench_self_cpu_ms(void);

#endif
