/* SDP builders: the ICE-lite audio server's answer (RFC 8829 5.3) and a
 * controlling client's offer (RFC 8829 5.2), for tests and the load
 * generator.
 *
 * The answer to a browser's audio + video + data channel offer:
 *
 *   v=0
 *   o=- <session id> 1 IN IP4 0.0.0.0
 *   s=-
 *   t=0 0
 *   a=group:BUNDLE 0                      <- only the accepted mid
 *   a=ice-lite
 *   m=audio 8080 UDP/TLS/RTP/SAVPF 111    <- accepted: first audio with Opus
 *   c=IN IP4 192.0.2.10
 *   a=mid:0
 *   a=sendrecv
 *   a=rtcp-mux
 *   a=rtpmap:111 opus/48000/2
 *   a=fmtp:111 minptime=10;useinbandfec=1;stereo=0
 *   a=ssrc:305419896 cname:voxgate
 *   a=ice-ufrag:... / a=ice-pwd:... / a=fingerprint:sha-256 ... / a=setup:passive
 *   a=candidate:1 1 udp 2130706431 192.0.2.10 8080 typ host
 *   a=candidate:2 1 tcp 1694498815 192.0.2.10 8080 typ host tcptype passive
 *   a=end-of-candidates
 *   m=video 0 UDP/TLS/RTP/SAVPF 96        <- every other section: port 0
 *   c=IN IP4 0.0.0.0
 *   a=mid:1
 *   m=application 0 UDP/DTLS/SCTP webrtc-datachannel
 *   c=IN IP4 0.0.0.0
 *   a=mid:2
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/sdp.h"
#include "core/sdp_internal.h"

/* An append-only text buffer; overflow is sticky and checked once. */
typedef struct {
  char *p;   /* borrowed: the caller's output */
  size_t cap;
  size_t len;
  bool overflow;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_t *o, const char *fmt, ...) {
  if (o->overflow) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->cap - o->len) {
    o->overflow = true;
    return;
  }
  o->len += (size_t)n;
}

static int finish(out_t *o) {
  if (o->overflow) {
    if (o->cap) o->p[0] = '\0';
    return VG_ENOSPC;
  }
  return (int)o->len;
}

static int bad(const char **why, const char *reason) {
  if (why) *why = reason;
  return VG_EINVAL;
}

/* A printable value without spaces or control characters, 1..max chars. */
static bool plain(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) return false;
  return true;
}

/* Printable, spaces allowed inside, 1..max chars. */
static bool printable(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ') return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  return true;
}

static bool ice_cred_ok(const char *s, size_t min, size_t cap) {
  size_t n = s ? strlen(s) : 0;
  return n >= min && n < cap && vg_sdp_ice_chars(s, n);
}

/* Checks what both builders write into ICE and DTLS lines. */
static int check_common(const char *ufrag, const char *pwd, const char *alg, const char *fp,
                        const char *cname, const vg_sdp_local_candidate_t *cands, size_t n,
                        const char **why) {
  if (!ice_cred_ok(ufrag, VG_SDP_ICE_UFRAG_MIN, VG_SDP_UFRAG_LEN))
    return bad(why, "our ice-ufrag must be 4-256 of A-Z a-z 0-9 + /");
  if (!ice_cred_ok(pwd, VG_SDP_ICE_PWD_MIN, VG_SDP_PWD_LEN))
    return bad(why, "our ice-pwd must be 22-256 of A-Z a-z 0-9 + /");
  vg_sdp_fingerprint_t tmp;
  if (!alg || !fp ||
      !vg_sdp_fingerprint_decode(&tmp, (vg_span_t){alg, strlen(alg)}, (vg_span_t){fp, strlen(fp)}))
    return bad(why, "our fingerprint does not match its hash function");
  if (!plain(cname, VG_SDP_CNAME_LEN - 1)) return bad(why, "our cname must be 1-64 printable characters");
  if (n && !cands) return bad(why, "candidates missing");
  for (size_t i = 0; i < n; i++) {
    const char *f = cands[i].foundation;
    size_t fl = f ? strlen(f) : 0;
    if (fl == 0 || fl >= VG_SDP_FOUNDATION_LEN || !vg_sdp_ice_chars(f, fl))
      return bad(why, "a local candidate's foundation must be 1-32 ice-chars");
    if (cands[i].addr.family != 4 && cands[i].addr.family != 6)
      return bad(why, "a local candidate has no IP address");
  }
  return VG_OK;
}

