/* Fuzzes the SDP parsers and the answer builder.
 *
 * Each input is parsed as a full description and as an sdpfrag. When the
 * full parse succeeds, the server's answer is built; the answer must then
 * parse with the same parser and agree with the offer: one section per
 * offered section with the same kind and mid, exactly the accepted one
 * live (our port, the offer's Opus payload type), BUNDLE naming only it.
 * Then a client offer made from the accepted section's values must parse
 * back to them. Any disagreement aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                    \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "fuzz_sdp: %s:%d: %s\n", __FILE__, __LINE__, #c);   \
      abort();                                                            \
    }                                                                     \
  } while (0)

/* Too big for the stack; one input at a time. */
static vg_sdp_t offer, answer, frag;
static char out[16384];

static void check_answer(const vg_sdp_answer_info_t *info, int len) {
  const char *why = NULL;
  int r = vg_sdp_parse(&answer, out, (size_t)len, &why);
  if (r != VG_OK) fprintf(stderr, "answer does not parse: %s\n%s", why, out);
  FUZZ_ASSERT(r == VG_OK);
  FUZZ_ASSERT(answer.n_media == offer.n_media);
  FUZZ_ASSERT(answer.ice_lite);
  for (size_t i = 0; i < offer.n_media; i++) {
    const vg_sdp_media_t *o = &offer.media[i], *a = &answer.media[i];
    FUZZ_ASSERT(a->kind == o->kind);
    FUZZ_ASSERT(strcmp(a->mid, o->mid) == 0);
    FUZZ_ASSERT(strcmp(a->proto, o->proto) == 0);
    if (i != info->media_index) {
      FUZZ_ASSERT(a->port == 0);
      FUZZ_ASSERT(strcmp(a->first_format, o->first_format) == 0);
      continue;
    }
    FUZZ_ASSERT(a->kind == VG_SDP_KIND_AUDIO);
    FUZZ_ASSERT(a->port == 8080);
    FUZZ_ASSERT(a->n_formats == 1 && a->formats[0] == info->opus_pt);
    const vg_sdp_codec_t *opus = vg_sdp_find_opus(a);
    FUZZ_ASSERT(opus && opus->pt == info->opus_pt);
    FUZZ_ASSERT(a->setup == info->local_setup);
    FUZZ_ASSERT(a->direction == info->local_direction);
    FUZZ_ASSERT(a->n_candidates == 2 && a->end_of_candidates);
    FUZZ_ASSERT(a->candidates[1].tcptype == VG_SDP_TCPTYPE_PASSIVE);
    FUZZ_ASSERT(strcmp(a->ice_ufrag, "vxg1") == 0);
    FUZZ_ASSERT(strcmp(info->remote_ice_ufrag, o->ice_ufrag) == 0);
  }
  FUZZ_ASSERT(answer.n_bundle == (info->bundled ? 1u : 0u));
  if (info->bundled) FUZZ_ASSERT(strcmp(answer.bundle[0], info->mid) == 0);
}

/* Our client offer built from the accepted section's ICE, DTLS and SSRC
 * values must parse back to the same values. */
static void check_offer(const vg_sdp_media_t *m) {
  if (!m->fingerprint.alg[0] || !m->cname[0]) return;
  vg_sdp_offer_params_t p = {
      .ice_ufrag = m->ice_ufrag,
      .ice_pwd = m->ice_pwd,
      .fingerprint_alg = m->fingerprint.alg,
      .fingerprint = m->fingerprint.value,
      .ssrc = m->ssrc,
      .cname = m->cname,
      .session_id = 1,
  };
  int r = vg_sdp_build_offer(&p, out, sizeof out);
  if (r == VG_EINVAL) return; /* e.g. a cname with a space: not ours to write */
  FUZZ_ASSERT(r > 0);
  const char *why = NULL;
  FUZZ_ASSERT(vg_sdp_parse(&answer, out, (size_t)r, &why) == VG_OK);
  const vg_sdp_media_t *a = &answer.media[0];
  FUZZ_ASSERT(answer.n_media == 1 && a->setup == VG_SDP_SETUP_ACTPASS);
  FUZZ_ASSERT(strcmp(a->ice_ufrag, m->ice_ufrag) == 0 && strcmp(a->ice_pwd, m->ice_pwd) == 0);
  FUZZ_ASSERT(strcmp(a->fingerprint.value, m->fingerprint.value) == 0);
  FUZZ_ASSERT(strcmp(a->cname, m->cname) == 0 && a->ssrc == m->ssrc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  const char *why = NULL;
  int r = vg_sdp_parse_frag(&frag, text, size, &why);
  FUZZ_ASSERT(r == VG_OK || (r == VG_EINVAL && why && strncmp(why, "line ", 5) == 0));

  why = NULL;
  r = vg_sdp_parse(&offer, text, size, &why);
  FUZZ_ASSERT(r == VG_OK || (r == VG_EINVAL && why && strncmp(why, "line ", 5) == 0));
  if (r != VG_OK) return 0;

  vg_sdp_local_candidate_t cands[2] = {{.priority = 2130706431, .foundation = "1"},
                                       {.priority = 1694498815, .foundation = "2"}};
  vg_addr_set_v4(&cands[0].addr, 0xC000020Au, 8080, VG_TRANSPORT_UDP);
  vg_addr_set_v4(&cands[1].addr, 0xC000020Au, 8080, VG_TRANSPORT_TCP);
  vg_sdp_answer_params_t p = {
      .ice_ufrag = "vxg1",
      .ice_pwd = "voxgateanswerpassword0",
      .fingerprint_alg = "sha-256",
      .fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                     "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      .ice_lite = true,
      .candidates = cands,
      .n_candidates = 2,
      .ssrc = 1,
      .cname = "voxgate",
      .msid = "voxgate echo",
      .session_id = 1,
  };
  vg_sdp_answer_info_t info;
  why = NULL;
  r = vg_sdp_build_answer(&offer, &p, out, sizeof out, &info, &why);
  FUZZ_ASSERT(r != VG_ENOSPC); /* 16 KB holds any answer to a parsed offer */
  if (r < 0) {
    FUZZ_ASSERT((r == VG_EUNSUPPORTED || r == VG_EINVAL) && why && why[0]);
    return 0;
  }
  FUZZ_ASSERT((size_t)r == strlen(out));
  check_answer(&info, r);
  check_offer(&offer.media[info.media_index]);
  return 0;
}
