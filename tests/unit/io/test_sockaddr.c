/* vg_sockaddr_bind, the listening-address order shared by the TCP listener
 * and the UDP socket, driven through a recording bind that fails on demand:
 * a configured address is the only try, with the port; otherwise [::] comes
 * first and 0.0.0.0 only when the host has no IPv6, never on other errors. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "io/sockaddr.h"
#include "vgtest.h"

typedef struct {
  int n;                           /* tries so far */
  int fail[2];                     /* what try i returns */
  struct sockaddr_storage seen[2]; /* what try i was given */
} rec_t;

static int record(void *ud, const struct sockaddr *sa) {
  rec_t *r = ud;
  if (r->n >= 2) return UV_EINVAL; /* a third try is a bug */
  memcpy(&r->seen[r->n], sa,
         sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
  return r->fail[r->n++];
}

static const struct sockaddr_in6 *as6(const rec_t *r, int i) {
  return (const struct sockaddr_in6 *)&r->seen[i];
}
static const struct sockaddr_in *as4(const rec_t *r, int i) {
  return (const struct sockaddr_in *)&r->seen[i];
}

static void test_configured_v4_is_the_only_try(void) {
  vg_addr_t a = {.family = 4, .port = 9, .ip = {127, 0, 0, 1}};
  rec_t r = {.fail = {UV_EAFNOSUPPORT, 0}};
  CHECK_EQ(vg_sockaddr_bind(&a, 18080, record, &r), UV_EAFNOSUPPORT);
  CHECK_EQ(r.n, 1);
  CHECK_EQ(as4(&r, 0)->sin_family, AF_INET);
  CHECK_EQ(ntohs(as4(&r, 0)->sin_port), 18080); /* the port argument, not a.port */
  CHECK_EQ(ntohl(as4(&r, 0)->sin_addr.s_addr), INADDR_LOOPBACK);
}

static void test_configured_v6(void) {
  vg_addr_t a = {.family = 6, .ip = {[15] = 1}};
  rec_t r = {0};
  CHECK_EQ(vg_sockaddr_bind(&a, 3478, record, &r), 0);
  CHECK_EQ(r.n, 1);
  CHECK_EQ(as6(&r, 0)->sin6_family, AF_INET6);
  CHECK_EQ(ntohs(as6(&r, 0)->sin6_port), 3478);
  CHECK(IN6_IS_ADDR_LOOPBACK(&as6(&r, 0)->sin6_addr));
}

static void test_any_is_dual_stack_first(void) {
  rec_t r = {0};
  CHECK_EQ(vg_sockaddr_bind(NULL, 8443, record, &r), 0);
  CHECK_EQ(r.n, 1);
  CHECK_EQ(as6(&r, 0)->sin6_family, AF_INET6);
  CHECK_EQ(ntohs(as6(&r, 0)->sin6_port), 8443);
  CHECK(IN6_IS_ADDR_UNSPECIFIED(&as6(&r, 0)->sin6_addr));
}

/* No IPv6 shows as either error, depending on how the host lacks it. */
static void check_falls_back(int no_v6) {
  rec_t r = {.fail = {no_v6, 0}};
  CHECK_EQ(vg_sockaddr_bind(NULL, 8443, record, &r), 0);
  CHECK_EQ(r.n, 2);
  CHECK_EQ(as6(&r, 0)->sin6_family, AF_INET6);
  CHECK_EQ(as4(&r, 1)->sin_family, AF_INET);
  CHECK_EQ(ntohs(as4(&r, 1)->sin_port), 8443);
  CHECK_EQ(ntohl(as4(&r, 1)->sin_addr.s_addr), INADDR_ANY);
}

static void test_no_ipv6_falls_back_to_v4(void) {
  check_falls_back(UV_EAFNOSUPPORT);
  check_falls_back(UV_EADDRNOTAVAIL);
}

static void test_other_errors_do_not_fall_back(void) {
  rec_t r = {.fail = {UV_EADDRINUSE, 0}};
  CHECK_EQ(vg_sockaddr_bind(NULL, 8443, record, &r), UV_EADDRINUSE);
  CHECK_EQ(r.n, 1);
  rec_t both = {.fail = {UV_EADDRNOTAVAIL, UV_EACCES}};
  CHECK_EQ(vg_sockaddr_bind(NULL, 80, record, &both), UV_EACCES); /* the last try's error */
  CHECK_EQ(both.n, 2);
}

VGT_MAIN(VGT_CASE(test_configured_v4_is_the_only_try), VGT_CASE(test_configured_v6),
         VGT_CASE(test_any_is_dual_stack_first), VGT_CASE(test_no_ipv6_falls_back_to_v4),
         VGT_CASE(test_other_errors_do_not_fall_back))
