/* SDP: real browser offers (captured by tests/data/sdp/capture/capture.sh
 * inside a test network namespace), the server's answer to each, malformed
 * input, sdpfrags and our own offer/answer round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sdp.h"
#include "vgtest.h"

/* ---- Helpers ---------------------------------------------------------------- */

static char *read_data(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/sdp/%s", VG_TEST_DATA_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 16);
  *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
  fclose(f);
  if (buf) buf[*len] = '\0';
  return buf;
}

/* vg_sdp_t is ~180 KB: tests keep theirs off the stack. */
static vg_sdp_t *sdp_new(void) { return calloc(1, sizeof(vg_sdp_t)); }

static const char fp_ours[] =
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
    "45:67:89";

/* Answer parameters as the server uses them: ICE-lite, one UDP and one TCP
 * host candidate on the same port. `cands` must outlive the result. */
static vg_sdp_answer_params_t server_params(vg_sdp_local_candidate_t cands[2]) {
  memset(cands, 0, 2 * sizeof cands[0]);
  if (vg_addr_parse(&cands[0].addr, "192.0.2.10", 8080, VG_TRANSPORT_UDP) < 0 ||
      vg_addr_parse(&cands[1].addr, "192.0.2.10", 8080, VG_TRANSPORT_TCP) < 0)
    abort();
  cands[0].priority = 2130706431;
  cands[0].foundation = "1";
  cands[1].priority = 1694498815;
  cands[1].foundation = "2";
  vg_sdp_answer_params_t p = {
      .ice_ufrag = "vxg1",
      .ice_pwd = "voxgateanswerpassword0",
      .fingerprint_alg = "sha-256",
      .fingerprint = fp_ours,
      .ice_lite = true,
      .candidates = cands,
      .n_candidates = 2,
      .ssrc = 305419896,
      .cname = "voxgate",
      .session_id = 42,
  };
  return p;
}

/* Replaces the first occurrence of `from` in a NUL-terminated buffer with
 * room for `cap` bytes. */
static int replace(char *buf, size_t cap, const char *from, const char *to) {
  char *at = strstr(buf, from);
  size_t fl = strlen(from), tl = strlen(to), n = strlen(buf);
  if (!at || n - fl + tl + 1 > cap) return -1;
  memmove(at + tl, at + fl, n - (size_t)(at - buf) - fl + 1);
  memcpy(at, to, tl);
  return 0;
}

/* Expects vg_sdp_parse to fail on `text` with a reason starting with
 * `prefix` (which names the line). */
static int parse_fails_with(const char *text, const char *prefix) {
  vg_sdp_t *s = sdp_new();
  const char *why = NULL;
  int r = vg_sdp_parse(s, text, strlen(text), &why);
  int ok = r == VG_EINVAL && why && strncmp(why, prefix, strlen(prefix)) == 0;
  if (!ok) fprintf(stderr, "  got %d, why \"%s\" (want \"%s...\")\n", r, why ? why : "", prefix);
  free(s);
  return ok;
}

/* ---- Captured offers ---------------------------------------------------------- */