/* "c=IN IP4 <ip>" for the first candidate, 0.0.0.0 without one; the m= port
 * is that candidate's (9, the RFC 8840 placeholder, without one). */
static void put_conn(out_t *o, const vg_sdp_local_candidate_t *c) {
  char ip[VG_ADDR_STRLEN];
  if (c && vg_addr_format_ip(&c->addr, ip, sizeof ip) > 0)
    put(o, "c=IN %s %s\r\n", c->addr.family == 6 ? "IP6" : "IP4", ip);
  else
    put(o, "c=IN IP4 0.0.0.0\r\n");
}

/* RFC 8839 5.1 candidate lines, then a=end-of-candidates (RFC 8840 8.2):
 * we know all our candidates up front. */
static void put_candidates(out_t *o, const vg_sdp_local_candidate_t *c, size_t n,
                           vg_sdp_tcptype_t tcp_default) {
  for (size_t i = 0; i < n; i++) {
    char ip[VG_ADDR_STRLEN];
    if (vg_addr_format_ip(&c[i].addr, ip, sizeof ip) < 0) continue;
    bool tcp = c[i].addr.transport == VG_TRANSPORT_TCP;
    put(o, "a=candidate:%s 1 %s %" PRIu32 " %s %u typ host", c[i].foundation,
        tcp ? "tcp" : "udp", c[i].priority, ip, c[i].addr.port);
    if (tcp) {
      vg_sdp_tcptype_t t = c[i].tcptype ? c[i].tcptype : tcp_default;
      put(o, " tcptype %s", t == VG_SDP_TCPTYPE_ACTIVE ? "active"
                            : t == VG_SDP_TCPTYPE_SO   ? "so"
                                                       : "passive");
    }
    put(o, "\r\n");
  }
  put(o, "a=end-of-candidates\r\n");
}

static void put_transport(out_t *o, const char *ufrag, const char *pwd, const char *alg,
                          const char *fp, vg_sdp_setup_t setup) {
  vg_sdp_fingerprint_t f;
  (void)vg_sdp_fingerprint_decode(&f, (vg_span_t){alg, strlen(alg)}, (vg_span_t){fp, strlen(fp)});
  put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd);
  put(o, "a=fingerprint:%s %s\r\n", f.alg, f.value);
  put(o, "a=setup:%s\r\n", vg_sdp_setup_name(setup));
}

/* RFC 8866 6.7: the answer's direction is the offer's seen from our side. */
static vg_sdp_direction_t mirror(vg_sdp_direction_t d) {
  switch (d) {
  case VG_SDP_DIR_SENDONLY: return VG_SDP_DIR_RECVONLY;
  case VG_SDP_DIR_RECVONLY: return VG_SDP_DIR_SENDONLY;
  default: return d;
  }
}

/* DTLS-SRTP profiles (RFC 5764 8, RFC 7850): the only ones a WebRTC
 * endpoint may use for RTP. */
static bool secure_rtp_proto(const char *proto) {
  static const char *const ok[] = {"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP",
                                   "TCP/DTLS/RTP/SAVPF", "TCP/TLS/RTP/SAVPF"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp(proto, ok[i]) == 0) return true;
  return false;
}

static bool has_format(const vg_sdp_media_t *m, uint8_t pt) {
  for (size_t i = 0; i < m->n_formats; i++)
    if (m->formats[i] == pt) return true;
  return false;
}

/* The section we accept: the first live audio section that lists Opus in
 * its formats and uses DTLS-SRTP. Returns its index or an error. */
static int pick_audio(const vg_sdp_t *offer, const vg_sdp_codec_t **opus, const char **why) {
  bool insecure_opus = false;
  for (size_t i = 0; i < offer->n_media; i++) {
    const vg_sdp_media_t *m = &offer->media[i];
    const vg_sdp_codec_t *c = vg_sdp_find_opus(m);
    /* RFC 8866 5.14 / RFC 8843 6: port 0 is a disabled section unless it is
     * bundle-only. */
    if (m->kind != VG_SDP_KIND_AUDIO || !c || !has_format(m, c->pt)) continue;
    if (m->port == 0 && !m->bundle_only) continue;
    if (!secure_rtp_proto(m->proto)) {
      insecure_opus = true;
      continue;
    }
    *opus = c;
    return (int)i;
  }
  if (why)
    *why = insecure_opus ? "the offer's Opus audio is not UDP/TLS/RTP/SAVPF (DTLS-SRTP)"
                         : "the offer has no audio with Opus";
  return VG_EUNSUPPORTED;
}

