/* WebSocket server side (RFC 6455) over wslay's event API, sans-IO: the
 * opening handshake, then framing between in-memory buffers. See ws.h. */
#include "sig/ws.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

/* ======================================================================== */
/* Shared helpers                                                           */

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch; }

static bool is_b64(unsigned char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '+' || ch == '/';
}

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* RFC 3629 §4: well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF). RFC 6455 §5.6 requires it of text frames. */
static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t more;
    uint8_t lo = 0x80, hi = 0xbf; /* range of the first continuation byte */
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) lo = 0xa0; /* overlong */
      if (c == 0xed) hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) lo = 0x90; /* overlong */
      if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
    } else {
      return false;
    }
    if (n - i - 1 < more) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k <= more; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return false;
    i += more + 1;
  }
  return true;
}

/* ======================================================================== */
/* Opening handshake (RFC 6455 §4.2)                                        */

/* RFC 6455 §1.3 / §4.2.2: appended to the client's key before hashing. */
static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* RFC 6455 §4.1: the key is base64 of 16 random bytes: 22 characters and
 * "==" padding. */
#define WS_KEY_LEN 24
#define WS_KEY_BYTES 16

/* True when the comma-separated list `v` (RFC 9110 §5.6.1) holds `token`,
 * compared ASCII case-insensitively, optional whitespace around items. */
static bool list_has_token(const char *v, const char *token) {
  size_t tl = strlen(token);
  while (*v) {
    while (*v == ' ' || *v == '\t' || *v == ',') v++;
    const char *start = v;
    while (*v && *v != ',') v++;
    const char *end = v;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if ((size_t)(end - start) == tl) {
      size_t i = 0;
      while (i < tl && lower((unsigned char)start[i]) == lower((unsigned char)token[i])) i++;
      if (i == tl) return true;
    }
  }
  return false;
}

static bool key_valid(const char *key) {
  if (strlen(key) != WS_KEY_LEN) return false;
  for (size_t i = 0; i < WS_KEY_LEN - 2; i++)
    if (!is_b64((unsigned char)key[i])) return false;
  if (key[WS_KEY_LEN - 2] != '=' || key[WS_KEY_LEN - 1] != '=') return false;
  /* Decode for real: 24 characters give 18 bytes, two of them padding. */
  unsigned char raw[WS_KEY_LEN / 4 * 3];
  int n = EVP_DecodeBlock(raw, (const unsigned char *)key, WS_KEY_LEN);
  return n == WS_KEY_BYTES + 2;
}

static int refuse(int status, const char *reason, const char **why) {
  if (why) *why = reason;
  return status;
}

int vg_ws_accept(const vg_http_request_t *req, char *accept_key, size_t cap, const char **why) {
  if (!req || !accept_key) return VG_EINVAL;
  if (cap < VG_WS_ACCEPT_KEY_SIZE) return VG_ENOSPC;
  accept_key[0] = '\0';
  /* RFC 6455 §4.2.1 items 1-2: an HTTP/1.1 or later GET with a Host. */
  if (req->method != VG_HTTP_GET) return refuse(400, "a WebSocket handshake must be a GET", why);
  if (req->http_major < 1 || (req->http_major == 1 && req->http_minor < 1))
    return refuse(400, "a WebSocket handshake needs HTTP/1.1", why);
  if (!vg_http_header(req, "host")) return refuse(400, "no Host header", why);
  /* Items 3-4: Upgrade: websocket, Connection: ... upgrade ... */
  const char *up = vg_http_header(req, "upgrade");
  if (!up || !list_has_token(up, "websocket"))
    return refuse(400, "Upgrade header does not name websocket", why);
  const char *conn = vg_http_header(req, "connection");
  if (!conn || !list_has_token(conn, "upgrade"))
    return refuse(400, "Connection header does not list upgrade", why);
  /* Item 6 and §4.4: another (or no) version → 426 naming ours. */
  const char *ver = vg_http_header(req, "sec-websocket-version");
  if (!ver || strcmp(ver, VG_WS_VERSION) != 0)
    return refuse(426, "unsupported Sec-WebSocket-Version (13 required)", why);
  /* Item 5: the nonce. */
  const char *key = vg_http_header(req, "sec-websocket-key");
  if (!key) return refuse(400, "no Sec-WebSocket-Key header", why);
  if (!key_valid(key)) return refuse(400, "Sec-WebSocket-Key is not base64 of 16 bytes", why);

  /* §4.2.2 item 5.4: base64(SHA-1(key || GUID)). */
  char cat[WS_KEY_LEN + sizeof WS_GUID];
  memcpy(cat, key, WS_KEY_LEN);
  memcpy(cat + WS_KEY_LEN, WS_GUID, sizeof WS_GUID);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(cat, WS_KEY_LEN + sizeof WS_GUID - 1, md, &md_len, EVP_sha1(), NULL) != 1 ||
      md_len != 20)
    return VG_ECRYPTO;
  if (EVP_EncodeBlock((unsigned char *)accept_key, md, 20) != VG_WS_ACCEPT_KEY_LEN)
    return VG_ECRYPTO;
  if (why) *why = NULL;
  return 0;
}

