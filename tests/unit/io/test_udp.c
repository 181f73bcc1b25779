/* The shared UDP socket on loopback: what on_recv sends leaves batched
 * (sendmmsg) and in order; a datagram the kernel refuses in the middle of
 * a batch is dropped and counted while the rest still go; a send outside a
 * receive batch goes at once. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/log.h"
#include "io/udp.h"
#include "vgtest.h"

#define N 12

typedef struct {
  vg_udp_t *udp;
  int received;
  int bad_after; /* after this many, also send one to port 0 (refused) */
} echo_t;

/* One datagram from the non-blocking `fd`, waiting up to ~100 ms for it.
 * Returns its length, or -1 when none came. */
static ssize_t recv_wait(int fd, uint8_t *d, size_t cap) {
  ssize_t n = -1;
  for (int k = 0; k < 100 && n < 0; k++) {
    n = recv(fd, d, cap, 0);
    if (n < 0) {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  }
  return n;
}

/* Echoes every datagram to its source; once, an extra send the kernel
 * refuses (UDP to port 0 is EINVAL) lands in the middle of the batch. */
static void on_recv(void *ud, const vg_addr_t *from, const uint8_t *buf, size_t len) {
  echo_t *e = ud;
  e->received++;
  if (e->received == e->bad_after) {
    vg_addr_t bad = *from;
    bad.port = 0;
    CHECK_EQ(vg_udp_send(e->udp, &bad, buf, len), 0); /* queued: fails later */
  }
  CHECK_EQ(vg_udp_send(e->udp, from, buf, len), 0);
}

static int client_socket(struct sockaddr_in *self) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
  socklen_t sl = sizeof *self;
  getsockname(fd, (struct sockaddr *)self, &sl);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

static uint16_t port_of(int salt) { return (uint16_t)(20000 + (getpid() * 13 + salt * 7) % 30000); }

static void test_batch_in_order_with_a_refused_datagram(void) {
  vg_log_set_level(VG_LOG_ERROR);
  uv_loop_t loop;
  CHECK_EQ(uv_loop_init(&loop), 0);
  echo_t e = {.bad_after = 4};
  vg_addr_t bind_addr;
  CHECK_EQ(vg_addr_parse(&bind_addr, "127.0.0.1", 0, VG_TRANSPORT_UDP), VG_OK);
  uint16_t port = port_of(1);
  CHECK_EQ(vg_udp_open(&loop, &bind_addr, port, on_recv, &e, &e.udp), 0);
  struct sockaddr_in self;
  int fd = client_socket(&self);
  CHECK(fd >= 0);
  struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &srv.sin_addr);
  /* All N are in the server's queue before its loop runs: one batch. */
  for (uint8_t i = 0; i < N; i++) {
    uint8_t d[32];
    memset(d, i, sizeof d);
    CHECK_EQ(sendto(fd, d, sizeof d, 0, (struct sockaddr *)&srv, sizeof srv), (ssize_t)sizeof d);
  }
  for (int k = 0; k < 50 && e.received < N; k++) uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_EQ(e.received, N);
  /* Every echo came back, in order, although one send between them failed. */
  for (uint8_t i = 0; i < N; i++) {
    uint8_t d[64];
    ssize_t n = recv_wait(fd, d, sizeof d);
    CHECK_EQ(n, 32);
    CHECK_EQ(d[0], i);
    CHECK_EQ(d[31], i);
  }
  vg_udp_stats_t st;
  vg_udp_get_stats(e.udp, &st);
  CHECK_EQ(st.rx_packets, N);
  CHECK_EQ(st.tx_packets, N);
  CHECK_EQ(st.tx_bytes, N * 32);
  CHECK_EQ(st.tx_dropped, 1);
  /* Batched: the refused datagram splits the batch in two sends and costs
   * one failed call; never one call per datagram. */
  CHECK(st.tx_batches >= 3);
  CHECK(st.tx_batches < N);

  /* Outside a receive batch a send goes at once, without the loop. */
  vg_addr_t to;
  vg_addr_set_v4(&to, ntohl(self.sin_addr.s_addr), ntohs(self.sin_port), VG_TRANSPORT_UDP);
  const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
  CHECK_EQ(vg_udp_send(e.udp, &to, hello, sizeof hello), 0);
  uint8_t d[16];
  ssize_t n = recv_wait(fd, d, sizeof d);
  CHECK_EQ(n, 5);
  CHECK_MEM(d, hello, 5);
  vg_udp_get_stats(e.udp, &st);
  CHECK_EQ(st.tx_packets, N + 1);

  close(fd);
  vg_udp_close(e.udp);
  CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0); /* both handles closed, memory freed */
  CHECK_EQ(uv_loop_close(&loop), 0);
}

/* More echoes than the queue holds (64) in one batch still all go out:
 * the queue is flushed when full. */
static void test_queue_full_flushes(void) {
  enum { M = 150 };
  uv_loop_t loop;
  CHECK_EQ(uv_loop_init(&loop), 0);
  echo_t e = {.bad_after = -1};
  vg_addr_t bind_addr;
  CHECK_EQ(vg_addr_parse(&bind_addr, "127.0.0.1", 0, VG_TRANSPORT_UDP), VG_OK);
  uint16_t port = port_of(2);
  CHECK_EQ(vg_udp_open(&loop, &bind_addr, port, on_recv, &e, &e.udp), 0);
  struct sockaddr_in self;
  int fd = client_socket(&self);
  CHECK(fd >= 0);
  int big = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &srv.sin_addr);
  for (int i = 0; i < M; i++) {
    uint8_t d[8] = {(uint8_t)i};
    CHECK_EQ(sendto(fd, d, sizeof d, 0, (struct sockaddr *)&srv, sizeof srv), 8);
  }
  for (int k = 0; k < 100 && e.received < M; k++) uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_EQ(e.received, M);
  int got = 0;
  uint8_t d[16];
  for (int k = 0; k < 200 && got < M; k++) {
    if (recv(fd, d, sizeof d, 0) == 8) {
      CHECK_EQ(d[0], (uint8_t)got);
      got++;
    } else {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  }
  CHECK_EQ(got, M);
  vg_udp_stats_t st;
  vg_udp_get_stats(e.udp, &st);
  CHECK_EQ(st.tx_packets, M);
  CHECK_EQ(st.tx_dropped, 0);
  CHECK(st.tx_batches < M / 8);
  close(fd);
  vg_udp_close(e.udp);
  CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

VGT_MAIN(VGT_CASE(test_batch_in_order_with_a_refused_datagram), VGT_CASE(test_queue_full_flushes))