static void test_chromium_offer(void) {
  size_t len;
  char *text = read_data("chromium-offer.sdp", &len);
  vg_sdp_t *s = sdp_new();
  const char *why = NULL;
  CHECK(text && s);
  CHECK_EQ(vg_sdp_parse(s, text, len, &why), VG_OK);

  CHECK_EQ(s->n_bundle, 3);
  CHECK_STR(s->bundle[0], "0");
  CHECK_STR(s->bundle[2], "2");
  CHECK(!s->ice_lite);
  CHECK_STR(s->ice_options, "trickle");
  CHECK_EQ(s->n_media, 3);
  CHECK_EQ(s->media[0].kind, VG_SDP_KIND_AUDIO);
  CHECK_EQ(s->media[1].kind, VG_SDP_KIND_VIDEO);
  CHECK_EQ(s->media[2].kind, VG_SDP_KIND_APPLICATION);

  const vg_sdp_media_t *a = &s->media[0];
  CHECK_EQ(a->port, 34619);
  CHECK_STR(a->proto, "UDP/TLS/RTP/SAVPF");
  CHECK_STR(a->mid, "0");
  CHECK_EQ(a->n_formats, 8);
  CHECK_EQ(a->formats[0], 111);
  CHECK_EQ(a->formats[7], 126);
  const vg_sdp_codec_t *opus = vg_sdp_find_opus(a);
  CHECK(opus);
  CHECK_EQ(opus->pt, 111);
  CHECK_STR(opus->fmtp, "minptime=10;useinbandfec=1");
  CHECK(a->rtcp_mux);
  CHECK_EQ(a->direction, VG_SDP_DIR_SENDRECV);
  CHECK_STR(a->ice_ufrag, "jJSh");
  CHECK_STR(a->ice_pwd, "Iuywz+Rp34TGlTw+HANHJUfQ");
  CHECK_STR(a->fingerprint.alg, "sha-256");
  CHECK_STR(a->fingerprint.value, "6E:D0:5A:C1:87:BD:69:6D:CA:77:F3:00:F8:A2:A3:1B:78:23:84:54:"
                                   "44:51:5C:49:68:2C:C8:75:EB:83:7D:C5");
  CHECK_EQ(a->fingerprint.len, 32);
  CHECK_EQ(a->fingerprint.bytes[0], 0x6E);
  CHECK_EQ(a->fingerprint.bytes[31], 0xC5);
  CHECK_EQ(a->setup, VG_SDP_SETUP_ACTPASS);
  CHECK(a->has_conn);
  CHECK_EQ(a->conn.ip[0], 10);
  CHECK_EQ(a->conn.ip[3], 1);

  /* a=extmap:1 ssrc-audio-level ... a=extmap:4 sdes:mid */
  CHECK_EQ(a->n_extmaps, 4);
  CHECK_EQ(a->extmaps[0].id, 1);
  CHECK_STR(a->extmaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  CHECK_EQ(a->extmaps[3].id, 4);
  CHECK_STR(a->extmaps[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");

  /* Chromium puts every gathered candidate in every section, but no
   * a=end-of-candidates in localDescription. */
  CHECK_EQ(a->n_candidates, 2);
  CHECK_EQ(a->n_candidates_skipped, 0);
  CHECK(!a->end_of_candidates);
  const vg_sdp_candidate_t *udp = &a->candidates[0], *tcp = &a->candidates[1];
  CHECK_STR(udp->foundation, "2798870777");
  CHECK_EQ(udp->component, 1);
  CHECK_EQ(udp->priority, 2122260223u);
  CHECK_EQ(udp->type, VG_SDP_CAND_HOST);
  vg_addr_t want;
  CHECK_EQ(vg_addr_parse(&want, "10.203.117.1", 34619, VG_TRANSPORT_UDP), VG_OK);
  CHECK(vg_addr_equal(&udp->addr, &want));
  CHECK(!udp->is_hostname);
  CHECK_EQ(tcp->addr.transport, VG_TRANSPORT_TCP);
  CHECK_EQ(tcp->addr.port, 9);
  CHECK_EQ(tcp->tcptype, VG_SDP_TCPTYPE_ACTIVE);
  CHECK_EQ(tcp->priority, 1518280447u);

  CHECK(a->has_ssrc);
  CHECK_EQ(a->ssrc, 185837090u);
  CHECK_STR(a->cname, "JBlgjN2R+MgbUkD4");
  CHECK_STR(a->msid, "4953e1d0-ff3c-423c-8474-74cefa4d70d4 3dee4861-a767-4cb3-93d9-ad96cab24e9d");

  const vg_sdp_media_t *v = &s->media[1];
  CHECK_STR(v->mid, "1");
  CHECK_EQ(v->n_formats, 23);
  CHECK_STR(v->first_format, "96");
  CHECK_EQ(v->n_codecs, 23);
  CHECK(vg_sdp_find_opus(v) == NULL);
  CHECK_EQ(v->n_extmaps, 11);
  CHECK_EQ(v->extmaps[0].id, 14);
  CHECK_STR(v->extmaps[0].uri, "urn:ietf:params:rtp-hdrext:toffset");
  CHECK_EQ(v->ssrc, 655242401u); /* the first a=ssrc, not the RTX one */

  const vg_sdp_media_t *d = &s->media[2];
  CHECK_STR(d->proto, "UDP/DTLS/SCTP");
  CHECK_STR(d->first_format, "webrtc-datachannel");
  CHECK_EQ(d->n_formats, 0);
  CHECK_EQ(d->n_candidates, 2);
  free(s);
  free(text);
}

static void test_firefox_offer(void) {
  size_t len;
  char *text = read_data("firefox-offer.sdp", &len);
  vg_sdp_t *s = sdp_new();
  const char *why = NULL;
  CHECK(text && s);
  CHECK_EQ(vg_sdp_parse(s, text, len, &why), VG_OK);
  CHECK_EQ(s->n_bundle, 3);
  CHECK_STR(s->bundle[1], "1");
  CHECK_EQ(s->n_media, 3);

  /* Firefox writes the fingerprint once, at session level: each section
   * inherits it. */
  CHECK_STR(s->fingerprint.alg, "sha-256");
  const vg_sdp_media_t *a = &s->media[0];
  CHECK_STR(a->fingerprint.value, "DC:3B:B2:45:9A:E0:21:BB:B7:17:1A:2F:D2:65:BF:14:38:E2:F1:DC:"
                                   "36:C7:33:74:72:D0:E6:6B:7D:5C:53:AF");
  CHECK_STR(s->media[2].fingerprint.alg, "sha-256");
  CHECK_EQ(a->port, 9);
  CHECK_STR(a->ice_ufrag, "ae9ed1d1");
  CHECK_STR(a->ice_pwd, "bff3051cbfc2b13af129e8ac2c0df2da");
  const vg_sdp_codec_t *opus = vg_sdp_find_opus(a);
  CHECK(opus);
  CHECK_EQ(opus->pt, 109);
  CHECK_STR(opus->fmtp, "maxplaybackrate=48000;stereo=1;useinbandfec=1");
  CHECK_EQ(a->setup, VG_SDP_SETUP_ACTPASS);
  CHECK(a->rtcp_mux);
  CHECK_EQ(a->direction, VG_SDP_DIR_SENDRECV);

  /* a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level */
  CHECK_EQ(a->n_extmaps, 4);
  CHECK_EQ(a->extmaps[1].id, 2);
  CHECK_STR(a->extmaps[1].uri, "urn:ietf:params:rtp-hdrext:csrc-audio-level");
  CHECK_EQ(a->extmaps[3].id, 7);

  /* Firefox hides host addresses behind mDNS names and still gathers RTCP
   * (component 2) candidates; it ends each section's list. */
  CHECK_EQ(a->n_candidates, 4);
  CHECK(a->end_of_candidates);
  const vg_sdp_candidate_t *c = &a->candidates[2];
  CHECK(c->is_hostname);
  CHECK(c->is_mdns);
  CHECK_STR(c->hostname, "743e24c2-1be8-41b3-a330-0722b93f80c0.local");
  CHECK_EQ(c->addr.family, 0);
  CHECK_EQ(c->addr.port, 48836);
  CHECK_EQ(c->component, 2);
  CHECK_STR(c->foundation, "0");
  CHECK_EQ(c->priority, 2122252542u);
  CHECK_EQ(a->candidates[1].addr.transport, VG_TRANSPORT_TCP);
  CHECK_EQ(a->candidates[1].tcptype, VG_SDP_TCPTYPE_ACTIVE);

  CHECK_EQ(a->ssrc, 1119189417u);
  CHECK_STR(a->cname, "{25164265-faa9-492d-8101-d58715cd2993}");
  CHECK_STR(s->media[1].first_format, "120");
  CHECK_EQ(s->media[1].n_formats, 9);
  CHECK_STR(s->media[2].first_format, "webrtc-datachannel");
  CHECK_EQ(s->media[2].n_candidates, 2);
  free(s);
  free(text);
}

static void test_chromium_recvonly_offer(void) {
  size_t len;
  char *text = read_data("chromium-recvonly-offer.sdp", &len);
  vg_sdp_t *s = sdp_new();
  CHECK(text && s);
  CHECK_EQ(vg_sdp_parse(s, text, len, NULL), VG_OK);
  CHECK_EQ(s->n_media, 2);
  const vg_sdp_media_t *a = &s->media[0];
  CHECK_EQ(a->direction, VG_SDP_DIR_RECVONLY);
  CHECK(!a->has_ssrc); /* nothing to send, no SSRC */
  CHECK_EQ(a->n_candidates, 1);
  CHECK(a->candidates[0].is_mdns);
  CHECK_STR(a->candidates[0].hostname, "4eb6bd9b-77e7-4ddc-8bde-df223e91a6e5.local");
  CHECK_EQ(a->candidates[0].addr.port, 36590);
  CHECK_EQ(s->media[1].kind, VG_SDP_KIND_APPLICATION);

  /* Our answer mirrors the direction: the browser only receives. */
  vg_sdp_local_candidate_t cands[2];
  vg_sdp_answer_params_t p = server_params(cands);
  char out[4096];
  vg_sdp_answer_info_t info;
  CHECK(vg_sdp_build_answer(s, &p, out, sizeof out, &info, NULL) > 0);
  CHECK_EQ(info.local_direction, VG_SDP_DIR_SENDONLY);
  CHECK(strstr(out, "a=sendonly\r\n"));
  CHECK(strstr(out, "a=ssrc:305419896 cname:voxgate\r\n"));
  free(s);
  free(text);
}

/* ---- Answers ------------------------------------------------------------------ */

/* Builds our answer to a captured offer and checks it by parsing it back. */
static void check_answer_to(const char *file, uint8_t opus_pt, const char *ufrag,
                            const char *video_fmt) {
  size_t len;
  char *text = read_data(file, &len);
  vg_sdp_t *offer = sdp_new(), *ans = sdp_new();
  CHECK(text && offer && ans);
  CHECK_EQ(vg_sdp_parse(offer, text, len, NULL), VG_OK);
  vg_sdp_local_candidate_t cands[2];
  vg_sdp_answer_params_t p = server_params(cands);
  char out[8192];
  vg_sdp_answer_info_t info;
  const char *why = NULL;
  int n = vg_sdp_build_answer(offer, &p, out, sizeof out, &info, &why);
  CHECK(n > 0);
  CHECK_EQ(strlen(out), n);

  CHECK_EQ(info.media_index, 0);
  CHECK_STR(info.mid, "0");
  CHECK(info.bundled);
  CHECK_EQ(info.opus_pt, opus_pt);
  CHECK_STR(info.remote_ice_ufrag, ufrag);
  CHECK_STR(info.remote_fingerprint.alg, "sha-256");
  CHECK_EQ(info.remote_fingerprint.len, 32);
  CHECK_EQ(info.remote_setup, VG_SDP_SETUP_ACTPASS);
  CHECK_EQ(info.local_setup, VG_SDP_SETUP_PASSIVE);
  CHECK(info.remote_rtcp_mux);
  CHECK_EQ(info.local_direction, VG_SDP_DIR_SENDRECV);

  CHECK_EQ(vg_sdp_parse(ans, out, (size_t)n, &why), VG_OK);
  CHECK(ans->ice_lite);
  CHECK_EQ(ans->n_bundle, 1); /* only the accepted mid */
  CHECK_STR(ans->bundle[0], "0");
  CHECK_EQ(ans->n_media, 3);
  const vg_sdp_media_t *a = &ans->media[0];
  CHECK_EQ(a->kind, VG_SDP_KIND_AUDIO);
  CHECK_EQ(a->port, 8080);
  CHECK_STR(a->proto, "UDP/TLS/RTP/SAVPF");
  CHECK_EQ(a->n_formats, 1);
  CHECK_EQ(a->formats[0], opus_pt);
  const vg_sdp_codec_t *opus = vg_sdp_find_opus(a);
  CHECK(opus && opus->pt == opus_pt);
  CHECK_STR(opus->fmtp, "minptime=10;useinbandfec=1;stereo=0");
  CHECK_STR(a->mid, "0");
  CHECK(a->rtcp_mux);
  CHECK_EQ(a->direction, VG_SDP_DIR_SENDRECV);
  CHECK_EQ(a->setup, VG_SDP_SETUP_PASSIVE);
  CHECK_STR(a->ice_ufrag, "vxg1");
  CHECK_STR(a->ice_pwd, "voxgateanswerpassword0");
  CHECK_STR(a->fingerprint.value, fp_ours);
  CHECK_EQ(a->ssrc, 305419896u);
  CHECK_STR(a->cname, "voxgate");
  CHECK(a->has_conn);
  CHECK_EQ(a->conn.ip[0], 192);
  CHECK_EQ(a->n_candidates, 2);
  CHECK(a->end_of_candidates);
  CHECK(vg_addr_equal(&a->candidates[0].addr, &cands[0].addr));
  CHECK(vg_addr_equal(&a->candidates[1].addr, &cands[1].addr));
  CHECK_EQ(a->candidates[1].tcptype, VG_SDP_TCPTYPE_PASSIVE);
  CHECK_EQ(a->candidates[1].priority, 1694498815u);

  const vg_sdp_media_t *v = &ans->media[1], *d = &ans->media[2];
  CHECK_EQ(v->kind, VG_SDP_KIND_VIDEO);
  CHECK_EQ(v->port, 0);
  CHECK_STR(v->first_format, video_fmt);
  CHECK_STR(v->mid, "1");
  CHECK_EQ(v->n_candidates, 0);
  CHECK_EQ(d->kind, VG_SDP_KIND_APPLICATION);
  CHECK_EQ(d->port, 0);
  CHECK_STR(d->proto, "UDP/DTLS/SCTP");
  CHECK_STR(d->first_format, "webrtc-datachannel");
  CHECK_STR(d->mid, "2");
  free(offer);
  free(ans);
  free(text);
}

static void test_answer_chromium(void) { check_answer_to("chromium-offer.sdp", 111, "jJSh", "96"); }
static void test_answer_firefox(void) { check_answer_to("firefox-offer.sdp", 109, "ae9ed1d1", "120"); }

/* RFC 5763 5: an offerer that insists on passive makes us active. */
static void test_answer_setup_follows_offer(void) {
  size_t len;
  char *text = read_data("chromium-offer.sdp", &len);
  vg_sdp_t *s = sdp_new();
  CHECK(text && s);
  /* Chromium repeats a=setup in each section; the audio one is first. */
  CHECK_EQ(replace(text, 1 << 16, "a=setup:actpass", "a=setup:passive"), 0);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  vg_sdp_local_candidate_t cands[2];
  vg_sdp_answer_params_t p = server_params(cands);
  char out[8192];
  vg_sdp_answer_info_t info;
  CHECK(vg_sdp_build_answer(s, &p, out, sizeof out, &info, NULL) > 0);
  CHECK_EQ(info.remote_setup, VG_SDP_SETUP_PASSIVE);
  CHECK_EQ(info.local_setup, VG_SDP_SETUP_ACTIVE);
  CHECK(strstr(out, "a=setup:active\r\n"));
  /* An answer may never say actpass. */
  p.setup = VG_SDP_SETUP_ACTPASS;
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, &info, NULL), VG_EINVAL);
  free(s);
  free(text);
}

static const char no_opus_offer[] =
    "v=0\r\n"
    "o=- 1 1 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE a v\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
    "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\n"
    "a=mid:a\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=mid:v\r\n"
    "a=rtpmap:96 VP8/90000\r\n";

static void test_answer_no_opus(void) {
  vg_sdp_t *s = sdp_new();
  CHECK(s);
  CHECK_EQ(vg_sdp_parse(s, no_opus_offer, strlen(no_opus_offer), NULL), VG_OK);
  vg_sdp_local_candidate_t cands[2];
  vg_sdp_answer_params_t p = server_params(cands);
  char out[4096];
  const char *why = NULL;
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EUNSUPPORTED);
  CHECK_STR(why, "the offer has no audio with Opus");

  /* Opus named in an rtpmap but not listed on the m= line is not offered. */
  char text[1024];
  snprintf(text, sizeof text, "%s", no_opus_offer);
  CHECK_EQ(replace(text, sizeof text, "a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2"), 0);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EUNSUPPORTED);

  /* Opus without DTLS-SRTP cannot be answered either. */
  snprintf(text, sizeof text, "%s", no_opus_offer);
  CHECK_EQ(replace(text, sizeof text, "UDP/TLS/RTP/SAVPF 0 8", "RTP/AVP 111"), 0);
  CHECK_EQ(replace(text, sizeof text, "a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2"), 0);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EUNSUPPORTED);
  CHECK(strstr(why, "DTLS-SRTP"));
  free(s);
}