/* RFC 5763 5: the answerer of an actpass offer picks; we are passive (the
 * browser starts DTLS) unless the offer insists on passive itself. */
static vg_sdp_setup_t pick_setup(vg_sdp_setup_t offered, vg_sdp_setup_t wanted) {
  if (wanted != VG_SDP_SETUP_NONE) return wanted;
  return offered == VG_SDP_SETUP_PASSIVE ? VG_SDP_SETUP_ACTIVE : VG_SDP_SETUP_PASSIVE;
}

static bool in_bundle(const vg_sdp_t *offer, const char *mid) {
  for (size_t i = 0; i < offer->n_bundle; i++)
    if (strcmp(offer->bundle[i], mid) == 0) return true;
  return false;
}

static void fill_info(vg_sdp_answer_info_t *info, const vg_sdp_t *offer, size_t idx,
                      const vg_sdp_codec_t *opus, vg_sdp_setup_t setup, bool bundled) {
  const vg_sdp_media_t *m = &offer->media[idx];
  memset(info, 0, sizeof *info);
  info->media_index = idx;
  memcpy(info->mid, m->mid, sizeof info->mid);
  info->bundled = bundled;
  info->opus_pt = opus->pt;
  if (opus->has_fmtp) memcpy(info->remote_opus_fmtp, opus->fmtp, sizeof info->remote_opus_fmtp);
  memcpy(info->remote_ice_ufrag, m->ice_ufrag, sizeof info->remote_ice_ufrag);
  memcpy(info->remote_ice_pwd, m->ice_pwd, sizeof info->remote_ice_pwd);
  info->remote_fingerprint = m->fingerprint;
  info->remote_setup = m->setup;
  info->local_setup = setup;
  info->remote_rtcp_mux = m->rtcp_mux;
  info->remote_direction = m->direction;
  info->local_direction = mirror(m->direction);
  info->has_remote_ssrc = m->has_ssrc;
  info->remote_ssrc = m->ssrc;
}

static void put_accepted(out_t *o, const vg_sdp_media_t *m, const vg_sdp_answer_params_t *p,
                         uint8_t pt, vg_sdp_setup_t setup) {
  const vg_sdp_local_candidate_t *first = p->n_candidates ? &p->candidates[0] : NULL;
  put(o, "m=audio %u %s %u\r\n", first ? first->addr.port : 9u, m->proto, pt);
  put_conn(o, first);
  if (m->mid[0]) put(o, "a=mid:%s\r\n", m->mid);
  vg_sdp_direction_t dir = mirror(m->direction);
  put(o, "a=%s\r\n", vg_sdp_direction_name(dir));
  /* RFC 8829 5.3.1: we always mux RTCP; info tells the caller whether the
   * offer asked for it. */
  put(o, "a=rtcp-mux\r\n");
  /* RFC 7587 7: we receive mono and want in-band FEC; 10 ms is the
   * smallest packet time we accept. */
  put(o, "a=rtpmap:%u opus/48000/2\r\n", pt);
  put(o, "a=fmtp:%u minptime=10;useinbandfec=1;stereo=0\r\n", pt);
  if (dir == VG_SDP_DIR_SENDRECV || dir == VG_SDP_DIR_SENDONLY) {
    if (p->msid) put(o, "a=msid:%s\r\n", p->msid);
    put(o, "a=ssrc:%" PRIu32 " cname:%s\r\n", p->ssrc, p->cname);
  }
  put_transport(o, p->ice_ufrag, p->ice_pwd, p->fingerprint_alg, p->fingerprint, setup);
  put_candidates(o, p->candidates, p->n_candidates, VG_SDP_TCPTYPE_PASSIVE);
}

/* RFC 8829 5.3.1: a rejected section keeps kind, proto and a format, has
 * port 0 and keeps its mid. */
static void put_rejected(out_t *o, const vg_sdp_media_t *m) {
  put(o, "m=%s 0 %s %s\r\n", m->media, m->proto, m->first_format);
  put(o, "c=IN IP4 0.0.0.0\r\n");
  if (m->mid[0]) put(o, "a=mid:%s\r\n", m->mid);
}