int vg_ws_handshake_response(const char *accept_key, const char *subprotocol, char *out,
                             size_t cap) {
  if (!accept_key || !out) return VG_EINVAL;
  /* 20 digest bytes in base64: 27 characters and one '='. */
  if (strlen(accept_key) != VG_WS_ACCEPT_KEY_LEN || accept_key[VG_WS_ACCEPT_KEY_LEN - 1] != '=')
    return VG_EINVAL;
  for (size_t i = 0; i < VG_WS_ACCEPT_KEY_LEN - 1; i++)
    if (!is_b64((unsigned char)accept_key[i])) return VG_EINVAL;
  if (subprotocol) {
    if (!*subprotocol) return VG_EINVAL;
    for (const char *p = subprotocol; *p; p++)
      if (!is_tchar((unsigned char)*p)) return VG_EINVAL;
  }
  const char *pieces[6];
  size_t n = 0;
  pieces[n++] =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  pieces[n++] = accept_key;
  pieces[n++] = "\r\n";
  if (subprotocol) {
    pieces[n++] = "Sec-WebSocket-Protocol: ";
    pieces[n++] = subprotocol;
    pieces[n++] = "\r\n";
  }
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += strlen(pieces[i]);
  len += 2; /* the empty line */
  if (len > cap || len > INT_MAX) return VG_ENOSPC;
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(pieces[i]);
    memcpy(out + off, pieces[i], l);
    off += l;
  }
  memcpy(out + off, "\r\n", 2);
  return (int)len;
}

/* ======================================================================== */
/* Framing                                                                  */

/* RFC 6455 §5.2, the frame wslay parses and writes for us:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               | Masking-key, if MASK set to 1 |
 *  +-------------------------------+-------------------------------+
 *  | Masking-key (continued)       |          Payload Data         |
 *  +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * A server frame header is therefore at most 10 bytes: 2 + 8 for a 64-bit
 * length, and no masking key. */
#define WS_MAX_SERVER_HEADER 10
/* Buffers start at this size and double as needed. Once empty, one grown
 * past WS_KEEP_BUF (by a large message) is freed, so idle connections stay
 * small; smaller ones are kept for the next message. */
#define WS_MIN_BUF 4096
#define WS_KEEP_BUF (64 * 1024)

/* The inbox holds received messages one after the other, each an entry
 * followed by its payload; the message being received is last, its entry
 * filled in when it completes:
 *
 *   rx: [entry|payload][entry|payload]...[entry (pending)|payload so far]
 *       ^rx_rd (next to poll)            ^rx_committed      ^cur_off
 *
 * Entries are stored with memcpy (the inbox is a byte buffer; they are not
 * aligned). */
typedef struct {
  uint32_t kind; /* vg_ws_msg_kind_t */
  size_t len;
} entry_t;

struct vg_ws {
  wslay_event_context_ptr ctx; /* owned */
  size_t max_message;
  size_t max_pending_out;
  int fail_code; /* sticky VG_E... once the object failed, else 0 */

  /* The bytes of the feed in progress (borrowed for the call). */
  const uint8_t *in;
  size_t in_len, in_off;

