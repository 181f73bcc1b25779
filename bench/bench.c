/* program_invocation_short_name for the option errors */
#define _GNU_SOURCE
#include "bench.h"

#include "io/sockaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- command-line numbers ----------------------------------------------------- */

/* strtol/strtod skip leading spaces and stop at the first bad character:
 * both are errors here, as is an empty string. */
static bool number_text_ok(const char *v, const char *end) {
  return v[0] && !isspace((unsigned char)v[0]) && end != v && *end == '\0';
}

int vg_bench_parse_long(const char *opt, const char *v, long min, long max, long *out) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (!number_text_ok(v, end) || errno == ERANGE || n < min || n > max) {
    fprintf(stderr, "%s: %s: '%s' is not a number in [%ld, %ld]\n",
            program_invocation_short_name, opt, v, min, max);
    return -1;
  }
  *out = n;
  return 0;
}

int vg_bench_parse_int(const char *opt, const char *v, int min, int max, int *out) {
  long n;
  if (vg_bench_parse_long(opt, v, min, max, &n) < 0) return -1;
  *out = (int)n;
  return 0;
}

int vg_bench_parse_double(const char *opt, const char *v, double min, double max, double *out) {
  char *end;
  double d = strtod(v, &end);
  if (!number_text_ok(v, end) || !isfinite(d) || !(d >= min && d <= max)) {
    fprintf(stderr, "%s: %s: '%s' is not a number in [%g, %g]\n",
            program_invocation_short_name, opt, v, min, max);
    return -1;
  }
  *out = d;
  return 0;
}

/* --- clock -------------------------------------------------------------------- */

vg_time_t vg_bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (vg_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- HTTP ------------------------------------------------------------------- */

size_t vg_bench_buf_write(char *p, size_t size, size_t n, void *ud) {
  vg_bench_buf_t *b = ud;
  size_t len = size * n;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return 0; /* curl reports a write error */
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, len);
  b->len += len;
  b->data[b->len] = '\0';
  return len;
}

int vg_bench_http_init(vg_bench_http_t *h, const char *token) {
  *h = (vg_bench_http_t){.token = token};
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h->curl = curl_easy_init())) return -1;
  /* Loopback or a LAN: a refused or hung request is a failure, not a wait. */
  curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
  return 0;
}

void vg_bench_http_cleanup(vg_bench_http_t *h) {
  if (h->curl) curl_easy_cleanup(h->curl);
  h->curl = NULL;
  curl_global_cleanup();
}

long vg_bench_http(vg_bench_http_t *h, const char *method, const char *url,
                   const char *content_type, const char *payload, size_t payload_len,
                   vg_bench_buf_t *body, char *why, size_t why_cap) {
  CURL *c = h->curl;
  struct curl_slist *hdrs = NULL;
  char line[600];
  if (content_type) {
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (h->token) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", h->token);
    hdrs = curl_slist_append(hdrs, line);
  }
  hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
  body->len = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, vg_bench_buf_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, h->fresh_connection ? 1L : 0L);
  if (payload) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)payload_len);
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    snprintf(why, why_cap, "%s %s: %s", method, url, curl_easy_strerror(rc));
    return -1;
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

void vg_bench_url_host(const char *url, char *host, size_t cap) {
  host[0] = '\0';
  CURLU *u = curl_url();
  char *h = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
    snprintf(host, cap, "%s", h);
  curl_free(h);
  curl_url_cleanup(u);
}

/* --- UDP -------------------------------------------------------------------- */

int vg_bench_open_udp(int family) {
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void vg_bench_send_queued(vg_rtc_t *rtc, int fd[2]) {
  uint8_t buf[VG_BENCH_UDP_MAX];
  vg_addr_t to;
  int n;
  while ((n = vg_rtc_poll_transmit(rtc, buf, sizeof buf, &to)) > 0) {
    if (to.transport != VG_TRANSPORT_UDP) continue; /* the bench clients are UDP only */
    int i = to.family == 4 ? 0 : 1;
    if (fd[i] < 0) fd[i] = vg_bench_open_udp(i == 0 ? AF_INET : AF_INET6);
    if (fd[i] < 0) continue;
    struct sockaddr_storage ss;
    socklen_t sl = vg_addr_to_sockaddr(&to, i == 1, &ss);
    (void)sendto(fd[i], buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
  }
}

bool vg_bench_recv_one(vg_rtc_t *rtc, int fd) {
  uint8_t buf[VG_BENCH_UDP_MAX];
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl);
  if (n < 0) return false; /* EAGAIN: drained */
  vg_addr_t from;
  if (vg_sockaddr_to_addr((struct sockaddr *)&ss, VG_TRANSPORT_UDP, &from) < 0) return true;
  (void)vg_rtc_handle_packet(rtc, vg_bench_now(), &from, buf, (size_t)n);
  return true;
}

/* --- WHIP ------------------------------------------------------------------- */

/* Binds `fd` to the local address that routes to the server (port chosen
 * by the kernel) and adds it to the offer as our host candidate
 * (RFC 8839 §5.1), as a browser does. voxgate, being ICE-lite, learns the
 * address from our checks anyway; full agents such as aioice fail at once
 * when an offer has no candidate. Returns the new length, or `n` unchanged
 * (and `fd` unbound) when the address cannot be found. */
static int add_host_candidate(int fd, const char *server_host, char *offer, int n, size_t cap) {
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9)};
  if (inet_pton(AF_INET, server_host, &dst.sin_addr) != 1) return n;
  /* A UDP connect sends nothing; it picks the route and so the source. */
  int probe = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in self;
  socklen_t sl = sizeof self;
  int ok = probe >= 0 && connect(probe, (struct sockaddr *)&dst, sizeof dst) == 0 &&
           getsockname(probe, (struct sockaddr *)&self, &sl) == 0;
  if (probe >= 0) close(probe);
  if (!ok) return n;
  self.sin_port = 0;
  sl = sizeof self;
  if (bind(fd, (struct sockaddr *)&self, sizeof self) < 0 ||
      getsockname(fd, (struct sockaddr *)&self, &sl) < 0)
    return n;
  char ip[INET_ADDRSTRLEN];
  if (!inet_ntop(AF_INET, &self.sin_addr, ip, sizeof ip)) return n;
  return vg_bench_offer_add_host(offer, n, cap, ip, ntohs(self.sin_port));
}

