/* The voxgate server: one event loop, one UDP socket and one TCP listener on
 * the same port number, a session per browser peer.
 *
 *   UDP datagram ─► peer table ─► session's vg_rtc ─► transmits, events
 *   HTTP request ─► api (WHIP, page, health, sessions) ─► new session / reply
 *   session timer ─► vg_rtc_handle_timeout at vg_rtc_poll_timeout
 */
#ifndef VG_APP_SERVER_H
#define VG_APP_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "app/config.h"

typedef struct vg_server vg_server_t;

/* Creates the server on `loop` and opens its sockets. On failure returns a
 * negative code with a one-line reason in `err`. */
int vg_server_create(uv_loop_t *loop, const vg_config_t *cfg, vg_server_t **out, char *err,
                     size_t err_cap) VG_MUST_USE;
/* Ends every session (RTCP BYE, DTLS close_notify), closes the sockets;
 * the loop then runs dry. Safe to call twice. */
void vg_server_shutdown(vg_server_t *srv);
/* Frees the server; after shutdown and after the loop has stopped. */
void vg_server_destroy(vg_server_t *srv);

size_t vg_server_session_count(const vg_server_t *srv);
/* The SHA-256 fingerprint of the HTTPS certificate ("AB:CD:..."). */
const char *vg_server_tls_fingerprint(const vg_server_t *srv);
/* Writes the URLs a person can open, one per line, into out. */
int vg_server_urls(const vg_server_t *srv, char *out, size_t cap);

#endif
