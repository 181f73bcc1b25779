/* WebSocket server side (RFC 6455), sans-IO, over wslay.
 *
 * Two parts:
 *
 *  1. The opening handshake (RFC 6455 §4.2): vg_ws_accept() checks an HTTP
 *     request that the HTTP codec flagged `upgrade` and computes
 *     Sec-WebSocket-Accept; vg_ws_handshake_response() writes the 101.
 *
 *  2. Framing (RFC 6455 §5): one vg_ws_t per upgraded connection. The IO
 *     layer feeds it the bytes that follow the request on the socket and
 *     drains what it has to send. It owns no socket, reads no clock and never
 *     calls back into the caller.
 *
 *   socket bytes ──> vg_ws_feed ──> [wslay] ──> vg_ws_poll_message ──> app
 *   socket <── vg_ws_poll_output <── [wslay] <── vg_ws_send_text/_binary
 *                                               vg_ws_close
 *
 * How the IO layer drives it, after each read:
 *
 *   vg_ws_feed(ws, bytes, n)            < 0: VG_ELIMIT / VG_ENOMEM → close TCP
 *   while (vg_ws_poll_message(ws, &m))  TEXT / BINARY to the app; CLOSED last
 *   ... the app sends replies ...       VG_ELIMIT → back-pressure, see below
 *   while ((n = vg_ws_poll_output(ws, out, cap)) > 0) write(out, n)
 *   if (vg_ws_wants_close(ws))          close TCP once those writes are done
 *
 * Frames go through wslay (Debian's libwslay, the event API): it checks the
 * masking, opcodes, RSV bits, control-frame rules, fragmentation and UTF-8,
 * answers pings and echoes the peer's close. This module adds the message
 * and output bounds, joins fragments into one buffer it owns, and keeps the
 * output in memory instead of writing to a socket.
 *
 * Protocol errors by the peer are not errors of vg_ws_feed: they fail the
 * connection (RFC 6455 §7.1.7). We queue a close frame, stop reading (later
 * bytes are discarded), report VG_WS_CLOSED with our code and a reason, and
 * vg_ws_wants_close() turns true; the IO layer drains the output and closes
 * the TCP connection:
 *
 *   unmasked client frame (§5.1), RSV bit set (§5.2: we negotiate no
 *   extension), unknown opcode (§5.2), continuation without a message or a
 *   new message inside a fragmented one (§5.4), a close code outside
 *   1000-1003, 1007-1011, 3000-4999 (§7.4; wslay's list)
 *                                             → 1002 (no reason text)
 *   control frame over 125 bytes or fragmented (§5.5), extended length not
 *   in its shortest form or over 2^63 (§5.2)  → wslay sends a close frame
 *                                               without a code; reported
 *                                               here as 1002
 *   invalid UTF-8 in a text message or close reason (§8.1) → 1007
 *   message over max_message (§7.4.1)         → 1009 "message too big"
 *
 * Back-pressure. Output waits here until vg_ws_poll_output takes it; the IO
 * layer takes it only while its socket keeps up (e.g. at most one write in
 * flight), so a peer that does not read leaves it here. A data send that
 * would take the waiting output over max_pending_out is refused with
 * VG_ELIMIT and nothing is queued; the IO layer then ends the session with
 * vg_ws_close(ws, 1008 "client not reading", or 1013 "server overloaded"
 * when the server itself is behind), and closes the TCP connection after a
 * short grace even if the close frame cannot be delivered. Control frames
 * (pongs, close) are not refused, but a peer that keeps pinging without
 * reading takes the output over max_pending_out + VG_WS_CONTROL_SLACK, and
 * vg_ws_feed then fails with VG_ELIMIT.
 *
 * Memory: the joined message being received grows to at most max_message;
 * complete messages wait in the same buffer until polled (the caller polls
 * them all after each feed); the output buffer is bounded as above; a
 * buffer grown past 64 KiB is freed once empty. We do not malloc per
 * frame; wslay's event API mallocs a copy of each message we queue (freed
 * at once, when it is serialised into our output buffer) and of each
 * control frame it receives. One vg_ws_t must be used by one thread at a
 * time.
 *
 * Upgrading a connection: vg_http_conn_feed stops right after the upgrade
 * request, so bytes of the same read past it are already WebSocket frames:
 * write the 101, create the vg_ws_t, and feed it those bytes first. */