/* The first audio section with Opus wins; a second audio section, an audio
 * section without Opus and an unknown kind are all answered with port 0. */
static void test_answer_picks_first_opus_audio(void) {
  static const char text[] =
      "v=0\n"
      "o=- 1 1 IN IP4 0.0.0.0\n"
      "s=-\n"
      "t=0 0\n"
      "a=group:BUNDLE x a b\n"
      "a=ice-ufrag:abcd\n"
      "a=ice-pwd:abcdefghijklmnopqrstuv\n"
      "a=fingerprint:SHA-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\n"
      "a=mid:x\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 100 0\n"
      "a=mid:a\n"
      "a=sendonly\n"
      "a=rtpmap:100 OPUS/48000/2\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 101\n"
      "a=mid:b\n"
      "a=rtpmap:101 opus/48000/2\n"
      "m=text 9 RTP/AVP 98\n"
      "a=mid:t\n";
  vg_sdp_t *s = sdp_new(), *ans = sdp_new();
  CHECK(s && ans);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  CHECK_EQ(s->n_media, 4);
  CHECK_EQ(s->media[3].kind, VG_SDP_KIND_OTHER);
  CHECK_STR(s->media[3].media, "text");
  CHECK_STR(s->media[1].fingerprint.alg, "sha-1"); /* names are case-insensitive */
  vg_sdp_local_candidate_t cands[2];
  vg_sdp_answer_params_t p = server_params(cands);
  char out[4096];
  vg_sdp_answer_info_t info;
  int n = vg_sdp_build_answer(s, &p, out, sizeof out, &info, NULL);
  CHECK(n > 0);
  CHECK_EQ(info.media_index, 1);
  CHECK_STR(info.mid, "a");
  CHECK_EQ(info.opus_pt, 100);
  CHECK_EQ(info.local_direction, VG_SDP_DIR_RECVONLY);
  CHECK(!info.remote_rtcp_mux); /* not offered: answered anyway, reported */
  CHECK_EQ(vg_sdp_parse(ans, out, (size_t)n, NULL), VG_OK);
  CHECK_EQ(ans->n_media, 4);
  CHECK_EQ(ans->n_bundle, 1);
  CHECK_STR(ans->bundle[0], "a");
  CHECK_EQ(ans->media[0].port, 0);
  CHECK_EQ(ans->media[1].port, 8080);
  CHECK_EQ(ans->media[1].direction, VG_SDP_DIR_RECVONLY);
  CHECK(!ans->media[1].has_ssrc); /* recvonly: we send nothing */
  CHECK_EQ(ans->media[2].port, 0);
  CHECK_STR(ans->media[2].first_format, "101");
  CHECK_EQ(ans->media[3].port, 0);
  CHECK_STR(ans->media[3].media, "text");
  CHECK_STR(ans->media[3].mid, "t");
  free(s);
  free(ans);
}

