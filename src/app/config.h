/* Server configuration: defaults, then environment variables, then flags.
 *
 *   flag               environment            default
 *   --port N           VOXGATE_PORT           8080 (TCP for HTTP, UDP for media)
 *   --bind ADDR        VOXGATE_BIND           all interfaces
 *   --public-ip ADDR   VOXGATE_PUBLIC_IP      none (repeatable; env comma-separated)
 *   --token T          VOXGATE_TOKEN          none (WHIP needs no auth)
 *   --max-sessions N   VOXGATE_MAX_SESSIONS   100
 *   --log-level L      VOXGATE_LOG_LEVEL      info
 *   --tls-cert FILE    VOXGATE_TLS_CERT       none: a self-signed certificate made at start
 *   --tls-key FILE     VOXGATE_TLS_KEY        none (may be the certificate file)
 *   --tls-cert-out F   VOXGATE_TLS_CERT_OUT   none: write the certificate in use, to trust it
 *   --asr SPEC         VOXGATE_ASR            pocketsphinx (or exec:COMMAND, ws://HOST:PORT/PATH)
 *   --asr-grammar F    VOXGATE_ASR_GRAMMAR    none: a JSGF command grammar (pocketsphinx)
 *   --asr-streams N    VOXGATE_ASR_STREAMS    4: concurrent transcribe sessions
 *   --workers N        VOXGATE_WORKERS        one per core: recognition threads
 *   --ws-fallback-ms N VOXGATE_WS_FALLBACK_MS 2000: the page's wait for ICE before it
 *                                             uses /ws/audio (sent in X-Voxgate-Fallback-Ms)
 */
#ifndef VG_APP_CONFIG_H
#define VG_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"
#include "core/rtc.h"

#define VG_CONFIG_MAX_PUBLIC_IPS 8
#define VG_CONFIG_TOKEN_MAX 256
#define VG_CONFIG_PATH_MAX 1024

typedef struct {
  uint16_t port;
  bool has_bind;
  vg_addr_t bind; /* port unset */
  vg_addr_t public_ips[VG_CONFIG_MAX_PUBLIC_IPS];
  size_t n_public_ips;
  char token[VG_CONFIG_TOKEN_MAX]; /* "" = none */
  size_t max_sessions;
  int log_level; /* vg_log_level_t */
  char tls_cert[VG_CONFIG_PATH_MAX];     /* "" = generate */
  char tls_key[VG_CONFIG_PATH_MAX];
  char tls_cert_out[VG_CONFIG_PATH_MAX]; /* "" = do not write */
  char asr[VG_CONFIG_PATH_MAX];          /* engine spec */
  char asr_grammar[VG_CONFIG_PATH_MAX];  /* "" = none */
  size_t asr_streams;
  size_t workers;                        /* 0 = one per core */
  uint64_t ws_fallback_ms;
  uint64_t http_idle_ms;                 /* 0 = the IO layer's default (tests shorten it) */
  bool help;
} vg_config_t;

void vg_config_defaults(vg_config_t *c);
/* Applies VOXGATE_* variables from `getenv_fn` (getenv, or a test's). On a
 * bad value returns VG_EINVAL and writes a one-line reason into err. */
int vg_config_from_env(vg_config_t *c, const char *(*getenv_fn)(const char *), char *err,
                       size_t err_cap) VG_MUST_USE;
/* Applies command-line flags (argv[0] is skipped). Same error rules. */
int vg_config_from_args(vg_config_t *c, int argc, char **argv, char *err, size_t err_cap) VG_MUST_USE;
/* The --help text. */
const char *vg_config_usage(void);

#endif
