/* SDP parsing (RFC 8866) for WebRTC offers, answers and trickle-ICE
 * sdpfrags (RFC 8840). The builders live in sdp_build.c.
 *
 * A description is a list of lines "<letter>=<value>", session level first,
 * then one section per m= line:
 *
 *   v=0                                   <- must come first
 *   o=- 4611731400430051336 2 IN IP4 127.0.0.1
 *   s=-
 *   t=0 0
 *   a=group:BUNDLE 0 1                    <- session attributes
 *   m=audio 9 UDP/TLS/RTP/SAVPF 111 0     <- a section starts
 *   c=IN IP4 0.0.0.0
 *   a=mid:0                               <- media attributes
 *   a=rtpmap:111 opus/48000/2
 *   m=video ...                           <- the next section
 *
 * The parser walks the caller's text as (pointer, length) spans and never
 * writes to it; values it keeps are copied into the bounded fields of
 * vg_sdp_t. */
#include "core/sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/sdp_internal.h"

/* ---- Spans and character classes ----------------------------------------- */

bool vg_sdp_span_eq(vg_span_t s, const char *lit) {
  size_t n = strlen(lit);
  return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

bool vg_sdp_span_ieq(vg_span_t s, const char *lit) {
  if (s.n != strlen(lit)) return false;
  for (size_t i = 0; i < s.n; i++)
    if (lower(s.p[i]) != lower(lit[i])) return false;
  return true;
}

bool vg_sdp_ieq(const char *a, const char *b) {
  return vg_sdp_span_ieq((vg_span_t){a, strlen(a)}, b);
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

vg_span_t vg_sdp_span_token(vg_span_t *rest) {
  size_t i = 0;
  while (i < rest->n && is_space(rest->p[i])) i++;
  size_t start = i;
  while (i < rest->n && !is_space(rest->p[i])) i++;
  vg_span_t tok = {rest->p ? rest->p + start : NULL, i - start};
  if (rest->p) rest->p += i;
  rest->n -= i;
  return tok;
}

vg_span_t vg_sdp_span_split(vg_span_t *s, char sep) {
  vg_span_t left = *s;
  const char *at = s->n ? memchr(s->p, sep, s->n) : NULL;
  if (!at) {
    s->p = NULL;
    s->n = 0;
    return left;
  }
  left.n = (size_t)(at - s->p);
  s->n -= left.n + 1;
  s->p = at + 1;
  return left;
}

vg_span_t vg_sdp_span_split_left(vg_span_t s, char sep) { return vg_sdp_span_split(&s, sep); }

vg_span_t vg_sdp_span_trim(vg_span_t s) {
  while (s.n && is_space(s.p[0])) s.p++, s.n--;
  while (s.n && is_space(s.p[s.n - 1])) s.n--;
  return s;
}

bool vg_sdp_span_u32(vg_span_t s, uint32_t max, uint32_t *out) {
  if (s.n == 0 || s.n > 10) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < '0' || s.p[i] > '9') return false;
    v = v * 10 + (uint64_t)(s.p[i] - '0');
  }
  if (v > max) return false;
  *out = (uint32_t)v;
  return true;
}

bool vg_sdp_span_copy(char *dst, size_t cap, vg_span_t s) {
  if (s.n >= cap) return false;
  if (s.n) memcpy(dst, s.p, s.n);
  dst[s.n] = '\0';
  return true;
}

static bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool vg_sdp_ice_chars(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_alnum(p[i]) && p[i] != '+' && p[i] != '/') return false;
  return true;
}

bool vg_sdp_token_chars(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_alnum(p[i]) && !strchr("!#$%&'*+-.^_`{|}~", p[i])) return false;
  return n > 0;
}

/* ---- Fingerprints --------------------------------------------------------- */

/* RFC 8122 5 names the hash functions from RFC 3279 / RFC 4055 ("Hash
 * Function Textual Names" registry); the digest length checks the value. */
static const struct {
  const char *name;
  int len;
} fp_algs[] = {
    {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64}, {"sha-224", 28},
    {"sha-1", 20},   {"md5", 16},     {"md2", 16},
};