static void test_answer_needs_ice_and_fingerprint(void) {
  static const char base[] =
      "v=0\r\n"
      "o=- 1 1 IN IP4 0.0.0.0\r\n"
      "s=-\r\n"
      "t=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "a=rtpmap:111 opus/48000/2\r\n"
      "a=ice-ufrag:abcd\r\n"
      "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
      "a=fingerprint:sha-256 " "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
      "45:67:89:AB:CD:EF:01:23:45:67:89\r\n";
  vg_sdp_t *s = sdp_new();
  CHECK(s);
  vg_sdp_local_candidate_t cands[2];
  vg_sdp_answer_params_t p = server_params(cands);
  char text[1024], out[4096];
  const char *why = NULL;
  vg_sdp_answer_info_t info;

  CHECK_EQ(vg_sdp_parse(s, base, strlen(base), NULL), VG_OK);
  CHECK(vg_sdp_build_answer(s, &p, out, sizeof out, &info, &why) > 0);
  CHECK_STR(info.mid, ""); /* no a=mid: no BUNDLE either */
  CHECK(!info.bundled);
  CHECK(!strstr(out, "a=group"));
  CHECK(!strstr(out, "a=mid"));

  snprintf(text, sizeof text, "%s", base);
  CHECK_EQ(replace(text, sizeof text, "a=ice-pwd:abcdefghijklmnopqrstuv\r\n", ""), 0);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EINVAL);
  CHECK(strstr(why, "ice-pwd"));

  snprintf(text, sizeof text, "%s", base);
  CHECK_EQ(replace(text, sizeof text, "a=fingerprint", "a=x-fingerprint"), 0);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EINVAL);
  CHECK(strstr(why, "fingerprint"));

  /* Bad parameters of ours are EINVAL too; a small buffer is ENOSPC. */
  CHECK_EQ(vg_sdp_parse(s, base, strlen(base), NULL), VG_OK);
  p.ice_pwd = "short";
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EINVAL);
  p = server_params(cands);
  p.fingerprint_alg = "sha-512"; /* value is 32 bytes */
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, sizeof out, NULL, &why), VG_EINVAL);
  p = server_params(cands);
  CHECK_EQ(vg_sdp_build_answer(s, &p, out, 100, NULL, &why), VG_ENOSPC);
  free(s);
}