  /* Inbox (owned): complete entries in [rd, committed), then the data
   * message being received: its entry header at cur_off, its payload up to
   * len. Compacted at the start of each feed. */
  uint8_t *rx;
  size_t rx_cap, rx_len, rx_rd, rx_committed;
  bool assembling;   /* a text/binary message has started */
  bool data_frame;   /* the frame being received belongs to it */
  uint32_t cur_kind; /* of the message being assembled */
  size_t cur_off, cur_len;

  /* Closing. */
  bool closed_pending;  /* VG_WS_CLOSED is due once the inbox is empty */
  bool closed_reported; /* ...and has been polled */
  bool frame_error;     /* wslay rejected a frame header (no close code sent) */
  bool peer_close_seen; /* the peer's close frame, captured below */
  uint16_t our_code;    /* nonzero: we failed the connection with this code */
  const char *our_reason;
  uint16_t close_code;
  char close_reason[VG_WS_MAX_CLOSE_REASON + 1];
  size_t close_reason_len;

  /* Output (owned): bytes in [out_off, out_len) wait for poll_output. */
  uint8_t *out;
  size_t out_cap, out_len, out_off;
};

static int grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return VG_OK;
  size_t n = *cap ? *cap : WS_MIN_BUF;
  while (n < need) {
    if (n > SIZE_MAX / 2) {
      n = need;
      break;
    }
    n *= 2;
  }
  uint8_t *p = realloc(*buf, n);
  if (!p) return VG_ENOMEM;
  *buf = p;
  *cap = n;
  return VG_OK;
}

/* ---- wslay callbacks: memory instead of a socket ---- */

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
  (void)flags;
  vg_ws_t *ws = ud;
  size_t n = ws->in_len - ws->in_off;
  if (n == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (n > len) n = len;
  memcpy(buf, ws->in + ws->in_off, n);
  ws->in_off += n;
  return (ssize_t)n;
}

/* Never refuses (the bound is checked by the callers): wslay's queue is
 * always empty after a flush, and only our buffer holds output. */
static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud) {
  (void)flags;
  vg_ws_t *ws = ud;
  if (ws->out_off > 0 && ws->out_len + len > ws->out_cap) {
    memmove(ws->out, ws->out + ws->out_off, ws->out_len - ws->out_off);
    ws->out_len -= ws->out_off;
    ws->out_off = 0;
  }
  if (grow(&ws->out, &ws->out_cap, ws->out_len + len) < 0) {
    ws->fail_code = VG_ENOMEM;
    wslay_event_set_error(ctx, WSLAY_ERR_NOMEM);
    return -1;
  }
  memcpy(ws->out + ws->out_len, data, len);
  ws->out_len += len;
  return (ssize_t)len;
}

/* Fails the connection for the peer's fault with our code and reason
 * (RFC 6455 §7.1.7): queue the close, read nothing more. */
static void fail_peer(vg_ws_t *ws, wslay_event_context_ptr ctx, uint16_t code, const char *why) {
  if (!ws->our_code) {
    ws->our_code = code;
    ws->our_reason = why;
  }
  (void)wslay_event_queue_close(ctx, code, (const uint8_t *)why, strlen(why));
  wslay_event_shutdown_read(ctx);
}

static void cb_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud) {
  vg_ws_t *ws = ud;
  ws->data_frame = false;
  if (wslay_is_ctrl_frame(arg->opcode)) return; /* wslay buffers those */
  if (arg->opcode != WSLAY_CONTINUATION_FRAME) {
    /* wslay has checked the sequence (RFC 6455 §5.4): a new message. */
    if (grow(&ws->rx, &ws->rx_cap, ws->rx_len + sizeof(entry_t)) < 0) {
      ws->fail_code = VG_ENOMEM;
      wslay_event_shutdown_read(ctx);
      return;
    }
    ws->assembling = true;
    ws->cur_kind = arg->opcode == WSLAY_TEXT_FRAME ? VG_WS_TEXT : VG_WS_BINARY;
    ws->cur_off = ws->rx_len;
    ws->cur_len = 0;
    ws->rx_len += sizeof(entry_t);
  }
  /* RFC 6455 §7.4.1: 1009, a message too big to process. Checked on each
   * frame's announced length, before its payload arrives. */
  if (arg->payload_length > ws->max_message - ws->cur_len) {
    fail_peer(ws, ctx, VG_WS_CLOSE_TOO_BIG, "message too big");
    return;
  }
  ws->data_frame = true;
}

