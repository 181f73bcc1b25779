#include "app/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define DEFAULT_PORT 8080
#define DEFAULT_MAX_SESSIONS 100
#define MAX_MAX_SESSIONS 100000
/* How long the page gives ICE before it switches to the WebSocket path:
 * long enough for a slow TURN-less connectivity check, short enough that a
 * user behind an HTTP-only proxy hears their echo within ~3 s. */
#define DEFAULT_WS_FALLBACK_MS 2000
#define MAX_WS_FALLBACK_MS 60000

void vg_config_defaults(vg_config_t *c) {
  memset(c, 0, sizeof *c);
  c->port = DEFAULT_PORT;
  c->max_sessions = DEFAULT_MAX_SESSIONS;
  c->log_level = VG_LOG_INFO;
  snprintf(c->asr, sizeof c->asr, "pocketsphinx");
  c->asr_streams = 4;
  c->ws_fallback_ms = DEFAULT_WS_FALLBACK_MS;
}

const char *vg_config_usage(void) {
  return "usage: voxgate [options]\n"
         "\n"
         "A WebRTC voice server: echo (and later transcribe) from a web browser.\n"
         "One port number for everything: TCP for the page and signaling, UDP for media.\n"
         "\n"
         "  --port N           port for TCP and UDP (env VOXGATE_PORT, default 8080)\n"
         "  --bind ADDR        listen on this address only (env VOXGATE_BIND, default all)\n"
         "  --public-ip ADDR   advertise this address first, e.g. the NAT/Docker host's\n"
         "                     public IP; repeatable (env VOXGATE_PUBLIC_IP, comma-separated)\n"
         "  --token T          require 'Authorization: Bearer T' for WHIP (env VOXGATE_TOKEN)\n"
         "  --max-sessions N   concurrent sessions before 503 (env VOXGATE_MAX_SESSIONS, 100)\n"
         "  --log-level L      error, warn, info, debug (env VOXGATE_LOG_LEVEL, info)\n"
         "  --tls-cert FILE    PEM certificate for HTTPS on the same port (env VOXGATE_TLS_CERT);\n"
         "                     without it a self-signed one is made at start\n"
         "  --tls-key FILE     its PEM private key (env VOXGATE_TLS_KEY)\n"
         "  --tls-cert-out F   write the certificate in use to F, to install as trusted\n"
         "                     (env VOXGATE_TLS_CERT_OUT)\n"
         "  --asr SPEC         speech engine for mode=transcribe: pocketsphinx (default),\n"
         "                     exec:COMMAND (your program: 16 kHz s16le PCM on stdin, JSON\n"
         "                     lines on stdout), ws://HOST:PORT/PATH (a Vosk server)\n"
         "                     (env VOXGATE_ASR)\n"
         "  --asr-grammar F    JSGF grammar for a command vocabulary (env VOXGATE_ASR_GRAMMAR)\n"
         "  --asr-streams N    concurrent transcribe sessions (env VOXGATE_ASR_STREAMS, 4)\n"
         "  --workers N        recognition threads (env VOXGATE_WORKERS, one per core)\n"
         "  --ws-fallback-ms N how long the page waits for WebRTC before it carries the audio\n"
         "                     over a WebSocket instead (env VOXGATE_WS_FALLBACK_MS, 2000)\n"
         "  --help             this text\n"
         "\n"
         "Open 8080/tcp and 8080/udp (or your --port) in a firewall; nothing else.\n";
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out) {
  char *end;
  errno = 0;
  if (!*s || *s == '-' || *s == '+') return VG_EINVAL;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v < min || v > max) return VG_EINVAL;
  *out = v;
  return VG_OK;
}

static int add_public_ip(vg_config_t *c, const char *ip, char *err, size_t cap) {
  if (c->n_public_ips == VG_CONFIG_MAX_PUBLIC_IPS) {
    snprintf(err, cap, "too many public addresses (limit %d)", VG_CONFIG_MAX_PUBLIC_IPS);
    return VG_EINVAL;
  }
  vg_addr_t a;
  if (vg_addr_parse(&a, ip, 0, VG_TRANSPORT_UDP) < 0) {
    snprintf(err, cap, "public IP '%s' is not a literal IPv4 or IPv6 address", ip);
    return VG_EINVAL;
  }
  c->public_ips[c->n_public_ips++] = a;
  return VG_OK;
}