int vg_sdp_fingerprint_alg_len(vg_span_t alg) {
  for (size_t i = 0; i < sizeof fp_algs / sizeof fp_algs[0]; i++)
    if (vg_sdp_span_ieq(alg, fp_algs[i].name)) return fp_algs[i].len;
  return -1;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*   fingerprint = 2UHEX *(":" 2UHEX)   (RFC 8122 5; lower case accepted) */
bool vg_sdp_fingerprint_decode(vg_sdp_fingerprint_t *fp, vg_span_t alg, vg_span_t value) {
  int want = vg_sdp_fingerprint_alg_len(alg);
  if (want < 0 || value.n != (size_t)want * 3 - 1) return false;
  vg_sdp_fingerprint_t f;
  memset(&f, 0, sizeof f);
  for (int i = 0; i < want; i++) {
    const char *h = value.p + i * 3;
    int hi = hex_digit(h[0]), lo = hex_digit(h[1]);
    if (hi < 0 || lo < 0 || (i + 1 < want && h[2] != ':')) return false;
    f.bytes[i] = (uint8_t)(hi << 4 | lo);
    static const char up[] = "0123456789ABCDEF";
    f.value[i * 3] = up[hi];
    f.value[i * 3 + 1] = up[lo];
    if (i + 1 < want) f.value[i * 3 + 2] = ':';
  }
  for (size_t i = 0; i < alg.n; i++) f.alg[i] = lower(alg.p[i]);
  f.len = (uint8_t)want;
  *fp = f;
  return true;
}

/* ---- Parser state --------------------------------------------------------- */

typedef struct {
  vg_sdp_t *sdp;
  bool frag;             /* parsing an sdpfrag: no v=, sections may start at a=mid */
  unsigned line;         /* 1-based number of the line being parsed */
  bool saw_v;
  vg_sdp_media_t *m;     /* current section, NULL at session level; borrowed */
  /* Which values a section (index) or the session set itself, so that the
   * session-level ones can be inherited afterwards (RFC 8866 5: media-level
   * attributes override session-level ones). */
  bool own_ufrag[VG_SDP_MAX_MEDIA], own_pwd[VG_SDP_MAX_MEDIA];
  bool own_fp[VG_SDP_MAX_MEDIA], own_setup[VG_SDP_MAX_MEDIA];
  bool own_dir[VG_SDP_MAX_MEDIA], own_conn[VG_SDP_MAX_MEDIA];
  bool has_session_dir;
  vg_sdp_direction_t session_dir;
  bool session_eoc;      /* session-level a=end-of-candidates: all sections */
} parser_t;

static int fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats "line N: <reason>" into the description's why_buf. */
static int fail(parser_t *ps, const char *fmt, ...) {
  char *buf = ps->sdp->why_buf;
  int n = snprintf(buf, VG_SDP_WHY_LEN, "line %u: ", ps->line);
  if (n < 0 || n >= VG_SDP_WHY_LEN) n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, VG_SDP_WHY_LEN - (size_t)n, fmt, ap);
  va_end(ap);
  return VG_EINVAL;
}

/* Copies a value into a bounded field, or fails naming the field. */
static int copy_value(parser_t *ps, char *dst, size_t cap, vg_span_t v, const char *what) {
  if (!vg_sdp_span_copy(dst, cap, v))
    return fail(ps, "%s value longer than %zu characters", what, cap - 1);
  return VG_OK;
}

static vg_sdp_media_t *new_section(parser_t *ps) {
  vg_sdp_t *s = ps->sdp;
  if (s->n_media == VG_SDP_MAX_MEDIA) return NULL;
  vg_sdp_media_t *m = &s->media[s->n_media++];
  memset(m, 0, sizeof *m);
  ps->m = m;
  return m;
}

static size_t media_index(const parser_t *ps) { return (size_t)(ps->m - ps->sdp->media); }

/* ---- m= and c= ------------------------------------------------------------ */

/* RFC 8866 5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
static int parse_m_line(parser_t *ps, vg_span_t v) {
  vg_span_t media = vg_sdp_span_token(&v), port = vg_sdp_span_token(&v);
  vg_span_t proto = vg_sdp_span_token(&v), fmt = vg_sdp_span_token(&v);
  if (fmt.n == 0) return fail(ps, "m= line needs at least 4 fields");
  if (!new_section(ps)) return fail(ps, "too many m= sections (limit %d)", VG_SDP_MAX_MEDIA);
  vg_sdp_media_t *m = ps->m;
  int r;
  if ((r = copy_value(ps, m->media, sizeof m->media, media, "m= media")) < 0) return r;
  if ((r = copy_value(ps, m->proto, sizeof m->proto, proto, "m= proto")) < 0) return r;
  if ((r = copy_value(ps, m->first_format, sizeof m->first_format, fmt, "m= format")) < 0)
    return r;
  vg_span_t count = port;
  port = vg_sdp_span_split(&count, '/'); /* "<port>[/<count>]" */
  uint32_t n;
  if (!vg_sdp_span_u32(port, 65535, &n)) return fail(ps, "m= line has a bad port");
  m->port = (uint16_t)n;
  if (count.p && !vg_sdp_span_u32(count, 65535, &n))
    return fail(ps, "m= line has a bad number of ports");
  if (vg_sdp_span_eq(media, "audio")) m->kind = VG_SDP_KIND_AUDIO;
  else if (vg_sdp_span_eq(media, "video")) m->kind = VG_SDP_KIND_VIDEO;
  else if (vg_sdp_span_eq(media, "application")) m->kind = VG_SDP_KIND_APPLICATION;
  else m->kind = VG_SDP_KIND_OTHER;
  /* RTP payload types are 0..127 (RFC 3551 3); non-numeric formats (a data
   * channel's "webrtc-datachannel") are kept only as first_format. */
  for (; fmt.n; fmt = vg_sdp_span_token(&v)) {
    if (!vg_sdp_span_u32(fmt, 127, &n)) continue;
    if (m->n_formats == VG_SDP_MAX_FORMATS) m->n_formats_skipped++;
    else m->formats[m->n_formats++] = (uint8_t)n;
  }
  return VG_OK;
}