static void cb_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *arg, void *ud) {
  vg_ws_t *ws = ud;
  if (!ws->data_frame || arg->data_length == 0 || !wslay_event_get_read_enabled(ctx)) return;
  /* Grows lazily with what arrives, not with what a header announces. */
  if (grow(&ws->rx, &ws->rx_cap, ws->rx_len + arg->data_length) < 0) {
    ws->fail_code = VG_ENOMEM;
    wslay_event_shutdown_read(ctx);
    return;
  }
  memcpy(ws->rx + ws->rx_len, arg->data, arg->data_length);
  ws->rx_len += arg->data_length;
  ws->cur_len += arg->data_length;
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud) {
  vg_ws_t *ws = ud;
  if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
    /* wslay calls this only for a whole, valid message; after a failure
     * of ours in the same pass it may still call: drop it then. */
    if (!ws->assembling || !wslay_event_get_read_enabled(ctx)) return;
    entry_t e = {ws->cur_kind, ws->cur_len};
    memcpy(ws->rx + ws->cur_off, &e, sizeof e);
    ws->rx_committed = ws->rx_len;
    ws->assembling = false;
  } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
    /* wslay has checked the code (§7.4) and the reason's UTF-8, and queued
     * the answering close with the same code and reason (§5.5.1). */
    ws->peer_close_seen = true;
    ws->close_code = arg->status_code ? arg->status_code : VG_WS_CLOSE_NO_STATUS;
    size_t n = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
    if (n > VG_WS_MAX_CLOSE_REASON) n = VG_WS_MAX_CLOSE_REASON;
    /* wslay checks the reason's UTF-8 per received chunk, restarting two
     * bytes in, so a close frame split across reads escapes the check:
     * report such a reason as none. */
    if (n && !utf8_valid(arg->msg + 2, n)) n = 0;
    if (n) memcpy(ws->close_reason, arg->msg + 2, n);
    ws->close_reason[n] = '\0';
    ws->close_reason_len = n;
  }
  /* Ping: wslay queued the pong (§5.5.2). Pong: nothing to do (§5.5.3). */
}

/* ---- lifecycle ---- */

int vg_ws_create(const vg_ws_config_t *cfg, vg_ws_t **out) {
  *out = NULL;
  vg_ws_t *ws = calloc(1, sizeof *ws);
  if (!ws) return VG_ENOMEM;
  ws->max_message = cfg && cfg->max_message ? cfg->max_message : VG_WS_DEFAULT_MAX_MESSAGE;
  ws->max_pending_out =
      cfg && cfg->max_pending_out ? cfg->max_pending_out : VG_WS_DEFAULT_MAX_PENDING_OUT;
  struct wslay_event_callbacks cbs = {
      .recv_callback = cb_recv,
      .send_callback = cb_send,
      .genmask_callback = NULL, /* a server never masks (§5.1) */
      .on_frame_recv_start_callback = cb_frame_start,
      .on_frame_recv_chunk_callback = cb_frame_chunk,
      .on_frame_recv_end_callback = NULL,
      .on_msg_recv_callback = cb_msg,
  };
  if (wslay_event_context_server_init(&ws->ctx, &cbs, ws) != 0) goto fail;
  /* Data payloads come to cb_frame_chunk and are joined in our inbox (no
   * copy per frame in wslay); control frames are still buffered by wslay.
   * The message limit is ours (cb_frame_start), with a reason; wslay's
   * own, which closes without one, is out of the way. */
  wslay_event_config_set_no_buffering(ws->ctx, 1);
  wslay_event_config_set_max_recv_msg_length(ws->ctx, UINT64_MAX);
  *out = ws;
  return VG_OK;
fail:
  vg_ws_destroy(ws);
  return VG_ENOMEM;
}