#ifndef VG_SIG_WS_H
#define VG_SIG_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sig/http.h"

/* ------------------------------------------------------------------------ */
/* Opening handshake                                                        */

/* RFC 6455 §4.1: the only version we speak; a 426 (or 400) answer to a
 * handshake carries "Sec-WebSocket-Version: 13" (§4.4). */
#define VG_WS_VERSION "13"

/* Sec-WebSocket-Accept is base64 of a SHA-1 digest: 28 characters; a buffer
 * of VG_WS_ACCEPT_KEY_SIZE holds it with its NUL. */
#define VG_WS_ACCEPT_KEY_LEN 28
#define VG_WS_ACCEPT_KEY_SIZE (VG_WS_ACCEPT_KEY_LEN + 1)

/* The longest 101 response vg_ws_handshake_response writes without a
 * subprotocol; add the subprotocol's length plus 26 with one. */
#define VG_WS_HANDSHAKE_RESPONSE_MAX 160

/* Checks an upgrade request against RFC 6455 §4.2.1 and computes the
 * Sec-WebSocket-Accept value (§4.2.2 item 5.4: base64 of the SHA-1 of the
 * key followed by the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11):
 *
 *   - method GET, HTTP/1.1 or later, a Host header          else 400
 *   - Upgrade lists the token "websocket" (any case)        else 400
 *   - Connection lists the token "upgrade" (any case)       else 400
 *   - Sec-WebSocket-Version is "13"                          else 426
 *   - Sec-WebSocket-Key is base64 of 16 bytes (24 chars)    else 400
 *
 * Returns 0 when the request is a valid handshake, with the accept value
 * (VG_WS_ACCEPT_KEY_LEN characters, NUL-terminated) in accept_key; else the
 * HTTP status to answer with, 400 or 426, and *why (nullable; a static
 * one-line reason). Answer a 426 (RFC 6455 §4.4, RFC 9110 §15.5.22) with
 * the headers "Sec-WebSocket-Version: 13" and "Upgrade: websocket", and
 * close the connection after any refusal. Negative on the caller's mistakes:
 * VG_ENOSPC when cap < VG_WS_ACCEPT_KEY_SIZE, VG_EINVAL when req or
 * accept_key is NULL; VG_ECRYPTO if OpenSSL cannot compute SHA-1 (answer
 * 500).
 *
 * Not checked here, by design: the path, Origin (RFC 6455 §10.2: the
 * application may refuse other origins with 403), Sec-WebSocket-Protocol
 * (the application picks one of the client's and passes it to
 * vg_ws_handshake_response) and Sec-WebSocket-Extensions (we accept none,
 * so the answer lists none and the client uses none, §9.1). */
VG_MUST_USE int vg_ws_accept(const vg_http_request_t *req, char *accept_key, size_t cap,
                             const char **why);

/* Writes the whole 101 response (RFC 6455 §4.2.2 item 5) into out:
 *
 *   HTTP/1.1 101 Switching Protocols\r\n
 *   Upgrade: websocket\r\n
 *   Connection: Upgrade\r\n
 *   Sec-WebSocket-Accept: <accept_key>\r\n
 *   Sec-WebSocket-Protocol: <subprotocol>\r\n   (when subprotocol != NULL)
 *   \r\n
 *
 * accept_key is vg_ws_accept's output; subprotocol is nullable and must be
 * a token (RFC 9110 §5.6.2) the client offered. Returns the length written
 * (not NUL-terminated), VG_ENOSPC when it does not fit, VG_EINVAL when
 * accept_key is not 28 base64 characters or subprotocol is not a token. */