/* ---- Parser rules --------------------------------------------------------------- */

static void test_malformed(void) {
  CHECK(parse_fails_with("", "line 1: the description must start with v=0"));
  CHECK(parse_fails_with("o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n",
                         "line 1: the description must start with v=0"));
  CHECK(parse_fails_with("v=0\r\ns=-\r\nthis is not sdp\r\n", "line 3: expected"));
  CHECK(parse_fails_with("v=0\ns=-\nx=1\n", "line 3: unknown line type 'x='"));
  CHECK(parse_fails_with("v=0\ns=-\nm=audio 9 RTP/AVP\n",
                         "line 3: m= line needs at least 4 fields"));
  CHECK(parse_fails_with("v=0\nm=audio 99999 RTP/AVP 0\n", "line 2: m= line has a bad port"));
  /* A fingerprint with a byte too few for sha-256, and one not in hex. */
  CHECK(parse_fails_with("v=0\na=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
                         "45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67\n",
                         "line 2: a=fingerprint value is not 32 colon-separated hex bytes"));
  CHECK(parse_fails_with("v=0\n\na=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
                         "dd:ee:ff:00:11:22:XY\n",
                         "line 3: a=fingerprint value is not 20"));
  CHECK(parse_fails_with("v=0\nm=audio 9 RTP/AVP 0\na=mid:"
                         "0123456789012345678901234567890123456789\n",
                         "line 3: a=mid value longer than 32 characters"));
  CHECK(parse_fails_with("v=0\nm=audio 9 RTP/AVP 0\na=setup:maybe\n", "line 3: a=setup"));
  CHECK(parse_fails_with("v=0\nm=audio 9 RTP/AVP 0\na=candidate:1 1 udp 1 10.0.0.1 9\n",
                         "line 3: a=candidate needs"));
  CHECK(parse_fails_with("v=0\nm=audio 9 RTP/AVP 0\na=candidate:1 1 udp 1 10.0.0.1 9 typ host "
                         "raddr\n",
                         "line 3: a=candidate extension without a value"));
  CHECK(parse_fails_with("v=0\nm=audio 9 RTP/AVP 0\na=rtpmap:111 opus\n", "line 3: a=rtpmap"));
  CHECK(parse_fails_with("v=0\na=ice-ufrag:ab\n", "line 2: a=ice-ufrag must be"));
  /* The NUL above ends the C string: pass the length explicitly. */
  vg_sdp_t *s = sdp_new();
  const char *why = NULL;
  CHECK(s);
  CHECK_EQ(vg_sdp_parse(s, "v=0\r\ns=a\0b\r\n", 11, &why), VG_EINVAL);
  CHECK_STR(why, "line 2: control character 0x00 in line");

  /* 16 m= sections are fine; the 17th is an error naming its line. */
  char text[2048] = "v=0\n";
  for (int i = 0; i < VG_SDP_MAX_MEDIA; i++) strcat(text, "m=video 0 RTP/AVP 96\n");
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), &why), VG_OK);
  strcat(text, "m=video 0 RTP/AVP 96\n");
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), &why), VG_EINVAL);
  CHECK_STR(why, "line 18: too many m= sections (limit 16)");
  free(s);
}