void vg_ws_destroy(vg_ws_t *ws) {
  if (!ws) return;
  wslay_event_context_free(ws->ctx);
  free(ws->rx);
  free(ws->out);
  free(ws);
}

/* ---- input ---- */

/* Moves what has not been polled (and the message being assembled) to the
 * front of the inbox. */
static void compact_inbox(vg_ws_t *ws) {
  if (ws->rx_rd == 0) return;
  size_t d = ws->rx_rd;
  memmove(ws->rx, ws->rx + d, ws->rx_len - d);
  ws->rx_len -= d;
  ws->rx_committed -= d;
  if (ws->assembling) ws->cur_off -= d;
  ws->rx_rd = 0;
  if (ws->rx_len == 0 && ws->rx_cap > WS_KEEP_BUF) {
    free(ws->rx);
    ws->rx = NULL;
    ws->rx_cap = 0;
  }
}

/* Serialises everything wslay has queued into our output buffer. */
static void flush(vg_ws_t *ws) {
  if (wslay_event_send(ws->ctx) != 0 && !ws->fail_code) ws->fail_code = VG_ENOMEM;
}

/* Once wslay has stopped reading: the VG_WS_CLOSED to report. */
static void note_closed(vg_ws_t *ws) {
  if (ws->closed_pending) return;
  ws->closed_pending = true;
  if (ws->peer_close_seen) return; /* code and reason captured by cb_msg */
  const char *reason;
  if (ws->our_code) {
    ws->close_code = ws->our_code;
    reason = ws->our_reason;
  } else if (ws->frame_error) {
    ws->close_code = VG_WS_CLOSE_PROTOCOL;
    reason = "malformed frame";
  } else {
    /* wslay failed the connection with the code it has just sent; if our
     * own close had gone first it could send none: say 1002. */
    uint16_t sent = wslay_event_get_status_code_sent(ws->ctx);
    ws->close_code = sent == VG_WS_CLOSE_BAD_DATA ? VG_WS_CLOSE_BAD_DATA : VG_WS_CLOSE_PROTOCOL;
    reason = sent == VG_WS_CLOSE_BAD_DATA ? "invalid UTF-8" : "protocol error";
  }
  size_t n = strlen(reason);
  memcpy(ws->close_reason, reason, n + 1);
  ws->close_reason_len = n;
}

static size_t pending(const vg_ws_t *ws) { return ws->out_len - ws->out_off; }

int vg_ws_feed(vg_ws_t *ws, const uint8_t *in, size_t len) {
  if (ws->fail_code) return ws->fail_code;
  if (len > INT_MAX) return VG_EINVAL;
  compact_inbox(ws);
  if (!wslay_event_get_read_enabled(ws->ctx)) return (int)len; /* discarded */
  ws->in = in;
  ws->in_len = len;
  ws->in_off = 0;
  int r = wslay_event_recv(ws->ctx);
  ws->in = NULL;
  ws->in_len = ws->in_off = 0;
  if (r == WSLAY_ERR_NOMEM) {
    if (!ws->fail_code) ws->fail_code = VG_ENOMEM;
  } else if (r != 0) {
    /* Any other failure is a frame header wslay_frame rejected (our recv
     * callback never fails): wslay has queued a close without a code and
     * stopped reading. */
    ws->frame_error = true;
  }
  flush(ws);
  if (ws->fail_code) return ws->fail_code;
  if (!wslay_event_get_read_enabled(ws->ctx)) note_closed(ws);
  if (pending(ws) > ws->max_pending_out &&
      pending(ws) - ws->max_pending_out > VG_WS_CONTROL_SLACK) {
    ws->fail_code = VG_ELIMIT;
    return VG_ELIMIT;
  }
  return (int)len;
}

bool vg_ws_poll_message(vg_ws_t *ws, vg_ws_msg_t *msg) {
  memset(msg, 0, sizeof *msg);
  if (ws->rx_rd < ws->rx_committed) {
    entry_t e;
    memcpy(&e, ws->rx + ws->rx_rd, sizeof e);
    msg->kind = (vg_ws_msg_kind_t)e.kind;
    msg->data = ws->rx + ws->rx_rd + sizeof e;
    msg->len = e.len;
    msg->close_reason = "";
    ws->rx_rd += sizeof e + e.len;
    return true;
  }
  if (ws->closed_pending && !ws->closed_reported) {
    ws->closed_reported = true;
    msg->kind = VG_WS_CLOSED;
    msg->data = (const uint8_t *)ws->close_reason;
    msg->len = ws->close_reason_len;
    msg->close_code = ws->close_code;
    msg->close_reason = ws->close_reason;
    return true;
  }
  return false;
}