/* RFC 8866 5.7: c=IN IP4 <address>[/<ttl>]. A name instead of a literal is
 * allowed by the RFC but useless here: has_conn stays false. */
static int parse_c_line(parser_t *ps, vg_span_t v) {
  vg_span_t net = vg_sdp_span_token(&v), type = vg_sdp_span_token(&v);
  vg_span_t addr = vg_sdp_span_token(&v);
  if (!vg_sdp_span_eq(net, "IN") || addr.n == 0 ||
      !(vg_sdp_span_eq(type, "IP4") || vg_sdp_span_eq(type, "IP6")))
    return fail(ps, "c= line needs 'IN IP4|IP6 <address>'");
  addr = vg_sdp_span_split_left(addr, '/');
  char ip[VG_SDP_HOST_LEN];
  vg_addr_t a;
  bool ok = vg_sdp_span_copy(ip, sizeof ip, addr) &&
            vg_addr_parse(&a, ip, 0, VG_TRANSPORT_UDP) == VG_OK;
  if (ps->m) {
    ps->m->has_conn = ok;
    if (ok) ps->m->conn = a;
    ps->own_conn[media_index(ps)] = true;
  } else {
    ps->sdp->has_conn = ok;
    if (ok) ps->sdp->conn = a;
  }
  return VG_OK;
}

/* ---- ICE, DTLS and RTP attributes ------------------------------------- */

/* RFC 8843 7.1: a=group:BUNDLE <mid> ...; other semantics are ignored. */
static int parse_group(parser_t *ps, vg_span_t v) {
  vg_sdp_t *s = ps->sdp;
  if (!vg_sdp_span_eq(vg_sdp_span_token(&v), "BUNDLE") || s->n_bundle > 0) return VG_OK;
  for (vg_span_t mid = vg_sdp_span_token(&v); mid.n; mid = vg_sdp_span_token(&v)) {
    if (s->n_bundle == VG_SDP_MAX_MEDIA)
      return fail(ps, "a=group:BUNDLE lists more than %d mids", VG_SDP_MAX_MEDIA);
    int r = copy_value(ps, s->bundle[s->n_bundle], VG_SDP_MID_LEN, mid, "a=group mid");
    if (r < 0) return r;
    s->n_bundle++;
  }
  return VG_OK;
}

/* RFC 8839 5.4: ice-ufrag 4..256 and ice-pwd 22..256 ice-chars. */
static int parse_ice_cred(parser_t *ps, vg_span_t v, bool pwd) {
  const char *what = pwd ? "a=ice-pwd" : "a=ice-ufrag";
  size_t min = pwd ? VG_SDP_ICE_PWD_MIN : VG_SDP_ICE_UFRAG_MIN;
  if (v.n < min || !vg_sdp_ice_chars(v.p, v.n))
    return fail(ps, "%s must be at least %zu of A-Z a-z 0-9 + /", what, min);
  char *dst;
  size_t cap;
  bool *own = NULL;
  if (ps->m) {
    dst = pwd ? ps->m->ice_pwd : ps->m->ice_ufrag;
    own = pwd ? &ps->own_pwd[media_index(ps)] : &ps->own_ufrag[media_index(ps)];
  } else {
    dst = pwd ? ps->sdp->ice_pwd : ps->sdp->ice_ufrag;
  }
  cap = pwd ? VG_SDP_PWD_LEN : VG_SDP_UFRAG_LEN;
  if (own) *own = true;
  return copy_value(ps, dst, cap, v, what);
}