/* Unknown attributes and kinds are kept out of the way; CRLF and LF parse
 * the same; media-level values override session-level ones. */
static void test_tolerant_and_override(void) {
  static const char crlf[] =
      "v=0\r\n"
      "o=- 1 1 IN IP4 0.0.0.0\r\n"
      "s=-\r\n"
      "t=0 0\r\n"
      "a=ice-ufrag:sess\r\n"
      "a=ice-pwd:sessionpasswordsession\r\n"
      "a=setup:active\r\n"
      "a=recvonly\r\n"
      "a=x-unknown-thing:whatever it is\r\n"
      "c=IN IP6 2001:db8::1\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "a=ice-ufrag:medi\r\n"
      "a=ice-pwd:mediapasswordmediapass\r\n"
      "a=setup:passive\r\n"
      "a=sendrecv\r\n"
      "a=rtpmap:111 opus/48000/2\r\n"
      "a=extmap:300 urn:example:too-big-for-two-byte-form\r\n"
      "a=extmap:5 urn:example:five\r\n"
      "m=message 9 TCP/MSRP *\r\n"
      "a=accept-types:text/plain\r\n";
  char lf[sizeof crlf];
  size_t j = 0;
  for (size_t i = 0; crlf[i]; i++)
    if (crlf[i] != '\r') lf[j++] = crlf[i];
  lf[j] = '\0';
  vg_sdp_t *a = sdp_new(), *b = sdp_new();
  CHECK(a && b);
  CHECK_EQ(vg_sdp_parse(a, crlf, strlen(crlf), NULL), VG_OK);
  CHECK_EQ(vg_sdp_parse(b, lf, strlen(lf), NULL), VG_OK);
  CHECK(memcmp(a, b, sizeof *a) == 0);
  CHECK_EQ(a->n_media, 2);
  CHECK_STR(a->ice_ufrag, "sess");
  CHECK_STR(a->media[0].ice_ufrag, "medi");
  CHECK_STR(a->media[0].ice_pwd, "mediapasswordmediapass");
  CHECK_EQ(a->media[0].setup, VG_SDP_SETUP_PASSIVE);
  CHECK_EQ(a->media[0].direction, VG_SDP_DIR_SENDRECV);
  CHECK_EQ(a->media[0].n_extmaps, 1);
  CHECK_EQ(a->media[0].n_extmaps_skipped, 1);
  CHECK_EQ(a->media[0].extmaps[0].id, 5);
  CHECK_EQ(a->media[1].kind, VG_SDP_KIND_OTHER);
  CHECK_STR(a->media[1].first_format, "*");
  CHECK_STR(a->media[1].ice_ufrag, "sess"); /* inherited */
  CHECK_EQ(a->media[1].setup, VG_SDP_SETUP_ACTIVE);
  CHECK_EQ(a->media[1].direction, VG_SDP_DIR_RECVONLY);
  CHECK(a->media[1].has_conn);
  CHECK_EQ(a->media[1].conn.family, 6);
  free(a);
  free(b);
}