VG_MUST_USE int vg_ws_handshake_response(const char *accept_key, const char *subprotocol,
                                         char *out, size_t cap);

/* ------------------------------------------------------------------------ */
/* Framing                                                                  */

/* Defaults for vg_ws_config_t. 1 MiB is ~30 s of 16 kHz PCM in one message,
 * far beyond any JSON control message or 20 ms audio frame. */
#define VG_WS_DEFAULT_MAX_MESSAGE (1024 * 1024)
#define VG_WS_DEFAULT_MAX_PENDING_OUT (1024 * 1024)

/* Control frames (pong, close) may take the pending output this far past
 * max_pending_out before vg_ws_feed gives up on the peer: ~60 full pongs
 * (RFC 6455 §5.5: at most 125 bytes of payload each). */
#define VG_WS_CONTROL_SLACK (8 * 1024)

/* RFC 6455 §5.5.1: a close frame holds a 2-byte code and at most 123 bytes
 * of reason. */
#define VG_WS_MAX_CLOSE_REASON 123

/* RFC 6455 §7.4.1 close codes used by voxgate. */
#define VG_WS_CLOSE_NORMAL 1000        /* the session ended */
#define VG_WS_CLOSE_GOING_AWAY 1001    /* the server is shutting down */
#define VG_WS_CLOSE_PROTOCOL 1002      /* the peer broke RFC 6455 */
#define VG_WS_CLOSE_UNSUPPORTED 1003   /* a kind of message we do not take */
#define VG_WS_CLOSE_NO_STATUS 1005     /* (reported only) close without a code */
#define VG_WS_CLOSE_BAD_DATA 1007      /* text that is not UTF-8 */
#define VG_WS_CLOSE_POLICY 1008        /* e.g. the client does not read */
#define VG_WS_CLOSE_TOO_BIG 1009       /* message over max_message */
#define VG_WS_CLOSE_INTERNAL 1011      /* the server failed */
#define VG_WS_CLOSE_TRY_AGAIN 1013     /* overloaded: try again later */

typedef struct vg_ws vg_ws_t;

typedef struct {
  size_t max_message;     /* largest message received, joined: 0 = default */
  size_t max_pending_out; /* output waiting for poll_output: 0 = default */
} vg_ws_config_t;

typedef enum {
  VG_WS_TEXT = 1, /* a text message: valid UTF-8 (checked), not NUL-terminated */
  VG_WS_BINARY,   /* a binary message */
  VG_WS_CLOSED,   /* the connection is closing; always the last message */
} vg_ws_msg_kind_t;

/* A whole message: fragments are joined, control frames are not reported.
 * Borrowed from the vg_ws_t until the next vg_ws_poll_message, vg_ws_feed
 * or vg_ws_destroy. */
typedef struct {
  vg_ws_msg_kind_t kind;
  const uint8_t *data; /* borrowed; never NULL (empty messages exist); for
                          VG_WS_CLOSED the reason's bytes */
  size_t len;
  /* VG_WS_CLOSED only (0 otherwise). Reported once, when the connection
   * stops reading, for either cause:
   *  - the peer sent a close frame: its code (VG_WS_CLOSE_NO_STATUS when it
   *    had none) and reason; we have answered it (RFC 6455 §5.5.1) — also
   *    when it answers a vg_ws_close of ours;
   *  - the peer broke the protocol: the code we closed with and our reason
   *    (see the table at the top). */
  uint16_t close_code;
  const char *close_reason; /* borrowed, NUL-terminated, "" when none */
} vg_ws_msg_t;

/* Creates the server side of one upgraded connection, in the OPEN state
 * (the 101 has been sent). cfg is nullable (all defaults) and copied.
 * Returns VG_OK and sets *out (owned by the caller, freed with
 * vg_ws_destroy), or VG_ENOMEM. */
VG_MUST_USE int vg_ws_create(const vg_ws_config_t *cfg, vg_ws_t **out);