/* RFC 5763 5 / RFC 8122 5: a=fingerprint:<hash-func> <hex>:<hex>:...
 * The first line with a hash function we know wins; unknown ones are
 * skipped (a peer may offer several). */
static int parse_fingerprint(parser_t *ps, vg_span_t v) {
  vg_span_t alg = vg_sdp_span_token(&v), value = vg_sdp_span_token(&v);
  if (value.n == 0) return fail(ps, "a=fingerprint needs '<hash> <value>'");
  vg_sdp_fingerprint_t *fp = ps->m ? &ps->m->fingerprint : &ps->sdp->fingerprint;
  if (fp->alg[0]) return VG_OK;
  int want = vg_sdp_fingerprint_alg_len(alg);
  if (want < 0) return VG_OK;
  if (!vg_sdp_fingerprint_decode(fp, alg, value))
    return fail(ps, "a=fingerprint value is not %d colon-separated hex bytes", want);
  if (ps->m) ps->own_fp[media_index(ps)] = true;
  return VG_OK;
}

/* RFC 4145 4: a=setup:actpass|active|passive|holdconn. */
static int parse_setup(parser_t *ps, vg_span_t v) {
  vg_sdp_setup_t s;
  if (vg_sdp_span_eq(v, "actpass")) s = VG_SDP_SETUP_ACTPASS;
  else if (vg_sdp_span_eq(v, "active")) s = VG_SDP_SETUP_ACTIVE;
  else if (vg_sdp_span_eq(v, "passive")) s = VG_SDP_SETUP_PASSIVE;
  else if (vg_sdp_span_eq(v, "holdconn")) s = VG_SDP_SETUP_HOLDCONN;
  else return fail(ps, "a=setup must be actpass, active, passive or holdconn");
  if (ps->m) {
    ps->m->setup = s;
    ps->own_setup[media_index(ps)] = true;
  } else {
    ps->sdp->setup = s;
  }
  return VG_OK;
}

/* Returns the codec entry for `pt` in the current section, adding one when
 * there is room; NULL when the table is full (the caller counts it). */
static vg_sdp_codec_t *codec_for(vg_sdp_media_t *m, uint8_t pt) {
  for (size_t i = 0; i < m->n_codecs; i++)
    if (m->codecs[i].pt == pt) return &m->codecs[i];
  if (m->n_codecs == VG_SDP_MAX_CODECS) return NULL;
  vg_sdp_codec_t *c = &m->codecs[m->n_codecs++];
  memset(c, 0, sizeof *c);
  c->pt = pt;
  c->channels = 1;
  return c;
}

/* RFC 8866 6.6: a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]. */
static int parse_rtpmap(parser_t *ps, vg_span_t v) {
  vg_span_t pt = vg_sdp_span_token(&v), chans = vg_sdp_span_token(&v);
  vg_span_t enc = vg_sdp_span_split(&chans, '/');   /* chans: "48000/2" */
  vg_span_t clock = vg_sdp_span_split(&chans, '/'); /* chans: "2" or absent */
  uint32_t npt, nclock, nch = 1;
  if (!vg_sdp_span_u32(pt, 127, &npt) || enc.n == 0 || !clock.p ||
      !vg_sdp_span_u32(clock, UINT32_MAX, &nclock) || nclock == 0 ||
      (chans.p && (!vg_sdp_span_u32(chans, 255, &nch) || nch == 0)))
    return fail(ps, "a=rtpmap needs '<pt> <encoding>/<clock>[/<channels>]'");
  if (enc.n >= VG_SDP_ENCODING_LEN)
    return fail(ps, "a=rtpmap encoding longer than %d characters", VG_SDP_ENCODING_LEN - 1);
  if (!ps->m) return VG_OK;
  vg_sdp_codec_t *c = codec_for(ps->m, (uint8_t)npt);
  if (!c) {
    ps->m->n_codecs_skipped++;
    return VG_OK;
  }
  (void)vg_sdp_span_copy(c->encoding, sizeof c->encoding, enc);
  c->has_rtpmap = true;
  c->clock = nclock;
  c->channels = (uint8_t)nch;
  return VG_OK;
}