/* ---- output ---- */

static int send_msg(vg_ws_t *ws, uint8_t opcode, const uint8_t *data, size_t len) {
  if (ws->fail_code) return ws->fail_code;
  if (!wslay_event_get_write_enabled(ws->ctx) || wslay_event_get_close_sent(ws->ctx))
    return VG_ECLOSED;
  if (len && !data) return VG_EINVAL;
  if (opcode == WSLAY_TEXT_FRAME && !utf8_valid(data, len)) return VG_EINVAL;
  if (len > ws->max_pending_out || pending(ws) > ws->max_pending_out - len ||
      ws->max_pending_out - len - pending(ws) < WS_MAX_SERVER_HEADER)
    return VG_ELIMIT;
  /* wslay copies the payload into a message of its own (one malloc per
   * message we send), freed when flush() serialises it just below. */
  struct wslay_event_msg m = {opcode, len ? data : (const uint8_t *)"", len};
  int r = wslay_event_queue_msg(ws->ctx, &m);
  if (r == WSLAY_ERR_NO_MORE_MSG) return VG_ECLOSED;
  if (r != 0) return r == WSLAY_ERR_NOMEM ? VG_ENOMEM : VG_EINVAL;
  flush(ws);
  return ws->fail_code ? ws->fail_code : VG_OK;
}

int vg_ws_send_text(vg_ws_t *ws, const char *s, size_t len) {
  return send_msg(ws, WSLAY_TEXT_FRAME, (const uint8_t *)s, len);
}

int vg_ws_send_binary(vg_ws_t *ws, const uint8_t *b, size_t len) {
  return send_msg(ws, WSLAY_BINARY_FRAME, b, len);
}

/* RFC 6455 §7.4.1-7.4.2 and the IANA registry: codes an endpoint may put in
 * a close frame (1004-1006 and 1015 are reserved or report-only). */
static bool close_code_sendable(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

int vg_ws_close(vg_ws_t *ws, uint16_t code, const char *reason) {
  if (ws->fail_code) return ws->fail_code;
  size_t n = reason ? strlen(reason) : 0;
  if (code == 0 ? n > 0 : !close_code_sendable(code)) return VG_EINVAL;
  if (n > VG_WS_MAX_CLOSE_REASON || !utf8_valid((const uint8_t *)reason, n)) return VG_EINVAL;
  int r = wslay_event_queue_close(ws->ctx, code, (const uint8_t *)(n ? reason : ""), n);
  if (r == WSLAY_ERR_NO_MORE_MSG) return VG_OK; /* already closing */
  if (r != 0) return r == WSLAY_ERR_NOMEM ? VG_ENOMEM : VG_EINVAL;
  flush(ws);
  return ws->fail_code ? ws->fail_code : VG_OK;
}

int vg_ws_poll_output(vg_ws_t *ws, uint8_t *out, size_t cap) {
  size_t n = pending(ws);
  if (n > cap) n = cap;
  if (n > INT_MAX) n = INT_MAX;
  if (n == 0) return 0;
  memcpy(out, ws->out + ws->out_off, n);
  ws->out_off += n;
  if (ws->out_off == ws->out_len) {
    ws->out_off = ws->out_len = 0;
    if (ws->out_cap > WS_KEEP_BUF) {
      free(ws->out);
      ws->out = NULL;
      ws->out_cap = 0;
    }
  }
  return (int)n;
}

bool vg_ws_wants_close(const vg_ws_t *ws) {
  if (ws->fail_code) return true;
  wslay_event_context_ptr ctx = ws->ctx;
  return !wslay_event_get_read_enabled(ctx) && wslay_event_get_close_sent(ctx);
}

size_t vg_ws_pending_out(const vg_ws_t *ws) { return pending(ws); }
