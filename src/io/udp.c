#define _GNU_SOURCE /* sendmmsg, SO_RCVBUFFORCE, SO_SNDBUFFORCE */
#include "io/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "io/sockaddr.h"

/* libuv hands recvmmsg batches of 64 KiB slots carved from the buffer we
 * give it; 16 slots lets one wake-up drain 16 datagrams. */
#define DGRAM_SLOT (64 * 1024)
#define BATCH 16
/* Socket buffers. Every session shares this one socket: 1000 sessions at
 * 50 packets/s are 50,000 datagrams/s each way, and the kernel charges
 * about 1 KB of buffer per small datagram, so the default 208 KB overflows
 * after 4 ms of the loop being busy (an offer's DTLS key exchange, or the
 * CPU taken by another process) and drops checks and media. 8 MB holds
 * about 150 ms at that rate. */
#define RCVBUF_BYTES (8 * 1024 * 1024)
#define SNDBUF_BYTES (4 * 1024 * 1024)
/* Datagrams sent while a receive batch is handled are queued and go out
 * with one sendmmsg when the batch ends: an echo server answers each
 * datagram, so a batch of BATCH received gives about BATCH to send. The
 * largest we queue is an Ethernet-MTU datagram (every datagram this server
 * builds is smaller); a larger one is sent at once. */
#define TX_QUEUE 64
#define TX_SLOT 1500

typedef struct {
  struct mmsghdr msg[TX_QUEUE];
  struct iovec iov[TX_QUEUE];
  struct sockaddr_storage to[TX_QUEUE];
  uint8_t data[TX_QUEUE][TX_SLOT];
  size_t n;
} tx_queue_t;

struct vg_udp {
  uv_udp_t handle; /* first: the handle pointer is the object pointer */
  uv_check_t flusher; /* sends what is still queued once the loop's IO is done */
  bool v6;         /* a dual-stack IPv6 socket */
  bool inited;     /* the handle is live and must be closed through libuv */
  bool flusher_inited;
  bool in_batch;   /* inside on_read: sends are queued */
  int fd;          /* the socket (owned by the handle) */
  vg_udp_recv_fn on_recv;
  void *ud;
  vg_udp_stats_t stats;
  char *buf;       /* owned, BATCH * DGRAM_SLOT */
  tx_queue_t *txq; /* owned */
};

/* Sends the queue with as few sendmmsg calls as the kernel allows. A
 * datagram the kernel refuses (an unreachable or invalid destination) is
 * dropped and counted, and the rest still go; when the socket buffer is
 * full (EAGAIN) the remainder is dropped and counted: real-time media is
 * not worth sending late. */
static void flush(vg_udp_t *u) {
  tx_queue_t *q = u->txq;
  size_t off = 0;
  while (off < q->n) {
    int r = sendmmsg(u->fd, q->msg + off, (unsigned)(q->n - off), 0);
    u->stats.tx_batches++;
    if (r > 0) {
      for (int i = 0; i < r; i++) u->stats.tx_bytes += q->msg[off + (size_t)i].msg_len;
      u->stats.tx_packets += (uint64_t)r;
      off += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      u->stats.tx_dropped += q->n - off;
      break;
    }
    /* The error belongs to the first datagram not sent (sendmmsg reports
     * an error only when it could send none): skip that one. */
    VG_LOG(VG_LOG_DEBUG, NULL, "UDP send: %s", strerror(errno));
    u->stats.tx_dropped++;
    off++;
  }
  q->n = 0;
}

static void on_check(uv_check_t *h) {
  vg_udp_t *u = h->data;
  if (u->txq->n) flush(u);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  vg_udp_t *u = (vg_udp_t *)h;
  (void)suggested;
  b->base = u->buf;
  b->len = BATCH * DGRAM_SLOT;
}

static void on_read(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *sa,
                    unsigned flags) {
  vg_udp_t *u = (vg_udp_t *)h;
  (void)b;
  if (nread < 0) {
    VG_LOG(VG_LOG_WARN, NULL, "UDP receive error: %s", uv_strerror((int)nread));
    return;
  }
  if (nread == 0 || !sa) {
    /* Nothing, or the end of a recvmmsg batch: what it produced goes out. */
    u->in_batch = false;
    if (u->txq->n) flush(u);
    return;
  }
  u->in_batch = true;
  if (flags & UV_UDP_PARTIAL) {
    u->stats.rx_truncated++;
    return;
  }
  vg_addr_t from;
  if (vg_sockaddr_to_addr(sa, VG_TRANSPORT_UDP, &from) < 0) return;
  u->stats.rx_packets++;
  u->stats.rx_bytes += (uint64_t)nread;
  u->on_recv(u->ud, &from, (const uint8_t *)b->base, (size_t)nread);
}

/* Asks for `want` bytes of socket buffer: beyond net.core.[rw]mem_max when
 * privileged (SO_*BUFFORCE), else up to that limit. Returns what the
 * kernel granted (it reports twice the usable size), or -1. */
static int grow_buffer(int fd, int force_opt, int opt, int want) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &want, sizeof want) < 0 &&
      setsockopt(fd, SOL_SOCKET, opt, &want, sizeof want) < 0)
    return -1;
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, opt, &got, &len) < 0) return -1;
  return got;
}