int vg_bench_offer_add_host(char *offer, int n, size_t cap, const char *ip, unsigned port) {
  const char *eoc = strstr(offer, "a=end-of-candidates\r\n");
  if (!eoc) return n;
  char line[128];
  int ll =
      snprintf(line, sizeof line, "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n", ip, port);
  size_t at = (size_t)(eoc - offer);
  if (ll <= 0 || (size_t)ll >= sizeof line || (size_t)n + (size_t)ll + 1 > cap) return n;
  memmove(offer + at + ll, offer + at, (size_t)n - at + 1);
  memcpy(offer + at, line, (size_t)ll);
  return n + ll;
}

int vg_bench_whip_start(vg_bench_http_t *h, vg_rtc_t *rtc, int fd, const char *base_url,
                        const char *whip_url, bool add_candidate, vg_bench_whip_t *out, char *why,
                        size_t why_cap) {
  out->t0 = vg_bench_now();
  out->answer_at = -1;
  out->url[0] = '\0';
  char offer[4096];
  int n = vg_rtc_create_offer(rtc, offer, sizeof offer);
  if (n <= 0) {
    snprintf(why, why_cap, "could not make an offer");
    return -1;
  }
  if (fd >= 0 && add_candidate) {
    char host[256];
    vg_bench_url_host(base_url, host, sizeof host);
    n = add_host_candidate(fd, host, offer, n, sizeof offer);
  }
  vg_bench_buf_t body = {0};
  int rc = -1;
  out->t0 = vg_bench_now();
  long code = vg_bench_http(h, "POST", whip_url, "application/sdp", offer, (size_t)n, &body, why,
                            why_cap);
  if (code < 0) goto done;
  out->answer_at = vg_bench_now();
  if (code != 201) {
    snprintf(why, why_cap, "POST returned %ld: %.100s", code, body.data ? body.data : "");
    goto done;
  }
  struct curl_header *loc = NULL;
  if (curl_easy_header(h->curl, "Location", 0, CURLH_HEADER, -1, &loc) != CURLHE_OK || !loc) {
    snprintf(why, why_cap, "201 without a Location header");
    goto done;
  }
  if (strncmp(loc->value, "http://", 7) == 0 || strncmp(loc->value, "https://", 8) == 0)
    snprintf(out->url, sizeof out->url, "%s", loc->value);
  else
    snprintf(out->url, sizeof out->url, "%s%s", base_url, loc->value);
  const char *r = NULL;
  if (vg_rtc_apply_answer(rtc, vg_bench_now(), body.data, body.len, &r) < 0) {
    snprintf(why, why_cap, "the answer was refused: %s", r ? r : "?");
    goto done;
  }
  rc = 0;
done:
  free(body.data);
  return rc;
}

/* --- figures ---------------------------------------------------------------- */

int vg_bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double vg_bench_percentile(const double *v, size_t n, int p) {
  size_t rank = (size_t)(((size_t)p * n + 99) / 100);
  if (rank < 1) rank = 1;
  return v[rank - 1];
}

double vg_bench_cpu_s(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* proc(5): "pid (comm) state ppid ... utime stime ..."; comm may hold
   * spaces and parentheses, so count fields after the last ')'. utime is
   * field 14 and stime 15: the 12th and 13th after it. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  long long utime = -1, stime = -1;
  int field = 2;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    field++;
    if (field == 14) utime = atoll(tok);
    if (field == 15) {
      stime = atoll(tok);
      break;
    }
  }
  if (utime < 0 || stime < 0) return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long vg_bench_status_kb(long pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t fl = strlen(field);
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
      kb = atol(line + fl + 1);
      break;
    }
  fclose(f);
  return kb;
}

double vg_bench_self_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}