static int check_answer_params(const vg_sdp_answer_params_t *p, const char **why) {
  if (!p) return bad(why, "no answer parameters");
  int r = check_common(p->ice_ufrag, p->ice_pwd, p->fingerprint_alg, p->fingerprint, p->cname,
                       p->candidates, p->n_candidates, why);
  if (r < 0) return r;
  if (p->setup == VG_SDP_SETUP_ACTPASS) return bad(why, "an answer cannot say setup:actpass");
  if (p->msid && !printable(p->msid, VG_SDP_MSID_LEN - 1))
    return bad(why, "our msid must be 1-128 printable characters");
  return VG_OK;
}

int vg_sdp_build_answer(const vg_sdp_t *offer, const vg_sdp_answer_params_t *p, char *out,
                        size_t cap, vg_sdp_answer_info_t *info, const char **why) {
  if (!offer || !out) return bad(why, "no offer or no output buffer");
  int r = check_answer_params(p, why);
  if (r < 0) return r;
  const vg_sdp_codec_t *opus = NULL;
  int idx = pick_audio(offer, &opus, why);
  if (idx < 0) return idx;
  const vg_sdp_media_t *am = &offer->media[idx];
  if (!am->ice_ufrag[0] || !am->ice_pwd[0])
    return bad(why, "the offer's audio section has no a=ice-ufrag/a=ice-pwd");
  if (!am->fingerprint.alg[0])
    return bad(why, "the offer's audio section has no a=fingerprint we understand");
  for (size_t i = 0; i < offer->n_media; i++)
    if (!offer->media[i].media[0] || !offer->media[i].proto[0] || !offer->media[i].first_format[0])
      return bad(why, "an offer section has no m= line");
  vg_sdp_setup_t setup = pick_setup(am->setup, p->setup);
  bool bundled = am->mid[0] && in_bundle(offer, am->mid);

  out_t o = {out, cap, 0, cap == 0};
  put(&o, "v=0\r\no=- %" PRIu64 " 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", p->session_id);
  /* RFC 8843 7.3.2: the answer's BUNDLE group holds only what it accepts. */
  if (bundled) put(&o, "a=group:BUNDLE %s\r\n", am->mid);
  /* RFC 8839 5.3: a full agent talking to us must know we are lite. */
  if (p->ice_lite) put(&o, "a=ice-lite\r\n");
  for (size_t i = 0; i < offer->n_media; i++) {
    if ((int)i == idx) put_accepted(&o, am, p, opus->pt, setup);
    else put_rejected(&o, &offer->media[i]);
  }
  r = finish(&o);
  if (r < 0) {
    if (why) *why = "the answer does not fit the output buffer";
    return r;
  }
  if (info) fill_info(info, offer, (size_t)idx, opus, setup, bundled);
  return r;
}

int vg_sdp_build_offer(const vg_sdp_offer_params_t *p, char *out, size_t cap) {
  if (!p || !out) return VG_EINVAL;
  int r = check_common(p->ice_ufrag, p->ice_pwd, p->fingerprint_alg, p->fingerprint, p->cname,
                       p->candidates, p->n_candidates, NULL);
  if (r < 0) return r;
  const vg_sdp_local_candidate_t *first = p->n_candidates ? &p->candidates[0] : NULL;
  out_t o = {out, cap, 0, cap == 0};
  put(&o, "v=0\r\no=- %" PRIu64 " 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", p->session_id);
  put(&o, "a=group:BUNDLE 0\r\n");
  put(&o, "m=audio %u UDP/TLS/RTP/SAVPF 111\r\n", first ? first->addr.port : 9u);
  put_conn(&o, first);
  put(&o, "a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n");
  put(&o, "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n");
  put(&o, "a=ssrc:%" PRIu32 " cname:%s\r\n", p->ssrc, p->cname);
  /* RFC 5763 5: the offerer says actpass and lets the answerer choose. */
  put_transport(&o, p->ice_ufrag, p->ice_pwd, p->fingerprint_alg, p->fingerprint,
                VG_SDP_SETUP_ACTPASS);
  /* RFC 6544 4.5: a client's TCP candidates connect out. */
  put_candidates(&o, p->candidates, p->n_candidates, VG_SDP_TCPTYPE_ACTIVE);
  return finish(&o);
}