/* RFC 8866 6.15: a=fmtp:<format> <parameters>. Non-RTP formats ignored. */
static int parse_fmtp(parser_t *ps, vg_span_t v) {
  vg_span_t pt = vg_sdp_span_token(&v);
  vg_span_t params = vg_sdp_span_trim(v);
  uint32_t npt;
  if (!vg_sdp_span_u32(pt, 127, &npt) || !ps->m) return VG_OK;
  if (params.n >= VG_SDP_FMTP_LEN)
    return fail(ps, "a=fmtp parameters longer than %d characters", VG_SDP_FMTP_LEN - 1);
  vg_sdp_codec_t *c = codec_for(ps->m, (uint8_t)npt);
  if (!c) {
    ps->m->n_codecs_skipped++;
    return VG_OK;
  }
  (void)vg_sdp_span_copy(c->fmtp, sizeof c->fmtp, params);
  c->has_fmtp = true;
  return VG_OK;
}

/* RFC 8285 8: a=extmap:<id>[/<direction>] <uri> [<extension attributes>].
 * Ids outside 1..255 (the 4096+ range is offer-only signalling) are counted
 * as skipped. */
static int parse_extmap(parser_t *ps, vg_span_t v) {
  vg_span_t id = vg_sdp_span_token(&v), uri = vg_sdp_span_token(&v);
  id = vg_sdp_span_split_left(id, '/');
  uint32_t nid;
  if (!vg_sdp_span_u32(id, 65535, &nid) || uri.n == 0)
    return fail(ps, "a=extmap needs '<id>[/<direction>] <uri>'");
  if (!ps->m) return VG_OK;
  vg_sdp_media_t *m = ps->m;
  if (nid < 1 || nid > 255 || m->n_extmaps == VG_SDP_MAX_EXTMAPS) {
    m->n_extmaps_skipped++;
    return VG_OK;
  }
  vg_sdp_extmap_t *e = &m->extmaps[m->n_extmaps];
  int r = copy_value(ps, e->uri, sizeof e->uri, uri, "a=extmap URI");
  if (r < 0) return r;
  e->id = (uint16_t)nid;
  m->n_extmaps++;
  return VG_OK;
}

/* RFC 5576 4.1: a=ssrc:<ssrc> <attribute>[:<value>]. Keeps the first SSRC
 * and its cname. */
static int parse_ssrc(parser_t *ps, vg_span_t v) {
  vg_span_t num = vg_sdp_span_token(&v), attr = vg_sdp_span_trim(v);
  uint32_t ssrc;
  if (!vg_sdp_span_u32(num, UINT32_MAX, &ssrc)) return fail(ps, "a=ssrc needs a 32-bit SSRC");
  vg_sdp_media_t *m = ps->m;
  if (!m) return VG_OK;
  if (!m->has_ssrc) {
    m->has_ssrc = true;
    m->ssrc = ssrc;
  }
  vg_span_t name = vg_sdp_span_split(&attr, ':');
  if (m->ssrc == ssrc && !m->cname[0] && vg_sdp_span_eq(name, "cname") && attr.p)
    return copy_value(ps, m->cname, sizeof m->cname, attr, "a=ssrc cname");
  return VG_OK;
}

static int parse_mid(parser_t *ps, vg_span_t v) {
  if (v.n == 0 || !vg_sdp_token_chars(v.p, v.n)) return fail(ps, "a=mid value is not a token");
  /* RFC 8840 4.4: in an sdpfrag a section may be named by a=mid alone. */
  if (ps->frag && (!ps->m || ps->m->mid[0]) && !new_section(ps))
    return fail(ps, "too many m= sections (limit %d)", VG_SDP_MAX_MEDIA);
  if (!ps->m) return VG_OK;
  return copy_value(ps, ps->m->mid, sizeof ps->m->mid, v, "a=mid");
}

static int parse_direction(parser_t *ps, vg_sdp_direction_t d) {
  if (ps->m) {
    ps->m->direction = d;
    ps->own_dir[media_index(ps)] = true;
  } else {
    ps->has_session_dir = true;
    ps->session_dir = d;
  }
  return VG_OK;
}

/* In an sdpfrag, candidates before any a=mid or m= line belong to one
 * implicit section (the BUNDLE transport). Elsewhere they are ignored at
 * session level, where RFC 8839 does not allow them. */
static vg_sdp_media_t *candidate_section(parser_t *ps) {
  if (!ps->m && ps->frag) (void)new_section(ps);
  return ps->m;
}

/* RFC 8839 5.1:
 *
 *   a=candidate:<foundation> <component> <transport> <priority>
 *               <address> <port> typ <cand-type>
 *               [raddr <address>] [rport <port>] *(<ext-name> <ext-value>)
 *
 *   a=candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host generation 0
 *   a=candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active
 *   a=candidate:0 1 UDP 2122252543 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54047 typ host
 *
 * Returns 1 with *c filled, 0 for a well-formed candidate we cannot use
 * (transport other than UDP/TCP, unknown type), or an error. Extensions we
 * do not know (generation, network-id, ufrag, ...) are skipped. */