/* Frees ws and everything its messages borrow. NULL is a no-op. */
void vg_ws_destroy(vg_ws_t *ws);

/* Feeds bytes read from the socket (borrowed for the call; nullable when
 * len is 0): frames are parsed, complete messages queued for
 * vg_ws_poll_message, and pongs / close answers queued for
 * vg_ws_poll_output. Invalidates the last polled message. Returns len:
 * every byte is consumed (once the connection stops reading, after a close
 * or a protocol error, they are discarded). Fails with:
 *   VG_ELIMIT  the output waiting for poll_output passed
 *              max_pending_out + VG_WS_CONTROL_SLACK (the peer sends but
 *              does not read): close the TCP connection;
 *   VG_ENOMEM  a buffer could not grow.
 *   VG_EINVAL  len > INT_MAX (feed a socket read at a time).
 * Once failed (VG_ELIMIT, VG_ENOMEM), every later feed, send and close
 * returns the same code. */
VG_MUST_USE int vg_ws_feed(vg_ws_t *ws, const uint8_t *in, size_t len);

/* Takes the next complete message into *msg (borrowed, see vg_ws_msg_t).
 * Returns false when none is waiting. Poll until false after every feed. */
bool vg_ws_poll_message(vg_ws_t *ws, vg_ws_msg_t *msg);

/* Queue one message, sent as a single frame (FIN set, unmasked: RFC 6455
 * §5.1 forbids a server to mask). The bytes are copied; s / b are nullable
 * when len is 0. Returns VG_OK, or:
 *   VG_EINVAL  text that is not valid UTF-8 (RFC 6455 §5.6; the client
 *              would fail the connection with 1007);
 *   VG_ELIMIT  the frame would take the pending output over
 *              max_pending_out: nothing is queued (back-pressure, above);
 *   VG_ECLOSED a close frame has been queued (ours, our answer to the
 *              peer's, or after a protocol error);
 *   VG_ENOMEM, or the failure code of a failed vg_ws_t. */
VG_MUST_USE int vg_ws_send_text(vg_ws_t *ws, const char *s, size_t len);
VG_MUST_USE int vg_ws_send_binary(vg_ws_t *ws, const uint8_t *b, size_t len);

/* Starts the closing handshake (RFC 6455 §7.1.2): queues a close frame with
 * `code` and `reason` (nullable; at most VG_WS_MAX_CLOSE_REASON bytes of
 * UTF-8). Later sends return VG_ECLOSED; messages the peer sent before it
 * saw our close are still reported, then VG_WS_CLOSED when its close
 * arrives. code 0 sends a close frame without a code (then reason must be
 * empty). Returns VG_OK (also when a close is already queued: the first one
 * stands), VG_EINVAL for a code an endpoint may not send (RFC 6455 §7.4:
 * 1000-1003, 1007-1011, 1012-1014 and 3000-4999 are allowed) or a bad
 * reason, VG_ENOMEM, or the failure code of a failed vg_ws_t.
 * The IO layer closes the TCP connection when vg_ws_wants_close() turns
 * true, or a few seconds after the close if the peer never answers. */
VG_MUST_USE int vg_ws_close(vg_ws_t *ws, uint16_t code, const char *reason);

/* Moves up to cap bytes to write to the socket into out. Returns the count
 * (> 0), or 0 when nothing is pending. Works in every state (after a
 * failure: whatever was queued before it). */
VG_MUST_USE int vg_ws_poll_output(vg_ws_t *ws, uint8_t *out, size_t cap);

/* True once the WebSocket is over: our close frame is in the output and
 * either the peer's close has been received or we failed the connection.
 * The IO layer then drains vg_ws_poll_output and closes the TCP connection
 * (RFC 6455 §7.1.1: the server closes it first). Also true after vg_ws_feed
 * failed. */
bool vg_ws_wants_close(const vg_ws_t *ws);

/* Bytes waiting for vg_ws_poll_output (the measure max_pending_out limits). */
size_t vg_ws_pending_out(const vg_ws_t *ws);

#endif