static void test_candidates(void) {
  char text[4096] = "v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\n";
  /* srflx with raddr/rport, IPv6, a relay over TCP, an unknown transport
   * and an unknown extension. */
  strcat(text, "a=candidate:842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx "
               "raddr 10.0.0.2 rport 50000 generation 0 ufrag abcd network-cost 50\n");
  strcat(text, "a=candidate:3 1 UDP 2122262783 2001:db8::5 50001 typ host\n");
  strcat(text, "a=candidate:4 1 TCP 16776191 203.0.113.9 443 typ relay tcptype passive\n");
  strcat(text, "a=candidate:5 1 dccp 1 203.0.113.9 443 typ host\n");
  vg_sdp_t *s = sdp_new();
  CHECK(s);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  const vg_sdp_media_t *m = &s->media[0];
  CHECK_EQ(m->n_candidates, 3);
  CHECK_EQ(m->n_candidates_skipped, 1);
  const vg_sdp_candidate_t *c = &m->candidates[0];
  CHECK_EQ(c->type, VG_SDP_CAND_SRFLX);
  CHECK(c->has_raddr);
  vg_addr_t want;
  CHECK_EQ(vg_addr_parse(&want, "10.0.0.2", 50000, VG_TRANSPORT_UDP), VG_OK);
  CHECK(vg_addr_equal(&c->raddr, &want));
  CHECK_EQ(m->candidates[1].addr.family, 6);
  CHECK_EQ(m->candidates[1].addr.port, 50001);
  CHECK_EQ(m->candidates[2].type, VG_SDP_CAND_RELAY);
  CHECK_EQ(m->candidates[2].tcptype, VG_SDP_TCPTYPE_PASSIVE);

  /* Over the per-section limit: counted and skipped, not an error. */
  for (int i = 0; i < VG_SDP_MAX_CANDIDATES; i++)
    strcat(text, "a=candidate:9 1 udp 100 192.0.2.1 4000 typ host\n");
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  CHECK_EQ(s->media[0].n_candidates, VG_SDP_MAX_CANDIDATES);
  CHECK_EQ(s->media[0].n_candidates_skipped, 4);
  free(s);
}

/* Formats and codecs beyond the tables are counted, not an error, so a
 * browser that grows its codec list cannot break parsing. */
static void test_table_limits(void) {
  char text[8192] = "v=0\nm=video 9 UDP/TLS/RTP/SAVPF";
  for (int pt = 0; pt < 70; pt++) snprintf(text + strlen(text), 8, " %d", pt);
  strcat(text, "\n");
  for (int pt = 0; pt < 40; pt++)
    snprintf(text + strlen(text), 64, "a=rtpmap:%d VP8/90000\na=fmtp:%d x=%d\n", pt, pt, pt);
  vg_sdp_t *s = sdp_new();
  CHECK(s);
  CHECK_EQ(vg_sdp_parse(s, text, strlen(text), NULL), VG_OK);
  const vg_sdp_media_t *m = &s->media[0];
  CHECK_EQ(m->n_formats, VG_SDP_MAX_FORMATS);
  CHECK_EQ(m->n_formats_skipped, 70 - VG_SDP_MAX_FORMATS);
  CHECK_EQ(m->n_codecs, VG_SDP_MAX_CODECS);
  CHECK_EQ(m->n_codecs_skipped, 2 * (40 - VG_SDP_MAX_CODECS)); /* rtpmap and fmtp lines */
  CHECK_STR(m->codecs[31].fmtp, "x=31");
  CHECK_STR(vg_sdp_kind_name(m->kind), "video");
  CHECK_STR(vg_sdp_direction_name(VG_SDP_DIR_RECVONLY), "recvonly");
  CHECK_STR(vg_sdp_setup_name(VG_SDP_SETUP_HOLDCONN), "holdconn");
  free(s);
}

/* ---- sdpfrag (RFC 8840, WHIP PATCH) --------------------------------------------- */

static void test_frag(void) {
  /* RFC 9725 4.3.1 style: the body of a WHIP trickle PATCH. */
  static const char whip[] =
      "a=ice-options:trickle ice2\r\n"
      "a=group:BUNDLE 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "a=mid:0\r\n"
      "a=ice-ufrag:EsAw\r\n"
      "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n"
      "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 "
      "ufrag EsAw network-id 1\r\n"
      "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 "
      "ufrag EsAw network-id 2\r\n"
      "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active "
      "generation 0 ufrag EsAw network-id 1\r\n"
      "a=end-of-candidates\r\n";
  vg_sdp_t *s = sdp_new();
  const char *why = NULL;
  CHECK(s);
  CHECK_EQ(vg_sdp_parse_frag(s, whip, strlen(whip), &why), VG_OK);
  CHECK_STR(s->ice_options, "trickle ice2");
  CHECK_EQ(s->n_media, 1);
  CHECK_STR(s->media[0].mid, "0");
  CHECK_STR(s->media[0].ice_ufrag, "EsAw");
  CHECK_EQ(s->media[0].n_candidates, 3);
  CHECK_EQ(s->media[0].candidates[1].addr.port, 61765);
  CHECK_EQ(s->media[0].candidates[2].tcptype, VG_SDP_TCPTYPE_ACTIVE);
  CHECK(s->media[0].end_of_candidates);
  /* The same text is not a full description: it has no v= line. */
  CHECK_EQ(vg_sdp_parse(s, whip, strlen(whip), &why), VG_EINVAL);

  /* RFC 8840 4.4 style: sections named by a=mid alone, session ufrag. */
  static const char info[] =
      "a=ice-ufrag:abcd\n"
      "a=ice-pwd:abcdefghijklmnopqrstuv\n"
      "a=mid:audio\n"
      "a=candidate:1 1 UDP 2130706431 192.0.2.3 5000 typ host\n"
      "a=mid:video\n"
      "a=candidate:1 1 UDP 2130706431 192.0.2.3 5002 typ host\n"
      "a=end-of-candidates\n";
  CHECK_EQ(vg_sdp_parse_frag(s, info, strlen(info), &why), VG_OK);
  CHECK_EQ(s->n_media, 2);
  CHECK_STR(s->media[0].mid, "audio");
  CHECK_STR(s->media[1].mid, "video");
  CHECK_STR(s->media[1].ice_ufrag, "abcd");
  CHECK_EQ(s->media[1].candidates[0].addr.port, 5002);
  CHECK(!s->media[0].end_of_candidates);
  CHECK(s->media[1].end_of_candidates);

  /* Candidates with no section at all: one implicit section, empty mid. */
  static const char bare[] = "a=candidate:1 1 udp 1 192.0.2.3 5000 typ host\na=end-of-candidates\n";
  CHECK_EQ(vg_sdp_parse_frag(s, bare, strlen(bare), &why), VG_OK);
  CHECK_EQ(s->n_media, 1);
  CHECK_STR(s->media[0].mid, "");
  CHECK_EQ(s->media[0].n_candidates, 1);
  CHECK(s->media[0].end_of_candidates);

  /* Malformed candidates fail with the line, as in a full parse. */
  static const char bad[] = "a=mid:0\na=candidate:1 1 udp 1 192.0.2.3 70000 typ host\n";
  CHECK_EQ(vg_sdp_parse_frag(s, bad, strlen(bad), &why), VG_EINVAL);
  CHECK_STR(why, "line 2: a=candidate port must be 0-65535");
  free(s);
}