/* One setting by name, from a flag or the environment. */
static int apply(vg_config_t *c, const char *name, const char *v, char *err, size_t cap) {
  unsigned long n;
  if (strcmp(name, "port") == 0) {
    /* Browsers reject remote candidates below 1024 (RFC 8445 does not, but
     * Chromium does), and we advertise this port as a candidate. */
    if (parse_uint(v, 1024, 65535, &n) < 0) {
      snprintf(err, cap, "port '%s' must be a number from 1024 to 65535", v);
      return VG_EINVAL;
    }
    c->port = (uint16_t)n;
  } else if (strcmp(name, "bind") == 0) {
    if (vg_addr_parse(&c->bind, v, 0, VG_TRANSPORT_UDP) < 0) {
      snprintf(err, cap, "bind address '%s' is not a literal IP address", v);
      return VG_EINVAL;
    }
    c->has_bind = true;
  } else if (strcmp(name, "public-ip") == 0) {
    char list[512];
    snprintf(list, sizeof list, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
      if (add_public_ip(c, tok, err, cap) < 0) return VG_EINVAL;
  } else if (strcmp(name, "token") == 0) {
    if (strlen(v) >= sizeof c->token) {
      snprintf(err, cap, "token is longer than %d characters", VG_CONFIG_TOKEN_MAX - 1);
      return VG_EINVAL;
    }
    snprintf(c->token, sizeof c->token, "%s", v);
  } else if (strcmp(name, "max-sessions") == 0) {
    if (parse_uint(v, 1, MAX_MAX_SESSIONS, &n) < 0) {
      snprintf(err, cap, "max-sessions '%s' must be a number from 1 to %d", v, MAX_MAX_SESSIONS);
      return VG_EINVAL;
    }
    c->max_sessions = n;
  } else if (strcmp(name, "tls-cert") == 0 || strcmp(name, "tls-key") == 0 ||
             strcmp(name, "tls-cert-out") == 0) {
    char *dst = strcmp(name, "tls-cert") == 0  ? c->tls_cert
                : strcmp(name, "tls-key") == 0 ? c->tls_key
                                               : c->tls_cert_out;
    if (!*v || strlen(v) >= VG_CONFIG_PATH_MAX) {
      snprintf(err, cap, "--%s needs a file path shorter than %d characters", name, VG_CONFIG_PATH_MAX);
      return VG_EINVAL;
    }
    snprintf(dst, VG_CONFIG_PATH_MAX, "%s", v);
  } else if (strcmp(name, "asr") == 0 || strcmp(name, "asr-grammar") == 0) {
    char *dst = strcmp(name, "asr") == 0 ? c->asr : c->asr_grammar;
    if (!*v || strlen(v) >= VG_CONFIG_PATH_MAX) {
      snprintf(err, cap, "--%s needs a value shorter than %d characters", name, VG_CONFIG_PATH_MAX);
      return VG_EINVAL;
    }
    snprintf(dst, VG_CONFIG_PATH_MAX, "%s", v);
  } else if (strcmp(name, "asr-streams") == 0 || strcmp(name, "workers") == 0) {
    if (parse_uint(v, 1, 256, &n) < 0) {
      snprintf(err, cap, "--%s '%s' must be a number from 1 to 256", name, v);
      return VG_EINVAL;
    }
    if (strcmp(name, "workers") == 0) c->workers = n;
    else c->asr_streams = n;
  } else if (strcmp(name, "ws-fallback-ms") == 0) {
    if (parse_uint(v, 0, MAX_WS_FALLBACK_MS, &n) < 0) {
      snprintf(err, cap, "--ws-fallback-ms '%s' must be a number from 0 to %d", v, MAX_WS_FALLBACK_MS);
      return VG_EINVAL;
    }
    c->ws_fallback_ms = n;
  } else if (strcmp(name, "log-level") == 0) {
    int l = vg_log_level_parse(v);
    if (l < 0) {
      snprintf(err, cap, "log level '%s' is not one of error, warn, info, debug, trace", v);
      return VG_EINVAL;
    }
    c->log_level = l;
  } else {
    snprintf(err, cap, "unknown option --%s (see --help)", name);
    return VG_EINVAL;
  }
  return VG_OK;
}

int vg_config_from_env(vg_config_t *c, const char *(*getenv_fn)(const char *), char *err,
                       size_t cap) {
  static const struct {
    const char *env, *name;
  } vars[] = {{"VOXGATE_PORT", "port"},           {"VOXGATE_BIND", "bind"},
              {"VOXGATE_PUBLIC_IP", "public-ip"}, {"VOXGATE_TOKEN", "token"},
              {"VOXGATE_MAX_SESSIONS", "max-sessions"}, {"VOXGATE_LOG_LEVEL", "log-level"},
              {"VOXGATE_TLS_CERT", "tls-cert"},       {"VOXGATE_TLS_KEY", "tls-key"},
              {"VOXGATE_TLS_CERT_OUT", "tls-cert-out"}, {"VOXGATE_ASR", "asr"},
              {"VOXGATE_ASR_GRAMMAR", "asr-grammar"},  {"VOXGATE_ASR_STREAMS", "asr-streams"},
              {"VOXGATE_WORKERS", "workers"},         {"VOXGATE_WS_FALLBACK_MS", "ws-fallback-ms"}};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv_fn(vars[i].env);
    if (!v || !*v) continue;
    char why[200];
    if (apply(c, vars[i].name, v, why, sizeof why) < 0) {
      snprintf(err, cap, "%s: %s", vars[i].env, why);
      return VG_EINVAL;
    }
  }
  return VG_OK;
}

int vg_config_from_args(vg_config_t *c, int argc, char **argv, char *err, size_t cap) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      c->help = true;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) {
      snprintf(err, cap, "unexpected argument '%s' (see --help)", a);
      return VG_EINVAL;
    }
    char name[64];
    const char *value;
    const char *eq = strchr(a + 2, '=');
    if (eq) { /* --name=value */
      snprintf(name, sizeof name, "%.*s", (int)(eq - (a + 2)), a + 2);
      value = eq + 1;
    } else { /* --name value */
      snprintf(name, sizeof name, "%s", a + 2);
      if (i + 1 >= argc) {
        snprintf(err, cap, "--%s needs a value", name);
        return VG_EINVAL;
      }
      value = argv[++i];
    }
    if (apply(c, name, value, err, cap) < 0) return VG_EINVAL;
  }
  return VG_OK;
}