static int parse_candidate(parser_t *ps, vg_sdp_candidate_t *c, vg_span_t v) {
  vg_span_t f[8];
  for (int i = 0; i < 8; i++) f[i] = vg_sdp_span_token(&v);
  if (f[7].n == 0 || !vg_sdp_span_eq(f[6], "typ"))
    return fail(ps, "a=candidate needs '<foundation> <component> <transport> <priority> "
                    "<address> <port> typ <type>'");
  memset(c, 0, sizeof *c);
  uint32_t n;
  if (f[0].n >= VG_SDP_FOUNDATION_LEN || !vg_sdp_ice_chars(f[0].p, f[0].n))
    return fail(ps, "a=candidate foundation must be 1-32 of A-Z a-z 0-9 + /");
  (void)vg_sdp_span_copy(c->foundation, sizeof c->foundation, f[0]);
  /* RFC 8445 5.1.2.1: component ids 1..256; priority 1..2^31-1 in practice. */
  if (!vg_sdp_span_u32(f[1], 256, &n) || n == 0)
    return fail(ps, "a=candidate component must be 1-256");
  c->component = (uint16_t)n;
  if (!vg_sdp_span_u32(f[3], UINT32_MAX, &c->priority))
    return fail(ps, "a=candidate priority must be a 32-bit number");
  if (!vg_sdp_span_u32(f[5], 65535, &n)) return fail(ps, "a=candidate port must be 0-65535");
  vg_transport_t t;
  if (vg_sdp_span_ieq(f[2], "udp")) t = VG_TRANSPORT_UDP;
  else if (vg_sdp_span_ieq(f[2], "tcp")) t = VG_TRANSPORT_TCP;
  else return 0;
  if (vg_sdp_span_eq(f[7], "host")) c->type = VG_SDP_CAND_HOST;
  else if (vg_sdp_span_eq(f[7], "srflx")) c->type = VG_SDP_CAND_SRFLX;
  else if (vg_sdp_span_eq(f[7], "prflx")) c->type = VG_SDP_CAND_PRFLX;
  else if (vg_sdp_span_eq(f[7], "relay")) c->type = VG_SDP_CAND_RELAY;
  else return 0;
  /* A literal IP, or a name: an mDNS "<uuid>.local" (a browser hiding its
   * host address) or, rarely, an FQDN. Names are kept, never resolved here. */
  if (!vg_sdp_span_copy(c->hostname, sizeof c->hostname, f[4]))
    return fail(ps, "a=candidate address longer than %d characters", VG_SDP_HOST_LEN - 1);
  if (vg_addr_parse(&c->addr, c->hostname, (uint16_t)n, t) == VG_OK) {
    c->hostname[0] = '\0';
  } else {
    if (!vg_sdp_token_chars(f[4].p, f[4].n)) return fail(ps, "a=candidate has a bad address");
    memset(&c->addr, 0, sizeof c->addr);
    c->addr.port = (uint16_t)n;
    c->addr.transport = (uint8_t)t;
    c->is_hostname = true;
    c->is_mdns = f[4].n > 6 && vg_sdp_span_ieq((vg_span_t){f[4].p + f[4].n - 6, 6}, ".local");
  }
  vg_span_t raddr = {NULL, 0};
  uint32_t rport = 0;
  for (vg_span_t k = vg_sdp_span_token(&v); k.n; k = vg_sdp_span_token(&v)) {
    vg_span_t val = vg_sdp_span_token(&v);
    if (val.n == 0) return fail(ps, "a=candidate extension without a value");
    if (vg_sdp_span_eq(k, "raddr")) {
      raddr = val;
    } else if (vg_sdp_span_eq(k, "rport")) {
      if (!vg_sdp_span_u32(val, 65535, &rport)) return fail(ps, "a=candidate has a bad rport");
    } else if (vg_sdp_span_eq(k, "tcptype") && t == VG_TRANSPORT_TCP) {
      /* RFC 6544 4.5 */
      if (vg_sdp_span_eq(val, "active")) c->tcptype = VG_SDP_TCPTYPE_ACTIVE;
      else if (vg_sdp_span_eq(val, "passive")) c->tcptype = VG_SDP_TCPTYPE_PASSIVE;
      else if (vg_sdp_span_eq(val, "so")) c->tcptype = VG_SDP_TCPTYPE_SO;
      else return fail(ps, "a=candidate tcptype must be active, passive or so");
    }
  }
  char ip[VG_SDP_HOST_LEN];
  if (raddr.p && vg_sdp_span_copy(ip, sizeof ip, raddr) &&
      vg_addr_parse(&c->raddr, ip, (uint16_t)rport, t) == VG_OK)
    c->has_raddr = true;
  return 1;
}