/* ---- Our own offer -------------------------------------------------------------- */

static void test_offer_answer_round_trip(void) {
  vg_sdp_local_candidate_t cc[2] = {{.priority = 2130706431, .foundation = "c1"},
                                    {.priority = 1518280447, .foundation = "c2"}};
  CHECK_EQ(vg_addr_parse(&cc[0].addr, "192.0.2.50", 40000, VG_TRANSPORT_UDP), VG_OK);
  CHECK_EQ(vg_addr_parse(&cc[1].addr, "192.0.2.50", 9, VG_TRANSPORT_TCP), VG_OK);
  static const char fp_client[] =
      "11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF:11:22:33:44:55:66:77:88:99:00:AA:BB:CC:"
      "DD:EE:FF";
  vg_sdp_offer_params_t op = {
      .ice_ufrag = "clnt",
      .ice_pwd = "clientpasswordclient01",
      .fingerprint_alg = "sha-256",
      .fingerprint = fp_client,
      .ssrc = 0xCAFEBABE,
      .cname = "loadgen-1",
      .session_id = 7,
      .candidates = cc,
      .n_candidates = 2,
  };
  char offer_text[4096], answer_text[4096];
  int n = vg_sdp_build_offer(&op, offer_text, sizeof offer_text);
  CHECK(n > 0);
  vg_sdp_t *offer = sdp_new(), *ans = sdp_new();
  CHECK(offer && ans);
  const char *why = NULL;
  CHECK_EQ(vg_sdp_parse(offer, offer_text, (size_t)n, &why), VG_OK);
  CHECK_EQ(offer->n_media, 1);
  const vg_sdp_media_t *m = &offer->media[0];
  CHECK_EQ(m->port, 40000);
  CHECK_EQ(vg_sdp_find_opus(m)->pt, 111);
  CHECK_EQ(m->setup, VG_SDP_SETUP_ACTPASS);
  CHECK(m->rtcp_mux);
  CHECK_EQ(m->ssrc, 0xCAFEBABEu);
  CHECK_STR(m->cname, "loadgen-1");
  CHECK_EQ(m->candidates[1].tcptype, VG_SDP_TCPTYPE_ACTIVE);
  CHECK(m->end_of_candidates);

  vg_sdp_local_candidate_t sc[2];
  vg_sdp_answer_params_t ap = server_params(sc);
  vg_sdp_answer_info_t info;
  n = vg_sdp_build_answer(offer, &ap, answer_text, sizeof answer_text, &info, &why);
  CHECK(n > 0);
  CHECK_STR(info.remote_ice_ufrag, "clnt");
  CHECK_STR(info.remote_ice_pwd, "clientpasswordclient01");
  CHECK_STR(info.remote_fingerprint.value, fp_client);
  CHECK_EQ(info.remote_ssrc, 0xCAFEBABEu);
  CHECK_EQ(info.local_setup, VG_SDP_SETUP_PASSIVE);

  /* The client reads the server's answer with the same parser. */
  CHECK_EQ(vg_sdp_parse(ans, answer_text, (size_t)n, &why), VG_OK);
  CHECK(ans->ice_lite);
  CHECK_EQ(ans->media[0].setup, VG_SDP_SETUP_PASSIVE);
  CHECK_STR(ans->media[0].ice_ufrag, "vxg1");
  CHECK_EQ(ans->media[0].n_candidates, 2);
  CHECK_EQ(ans->media[0].candidates[1].tcptype, VG_SDP_TCPTYPE_PASSIVE);

  /* Bad offer parameters and a small buffer. */
  op.cname = "has space";
  CHECK_EQ(vg_sdp_build_offer(&op, offer_text, sizeof offer_text), VG_EINVAL);
  op.cname = "loadgen-1";
  CHECK_EQ(vg_sdp_build_offer(&op, offer_text, 64), VG_ENOSPC);
  free(offer);
  free(ans);
}

VGT_MAIN(VGT_CASE(test_chromium_offer), VGT_CASE(test_firefox_offer),
         VGT_CASE(test_chromium_recvonly_offer), VGT_CASE(test_answer_chromium),
         VGT_CASE(test_answer_firefox), VGT_CASE(test_answer_setup_follows_offer),
         VGT_CASE(test_answer_no_opus), VGT_CASE(test_answer_picks_first_opus_audio),
         VGT_CASE(test_answer_needs_ice_and_fingerprint), VGT_CASE(test_malformed),
         VGT_CASE(test_tolerant_and_override), VGT_CASE(test_candidates), VGT_CASE(test_table_limits), VGT_CASE(test_frag),
         VGT_CASE(test_offer_answer_round_trip))