static void size_buffers(vg_udp_t *u) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&u->handle, &fd) < 0) return;
  int rcv = grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, RCVBUF_BYTES);
  int snd = grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, SNDBUF_BYTES);
  if (rcv < RCVBUF_BYTES)
    VG_LOG(VG_LOG_WARN, NULL,
           "UDP receive buffer is %d bytes (wanted %d): with many sessions, raise "
           "net.core.rmem_max or run with CAP_NET_ADMIN",
           rcv, RCVBUF_BYTES);
  else
    VG_LOG(VG_LOG_DEBUG, NULL, "UDP socket buffers: receive %d, send %d bytes", rcv, snd);
}

static int bind_socket(uv_loop_t *loop, vg_udp_t *u, int family, const struct sockaddr *sa) {
  int r = uv_udp_init_ex(loop, &u->handle, (unsigned)family | UV_UDP_RECVMMSG);
  if (r < 0) return r;
  u->inited = true;
  r = uv_udp_bind(&u->handle, sa, 0);
  if (r == 0) size_buffers(u);
  return r;
}

typedef struct {
  uv_loop_t *loop; /* borrowed */
  vg_udp_t *u;     /* borrowed */
} bind_try_t;

/* One listening address from vg_sockaddr_bind; a dual-stack [::] socket
 * receives IPv4 too (as ::ffff:a.b.c.d), so sends to IPv4 go IPv4-mapped. */
static int bind_try(void *ud, const struct sockaddr *sa) {
  bind_try_t *bt = ud;
  vg_udp_t *u = bt->u;
  if (u->inited) { /* the [::] try failed: start over on a fresh handle */
    uv_close((uv_handle_t *)&u->handle, NULL);
    uv_run(bt->loop, UV_RUN_NOWAIT); /* finish closing before the memory is reused */
    u->inited = false;
  }
  u->v6 = sa->sa_family == AF_INET6;
  return bind_socket(bt->loop, u, sa->sa_family, sa);
}

int vg_udp_open(uv_loop_t *loop, const vg_addr_t *bind_addr, uint16_t port, vg_udp_recv_fn on_recv,
                void *ud, vg_udp_t **out) {
  *out = NULL;
  vg_udp_t *u = calloc(1, sizeof *u);
  if (!u) return UV_ENOMEM;
  u->buf = malloc(BATCH * DGRAM_SLOT);
  if (!u->buf) {
    free(u);
    return UV_ENOMEM;
  }
  u->txq = calloc(1, sizeof *u->txq);
  if (!u->txq) {
    free(u->buf);
    free(u);
    return UV_ENOMEM;
  }
  u->fd = -1;
  u->on_recv = on_recv;
  u->ud = ud;
  u->handle.data = u;
  bind_try_t bt = {loop, u};
  int r = vg_sockaddr_bind(bind_addr, port, bind_try, &bt);
  uv_os_fd_t fd;
  if (r == 0 && (r = uv_fileno((uv_handle_t *)&u->handle, &fd)) == 0) u->fd = fd;
  if (r == 0 && (r = uv_check_init(loop, &u->flusher)) == 0) {
    u->flusher_inited = true;
    u->flusher.data = u;
    uv_unref((uv_handle_t *)&u->flusher); /* never what keeps the loop running */
    r = uv_check_start(&u->flusher, on_check);
  }
  if (r == 0) r = uv_udp_recv_start(&u->handle, on_alloc, on_read);
  if (r < 0) {
    vg_udp_close(u);
    return r;
  }
  *out = u;
  return 0;
}

int vg_udp_send(vg_udp_t *u, const vg_addr_t *to, const uint8_t *buf, size_t len) {
  if (u->in_batch && len <= TX_SLOT) {
    tx_queue_t *q = u->txq;
    if (q->n == TX_QUEUE) flush(u);
    size_t i = q->n++;
    memcpy(q->data[i], buf, len);
    q->iov[i] = (struct iovec){.iov_base = q->data[i], .iov_len = len};
    socklen_t sl = vg_addr_to_sockaddr(to, u->v6, &q->to[i]);
    q->msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &q->to[i], .msg_namelen = sl,
                                             .msg_iov = &q->iov[i], .msg_iovlen = 1}};
    return 0;
  }
  struct sockaddr_storage ss;
  vg_addr_to_sockaddr(to, u->v6, &ss);
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  int r = uv_udp_try_send(&u->handle, &b, 1, (struct sockaddr *)&ss);
  if (r < 0) {
    u->stats.tx_dropped++;
    return r;
  }
  u->stats.tx_packets++;
  u->stats.tx_bytes += len;
  return 0;
}

void vg_udp_get_stats(const vg_udp_t *u, vg_udp_stats_t *out) { *out = u->stats; }

static void free_udp(vg_udp_t *u) {
  free(u->txq);
  free(u->buf);
  free(u);
}

/* The socket and the check handle close separately; the last one frees. */
static void on_closed(uv_handle_t *h) {
  vg_udp_t *u = h->data;
  if (h == (uv_handle_t *)&u->handle) u->inited = false;
  else u->flusher_inited = false;
  if (!u->inited && !u->flusher_inited) free_udp(u);
}

void vg_udp_close(vg_udp_t *u) {
  if (!u) return;
  if (u->inited && u->txq->n) flush(u);
  if (!u->inited && !u->flusher_inited) {
    free_udp(u);
    return;
  }
  if (u->inited && !uv_is_closing((uv_handle_t *)&u->handle))
    uv_close((uv_handle_t *)&u->handle, on_closed);
  if (u->flusher_inited && !uv_is_closing((uv_handle_t *)&u->flusher))
    uv_close((uv_handle_t *)&u->flusher, on_closed);
}