static int parse_candidate_line(parser_t *ps, vg_span_t v) {
  vg_sdp_media_t *m = candidate_section(ps);
  vg_sdp_candidate_t c;
  int r = parse_candidate(ps, &c, v);
  if (r < 0) return r;
  if (!m) return VG_OK;
  if (r == 0 || m->n_candidates == VG_SDP_MAX_CANDIDATES) {
    m->n_candidates_skipped++;
    return VG_OK;
  }
  m->candidates[m->n_candidates++] = c;
  return VG_OK;
}

/* ---- Lines ---------------------------------------------------------------- */

static int parse_attribute(parser_t *ps, vg_span_t v) {
  vg_span_t name = vg_sdp_span_split(&v, ':');
  if (name.n == 0) return fail(ps, "a= line has no attribute name");
  if (!v.p) v = (vg_span_t){name.p + name.n, 0}; /* a flag attribute: no value */
  if (vg_sdp_span_eq(name, "candidate")) return parse_candidate_line(ps, v);
  if (vg_sdp_span_eq(name, "end-of-candidates")) {
    vg_sdp_media_t *m = ps->frag ? candidate_section(ps) : ps->m;
    if (m) m->end_of_candidates = true;
    else ps->session_eoc = true;
    return VG_OK;
  }
  if (vg_sdp_span_eq(name, "mid")) return parse_mid(ps, v);
  if (vg_sdp_span_eq(name, "ice-ufrag")) return parse_ice_cred(ps, v, false);
  if (vg_sdp_span_eq(name, "ice-pwd")) return parse_ice_cred(ps, v, true);
  if (vg_sdp_span_eq(name, "ice-lite")) {
    ps->sdp->ice_lite = true;
    return VG_OK;
  }
  if (vg_sdp_span_eq(name, "ice-options")) {
    if (ps->sdp->ice_options[0]) return VG_OK;
    return copy_value(ps, ps->sdp->ice_options, VG_SDP_ICE_OPTIONS_LEN, v, "a=ice-options");
  }
  if (vg_sdp_span_eq(name, "group")) return parse_group(ps, v);
  if (vg_sdp_span_eq(name, "fingerprint")) return parse_fingerprint(ps, v);
  if (vg_sdp_span_eq(name, "setup")) return parse_setup(ps, v);
  if (vg_sdp_span_eq(name, "sendrecv")) return parse_direction(ps, VG_SDP_DIR_SENDRECV);
  if (vg_sdp_span_eq(name, "sendonly")) return parse_direction(ps, VG_SDP_DIR_SENDONLY);
  if (vg_sdp_span_eq(name, "recvonly")) return parse_direction(ps, VG_SDP_DIR_RECVONLY);
  if (vg_sdp_span_eq(name, "inactive")) return parse_direction(ps, VG_SDP_DIR_INACTIVE);
  if (!ps->m) return VG_OK; /* the rest are media-level attributes */
  if (vg_sdp_span_eq(name, "rtcp-mux")) ps->m->rtcp_mux = true;
  else if (vg_sdp_span_eq(name, "bundle-only")) ps->m->bundle_only = true;
  else if (vg_sdp_span_eq(name, "rtpmap")) return parse_rtpmap(ps, v);
  else if (vg_sdp_span_eq(name, "fmtp")) return parse_fmtp(ps, v);
  else if (vg_sdp_span_eq(name, "extmap")) return parse_extmap(ps, v);
  else if (vg_sdp_span_eq(name, "ssrc")) return parse_ssrc(ps, v);
  else if (vg_sdp_span_eq(name, "msid"))
    return copy_value(ps, ps->m->msid, sizeof ps->m->msid, v, "a=msid");
  return VG_OK; /* unknown attributes never fail a parse */
}

/* One line without its line end. RFC 8866 5: "<type>=<value>", type one
 * lower-case letter; we reject control characters (NUL included). */
static int parse_line(parser_t *ps, vg_span_t line) {
  for (size_t i = 0; i < line.n; i++) {
    unsigned char ch = (unsigned char)line.p[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return fail(ps, "control character 0x%02x in line", ch);
  }
  if (line.n < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
    return fail(ps, "expected '<letter>=<value>'");
  char type = line.p[0];
  vg_span_t v = {line.p + 2, line.n - 2};
  if (!ps->frag && !ps->saw_v) {
    if (type != 'v') return fail(ps, "the description must start with v=0");
    if (!vg_sdp_span_eq(v, "0")) return fail(ps, "only v=0 is supported");
    ps->saw_v = true;
    return VG_OK;
  }
  switch (type) {
  case 'm': return parse_m_line(ps, v);
  case 'c': return parse_c_line(ps, v);
  case 'a': return parse_attribute(ps, v);
  /* RFC 8866 5: the other defined types carry nothing an audio server uses. */
  case 'v': case 'o': case 's': case 'i': case 'u': case 'e': case 'p':
  case 'b': case 't': case 'r': case 'z': case 'k':
    return VG_OK;
  default:
    return fail(ps, "unknown line type '%c='", type);
  }
}

/* Gives each section the session-level values it did not set itself. */
static void inherit_session_values(parser_t *ps) {
  vg_sdp_t *s = ps->sdp;
  for (size_t i = 0; i < s->n_media; i++) {
    vg_sdp_media_t *m = &s->media[i];
    if (!ps->own_ufrag[i]) memcpy(m->ice_ufrag, s->ice_ufrag, sizeof m->ice_ufrag);
    if (!ps->own_pwd[i]) memcpy(m->ice_pwd, s->ice_pwd, sizeof m->ice_pwd);
    if (!ps->own_fp[i]) m->fingerprint = s->fingerprint;
    if (!ps->own_setup[i]) m->setup = s->setup;
    if (!ps->own_dir[i] && ps->has_session_dir) m->direction = ps->session_dir;
    if (!ps->own_conn[i]) {
      m->has_conn = s->has_conn;
      m->conn = s->conn;
    }
    if (ps->session_eoc) m->end_of_candidates = true;
  }
}

static int parse_text(vg_sdp_t *out, const char *text, size_t len, bool frag,
                      const char **why) {
  /* parser_t holds only flags and pointers: small enough for the stack. */
  parser_t ps;
  memset(&ps, 0, sizeof ps);
  memset(out, 0, sizeof *out);
  ps.sdp = out;
  ps.frag = frag;
  int r = VG_OK;
  size_t pos = 0;
  while (pos < len && r == VG_OK) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    ps.line++;
    if (n && start[n - 1] == '\r') n--; /* CRLF or bare LF */
    if (n == 0) continue;               /* tolerate blank lines */
    r = parse_line(&ps, (vg_span_t){start, n});
  }
  if (r == VG_OK && !frag && !ps.saw_v) {
    ps.line = ps.line ? ps.line : 1;
    r = fail(&ps, "the description must start with v=0");
  }
  if (r < 0) {
    if (why) *why = out->why_buf;
    return r;
  }
  inherit_session_values(&ps);
  return VG_OK;
}

int vg_sdp_parse(vg_sdp_t *out, const char *text, size_t len, const char **why) {
  return parse_text(out, text, len, false, why);
}

int vg_sdp_parse_frag(vg_sdp_t *out, const char *text, size_t len, const char **why) {
  return parse_text(out, text, len, true, why);
}

/* RFC 7587 7: "a=rtpmap:<pt> opus/48000/2", whatever the real channels. */
const vg_sdp_codec_t *vg_sdp_find_opus(const vg_sdp_media_t *m) {
  for (size_t i = 0; i < m->n_codecs; i++) {
    const vg_sdp_codec_t *c = &m->codecs[i];
    if (c->has_rtpmap && vg_sdp_ieq(c->encoding, "opus") && c->clock == 48000 &&
        c->channels == 2)
      return c;
  }
  return NULL;
}

const char *vg_sdp_kind_name(vg_sdp_kind_t k) {
  switch (k) {
  case VG_SDP_KIND_AUDIO: return "audio";
  case VG_SDP_KIND_VIDEO: return "video";
  case VG_SDP_KIND_APPLICATION: return "application";
  default: return "other";
  }
}

const char *vg_sdp_direction_name(vg_sdp_direction_t d) {
  switch (d) {
  case VG_SDP_DIR_SENDONLY: return "sendonly";
  case VG_SDP_DIR_RECVONLY: return "recvonly";
  case VG_SDP_DIR_INACTIVE: return "inactive";
  default: return "sendrecv";
  }
}

const char *vg_sdp_setup_name(vg_sdp_setup_t s) {
  switch (s) {
  case VG_SDP_SETUP_ACTPASS: return "actpass";
  case VG_SDP_SETUP_ACTIVE: return "active";
  case VG_SDP_SETUP_PASSIVE: return "passive";
  case VG_SDP_SETUP_HOLDCONN: return "holdconn";
  default: return "none";
  }
}
